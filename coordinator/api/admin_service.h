// The Admin gRPC service: integrations, instances, runs and bearer tokens, for
// operators (the CLI). Maps absl::Status to the matching gRPC code with the
// message unchanged.
#ifndef GRAPHMILL_COORDINATOR_API_ADMIN_SERVICE_H_
#define GRAPHMILL_COORDINATOR_API_ADMIN_SERVICE_H_

#include "coordinator/engine.h"
#include "coordinator/instances.h"
#include "coordinator/run_uploader.h"
#include "coordinator/store/store.h"
#include "coordinator/webhooks/webhook_install.h"
#include "graphmill/v1/admin.grpc.pb.h"

namespace graphmill::coordinator {

class AdminService final : public v1::Admin::Service {
 public:
  // `uploader` may be null (then RetryUpload is UNIMPLEMENTED), and so may
  // `webhooks` (then InstallWebhooks is UNIMPLEMENTED); both must outlive the
  // service.
  AdminService(Store* store, Engine* engine, const InstanceSecrets* secrets,
               RunUploader* uploader,
               const WebhookInstaller* webhooks = nullptr)
      : store_(store),
        engine_(engine),
        secrets_(secrets),
        uploader_(uploader),
        webhooks_(webhooks) {}

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
  // The provider calls of every resource are made within this call; a
  // cancelled call stops starting new ones (coordinator/webhooks/
  // webhook_install.h).
  grpc::Status InstallWebhooks(grpc::ServerContext*,
                               const v1::InstallWebhooksRequest*,
                               v1::InstallWebhooksResponse*) override;
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
  const WebhookInstaller* const webhooks_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_API_ADMIN_SERVICE_H_
