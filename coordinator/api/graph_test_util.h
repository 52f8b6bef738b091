// Test helpers for the coordinator's services: a real store holding an
// instance's finalized graph, and services on a loopback gRPC server.
#ifndef GRAPHMILL_COORDINATOR_API_GRAPH_TEST_UTIL_H_
#define GRAPHMILL_COORDINATOR_API_GRAPH_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::coordinator::testing {

// Creates instance `instance_id` (integration "test") and makes `batch` its
// graph the way a run does: one task attempt stages it, commits, and the run
// finalizes. Returns the run id.
absl::StatusOr<int64_t> AddInstanceWithGraph(Store& store,
                                             const std::string& instance_id,
                                             const v1::ResultBatch& batch);

// Another run of the existing instance `instance_id` whose whole result is
// `batch`: objects it lacks are deleted, as finalize does for a type without a
// deletion rule. Returns the run id.
absl::StatusOr<int64_t> RunWithGraph(Store& store,
                                     const std::string& instance_id,
                                     const v1::ResultBatch& batch);

// Services on 127.0.0.1 (a free port) until destroyed. The server receives up
// to kMaxGrpcMessageBytes, as graphmill-coordinator does.
class LoopbackServer {
 public:
  explicit LoopbackServer(std::initializer_list<grpc::Service*> services);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  // A channel to the server; `max_receive_bytes` < 0 keeps gRPC's default (4
  // MiB).
  std::shared_ptr<grpc::Channel> Channel(int max_receive_bytes = -1) const;
  bool started() const { return server_ != nullptr && port_ != 0; }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace graphmill::coordinator::testing

#endif  // GRAPHMILL_COORDINATOR_API_GRAPH_TEST_UTIL_H_
