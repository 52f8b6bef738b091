// The gRPC channel from a worker to the coordinator.
#ifndef GRAPHMILL_WORKER_RUNTIME_CHANNEL_H_
#define GRAPHMILL_WORKER_RUNTIME_CHANNEL_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls.h"

namespace graphmill::worker {

struct CoordinatorChannelOptions {
  // HTTP/2 keepalive pings notice a coordinator that vanished without closing
  // the connection. The coordinator's server must accept pings this often (its
  // GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS must not exceed
  // keepalive_time), or it will close the connection with "too_many_pings".
  absl::Duration keepalive_time = absl::Seconds(30);
  // A ping unanswered for this long drops the connection.
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // gRPC's own reconnect backoff between failed dials (its defaults: 1 s
  // growing to 2 minutes, during which calls fail at once), kept in line with
  // the worker's Connect backoff (WorkerOptions) so a restarted coordinator is
  // found within about a second. The worker also resets it before each
  // Connect attempt (grpc::experimental::ChannelResetConnectionBackoff).
  absl::Duration initial_reconnect_backoff = absl::Milliseconds(200);
  absl::Duration max_reconnect_backoff = absl::Seconds(1);
  // How long one connection attempt (TCP and HTTP/2 handshake) may take. A
  // coordinator that accepts but never answers holds the worker's hello this
  // long (Worker::Shutdown() interrupts it).
  absl::Duration connect_timeout = absl::Seconds(20);
  // Largest message accepted from the coordinator (EntityBatch,
  // TaskAssignment).
  int max_receive_message_bytes = 64 << 20;
};

// Where and as whom a worker connects.
struct CoordinatorConnection {
  // host:port of the coordinator.
  std::string address;
  // TLS (a CA, and a client certificate for a coordinator that requires one)
  // or plaintext (loopback only, unless `tls.insecure`); see
  // CoordinatorChannelCredentials in common/tls.h. Files are re-read when they
  // change, so rotated certificates are used by the next connection.
  ClientTlsOptions tls;
  // The worker's bearer token, sent as "authorization: Bearer <token>" on
  // every call when not empty. A secret: never logged.
  std::string token;
};

// A channel to the coordinator as `connection` describes. INVALID_ARGUMENT
// naming the worker's flags (--tls_ca_file, ...) for a TLS set-up that cannot
// work or plaintext to a non-loopback address without `tls.insecure`. Never
// blocks: connection happens on first use.
absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectCoordinator(
    const CoordinatorConnection& connection,
    const CoordinatorChannelOptions& options = {});

// A plaintext channel without a token to `address` (host:port), for tests
// against a fake gateway. Never blocks.
std::shared_ptr<grpc::Channel> CreateCoordinatorChannel(
    const std::string& address, const CoordinatorChannelOptions& options = {});

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_CHANNEL_H_
