// What every CircleCI step file (steps/<step>.cc) works with: the per-task
// Step (a TaskStep plus the config and the API client) handed to a handler,
// the StepSpec each file defines, and the reads several handlers share.
// Internal to the steps; the rest of the integration uses steps/steps.h.
//
// A Step lives for one task and is shared by its fan-out threads (TaskStep is
// thread-safe; the config and client outlive it).
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_STEPS_STEP_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_STEPS_STEP_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graphmill/v1/graph.pb.h"
#include "worker/integrations/circleci/client.h"
#include "worker/integrations/circleci/config.h"
#include "worker/integrations/common/step_spec.h"
#include "worker/integrations/common/task_step.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::circleci {

// Most requests in flight at once within one task's fan-out (per parent:
// workflows per pipeline, projects per slug, ...). A fixed cap until the
// coordinator hands out per-instance rate budgets; CircleCI throttles bursts
// with 429, which the HTTP client absorbs.
inline constexpr int kMaxInFlightRequests = 8;

// Everything a handler needs. Keys are added once per task: the pipeline feed
// repeats items (INT-8238), and the same workflow, project or env var can be
// reached twice.
struct Step : TaskStep {
  Step(absl::string_view id, std::vector<std::string> declared_types,
       const CircleCiConfig& config, CircleCiClient& client,
       StepContext& context);

  const CircleCiConfig& config;
  CircleCiClient& client;
};

using StepSpec = ::graphmill::worker::StepSpec<Step>;
using Parent = ParentEntity;

// The steps, one per file (steps/<name>.cc); steps.cc lists them.
const StepSpec& FetchAccountStep();
const StepSpec& FetchUserGroupsStep();
const StepSpec& BuildAccountUserGroupsStep();
const StepSpec& FetchPipelinesStep();
const StepSpec& FetchPipelineWorkflowsStep();
const StepSpec& FetchWorkflowJobsStep();
const StepSpec& FetchProjectsStep();
const StepSpec& FetchProjectEnvVariablesStep();
const StepSpec& BuildUserGroupProjectsStep();
const StepSpec& FetchContextsStep();
const StepSpec& FetchUsersStep();
const StepSpec& BuildAccountUsersStep();

// Reads every entity of `type` visible to this task.
absl::StatusOr<std::vector<v1::Entity>> ReadEntities(StepContext& context,
                                                     absl::string_view type);

// Reads the keys of every entity of `type` visible to this task.
absl::StatusOr<absl::flat_hash_set<std::string>> ReadKeys(
    StepContext& context, absl::string_view type);

// An organization (user group) the API can be asked about.
struct Organization {
  std::string key;
  std::string slug;
};

// This task's user groups that have a slug (the reference skips the others).
absl::StatusOr<std::vector<Organization>> ReadOrganizations(
    StepContext& context);

// --- Incremental runs (StepContext::incremental_since_ms) ---

// True for a workflow status after which neither the workflow nor its jobs
// change (a re-run makes a new workflow): success, failed, error, canceled,
// unauthorized, not_run.
bool IsFinishedWorkflowStatus(absl::string_view status);

// An integer property of `entity` (0 when absent or not an integer).
int64_t IntProperty(const v1::Entity& entity, absl::string_view name);

// The known (graph) entities of `type` this task may read
// (StepContext::ForEachKnownEntity), by key, or by scope in key order.
absl::StatusOr<std::map<std::string, v1::Entity>> KnownByKey(
    StepContext& context, absl::string_view type);
absl::StatusOr<std::map<std::string, std::vector<v1::Entity>>> KnownByScope(
    StepContext& context, absl::string_view type);

// Raises the INFO event "incremental_carry": `carried` of `total` `what`
// (e.g. "workflows' jobs") carried forward from the graph.
void ReportCarried(Step& step, size_t carried, size_t total,
                   absl::string_view what);

}  // namespace graphmill::worker::circleci

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_STEPS_STEP_H_
