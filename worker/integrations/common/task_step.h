// The per-task helper every step handler works through: adds each object once
// (with its scope), fans requests out with a bound, and turns a 403/404 on one
// resource into a warning plus an incomplete scope (or partial types); plus
// reading a step's parent entities.
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
  // Most requests in flight at once within one FanOut when the coordinator
  // gives no share (StepContext::max_requests_in_flight).
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
  // WarnIfMissingPermission for a resource outside any scope.
  TaskStep(const TaskStepOptions& options, absl::string_view step_id,
           std::vector<std::string> declared_types, StepContext& context);
  TaskStep(const TaskStep&) = delete;
  TaskStep& operator=(const TaskStep&) = delete;

  // Adds the object unless this task already added one with its key (the
  // provider may list an item twice); returns AddEntity's/AddRelationship's
  // status, OK for a repeat. `scope`: the `_key` of the parent entity whose
  // listing produced the object, "" for none (see StepContext::AddEntity).
  absl::Status AddEntityOnce(v1::Entity entity, absl::string_view scope = "");
  absl::Status AddRelationshipOnce(v1::Relationship relationship,
                                   absl::string_view scope = "");

  // Runs `task(i)` for i < count, the task's share of requests in flight at a
  // time (StepContext::max_requests_in_flight, at most kMaxFanOutThreads; else
  // max_in_flight_requests), until one fails or the task is cancelled; see
  // RunConcurrently.
  absl::Status FanOut(size_t count,
                      const std::function<absl::Status(size_t)>& task);

  // Whether this task may carry forward what it would make: every type the
  // step declares may be carried (StepContext::CanCarry).
  bool CanCarry() const;

  // Logs `description` and raises a WARN event `name` with it.
  void Warn(absl::string_view name, absl::string_view description);

  // For a request about one resource: OK for OK; a 403/404 becomes a
  // kMissingPermissionEvent warning about `resource` and OK (the step goes
  // on): the children of `scope` (a parent's `_key`) are marked not listed
  // completely, or, with no scope, all the step's types partial, with the
  // reason "HTTP <status> on <listing>" (`listing` names the request without
  // ids, e.g. "GET /pipeline/{id}/workflow", so reasons aggregate). Anything
  // else is returned as is and fails the step.
  absl::Status WarnIfMissingPermission(const absl::Status& error,
                                       absl::string_view resource,
                                       absl::string_view listing,
                                       absl::string_view scope = "");

  // "HTTP 403 on GET /x/{id}" for a 403/404 `error` on `listing`.
  static std::string MissingReason(const absl::Status& error,
                                   absl::string_view listing);

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

// `entity` as a parent. INVALID_ARGUMENT naming the key if it has no string
// `id` property.
absl::StatusOr<ParentEntity> ParentOf(const v1::Entity& entity);

// Every entity of `type` visible to this task (ParentOf each);
// ForEachEntity's errors as they are.
absl::StatusOr<std::vector<ParentEntity>> ReadParents(StepContext& context,
                                                      absl::string_view type);

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_TASK_STEP_H_
