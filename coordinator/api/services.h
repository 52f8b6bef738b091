// The coordinator's gRPC services: Admin (operators), Graph (queries) and WorkerGateway
// (workers). Each maps absl::Status to the matching gRPC code with the message unchanged.
#ifndef GRAPHMILL_COORDINATOR_API_SERVICES_H_
#define GRAPHMILL_COORDINATOR_API_SERVICES_H_

#include "coordinator/engine.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "graphmill/v1/worker.grpc.pb.h"

namespace graphmill::coordinator {

class AdminService final : public v1::Admin::Service {
 public:
  AdminService(Store* store, Engine* engine) : store_(store), engine_(engine) {}

  grpc::Status ListIntegrations(grpc::ServerContext*, const v1::ListIntegrationsRequest*,
                                v1::ListIntegrationsResponse*) override;
  grpc::Status CreateInstance(grpc::ServerContext*, const v1::CreateInstanceRequest*,
                              v1::Instance*) override;
  grpc::Status GetInstance(grpc::ServerContext*, const v1::GetInstanceRequest*,
                           v1::Instance*) override;
  grpc::Status ListInstances(grpc::ServerContext*, const v1::ListInstancesRequest*,
                             v1::ListInstancesResponse*) override;
  grpc::Status StartRun(grpc::ServerContext*, const v1::StartRunRequest*, v1::Run*) override;
  grpc::Status GetRun(grpc::ServerContext*, const v1::GetRunRequest*,
                      v1::GetRunResponse*) override;
  grpc::Status ListRuns(grpc::ServerContext*, const v1::ListRunsRequest*,
                        v1::ListRunsResponse*) override;
  grpc::Status WatchRun(grpc::ServerContext*, const v1::WatchRunRequest*,
                        grpc::ServerWriter<v1::RunUpdate>*) override;

 private:
  // The instance as every read API shows it: secrets masked.
  absl::StatusOr<v1::Instance> MaskedInstance(v1::Instance instance);

  Store* const store_;
  Engine* const engine_;
};

class GraphService final : public v1::Graph::Service {
 public:
  explicit GraphService(Store* store) : store_(store) {}

  grpc::Status ListEntities(grpc::ServerContext*, const v1::ListEntitiesRequest*,
                            v1::ListEntitiesResponse*) override;
  grpc::Status ListRelationships(grpc::ServerContext*, const v1::ListRelationshipsRequest*,
                                 v1::ListRelationshipsResponse*) override;
  grpc::Status GetEntity(grpc::ServerContext*, const v1::GetEntityRequest*,
                         v1::Entity*) override;

 private:
  Store* const store_;
};

class WorkerGatewayService final : public v1::WorkerGateway::Service {
 public:
  explicit WorkerGatewayService(Engine* engine) : engine_(engine) {}

  grpc::Status Connect(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::WorkerMessage>*) override;
  grpc::Status SubmitResults(grpc::ServerContext*, grpc::ServerReader<v1::TaskResultMessage>*,
                             v1::SubmitResultsResponse*) override;
  grpc::Status ReadEntities(grpc::ServerContext*, const v1::ReadEntitiesRequest*,
                            grpc::ServerWriter<v1::EntityBatch>*) override;

 private:
  Engine* const engine_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_API_SERVICES_H_
