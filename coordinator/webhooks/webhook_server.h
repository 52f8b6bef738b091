// The coordinator's webhook endpoint: HTTP(S) on --webhook_listen, one route,
// POST /webhooks/<instance-id>, handed to a WebhookReceiver. TLS with the
// coordinator's certificate and key; plaintext only on a loopback address
// unless the operator says otherwise (behind an Ingress that terminates TLS
// on the same node network, say). Bodies over `max_body_bytes` get 413 before
// they are read in full.
//
// Thread safety: Start and Stop from one thread; requests are served on the
// server's own threads.
#ifndef GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_SERVER_H_
#define GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/webhooks/webhook_receiver.h"

namespace httplib {
class Server;
}

namespace graphmill::coordinator {

struct WebhookServerOptions {
  std::string listen;  // host:port; port 0 picks a free one
  // PEM files (both, or neither for plaintext).
  std::string tls_cert_file;
  std::string tls_key_file;
  // Plaintext on an address that is not loopback.
  bool insecure_plaintext = false;
  int64_t max_body_bytes = 1 << 20;
  int threads = 16;
};

class WebhookServer {
 public:
  // Binds and starts serving. INVALID_ARGUMENT naming the flag for a bad
  // address, plaintext off loopback without insecure_plaintext, or unreadable
  // TLS files; UNAVAILABLE if the address cannot be bound. `receiver` must
  // outlive the server.
  static absl::StatusOr<std::unique_ptr<WebhookServer>> Start(
      const WebhookServerOptions& options, WebhookReceiver* receiver);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  int port() const { return port_; }
  // "TLS" or "plaintext", for the start-up log.
  const std::string& description() const { return description_; }
  // Stops serving and joins the thread; idempotent.
  void Stop();

 private:
  WebhookServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::string description_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_SERVER_H_
