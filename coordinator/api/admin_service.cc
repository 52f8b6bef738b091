// Implementation of coordinator/api/admin_service.h.
#include "coordinator/api/admin_service.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "coordinator/api/service_util.h"
#include "coordinator/auth/tokens.h"
#include "coordinator/definitions.h"
#include "coordinator/scheduler/schedule.h"

namespace graphmill::coordinator {
namespace {

using api_internal::Invalid;

// A watched run is "still going" while it runs and while its upload is pending
// or under way.
bool IsActive(const v1::Run& run) {
  return run.status() == v1::RUN_STATUS_VALIDATING ||
         run.status() == v1::RUN_STATUS_RUNNING ||
         run.upload().state() == v1::UPLOAD_STATE_PENDING ||
         run.upload().state() == v1::UPLOAD_STATE_UPLOADING;
}

}  // namespace

v1::Instance AdminService::Presented(v1::Instance instance) {
  absl::StatusOr<v1::IntegrationDefinition> definition =
      store_->GetIntegration(instance.integration());
  if (definition.ok()) {
    MaskSecrets(*definition, &instance);
  } else {
    // Without the definition secrets cannot be told apart: mask every value.
    for (auto& [name, value] : *instance.mutable_config())
      value = kMaskedSecret;
    if (instance.has_upload())
      instance.mutable_upload()->set_api_token(kMaskedSecret);
  }
  if (instance.has_schedule()) {
    absl::StatusOr<int64_t> last = store_->GetLastScheduledSlot(instance.id());
    const int64_t last_ms =
        last.ok() && *last > 0 ? *last : instance.created_at_ms();
    std::optional<absl::Time> next =
        NextRunTime(instance.schedule(), instance.id(),
                    absl::FromUnixMillis(last_ms), absl::Now());
    if (next.has_value())
      instance.set_next_run_at_ms(absl::ToUnixMillis(*next));
  }
  return instance;
}

grpc::Status AdminService::ListIntegrations(
    grpc::ServerContext*, const v1::ListIntegrationsRequest*,
    v1::ListIntegrationsResponse* response) {
  absl::StatusOr<std::vector<v1::IntegrationDefinition>> list =
      store_->ListIntegrations();
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (auto& definition : *list)
    *response->add_integrations() = std::move(definition);
  return grpc::Status::OK;
}

grpc::Status AdminService::CreateInstance(
    grpc::ServerContext*, const v1::CreateInstanceRequest* request,
    v1::Instance* response) {
  v1::Instance instance = request->instance();
  if (!IsValidInstanceId(instance.id())) {
    return Invalid(
        absl::StrCat("instance id '", instance.id(),
                     "' is not valid: use 1-63 lower-case letters, digits and "
                     "'-', starting with a letter or digit"));
  }
  if (instance.integration().empty()) {
    return Invalid(absl::StrCat("instance '", instance.id(),
                                "': integration is required"));
  }
  absl::StatusOr<v1::IntegrationDefinition> definition =
      store_->GetIntegration(instance.integration());
  if (!definition.ok()) {
    return Invalid(absl::StrCat("instance '", instance.id(),
                                "': ", definition.status().message()));
  }
  instance.clear_next_run_at_ms();
  absl::Status valid = ValidateInstanceSettings(*definition, instance);
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::Status sealed = secrets_->Seal(*definition, &instance);
  if (!sealed.ok()) return ToGrpcStatus(sealed);
  const int64_t now = absl::ToUnixMillis(absl::Now());
  instance.set_created_at_ms(now);
  instance.set_updated_at_ms(now);
  absl::Status created = store_->CreateInstance(instance);
  if (!created.ok()) return ToGrpcStatus(created);
  LogInfo("instance '", instance.id(), "' created (", instance.integration(),
          ")");
  *response = Presented(std::move(instance));
  engine_->NotifyExternalChange();
  return grpc::Status::OK;
}

grpc::Status AdminService::UpdateInstance(
    grpc::ServerContext*, const v1::UpdateInstanceRequest* request,
    v1::Instance* response) {
  absl::StatusOr<v1::Instance> stored =
      store_->GetInstance(request->instance().id());
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  absl::StatusOr<v1::IntegrationDefinition> definition =
      store_->GetIntegration(stored->integration());
  if (!definition.ok()) return ToGrpcStatus(definition.status());
  absl::StatusOr<v1::Instance> merged = MergeUpdate(
      *definition, *stored, request->instance(),
      {request->unset_config().begin(), request->unset_config().end()});
  if (!merged.ok()) return ToGrpcStatus(merged.status());
  v1::Instance updated = *std::move(merged);
  updated.clear_next_run_at_ms();
  absl::Status valid = ValidateInstanceSettings(*definition, updated);
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::Status sealed = secrets_->Seal(*definition, &updated);
  if (!sealed.ok()) return ToGrpcStatus(sealed);
  const int64_t now = absl::ToUnixMillis(absl::Now());
  updated.set_updated_at_ms(now);
  absl::Status status = store_->UpdateInstance(updated);
  if (!status.ok()) return ToGrpcStatus(status);
  // A changed schedule starts from now: the change is not a missed slot to
  // catch up on.
  if (SerializeDeterministic(updated.schedule()) !=
      SerializeDeterministic(stored->schedule())) {
    status = store_->SetLastScheduledSlot(updated.id(), now);
    if (!status.ok()) return ToGrpcStatus(status);
  }
  LogInfo("instance '", updated.id(), "' updated");
  *response = Presented(std::move(updated));
  engine_->NotifyExternalChange();
  return grpc::Status::OK;
}

grpc::Status AdminService::DeleteInstance(
    grpc::ServerContext*, const v1::DeleteInstanceRequest* request,
    v1::DeleteInstanceResponse*) {
  absl::Status status = store_->DeleteInstance(request->instance_id(),
                                               absl::ToUnixMillis(absl::Now()));
  if (!status.ok()) return ToGrpcStatus(status);
  LogInfo("instance '", request->instance_id(), "' deleted");
  engine_->NotifyExternalChange();
  return grpc::Status::OK;
}

grpc::Status AdminService::InstallWebhooks(
    grpc::ServerContext* context, const v1::InstallWebhooksRequest* request,
    v1::InstallWebhooksResponse* response) {
  if (webhooks_ == nullptr) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "this coordinator does not install webhooks");
  }
  absl::StatusOr<v1::InstallWebhooksResponse> result =
      webhooks_->Install(request->instance_id(), request->url(),
                         [context] { return context->IsCancelled(); });
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status AdminService::ValidateInstance(
    grpc::ServerContext*, const v1::ValidateInstanceRequest* request,
    v1::ValidateInstanceResponse* response) {
  absl::StatusOr<v1::ValidateInstanceResponse> result =
      engine_->ValidateInstance(request->instance_id(), absl::Seconds(60));
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

grpc::Status AdminService::RetryUpload(grpc::ServerContext*,
                                       const v1::RetryUploadRequest* request,
                                       v1::Run* response) {
  if (uploader_ == nullptr) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "uploads are not enabled");
  }
  absl::Status status = uploader_->Retry(request->run_id());
  if (!status.ok()) return ToGrpcStatus(status);
  absl::StatusOr<v1::Run> run = store_->GetRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  *response = std::move(*run);
  return grpc::Status::OK;
}

