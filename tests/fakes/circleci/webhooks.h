// CircleCI webhooks of the fake: the workflow-completed and job-completed
// events a mutation causes, their bodies as CircleCI documents them, the
// signed request each target gets, and the objects of the webhook API
// (POST/GET /api/v2/webhook). README.md, "Webhooks", shows the formats.
#ifndef GRAPHMILL_TESTS_FAKES_CIRCLECI_WEBHOOKS_H_
#define GRAPHMILL_TESTS_FAKES_CIRCLECI_WEBHOOKS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/fakes/circleci/dataset.h"
#include "tests/fakes/common/webhook_sender.h"

namespace graphmill::fakes {

// The events the fake sends (and a webhook may subscribe to).
inline constexpr char kWorkflowCompleted[] = "workflow-completed";
inline constexpr char kJobCompleted[] = "job-completed";
std::vector<std::string> CircleCiWebhookEvents();

// The name a delivery shows for a target registered without one.
inline constexpr char kDefaultWebhookName[] = "graphmill";

// One event, everything but the target's part ("webhook"), as compact JSON
// pieces in CircleCI's field order.
struct CircleCiEvent {
  std::string type;          // kWorkflowCompleted or kJobCompleted
  std::string id;            // a new UUID per event
  std::string happened_at;   // ISO 8601, milliseconds, UTC
  std::string project_id;    // the scope webhooks filter on
  std::string project;       // {"id","name","slug"}
  std::string organization;  // {"id","name"}
  // {"id","name","created_at","stopped_at" (null while it runs),"url","status"}
  std::string workflow;
  std::string pipeline;  // {"id","number","created_at","trigger","vcs"}
  std::string job;       // job-completed only: {"id","name","number",
                         // "started_at","stopped_at","status"}
};

// The event for workflow `workflow_id` (job `job_id`) of `data` as it is now,
// happening at `now`. NOT_FOUND when it, its pipeline or its project is
// missing.
absl::StatusOr<CircleCiEvent> WorkflowCompletedEvent(
    const Dataset& data, absl::string_view workflow_id, absl::Time now);
absl::StatusOr<CircleCiEvent> JobCompletedEvent(const Dataset& data,
                                                absl::string_view job_id,
                                                absl::Time now);

// The body `target` gets: {"type","id","happened_at","webhook":{"id","name"},
// "project","organization","workflow","pipeline"[,"job"]}.
std::string CircleCiEventBody(const CircleCiEvent& event,
                              const common::WebhookTarget& target);

// The request `target` gets: the body with Content-Type application/json,
// User-Agent CircleCI-Webhook/1.0, circleci-event-type and
// circleci-signature "v1=<hex HMAC-SHA256 of the body with the secret>".
common::WebhookMessage CircleCiWebhookMessage(
    const CircleCiEvent& event, const common::WebhookTarget& target);

// The webhook API's view of a target: {"id","name","url","verify-tls",
// "signing-secret":"****","scope":{"id","type"},"events","created-at",
// "updated-at"}.
std::string WebhookApiObject(const common::WebhookTarget& target);

// The target a POST /webhook body describes (scope checked against `data`).
// INVALID_ARGUMENT with CircleCI's message for a bad body.
absl::StatusOr<common::WebhookTarget> WebhookFromApiBody(absl::string_view body,
                                                         const Dataset& data);

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_CIRCLECI_WEBHOOKS_H_
