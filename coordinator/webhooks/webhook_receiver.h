// What the coordinator does with one webhook delivery, apart from HTTP: load
// the instance (LoadWebhookInstance; a store error is 503), limit its request
// rate, verify the signature with the
// instance's webhookSecret, resolve the change with the integration's handler
// (worker/integrations/*/webhook.h: the steps' converters, and for CircleCI
// the steps' API client) and apply it with Store::ApplyPatch (event ids once,
// ordered against other patches and runs), then wake subscribers.
//
// Replies never say why a delivery was refused beyond "unauthorized": an
// unknown instance, an instance without a webhookSecret, an integration
// without webhooks and a bad signature all get 401, so the endpoint tells an
// unauthenticated caller nothing about which instances exist (the log says
// which it was). Nothing is stored for a refused delivery.
//
// Thread-safe: the HTTP server calls Receive from many threads.
#ifndef GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_RECEIVER_H_
#define GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_RECEIVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/http/http_client.h"
#include "coordinator/instances.h"
#include "coordinator/store/store.h"
#include "coordinator/webhooks/webhook_instance.h"
#include "worker/integrations/common/webhook_handler.h"

namespace graphmill::coordinator {

struct WebhookReply {
  int http_status = 200;
  // A JSON object: {"status": ..., "message": ...} and counts.
  std::string body;
  // For logs and metrics: "applied", "duplicate", "ignored", "unauthorized",
  // "invalid", "rate_limited", "provider_error", "store_error".
  std::string outcome;
};

struct WebhookReceiverOptions {
  Clock* clock = Clock::Real();
  // Deliveries accepted per instance per second, with a burst of twice that;
  // more get 429.
  double rate_per_instance = 50;
  // Called after a patch changed the graph (the engine's NotifyExternalChange
  // wakes Subscribe streams).
  std::function<void()> on_change;
};

class WebhookReceiver {
 public:
  // `store` and `secrets` must outlive the receiver. `handlers`: integration
  // name -> its handler.
  WebhookReceiver(Store* store, const InstanceSecrets* secrets,
                  WebhookHandlers handlers, WebhookReceiverOptions options);

  // One delivery to /webhooks/<instance_id>. `headers` names in lower case.
  WebhookReply Receive(const std::string& instance_id,
                       const worker::WebhookHeaders& headers,
                       absl::string_view body);

 private:
  // Receive without the metrics; sets `integration` once the instance is
  // known.
  WebhookReply Handle(const std::string& instance_id,
                      const worker::WebhookHeaders& headers,
                      absl::string_view body, std::string& integration);
  // True if the instance may make one more request now (token bucket).
  bool TakeToken(const std::string& instance_id) ABSL_LOCKS_EXCLUDED(mu_);

  Store* const store_;
  const InstanceSecrets* const secrets_;
  const WebhookHandlers handlers_;
  const WebhookReceiverOptions options_;
  struct Bucket {
    double tokens = 0;
    int64_t refilled_ms = 0;
  };
  absl::Mutex mu_;
  // Existing instances only (checked first), so the map is bounded.
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

// The handlers of the integrations that have webhooks (CircleCI, Heroku),
// with `http_options` for the API requests they make (CircleCI's reads of a
// delivery's workflow; every Install).
WebhookHandlers DefaultWebhookHandlers(
    const http::HttpClientOptions& http_options);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_RECEIVER_H_
