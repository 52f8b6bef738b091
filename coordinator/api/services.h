// The coordinator's gRPC services, one header each: Admin (operators,
// admin_service.h), Graph (queries and change streams, graph_service.h) and
// WorkerGateway (workers, worker_gateway_service.h). Kept so callers that
// serve all three (coordinator/main.cc) include one header.
#ifndef GRAPHMILL_COORDINATOR_API_SERVICES_H_
#define GRAPHMILL_COORDINATOR_API_SERVICES_H_

#include "coordinator/api/admin_service.h"
#include "coordinator/api/graph_service.h"
#include "coordinator/api/worker_gateway_service.h"

#endif  // GRAPHMILL_COORDINATOR_API_SERVICES_H_
