// Implementation of client/coordinator_client.h.
#include "client/coordinator_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/table.h"
#include "common/grpc_limits.h"

namespace graphmill::cli {

void StreamCancellation::Cancel() {
  absl::MutexLock lock(&mutex_);
  cancelled_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

bool StreamCancellation::cancelled() const {
  absl::MutexLock lock(&mutex_);
  return cancelled_;
}

bool StreamCancellation::WaitForCancellation(absl::Duration timeout) const {
  absl::MutexLock lock(&mutex_);
  return mutex_.AwaitWithTimeout(absl::Condition(&cancelled_), timeout);
}

void StreamCancellation::Attach(grpc::ClientContext* context) {
  absl::MutexLock lock(&mutex_);
  context_ = context;
  if (cancelled_) context_->TryCancel();
}

void StreamCancellation::Detach() {
  absl::MutexLock lock(&mutex_);
  context_ = nullptr;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateCoordinatorChannel(
    const std::string& server, const ClientTlsOptions& tls) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      CoordinatorChannelCredentials(server, tls, FlagStyle::kDash);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  SetAddressListAuthority(server, args);
  return grpc::CreateCustomChannel(server, *credentials, args);
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
    std::string message = absl::StrCat(
        connected ? "lost connection to" : "cannot reach", " coordinator at ",
        options_.server, ": ", status.error_message());
    // A plaintext client to a TLS server sees the connection closed.
    if (!options_.tls && !connected &&
        !absl::StrContains(status.error_message(), "Connection refused")) {
      absl::StrAppend(&message, " (if it serves TLS, give --tls-ca-file)");
    }
    return absl::UnavailableError(message);
  }
  std::string message = absl::StrCat(absl::StatusCodeToString(code), ": ",
                                     status.error_message());
  if (code == absl::StatusCode::kUnauthenticated ||
      code == absl::StatusCode::kPermissionDenied) {
    if (options_.token.empty()) {
      absl::StrAppend(&message,
                      " (no token sent: none in --token-file, "
                      "$GRAPHMILL_TOKEN or ~/.config/graphmill/token)");
    } else {
      absl::StrAppend(&message, " (token from ",
                      options_.token_source.empty() ? "the command line"
                                                    : options_.token_source,
                      ")");
    }
  }
  if (code == absl::StatusCode::kDeadlineExceeded) {
    absl::StrAppend(&message, " (no answer within ",
                    FormatShortDuration(options_.timeout), "; see --timeout)");
  }
  return absl::Status(code, message);
}

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> CoordinatorClient::Unary(
    Stub& stub,
    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                 Response*),
    const Request& request) {
  grpc::ClientContext context;
  Prepare(context, true);
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return ToCliError(status);
  return response;
}

template <typename Message>
absl::Status CoordinatorClient::ReadStream(
    grpc::ClientReaderInterface<Message>& reader,
    const std::function<void(const Message&)>& on_message) {
  Message message;
  bool received = false;
  while (reader.Read(&message)) {
    received = true;
    on_message(message);
  }
  return ToCliError(reader.Finish(), received);
}

absl::StatusOr<v1::ListIntegrationsResponse>
CoordinatorClient::ListIntegrations() {
  return Unary(*admin_, &v1::Admin::Stub::ListIntegrations,
               v1::ListIntegrationsRequest());
}

absl::StatusOr<v1::Instance> CoordinatorClient::CreateInstance(
    const v1::Instance& instance) {
  v1::CreateInstanceRequest request;
  *request.mutable_instance() = instance;
  return Unary(*admin_, &v1::Admin::Stub::CreateInstance, request);
}

absl::StatusOr<v1::Instance> CoordinatorClient::GetInstance(
    const std::string& instance_id) {
  v1::GetInstanceRequest request;
  request.set_instance_id(instance_id);
  return Unary(*admin_, &v1::Admin::Stub::GetInstance, request);
}

absl::StatusOr<v1::ListInstancesResponse> CoordinatorClient::ListInstances() {
  return Unary(*admin_, &v1::Admin::Stub::ListInstances,
               v1::ListInstancesRequest());
}

absl::StatusOr<v1::Run> CoordinatorClient::StartRun(
    const std::string& instance_id, bool full) {
  v1::StartRunRequest request;
  request.set_instance_id(instance_id);
  request.set_full(full);
  return Unary(*admin_, &v1::Admin::Stub::StartRun, request);
}

absl::StatusOr<v1::GetRunResponse> CoordinatorClient::GetRun(int64_t run_id) {
  v1::GetRunRequest request;
  request.set_run_id(run_id);
  return Unary(*admin_, &v1::Admin::Stub::GetRun, request);
}

absl::StatusOr<v1::ListRunsResponse> CoordinatorClient::ListRuns(
    const v1::ListRunsRequest& request) {
  return Unary(*admin_, &v1::Admin::Stub::ListRuns, request);
}

