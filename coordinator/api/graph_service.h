// The Graph gRPC service: reads of an instance's graph (ListEntities,
// ListRelationships, GetEntity, ListNeighbors in graph_service.cc) and its two
// streams (Subscribe to the change log, GetSnapshot; graph_streams.cc). Maps
// absl::Status to the matching gRPC code with the message unchanged.
#ifndef GRAPHMILL_COORDINATOR_API_GRAPH_SERVICE_H_
#define GRAPHMILL_COORDINATOR_API_GRAPH_SERVICE_H_

#include <string>

#include "absl/status/status.h"
#include "coordinator/api/stream_limiter.h"
#include "coordinator/auth/authorizer.h"
#include "coordinator/engine.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/graph.grpc.pb.h"

namespace graphmill::coordinator {

// Limits of the Graph service.
struct GraphServiceOptions {
  // Resolves who is calling, to count their Subscribe streams (null: callers
  // are told apart by peer address). Must outlive the service.
  const Authorizer* authorizer = nullptr;
  // Subscribe streams one caller may hold open at once.
  int max_subscriptions_per_caller = 16;
};

class GraphService final : public v1::Graph::Service {
 public:
  // `engine` (may be null in tests) wakes subscribers when the change log
  // grows.
  GraphService(Store* store, Engine* engine,
               GraphServiceOptions options = GraphServiceOptions())
      : store_(store),
        engine_(engine),
        authorizer_(options.authorizer),
        subscriptions_(options.max_subscriptions_per_caller,
                       "--max_subscriptions_per_caller") {}

  grpc::Status ListEntities(grpc::ServerContext*,
                            const v1::ListEntitiesRequest*,
                            v1::ListEntitiesResponse*) override;
  grpc::Status ListRelationships(grpc::ServerContext*,
                                 const v1::ListRelationshipsRequest*,
                                 v1::ListRelationshipsResponse*) override;
  grpc::Status GetEntity(grpc::ServerContext*, const v1::GetEntityRequest*,
                         v1::Entity*) override;
  grpc::Status ListNeighbors(grpc::ServerContext*,
                             const v1::ListNeighborsRequest*,
                             v1::ListNeighborsResponse*) override;
  grpc::Status Subscribe(grpc::ServerContext*, const v1::SubscribeRequest*,
                         grpc::ServerWriter<v1::ChangeEvent>*) override;
  grpc::Status GetSnapshot(grpc::ServerContext*, const v1::GetSnapshotRequest*,
                           grpc::ServerWriter<v1::SnapshotChunk>*) override;

 private:
  // INVALID_ARGUMENT naming `field` when `instance_id` is empty, NOT_FOUND
  // naming the instance when it does not exist: reading an unknown instance's
  // graph must not pass for reading an empty one.
  absl::Status CheckInstance(const std::string& instance_id,
                             const std::string& field);
  // The name Subscribe streams are counted under.
  std::string CallerKey(const grpc::ServerContext& context) const;

  Store* const store_;
  Engine* const engine_;
  const Authorizer* const authorizer_;
  StreamLimiter subscriptions_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_API_GRAPH_SERVICE_H_
