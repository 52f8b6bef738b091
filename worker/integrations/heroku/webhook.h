// Heroku app webhooks (api:app, api:addon; others are acknowledged and
// ignored): the signature (`Heroku-Webhook-Hmac-SHA256`, base64 HMAC-SHA256 of
// the body under the instance's webhookSecret) and the change. A delivery's
// `data` is the resource as the Platform API returns it, so the steps'
// converters turn it into the same entity, with the steps' scopes and the
// relationship the build steps make; `destroy` deletes it. No API request is
// made. Install registers the endpoint on an app (heroku_application's `id`)
// through the steps' client: GET /apps/{id}/webhooks, then POST there for
// api:app, api:addon and api:addon-attachment at level notify. See
// common/webhook_handler.h for the contract.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_WEBHOOK_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_WEBHOOK_H_

#include "common/http/http_client.h"
#include "worker/integrations/common/webhook_handler.h"

namespace graphmill::worker::heroku {

class HerokuWebhookHandler : public WebhookHandler {
 public:
  // `http_options`: the client's options for Install (timeouts, retries,
  // pool); deliveries need no API request.
  explicit HerokuWebhookHandler(http::HttpClientOptions http_options = {});

  absl::string_view signature_header() const override;
  absl::Status Verify(const WebhookHeaders& headers, absl::string_view body,
                      absl::string_view secret) const override;
  absl::StatusOr<WebhookChange> Resolve(const InstanceConfig& config,
                                        absl::string_view body,
                                        int64_t now_ms) const override;
  absl::string_view install_entity_type() const override;
  absl::StatusOr<bool> Install(const InstanceConfig& config,
                               const v1::Entity& entity,
                               absl::string_view url) const override;

 private:
  const http::HttpClientOptions http_options_;
};

}  // namespace graphmill::worker::heroku

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_WEBHOOK_H_
