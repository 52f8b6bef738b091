// The handlers of the Heroku integration's 10 steps (declared in
// definition.cc).
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "worker/integrations/common/task_step.h"
#include "worker/integrations/heroku/client.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::heroku {

// Most requests in flight at once within one task's fan-out (members per
// account, apps per team, add-ons per app, ...). Kept well below
// RateLimitPolicy::reserve_remaining so in-flight requests cannot empty the
// bucket once pacing has started.
inline constexpr int kMaxInFlightRequests = 8;

// Event names.
inline constexpr char kMissingScopeEvent[] = "missing_scope";
using ::graphmill::worker::kMissingPermissionEvent;  // common/task_step.h
inline constexpr char kNoEnterpriseAccountEvent[] = "no_enterprise_account";

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

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_H_
