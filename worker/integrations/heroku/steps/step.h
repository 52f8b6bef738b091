// What every Heroku step file (steps/<step>.cc) works with: the per-task Step
// (a TaskStep plus the API client) handed to a handler, the StepSpec each file
// defines, and the reads and joins several handlers share. Internal to the
// steps; the rest of the integration uses steps/steps.h.
//
// A Step lives for one task and is shared by its fan-out threads (TaskStep is
// thread-safe; the client outlives it).
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_STEP_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_STEP_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "worker/integrations/common/step_spec.h"
#include "worker/integrations/common/task_step.h"
#include "worker/integrations/heroku/client.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::heroku {

// Most requests in flight at once within one task's fan-out (members per
// account, apps per team, add-ons per app, ...). Kept well below
// RateLimitPolicy::reserve_remaining so in-flight requests cannot empty the
// bucket once pacing has started.
inline constexpr int kMaxInFlightRequests = 8;

// Event names the steps raise.
inline constexpr char kMissingScopeEvent[] = "missing_scope";
using ::graphmill::worker::kMissingPermissionEvent;  // common/task_step.h
inline constexpr char kNoEnterpriseAccountEvent[] = "no_enterprise_account";

// Everything a handler needs.
struct Step : TaskStep {
  Step(absl::string_view id, std::vector<std::string> declared_types,
       HerokuClient& client, StepContext& context);

  HerokuClient& client;
};

using StepSpec = ::graphmill::worker::StepSpec<Step>;
using Parent = ParentEntity;

// The steps, one per file (steps/<name>.cc); steps.cc lists them.
const StepSpec& FetchAccountsStep();
const StepSpec& FetchAccountMembersStep();
const StepSpec& FetchTeamsStep();
const StepSpec& FetchTeamAppsStep();
const StepSpec& FetchAppAddonsStep();
const StepSpec& BuildAccountMembersStep();
const StepSpec& BuildAccountTeamsStep();
const StepSpec& BuildTeamMembersStep();
const StepSpec& BuildTeamAppsStep();
const StepSpec& BuildAppAddonsStep();

// `id` property -> `_key` of every entity of `type` visible to this task.
absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ReadKeysById(
    StepContext& context, absl::string_view type);

// Links each child of `child_type` to the parent of `parent_type` whose id is
// in the child's `parent_id_property` (silently skipped when there is none, as
// the reference does).
absl::Status JoinOnParentId(Step& step, absl::string_view parent_type,
                            absl::string_view class_name,
                            absl::string_view child_type,
                            absl::string_view parent_id_property);

}  // namespace graphmill::worker::heroku

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_STEP_H_
