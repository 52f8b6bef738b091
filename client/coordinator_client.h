// The CLI's connection to the coordinator: Admin and Graph calls with a
// deadline, the bearer token, and errors worded for one line of output.
#ifndef GRAPHMILL_CLIENT_COORDINATOR_CLIENT_H_
#define GRAPHMILL_CLIENT_COORDINATOR_CLIENT_H_

#include <grpcpp/channel.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "graphmill/v1/graph.grpc.pb.h"

namespace graphmill::cli {

// A channel to `server` (HOST:PORT or any gRPC target): TLS when `tls` names
// a CA (files are checked now), else plaintext, which only a loopback address
// gets unless `tls.insecure` (see CoordinatorChannelCredentials in
// common/tls.h). INVALID_ARGUMENT naming the CLI's flags (--tls-ca-file, ...)
// otherwise. Connects lazily. Receives messages up to kMaxGrpcMessageBytes
// (common/grpc_limits.h), the coordinator's own limit, so one entity with MBs
// of raw data is readable.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateCoordinatorChannel(
    const std::string& server, const ClientTlsOptions& tls = {});

// Lets another thread end a streaming call (CoordinatorClient::Subscribe).
// Thread-safe.
class StreamCancellation {
 public:
  // Cancels the call in progress, or the next one to start.
  void Cancel();
  bool cancelled() const;
  // Waits up to `timeout` for Cancel(); returns cancelled().
  bool WaitForCancellation(absl::Duration timeout) const;

 private:
  friend class CoordinatorClient;
  // While a call runs, `context` may be cancelled; Detach before it is gone.
  void Attach(grpc::ClientContext* context);
  void Detach();

  mutable absl::Mutex mutex_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
};

// Errors returned by every method keep the gRPC code and read as the line to
// print after "graphmill: ": "<CODE>: <server's message>" (e.g. "NOT_FOUND:
// instance 'x' not found"), or "cannot reach coordinator at <server>: <detail>"
// (UNAVAILABLE) when no connection could be made. UNAUTHENTICATED and
// PERMISSION_DENIED also say where the token came from, or where the CLI
// looked for one. Thread-compatible: one caller
// at a time, except that unary calls may be made from inside a WatchRun
// callback.
class CoordinatorClient {
 public:
  struct Options {
    // Named in connection errors.
    std::string server;
    // Deadline of each unary call; streams (WatchRun, Subscribe, GetSnapshot)
    // have none.
    absl::Duration timeout = absl::Seconds(30);
    // Sent as "authorization: Bearer <token>" when not empty.
    std::string token;
    // Where `token` came from ("$GRAPHMILL_TOKEN", ...), named in
    // UNAUTHENTICATED and PERMISSION_DENIED errors.
    std::string token_source;
    // True when connecting with TLS (a CA was given); plaintext otherwise.
    bool tls = false;
  };

  CoordinatorClient(std::shared_ptr<grpc::Channel> channel, Options options);
  CoordinatorClient(const CoordinatorClient&) = delete;
  CoordinatorClient& operator=(const CoordinatorClient&) = delete;

  absl::StatusOr<v1::ListIntegrationsResponse> ListIntegrations();
  absl::StatusOr<v1::Instance> CreateInstance(const v1::Instance& instance);
  absl::StatusOr<v1::Instance> GetInstance(const std::string& instance_id);
  absl::StatusOr<v1::ListInstancesResponse> ListInstances();
  absl::StatusOr<v1::Run> StartRun(const std::string& instance_id,
                                   bool full = false);
  absl::StatusOr<v1::GetRunResponse> GetRun(int64_t run_id);
  absl::StatusOr<v1::ListRunsResponse> ListRuns(
      const v1::ListRunsRequest& request);
  absl::StatusOr<v1::ListEntitiesResponse> ListEntities(
      const v1::ListEntitiesRequest& request);
  absl::StatusOr<v1::ListRelationshipsResponse> ListRelationships(
      const v1::ListRelationshipsRequest& request);
  absl::StatusOr<v1::Entity> GetEntity(const v1::GetEntityRequest& request);
  // Sends the whole instance and the config fields to remove (see
  // UpdateInstanceRequest); returns it as stored, secrets masked.
  absl::StatusOr<v1::Instance> UpdateInstance(
      const v1::Instance& instance,
      const std::vector<std::string>& unset_config = {});
  absl::Status DeleteInstance(const std::string& instance_id);
  absl::StatusOr<v1::ValidateInstanceResponse> ValidateInstance(
      const std::string& instance_id);
  // Registers the coordinator's webhook endpoint under base `url` with the
  // instance's provider; per-resource errors are in the response.
  absl::StatusOr<v1::InstallWebhooksResponse> InstallWebhooks(
      const std::string& instance_id, const std::string& url);
  absl::StatusOr<v1::Run> CancelRun(int64_t run_id);
  absl::StatusOr<v1::Run> RetryUpload(int64_t run_id);
  absl::StatusOr<v1::ListNeighborsResponse> ListNeighbors(
      const v1::ListNeighborsRequest& request);
  // Bearer tokens. The created token is in the response: never log it.
  absl::StatusOr<v1::CreateTokenResponse> CreateToken(const std::string& name,
                                                      v1::TokenRole role);
  absl::StatusOr<v1::ListTokensResponse> ListTokens();
  absl::Status RevokeToken(const std::string& name);

  // Calls `on_event` for each change until the server ends the stream (OK),
  // the call fails, or `cancellation` (may be null) is cancelled (CANCELLED).
  absl::Status Subscribe(
      const v1::SubscribeRequest& request,
      const std::function<void(const v1::ChangeEvent&)>& on_event,
      StreamCancellation* cancellation);

  // Calls `on_chunk` for each chunk of the instance's snapshot; OK when the
  // server ends the stream.
  absl::Status GetSnapshot(
      const v1::GetSnapshotRequest& request,
      const std::function<void(const v1::SnapshotChunk&)>& on_chunk);

  // Calls `on_update` for each update of the run until the server ends the
  // stream; OK when it ends cleanly (the run ended), an error otherwise ("lost
  // connection to coordinator at ..." when the connection broke after the first
  // update).
  absl::Status WatchRun(
      int64_t run_id,
      const std::function<void(const v1::RunUpdate&)>& on_update);

 private:
  // A context with the token and, for unary calls, the deadline.
  void Prepare(grpc::ClientContext& context, bool unary) const;
  // One unary call of `stub` with a prepared context.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Unary(
      Stub& stub,
      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                   Response*),
      const Request& request);
  // Reads a server stream to its end; see WatchRun for the errors.
  template <typename Message>
  absl::Status ReadStream(
      grpc::ClientReaderInterface<Message>& reader,
      const std::function<void(const Message&)>& on_message);
  // See the class comment. `connected` is true once the call has received a
  // message.
  absl::Status ToCliError(const grpc::Status& status,
                          bool connected = false) const;

  std::shared_ptr<grpc::Channel> channel_;
  Options options_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Graph::Stub> graph_;
};

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_COORDINATOR_CLIENT_H_
