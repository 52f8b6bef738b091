// The Heroku integration's steps: one ordered list, each entry a step's
// declaration and handler (steps/<step>.cc). The definition (definition.cc) is
// built from the list, and RunStep dispatches through it.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_STEPS_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_STEPS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "worker/integrations/heroku/client.h"
#include "worker/integrations/heroku/steps/step.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::heroku {

// Every step, in the order the definition lists them (the reference's).
// Valid for the process's lifetime; thread-safe.
absl::Span<const StepSpec* const> Steps();

// Runs step `step_id` (or this task's shard of it). Returns INVALID_ARGUMENT
// for an unknown id; otherwise the step's outcome: a 401, a 4xx other than
// 403/404, an exhausted retry or a malformed response fails the step.
//   - 403 on one team's members: a WARN `missing_scope` event naming the team,
//     heroku_team_has_account_member partial, the other teams go on;
//   - 403/404 on one account's members or teams, one team's apps or members
//     (404), or add-ons (one WARN `warn_missing_permission` per task for all
//     forbidden apps): the step's types partial (for add-ons also the
//     application->add-on edges), the step goes on;
//   - no enterprise account visible: an INFO `no_enterprise_account` event.
absl::Status RunStep(absl::string_view step_id, HerokuClient& client,
                     StepContext& context);

}  // namespace graphmill::worker::heroku

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_STEPS_H_