absl::StatusOr<v1::ListEntitiesResponse> CoordinatorClient::ListEntities(
    const v1::ListEntitiesRequest& request) {
  return Unary(*graph_, &v1::Graph::Stub::ListEntities, request);
}

absl::StatusOr<v1::ListRelationshipsResponse>
CoordinatorClient::ListRelationships(
    const v1::ListRelationshipsRequest& request) {
  return Unary(*graph_, &v1::Graph::Stub::ListRelationships, request);
}

absl::StatusOr<v1::Entity> CoordinatorClient::GetEntity(
    const v1::GetEntityRequest& request) {
  return Unary(*graph_, &v1::Graph::Stub::GetEntity, request);
}

absl::StatusOr<v1::Instance> CoordinatorClient::UpdateInstance(
    const v1::Instance& instance,
    const std::vector<std::string>& unset_config) {
  v1::UpdateInstanceRequest request;
  *request.mutable_instance() = instance;
  for (const std::string& name : unset_config) request.add_unset_config(name);
  return Unary(*admin_, &v1::Admin::Stub::UpdateInstance, request);
}

absl::Status CoordinatorClient::DeleteInstance(const std::string& instance_id) {
  v1::DeleteInstanceRequest request;
  request.set_instance_id(instance_id);
  return Unary(*admin_, &v1::Admin::Stub::DeleteInstance, request).status();
}

absl::StatusOr<v1::ValidateInstanceResponse>
CoordinatorClient::ValidateInstance(const std::string& instance_id) {
  v1::ValidateInstanceRequest request;
  request.set_instance_id(instance_id);
  return Unary(*admin_, &v1::Admin::Stub::ValidateInstance, request);
}

absl::StatusOr<v1::InstallWebhooksResponse> CoordinatorClient::InstallWebhooks(
    const std::string& instance_id, const std::string& url) {
  v1::InstallWebhooksRequest request;
  request.set_instance_id(instance_id);
  request.set_url(url);
  return Unary(*admin_, &v1::Admin::Stub::InstallWebhooks, request);
}

absl::StatusOr<v1::Run> CoordinatorClient::CancelRun(int64_t run_id) {
  v1::CancelRunRequest request;
  request.set_run_id(run_id);
  return Unary(*admin_, &v1::Admin::Stub::CancelRun, request);
}

absl::StatusOr<v1::Run> CoordinatorClient::RetryUpload(int64_t run_id) {
  v1::RetryUploadRequest request;
  request.set_run_id(run_id);
  return Unary(*admin_, &v1::Admin::Stub::RetryUpload, request);
}

absl::StatusOr<v1::ListNeighborsResponse> CoordinatorClient::ListNeighbors(
    const v1::ListNeighborsRequest& request) {
  return Unary(*graph_, &v1::Graph::Stub::ListNeighbors, request);
}

absl::StatusOr<v1::CreateTokenResponse> CoordinatorClient::CreateToken(
    const std::string& name, v1::TokenRole role) {
  v1::CreateTokenRequest request;
  request.set_name(name);
  request.set_role(role);
  return Unary(*admin_, &v1::Admin::Stub::CreateToken, request);
}

absl::StatusOr<v1::ListTokensResponse> CoordinatorClient::ListTokens() {
  return Unary(*admin_, &v1::Admin::Stub::ListTokens, v1::ListTokensRequest());
}

absl::Status CoordinatorClient::RevokeToken(const std::string& name) {
  v1::RevokeTokenRequest request;
  request.set_name(name);
  return Unary(*admin_, &v1::Admin::Stub::RevokeToken, request).status();
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
  return ReadStream(*reader, on_update);
}

absl::Status CoordinatorClient::Subscribe(
    const v1::SubscribeRequest& request,
    const std::function<void(const v1::ChangeEvent&)>& on_event,
    StreamCancellation* cancellation) {
  grpc::ClientContext context;
  Prepare(context, false);
  if (cancellation != nullptr) cancellation->Attach(&context);
  std::unique_ptr<grpc::ClientReader<v1::ChangeEvent>> reader =
      graph_->Subscribe(&context, request);
  absl::Status status = ReadStream(*reader, on_event);
  if (cancellation != nullptr) cancellation->Detach();
  return status;
}

absl::Status CoordinatorClient::GetSnapshot(
    const v1::GetSnapshotRequest& request,
    const std::function<void(const v1::SnapshotChunk&)>& on_chunk) {
  grpc::ClientContext context;
  Prepare(context, false);
  std::unique_ptr<grpc::ClientReader<v1::SnapshotChunk>> reader =
      graph_->GetSnapshot(&context, request);
  return ReadStream(*reader, on_chunk);
}

}  // namespace graphmill::cli
