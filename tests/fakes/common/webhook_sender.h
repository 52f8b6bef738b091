// Webhook deliveries of the fake provider servers: a thread-safe registry of
// targets (URL, secret, the events they take, the scope they watch) and a
// sender that POSTs each event to the matching targets and records per target
// how many deliveries it got and the last HTTP status. The provider's payload
// and signature are the caller's (a render function per target), so one sender
// serves CircleCI (hex signature) and Heroku (base64 signature) alike.
//
// The shared control endpoints (HandleWebhookControl, wired into
// HandleSharedControl by ControlHooks::webhooks):
//
//   POST   webhooks            {"url": U, "secret": S[, "events": [E, ...]]
//                              [, "name": N][, "scope": ID]} -> 201 {"id"};
//                              400 names the missing or invalid member
//   GET    webhooks            {"targets": [{"id", "url", "name", "events",
//                              "scope", "deliveries", "last_status"}, ...]}
//                              (never the secret)
//   DELETE webhooks            removes every target; answers as GET
//   POST   webhooks/redeliver  sends the last event again, byte for byte (same
//                              body and headers: a provider's retry) to the
//                              targets it went to that still exist ->
//                              {"statuses": [N, ...], "targets": [ID, ...]}
#ifndef GRAPHMILL_TESTS_FAKES_COMMON_WEBHOOK_SENDER_H_
#define GRAPHMILL_TESTS_FAKES_COMMON_WEBHOOK_SENDER_H_

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace graphmill::fakes::common {

// A random version-4 UUID (lower-case hex).
std::string RandomUuid();
// "2024-03-21T00:00:00.000Z" (UTC, milliseconds), as CircleCI writes times.
std::string IsoMillis(absl::Time time);
// "2024-03-21T00:00:00Z" (UTC, seconds), as Heroku writes times.
std::string IsoSeconds(absl::Time time);

// A receiver of deliveries.
struct WebhookTarget {
  std::string id;      // assigned by WebhookSender::Add when empty
  std::string url;     // http:// or https://, with an optional path and query
  std::string secret;  // signs the deliveries (by the render function)
  std::string name;    // optional; providers that name webhooks show it
  // The event names it takes (CircleCI: "workflow-completed"; Heroku's include
  // names: "api:app"). Empty: every event.
  std::vector<std::string> events;
  // Only events of this scope (a CircleCI project id, a Heroku app id); empty:
  // events of every scope.
  std::string scope;
  bool verify_tls = true;  // https: check the server's certificate
  // Provider-specific values the sender keeps but does not use (the Heroku
  // webhook's "level", CircleCI's scope type...).
  std::map<std::string, std::string> attributes;
  absl::Time created_at;  // set by Add

  // Set by the sender.
  int64_t deliveries = 0;  // requests sent (redeliveries included)
  int last_status = 0;     // HTTP status of the last one; -1: no answer
                           // (connection refused, timeout); 0: none yet
};

// One request to a target.
struct WebhookMessage {
  std::string body;
  // Content-Type is sent as given here (application/json when absent).
  std::vector<std::pair<std::string, std::string>> headers;
};

// The outcome of one request.
struct DeliveryResult {
  std::string target_id;
  int status = -1;  // HTTP status; -1 when no answer came
};

struct WebhookSenderOptions {
  // Connect, write and read timeout of each delivery.
  absl::Duration timeout = absl::Seconds(5);
  // https targets: the PEM CA bundle to verify them with; empty = the
  // system's.
  std::string ca_file;
  // The event names a target may ask for; empty = any.
  std::vector<std::string> known_events;
};

// Thread-safe. Deliveries are made by the calling thread, one target after
// the other, without holding the registry's lock.
class WebhookSender {
 public:
  explicit WebhookSender(WebhookSenderOptions options = {});
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Registers `target` (id: a random UUID unless given) and returns it as
  // stored. INVALID_ARGUMENT naming the field: a URL that is not http(s)://
  // with a host, an empty secret, an event outside known_events, an id in use.
  absl::StatusOr<WebhookTarget> Add(WebhookTarget target);
  // False if no target has the id.
  bool Remove(absl::string_view id);
  void Clear();
  // In registration order.
  std::vector<WebhookTarget> Targets() const;
  std::optional<WebhookTarget> Find(absl::string_view id) const;

  // Whether `target` takes `event` of `scope`.
  static bool Matches(const WebhookTarget& target, absl::string_view event,
                      absl::string_view scope);

  // POSTs render(target) to every target that Matches(event, scope), in
  // registration order, and returns their results (empty when none matched).
  // The messages become the "last event" Redeliver sends again.
  using Render = std::function<WebhookMessage(const WebhookTarget& target)>;
  std::vector<DeliveryResult> Deliver(absl::string_view event,
                                      absl::string_view scope,
                                      const Render& render);

  // Sends the last Deliver's messages again, unchanged, to those of its
  // targets that are still registered (at their current URL).
  std::vector<DeliveryResult> Redeliver();

 private:
  struct Sent {
    std::string target_id;
    WebhookMessage message;
  };

  // POSTs `message` to `target` and records the result.
  DeliveryResult Post(const WebhookTarget& target,
                      const WebhookMessage& message);

  const WebhookSenderOptions options_;
  mutable absl::Mutex mutex_;
  std::vector<WebhookTarget> targets_ ABSL_GUARDED_BY(mutex_);
  std::vector<Sent> last_event_ ABSL_GUARDED_BY(mutex_);
};

// Answers `method` on /_control/`path` if it is one of the webhook endpoints
// above and returns true; returns false (leaving `res` alone) otherwise.
// `error_body` makes the fake's JSON error body from a message.
bool HandleWebhookControl(
    const std::string& method, absl::string_view path, const std::string& body,
    WebhookSender& sender,
    const std::function<std::string(absl::string_view message)>& error_body,
    httplib::Response& res);

// The target list of GET /_control/webhooks.
std::string WebhookTargetsJson(const std::vector<WebhookTarget>& targets);

}  // namespace graphmill::fakes::common

#endif  // GRAPHMILL_TESTS_FAKES_COMMON_WEBHOOK_SENDER_H_
