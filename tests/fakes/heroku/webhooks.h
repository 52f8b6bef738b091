// Heroku app webhooks of the fake: the event bodies Heroku documents for a
// Change (mutations.h), the signed request each target gets, and the objects
// of POST/GET /apps/{app}/webhooks. README.md, "Webhooks", shows the formats.
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_WEBHOOKS_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_WEBHOOKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/fakes/common/webhook_sender.h"
#include "tests/fakes/heroku/dataset.h"
#include "tests/fakes/heroku/mutations.h"

namespace graphmill::fakes::heroku {

// The include names an app webhook may subscribe to (Heroku's list); the fake
// sends api:app and api:addon.
std::vector<std::string> WebhookIncludes();

// One event, everything but the delivery's part.
struct HerokuEvent {
  Change change;
  std::string id;           // a new UUID per event (webhook_metadata.event.id)
  std::string time;         // created_at = published_at = updated_at
  std::string actor_email;  // who made the change
  std::string actor_id;
};

// The event of `change` at `now`, made by `actor` (e.g. the dataset's first
// user).
HerokuEvent MakeEvent(Change change, absl::Time now, const User& actor);

// The body of one delivery: {"id","action","actor":{"email","id"},
// "created_at","data","previous_data":{},"published_at","resource",
// "sequence":null,"updated_at","version","webhook_metadata":{"attempt":{"id"},
// "delivery":{"id"},"event":{"id","include"},"webhook":{"id"}}}.
std::string HerokuEventBody(const HerokuEvent& event,
                            absl::string_view webhook_id,
                            absl::string_view delivery_id,
                            absl::string_view attempt_id);

// The request `target` gets (new delivery and attempt ids): the body with
// Content-Type application/json, Heroku-Webhook-Hmac-SHA256 (standard base64
// of the HMAC-SHA256 of the body with the secret), Heroku-Webhook-Id (the
// delivery id) and, when the webhook has one, its Authorization.
common::WebhookMessage HerokuWebhookMessage(
    const HerokuEvent& event, const common::WebhookTarget& target);

// A POST /apps/{app}/webhooks body as a target of `app` (a new secret when
// the body has none: `*generated_secret` is set then). INVALID_ARGUMENT with
// the message of Heroku's 422.
absl::StatusOr<common::WebhookTarget> WebhookFromApiBody(
    absl::string_view body, const App& app, std::string* generated_secret);

// The API's view of `target`, a webhook of `app`: {"app":{"id","name"},
// "created_at","id","include","level","updated_at","url"}.
std::string WebhookApiObject(const common::WebhookTarget& target,
                             const App& app);

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_WEBHOOKS_H_