grpc::Status AdminService::CancelRun(grpc::ServerContext*,
                                     const v1::CancelRunRequest* request,
                                     v1::Run* response) {
  // The store cannot tell an unknown run from one that has ended (both leave
  // nothing to cancel); only the latter is a FAILED_PRECONDITION.
  absl::Status exists = store_->GetRun(request->run_id()).status();
  if (!exists.ok()) return ToGrpcStatus(exists);
  absl::StatusOr<v1::Run> run = engine_->CancelRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  *response = std::move(*run);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetInstance(grpc::ServerContext*,
                                       const v1::GetInstanceRequest* request,
                                       v1::Instance* response) {
  absl::StatusOr<v1::Instance> instance =
      store_->GetInstance(request->instance_id());
  if (!instance.ok()) return ToGrpcStatus(instance.status());
  *response = Presented(std::move(*instance));
  return grpc::Status::OK;
}

grpc::Status AdminService::ListInstances(grpc::ServerContext*,
                                         const v1::ListInstancesRequest*,
                                         v1::ListInstancesResponse* response) {
  absl::StatusOr<std::vector<v1::Instance>> instances = store_->ListInstances();
  if (!instances.ok()) return ToGrpcStatus(instances.status());
  for (auto& instance : *instances) {
    *response->add_instances() = Presented(std::move(instance));
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::StartRun(grpc::ServerContext*,
                                    const v1::StartRunRequest* request,
                                    v1::Run* response) {
  if (request->instance_id().empty()) return Invalid("instance_id is required");
  absl::StatusOr<v1::Run> run = engine_->StartRun(
      request->instance_id(), v1::RUN_TRIGGER_MANUAL, request->full());
  if (!run.ok()) return ToGrpcStatus(run.status());
  *response = std::move(*run);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetRun(grpc::ServerContext*,
                                  const v1::GetRunRequest* request,
                                  v1::GetRunResponse* response) {
  absl::StatusOr<v1::Run> run = store_->GetRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  absl::StatusOr<std::vector<v1::Event>> events =
      store_->ListEvents(request->run_id(), 0);
  if (!events.ok()) return ToGrpcStatus(events.status());
  *response->mutable_run() = std::move(*run);
  for (auto& event : *events) *response->add_events() = std::move(event);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListRuns(grpc::ServerContext*,
                                    const v1::ListRunsRequest* request,
                                    v1::ListRunsResponse* response) {
  if (request->limit() < 0) return Invalid("limit must not be negative");
  // The runs of an unknown instance must not pass for an instance without
  // runs.
  if (!request->instance_id().empty()) {
    absl::Status known = store_->GetInstance(request->instance_id()).status();
    if (!known.ok()) return ToGrpcStatus(known);
  }
  absl::StatusOr<std::vector<v1::Run>> runs = store_->ListRuns(
      request->instance_id(), request->limit() == 0 ? 50 : request->limit());
  if (!runs.ok()) return ToGrpcStatus(runs.status());
  for (auto& run : *runs) *response->add_runs() = std::move(run);
  return grpc::Status::OK;
}

grpc::Status AdminService::WatchRun(grpc::ServerContext* context,
                                    const v1::WatchRunRequest* request,
                                    grpc::ServerWriter<v1::RunUpdate>* writer) {
  int64_t seen_version = -1;
  int64_t last_event = 0;
  std::string last_sent;
  while (!context->IsCancelled()) {
    const int64_t version =
        engine_->WaitForChange(seen_version, absl::Seconds(1));
    seen_version = version;
    absl::StatusOr<v1::Run> run = store_->GetRun(request->run_id());
    if (!run.ok()) return ToGrpcStatus(run.status());
    absl::StatusOr<std::vector<v1::Event>> events =
        store_->ListEvents(request->run_id(), last_event);
    if (!events.ok()) return ToGrpcStatus(events.status());
    const std::string snapshot = SerializeDeterministic(*run);
    if (snapshot == last_sent && events->empty()) continue;
    v1::RunUpdate update;
    *update.mutable_run() = *run;
    for (auto& event : *events) {
      last_event = event.sequence();
      *update.add_new_events() = std::move(event);
    }
    if (!writer->Write(update)) return grpc::Status::OK;
    last_sent = snapshot;
    if (!IsActive(*run)) return grpc::Status::OK;
  }
  return grpc::Status::OK;
}

// --- Admin: tokens ---

grpc::Status AdminService::CreateToken(grpc::ServerContext*,
                                       const v1::CreateTokenRequest* request,
                                       v1::CreateTokenResponse* response) {
  const std::string& name = request->name();
  if (name.empty()) return Invalid("name is required");
  if (name.size() > 64) return Invalid("name is longer than 64 characters");
  if (!IsValidTokenName(name)) {
    return Invalid(absl::StrCat(
        "name '", name,
        "' is not valid: use lower-case letters, digits, '.', '_' and '-', "
        "starting with a letter or digit"));
  }
  if (request->role() == v1::TOKEN_ROLE_UNSPECIFIED) {
    return Invalid("role is required (admin, reader or worker)");
  }
  const std::optional<Role> role = RoleFromProto(request->role());
  if (!role.has_value()) {
    return Invalid(absl::StrCat("role ", static_cast<int>(request->role()),
                                " is not valid (admin, reader or worker)"));
  }
  absl::StatusOr<std::string> token = GenerateToken();
  if (!token.ok()) return ToGrpcStatus(token.status());
  absl::Status created =
      store_->CreateToken(name, request->role(), HashToken(*token),
                          absl::ToUnixMillis(absl::Now()));
  if (!created.ok()) return ToGrpcStatus(created);
  LogInfo("token '", name, "' created (role ", RoleName(*role), ")");
  response->set_token(*std::move(token));
  response->set_name(name);
  response->set_role(request->role());
  return grpc::Status::OK;
}

grpc::Status AdminService::ListTokens(grpc::ServerContext*,
                                      const v1::ListTokensRequest*,
                                      v1::ListTokensResponse* response) {
  absl::StatusOr<std::vector<TokenRecord>> tokens = store_->ListTokens();
  if (!tokens.ok()) return ToGrpcStatus(tokens.status());
  for (const TokenRecord& token : *tokens) {
    v1::TokenInfo& info = *response->add_tokens();
    info.set_name(token.name);
    info.set_role(token.role);
    info.set_created_at_ms(token.created_ms);
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::RevokeToken(grpc::ServerContext*,
                                       const v1::RevokeTokenRequest* request,
                                       v1::RevokeTokenResponse*) {
  if (request->name().empty()) return Invalid("name is required");
  absl::Status status = store_->RevokeToken(request->name());
  if (!status.ok()) return ToGrpcStatus(status);
  LogInfo("token '", request->name(), "' revoked");
  return grpc::Status::OK;
}

}  // namespace graphmill::coordinator
