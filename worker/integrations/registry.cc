// The one list of every integration this worker implements.
#include "worker/integrations/registry.h"

#include "worker/integrations/circleci/circleci_integration.h"
#include "worker/integrations/heroku/heroku_integration.h"

namespace graphmill::worker {

std::vector<std::unique_ptr<Integration>> CreateIntegrations() {
  std::vector<std::unique_ptr<Integration>> integrations;
  integrations.push_back(std::make_unique<circleci::CircleCiIntegration>());
  integrations.push_back(std::make_unique<heroku::HerokuIntegration>());
  return integrations;
}

}  // namespace graphmill::worker
