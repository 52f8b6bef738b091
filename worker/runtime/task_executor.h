// Runs one TaskAssignment against the worker's integrations and says how it
// ended.
#ifndef GRAPHMILL_WORKER_RUNTIME_TASK_EXECUTOR_H_
#define GRAPHMILL_WORKER_RUNTIME_TASK_EXECUTOR_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graphmill/v1/worker.pb.h"
#include "worker/runtime/integration.h"
#include "worker/runtime/task_context.h"

namespace graphmill::worker {

// The integrations a worker implements, by name. Does not own them.
class IntegrationSet {
 public:
  // INVALID_ARGUMENT when `integrations` is empty, holds a null pointer, or
  // names one integration twice.
  static absl::StatusOr<IntegrationSet> Create(
      const std::vector<Integration*>& integrations);

  // The integration `name` at `version`; FAILED_PRECONDITION naming what this
  // worker has when there is none.
  absl::StatusOr<Integration*> Find(absl::string_view name,
                                    absl::string_view version) const;

  // Definitions for WorkerHello, in name order.
  std::vector<const graphmill::v1::IntegrationDefinition*> definitions() const;

  // "circleci 1.0.0, heroku 1.0.0", for logs.
  std::string Describe() const;

 private:
  std::map<std::string, Integration*, std::less<>> by_name_;
};

// Runs `assignment`: the invocation check or one step, on `context`. Never
// throws (an exception from integration code becomes a FAILED outcome). Maps
// statuses to outcomes:
//   validation OK -> SUCCEEDED; INVALID_ARGUMENT, UNAUTHENTICATED,
//   PERMISSION_DENIED -> INVALID_CONFIG; any other code -> FAILED; step OK ->
//   SUCCEEDED, non-OK -> FAILED; unknown integration, version, step or kind ->
//   FAILED with a message saying so.
// The outcome carries context.incomplete(). The message is the integration's
// (which must never contain secrets); the config is never part of it.
graphmill::v1::TaskOutcome ExecuteAssignment(
    const graphmill::v1::TaskAssignment& assignment,
    const IntegrationSet& integrations, TaskContext& context);

// "step fetch-users of circleci 1.0.0" or "invocation check of circleci 1.0.0",
// for logs.
std::string DescribeAssignment(const graphmill::v1::TaskAssignment& assignment);

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_TASK_EXECUTOR_H_
