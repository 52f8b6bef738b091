// What an integration does with a provider's webhook delivery: check its
// signature, and turn it into the change it stands for in the instance's graph
// with the same converters (and, where the delivery does not carry everything,
// the same API client) as the integration's steps. The coordinator serves the
// endpoint (coordinator/webhooks) and applies the change (Store::ApplyPatch).
//
// A handler also registers the coordinator's endpoint with the provider
// (Install, for `graphmill instance webhooks install`), on each resource of
// install_entity_type() in the instance's graph.
//
// Thread safety: implementations are thread-safe; one handler serves every
// delivery of its integration. Errors: Verify gives UNAUTHENTICATED,
// Resolve INVALID_ARGUMENT for a body that is not an event it knows the shape
// of, or the API client's errors. No message holds a secret.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_COMMON_WEBHOOK_HANDLER_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_COMMON_WEBHOOK_HANDLER_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graphmill/v1/graph.pb.h"
#include "graphmill/v1/worker.pb.h"
#include "rapidjson/document.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker {

// Request headers, names in lower case.
using WebhookHeaders = std::map<std::string, std::string>;

// What one delivery changes.
struct WebhookChange {
  // The provider's event id (the same in its retries of the delivery).
  std::string event_id;
  // What happened, for logs and metrics, e.g. "workflow-completed" or
  // "api:app destroy".
  std::string event_type;
  // When the objects below were current at the provider (ms since the epoch).
  int64_t as_of_ms = 0;
  // Objects as they are now, with the scopes the steps give them.
  v1::ResultBatch objects;
  // Entities the provider says are gone.
  std::vector<std::string> deleted_entity_keys;
  // True when the event is about nothing the graph holds (e.g. a Heroku
  // add-on attachment): acknowledged, nothing applied.
  bool ignored = false;
  // Requests made to the provider's API to resolve it.
  int api_requests = 0;
};

class WebhookHandler {
 public:
  virtual ~WebhookHandler() = default;
  // The header that carries the signature, e.g. "circleci-signature".
  virtual absl::string_view signature_header() const = 0;
  // OK if `headers` sign `body` with `secret`. UNAUTHENTICATED naming the
  // header when it is missing, malformed or does not match.
  virtual absl::Status Verify(const WebhookHeaders& headers,
                              absl::string_view body,
                              absl::string_view secret) const = 0;
  // The change a verified delivery stands for. `config` is the instance's
  // (secrets open, defaults applied); `now_ms` the time of receipt.
  virtual absl::StatusOr<WebhookChange> Resolve(const InstanceConfig& config,
                                                absl::string_view body,
                                                int64_t now_ms) const = 0;

  // The entity type webhooks are registered on, e.g. "circleci_project".
  virtual absl::string_view install_entity_type() const = 0;
  // Registers `url` for the provider resource `entity` (of
  // install_entity_type(), its `id` property naming the resource), signed with
  // config["webhookSecret"], unless a webhook with exactly that url is already
  // registered there: true if it created one, false if one existed. `config`
  // as for Resolve. FAILED_PRECONDITION without a webhookSecret,
  // INVALID_ARGUMENT for an entity without a string `id`, or the API client's
  // errors; the API key and the webhook secret are in no message. The create
  // request is sent once (a retried create could register the webhook twice);
  // after a failure that may have followed the provider's create, the
  // webhooks are listed again (see InstallWebhookOnce).
  virtual absl::StatusOr<bool> Install(const InstanceConfig& config,
                                       const v1::Entity& entity,
                                       absl::string_view url) const = 0;
};

// The config field that holds the secret deliveries are signed with.
inline constexpr char kWebhookSecretConfigField[] = "webhookSecret";

// config[kWebhookSecretConfigField], FAILED_PRECONDITION when missing or empty.
absl::StatusOr<std::string> WebhookSecret(const InstanceConfig& config);

// The string property `id` of an entity to install a webhook on,
// INVALID_ARGUMENT naming the entity otherwise.
absl::StatusOr<std::string> WebhookResourceId(const v1::Entity& entity);

// Install's algorithm, shared by the integrations: `exists()` (does the
// resource have a webhook with the url?) first; if not, `create()`, made
// once. A create that failed with a server or network error (the provider may
// have created the webhook before the failure) is checked with `exists()`
// again: true then. Returns whether this call created the webhook.
absl::StatusOr<bool> InstallWebhookOnce(
    const std::function<absl::StatusOr<bool>()>& exists,
    const std::function<absl::Status()>& create);

// The string at `path` in a delivery's JSON, e.g. {"workflow", "id"}; "" when
// a step of it is missing or not an object, or the last is not a string (see
// StringField and ObjectField in common/entity_builder.h).
std::string WebhookString(const rapidjson::Value& event,
                          std::initializer_list<const char*> path);

// INVALID_ARGUMENT "<provider> webhook: field '<field>' is missing".
absl::Status MissingWebhookField(absl::string_view provider,
                                 absl::string_view field);

// Milliseconds since the epoch of an RFC 3339 time
// ("2021-09-01T22:49:34.317Z"), INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<int64_t> WebhookTimeMs(absl::string_view text,
                                      absl::string_view field);

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_WEBHOOK_HANDLER_H_
