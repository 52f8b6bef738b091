// The one list of every integration this worker implements.
#include "worker/integrations/registry.h"

#include "worker/integrations/circleci/circleci_integration.h"

namespace graphmill::worker {

std::vector<std::unique_ptr<Integration>> CreateIntegrations() {
  std::vector<std::unique_ptr<Integration>> integrations;
  integrations.push_back(std::make_unique<circleci::CircleCiIntegration>());
  return integrations;
}

}  // namespace graphmill::worker
