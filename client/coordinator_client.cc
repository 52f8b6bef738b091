// Implementation of client/coordinator_client.h.
#include "client/coordinator_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/table.h"

namespace graphmill::cli {

std::shared_ptr<grpc::Channel> CreateCoordinatorChannel(
    const std::string& server) {
  return grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
}

CoordinatorClient::CoordinatorClient(std::shared_ptr<grpc::Channel> channel,
                                     Options options)
    : channel_(std::move(channel)),
      options_(std::move(options)),
      admin_(v1::Admin::NewStub(channel_)),
      graph_(v1::Graph::NewStub(channel_)) {}

void CoordinatorClient::Prepare(grpc::ClientContext& context,
                                bool unary) const {
  if (unary) {
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(options_.timeout));
  }
  if (!options_.token.empty()) {
    context.AddMetadata("authorization",
                        absl::StrCat("Bearer ", options_.token));
  }
}

absl::Status CoordinatorClient::ToCliError(const grpc::Status& status,
                                           bool connected) const {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  // A server may answer UNAVAILABLE itself; only a channel that is not
  // connected means the coordinator could not be reached.
  const bool connection_problem =
      (code == absl::StatusCode::kUnavailable ||
       code == absl::StatusCode::kDeadlineExceeded) &&
      channel_->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY;
  if (connection_problem) {
    return absl::UnavailableError(absl::StrCat(
        connected ? "lost connection to" : "cannot reach", " coordinator at ",
        options_.server, ": ", status.error_message()));
  }
  std::string message = absl::StrCat(absl::StatusCodeToString(code), ": ",
                                     status.error_message());
  if (code == absl::StatusCode::kDeadlineExceeded) {
    absl::StrAppend(&message, " (no answer within ",
                    FormatShortDuration(options_.timeout), "; see --timeout)");
  }
  return absl::Status(code, message);
}

absl::StatusOr<v1::ListIntegrationsResponse>
CoordinatorClient::ListIntegrations() {
  grpc::ClientContext context;
  Prepare(context, true);
  v1::ListIntegrationsResponse response;
  grpc::Status status = admin_->ListIntegrations(&context, {}, &response);
  if (!status.ok()) return ToCliError(status);
  return response;
}

absl::StatusOr<v1::Instance> CoordinatorClient::CreateInstance(
    const v1::Instance& instance) {
  grpc::ClientContext context;
  Prepare(context, true);
  v1::CreateInstanceRequest request;
  *request.mutable_instance() = instance;
  v1::Instance response;
  grpc::Status status = admin_->CreateInstance(&context, request, &response);
  if (!status.ok()) return ToCliError(status);
  return response;
}

absl::StatusOr<v1::Instance> CoordinatorClient::GetInstance(
    const std::string& instance_id) {
  grpc::ClientContext context;
  Prepare(context, true);
  v1::GetInstanceRequest request;
  request.set_instance_id(instance_id);
  v1::Instance response;
  grpc::Status status = admin_->GetInstance(&context, request, &response);
  if (!status.ok()) return ToCliError(status);
  return response;
}

absl::StatusOr<v1::ListInstancesResponse> CoordinatorClient::ListInstances() {
  grpc::ClientContext context;
  Prepare(context, true);
  v1::ListInstancesResponse response;
  grpc::Status status = admin_->ListInstances(&context, {}, &response);
  if (!status.ok()) return ToCliError(status);
  return response;
}

absl::StatusOr<v1::Run> CoordinatorClient::StartRun(
    const std::string& instance_id) {
  grpc::ClientContext context;
  Prepare(context, true);
  v1::StartRunRequest request;
  request.set_instance_id(instance_id);
  v1::Run response;
  grpc::Status status = admin_->StartRun(&context, request, &response);
  if (!status.ok()) return ToCliError(status);
  return response;
}

absl::StatusOr<v1::GetRunResponse> CoordinatorClient::GetRun(int64_t run_id) {
  grpc::ClientContext context;
  Prepare(context, true);
  v1::GetRunRequest request;
  request.set_run_id(run_id);
  v1::GetRunResponse response;
  grpc::Status status = admin_->GetRun(&context, request, &response);
  if (!status.ok()) return ToCliError(status);
  return response;
}

absl::StatusOr<v1::ListRunsResponse> CoordinatorClient::ListRuns(
    const v1::ListRunsRequest& request) {
  grpc::ClientContext context;
  Prepare(context, true);
  v1::ListRunsResponse response;
  grpc::Status status = admin_->ListRuns(&context, request, &response);
  if (!status.ok()) return ToCliError(status);
  return response;
}

absl::StatusOr<v1::ListEntitiesResponse> CoordinatorClient::ListEntities(
    const v1::ListEntitiesRequest& request) {
  grpc::ClientContext context;
  Prepare(context, true);
  v1::ListEntitiesResponse response;
  grpc::Status status = graph_->ListEntities(&context, request, &response);
  if (!status.ok()) return ToCliError(status);
  return response;
}

absl::StatusOr<v1::ListRelationshipsResponse>
CoordinatorClient::ListRelationships(
    const v1::ListRelationshipsRequest& request) {
  grpc::ClientContext context;
  Prepare(context, true);
  v1::ListRelationshipsResponse response;
  grpc::Status status = graph_->ListRelationships(&context, request, &response);
  if (!status.ok()) return ToCliError(status);
  return response;
}

absl::StatusOr<v1::Entity> CoordinatorClient::GetEntity(
    const std::string& instance_id, const std::string& key) {
  grpc::ClientContext context;
  Prepare(context, true);
  v1::GetEntityRequest request;
  request.set_instance_id(instance_id);
  request.set_key(key);
  v1::Entity response;
  grpc::Status status = graph_->GetEntity(&context, request, &response);
  if (!status.ok()) return ToCliError(status);
  return response;
}

absl::Status CoordinatorClient::WatchRun(
    int64_t run_id,
    const std::function<void(const v1::RunUpdate&)>& on_update) {
  grpc::ClientContext context;
  Prepare(context, false);
  v1::WatchRunRequest request;
  request.set_run_id(run_id);
  std::unique_ptr<grpc::ClientReader<v1::RunUpdate>> reader =
      admin_->WatchRun(&context, request);
  v1::RunUpdate update;
  bool received = false;
  while (reader->Read(&update)) {
    received = true;
    on_update(update);
  }
  return ToCliError(reader->Finish(), received);
}

}  // namespace graphmill::cli
