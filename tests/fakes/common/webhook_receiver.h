// Tests' end of webhook deliveries: a real HTTP server on 127.0.0.1 that
// records every request it gets and answers each with a chosen status. A fake
// delivers before it answers the request that caused the event, so once that
// returns the delivery is here: no waiting.
#ifndef GRAPHMILL_TESTS_FAKES_COMMON_WEBHOOK_RECEIVER_H_
#define GRAPHMILL_TESTS_FAKES_COMMON_WEBHOOK_RECEIVER_H_

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tests/fakes/common/server_thread.h"

namespace graphmill::fakes::common {

struct ReceivedRequest {
  std::string method;
  std::string target;  // path and query, as sent
  httplib::Headers headers;
  std::string body;

  // The value of header `name` (any case); "" when absent.
  std::string Header(const std::string& name) const;
};

// Thread-safe.
class WebhookReceiver {
 public:
  // Listens on an ephemeral port of 127.0.0.1 (https with `cert_file` and
  // `key_file`, PEM).
  static absl::StatusOr<std::unique_ptr<WebhookReceiver>> Start(
      const std::string& cert_file = "", const std::string& key_file = "");
  ~WebhookReceiver();

  int port() const { return thread_.port(); }
  // "http://127.0.0.1:PORT<path>" (https:// when serving TLS).
  std::string url(const std::string& path = "/hooks") const;
  // The status later requests get (200 at first).
  void set_status(int status);
  std::vector<ReceivedRequest> requests() const;
  void Stop() { thread_.Stop(); }

 private:
  WebhookReceiver(std::unique_ptr<httplib::Server> server, bool tls);

  std::unique_ptr<httplib::Server> server_;
  ServerThread thread_;
  bool tls_;
  mutable absl::Mutex mutex_;
  int status_ ABSL_GUARDED_BY(mutex_) = 200;
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace graphmill::fakes::common

#endif  // GRAPHMILL_TESTS_FAKES_COMMON_WEBHOOK_RECEIVER_H_
