// The per-task helper every step handler works through: adds each object once,
// fans requests out with a bound, and turns a 403/404 on one resource into a
// warning with partial types; plus reading a step's parent entities.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_COMMON_TASK_STEP_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_COMMON_TASK_STEP_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "graphmill/v1/graph.pb.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker {

// The event raised for a resource the credentials may not read.
inline constexpr char kMissingPermissionEvent[] = "warn_missing_permission";

// True for a 403 or 404 (HttpErrorKindOf kPermission / kNotFound).
bool IsPermissionOrNotFound(const absl::Status& status);

// Keys already seen. Thread-safe.
class KeySet {
 public:
  // True the first time `key` is seen.
  bool Insert(const std::string& key);

 private:
  absl::Mutex mutex_;
  absl::flat_hash_set<std::string> keys_ ABSL_GUARDED_BY(mutex_);
};

// How a task of one integration behaves; constant for the integration.
struct TaskStepOptions {
  // Prefix of log lines, e.g. "circleci" in "circleci step fetch-users: ...".
  absl::string_view integration;
  // Most requests in flight at once within one FanOut.
  int max_in_flight_requests = 1;
  // The description of a missing-permission warning about `resource`, from the
  // 403/404 `error` (its message is redacted already). Required.
  std::string (*describe_missing_permission)(absl::string_view resource,
                                             const absl::Status& error);
};

// One task of one step. Thread-safe: fan-out threads share it. Integrations
// derive from it to add their config and API client. `context` must outlive
// it.
class TaskStep {
 public:
  // `declared_types` are the step's types: all marked partial by
  // WarnIfMissingPermission.
  TaskStep(const TaskStepOptions& options, absl::string_view step_id,
           std::vector<std::string> declared_types, StepContext& context);
  TaskStep(const TaskStep&) = delete;
  TaskStep& operator=(const TaskStep&) = delete;

  // Adds the object unless this task already added one with its key (the
  // provider may list an item twice); returns AddEntity's/AddRelationship's
  // status, OK for a repeat.
  absl::Status AddEntityOnce(v1::Entity entity);
  absl::Status AddRelationshipOnce(v1::Relationship relationship);

  // Runs `task(i)` for i < count, max_in_flight_requests at a time, until one
  // fails or the task is cancelled; see RunConcurrently.
  absl::Status FanOut(size_t count,
                      const std::function<absl::Status(size_t)>& task);

  // Logs `description`, raises a WARN event `name` with it and marks
  // `partial_types` partial (they will not be deleted at finalize).
  void Warn(absl::string_view name, absl::string_view description,
            const std::vector<std::string>& partial_types);

  // For a request about one resource: OK for OK; a 403/404 becomes a
  // kMissingPermissionEvent warning about `resource` with all the step's types
  // partial, and OK (the step goes on); anything else is returned as is and
  // fails the step.
  absl::Status WarnIfMissingPermission(const absl::Status& error,
                                       absl::string_view resource);

  const absl::string_view id;
  StepContext& context;

 private:
  const TaskStepOptions options_;
  const std::vector<std::string> declared_types_;
  KeySet added_;  // entity and relationship keys added by this task
};

// A parent entity whose `id` property names it in the provider's API.
struct ParentEntity {
  std::string key;
  std::string id;
  std::string name;  // "" when the entity has none

  // E.g. "team 'name' (id)".
  std::string Describe(absl::string_view kind) const;
};

// Every entity of `type` visible to this task. INVALID_ARGUMENT naming the key
// for one without a string `id` property; ForEachEntity's errors as they are.
absl::StatusOr<std::vector<ParentEntity>> ReadParents(StepContext& context,
                                                      absl::string_view type);

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_TASK_STEP_H_
