// The one list of every integration this worker implements.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_REGISTRY_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_REGISTRY_H_

#include <memory>
#include <vector>

#include "worker/runtime/integration.h"

namespace graphmill::worker {

// A fresh instance of each integration, in a stable order. Adding an
// integration means adding one line to registry.cc (and its folder); no other
// worker file names integrations.
std::vector<std::unique_ptr<Integration>> CreateIntegrations();

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_REGISTRY_H_
