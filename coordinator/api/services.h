// The coordinator's gRPC services: Admin (operators), Graph (queries) and
// WorkerGateway (workers). Each maps absl::Status to the matching gRPC code
// with the message unchanged.
#ifndef GRAPHMILL_COORDINATOR_API_SERVICES_H_
#define GRAPHMILL_COORDINATOR_API_SERVICES_H_

#include "coordinator/api/stream_limiter.h"
#include "coordinator/auth/authorizer.h"
#include "coordinator/engine.h"
#include "coordinator/run_uploader.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "graphmill/v1/worker.grpc.pb.h"

namespace graphmill::coordinator {

class AdminService final : public v1::Admin::Service {
 public:
  // `uploader` may be null (then RetryUpload is UNIMPLEMENTED).
  AdminService(Store* store, Engine* engine, const InstanceSecrets* secrets,
               RunUploader* uploader)
      : store_(store),
        engine_(engine),
        secrets_(secrets),
        uploader_(uploader) {}

  grpc::Status ListIntegrations(grpc::ServerContext*,
                                const v1::ListIntegrationsRequest*,
                                v1::ListIntegrationsResponse*) override;
  grpc::Status CreateInstance(grpc::ServerContext*,
                              const v1::CreateInstanceRequest*,
                              v1::Instance*) override;
  grpc::Status GetInstance(grpc::ServerContext*, const v1::GetInstanceRequest*,
                           v1::Instance*) override;
  grpc::Status ListInstances(grpc::ServerContext*,
                             const v1::ListInstancesRequest*,
                             v1::ListInstancesResponse*) override;
  grpc::Status StartRun(grpc::ServerContext*, const v1::StartRunRequest*,
                        v1::Run*) override;
  grpc::Status GetRun(grpc::ServerContext*, const v1::GetRunRequest*,
                      v1::GetRunResponse*) override;
  grpc::Status ListRuns(grpc::ServerContext*, const v1::ListRunsRequest*,
                        v1::ListRunsResponse*) override;
  grpc::Status WatchRun(grpc::ServerContext*, const v1::WatchRunRequest*,
                        grpc::ServerWriter<v1::RunUpdate>*) override;
  grpc::Status UpdateInstance(grpc::ServerContext*,
                              const v1::UpdateInstanceRequest*,
                              v1::Instance*) override;
  grpc::Status DeleteInstance(grpc::ServerContext*,
                              const v1::DeleteInstanceRequest*,
                              v1::DeleteInstanceResponse*) override;
  grpc::Status ValidateInstance(grpc::ServerContext*,
                                const v1::ValidateInstanceRequest*,
                                v1::ValidateInstanceResponse*) override;
  grpc::Status CancelRun(grpc::ServerContext*, const v1::CancelRunRequest*,
                         v1::Run*) override;
  grpc::Status RetryUpload(grpc::ServerContext*, const v1::RetryUploadRequest*,
                           v1::Run*) override;
  // Bearer tokens: only hashes are stored; the token is returned once.
  grpc::Status CreateToken(grpc::ServerContext*, const v1::CreateTokenRequest*,
                           v1::CreateTokenResponse*) override;
  grpc::Status ListTokens(grpc::ServerContext*, const v1::ListTokensRequest*,
                          v1::ListTokensResponse*) override;
  grpc::Status RevokeToken(grpc::ServerContext*, const v1::RevokeTokenRequest*,
                           v1::RevokeTokenResponse*) override;

 private:
  // The instance as every read API shows it: secrets masked, next scheduled run
  // filled in.
  v1::Instance Presented(v1::Instance instance);

  Store* const store_;
  Engine* const engine_;
  const InstanceSecrets* const secrets_;
  RunUploader* const uploader_;
};

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

class WorkerGatewayService final : public v1::WorkerGateway::Service {
 public:
  explicit WorkerGatewayService(Engine* engine) : engine_(engine) {}

  grpc::Status Connect(grpc::ServerContext*,
                       grpc::ServerReaderWriter<v1::CoordinatorMessage,
                                                v1::WorkerMessage>*) override;
  grpc::Status SubmitResults(grpc::ServerContext*,
                             grpc::ServerReader<v1::TaskResultMessage>*,
                             v1::SubmitResultsResponse*) override;
  grpc::Status ReadEntities(grpc::ServerContext*,
                            const v1::ReadEntitiesRequest*,
                            grpc::ServerWriter<v1::EntityBatch>*) override;

 private:
  Engine* const engine_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_API_SERVICES_H_
