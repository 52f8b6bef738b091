// Merge: what a worker reports about a task, checked before any of it is
// kept. A worker is not trusted: a broken or hostile one must not fill the
// store or the operator's screen, nor get a secret into either. So reports
// are bounded (event names are identifiers, descriptions and reasons
// sentences), invalid graph objects are dropped with a warning event each,
// and every text passes through the instance's Redactor, whatever the worker
// redacted itself.
//
// The checks are plain functions; Merger stages checked batches in the store.
// Thread-safe (Redactors has its own lock; the store is thread-safe), so
// result streams never wait for the engine's lock. Errors: INVALID_ARGUMENT
// for a malformed report, the store's (e.g. FAILED_PRECONDITION for a stale
// attempt) otherwise.
#ifndef GRAPHMILL_COORDINATOR_RUN_MERGE_H_
#define GRAPHMILL_COORDINATOR_RUN_MERGE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/redact.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::coordinator {

// Bounds on what a worker may report (provider bodies are quoted at most ~200
// characters, so real reports stay far below them).
inline constexpr size_t kMaxEventNameBytes = 64;
inline constexpr size_t kMaxEventDescriptionBytes = 8192;
inline constexpr size_t kMaxReportedKeyBytes = 4096;

// Names are 1..kMaxEventNameBytes of [a-z0-9_]; descriptions at most
// kMaxEventDescriptionBytes. INVALID_ARGUMENT naming the field.
absl::Status CheckWorkerEvents(
    const google::protobuf::RepeatedPtrField<v1::Event>& events);
// Exactly one of type and scope, each at most kMaxReportedKeyBytes; a reason
// of 1..kMaxEventDescriptionBytes. INVALID_ARGUMENT naming the field.
absl::Status CheckIncompleteness(
    const google::protobuf::RepeatedPtrField<v1::Incompleteness>& entries);
// Scopes are absent or parallel to their objects. INVALID_ARGUMENT otherwise.
absl::Status CheckScopes(const v1::ResultBatch& batch);

// True if every entity and relationship of the batch is valid.
bool AllObjectsValid(const v1::ResultBatch& batch);
// The batch's valid objects with their scopes, its events, and one WARN
// "object_rejected" event per invalid object naming its key and the rule.
v1::ResultBatch ValidObjects(const v1::ResultBatch& batch);

// How a task attempt ended, checked and redacted, ready for
// Store::CommitAttempt.
struct CheckedOutcome {
  bool succeeded = false;
  std::string error;
  std::vector<v1::Incompleteness> incomplete;
};
// A failure always carries an error; an invalid config says so; error and
// reasons are redacted. INVALID_ARGUMENT for a malformed outcome.
absl::StatusOr<CheckedOutcome> CheckOutcome(const v1::TaskOutcome& outcome,
                                            const Redactor& redactor);

// The Redactor of each instance, built by the dispatcher when it opens the
// instance's secrets for a task (empty until then). Thread-safe.
class Redactors {
 public:
  void Set(const std::string& instance_id, Redactor redactor);
  // An empty Redactor for an instance not dispatched yet.
  Redactor For(const std::string& instance_id) const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Redactor> redactors_ ABSL_GUARDED_BY(mu_);
};

class Merger {
 public:
  // Pointers must outlive this.
  Merger(Store* store, Clock* clock, const Redactors* redactors)
      : store_(store), clock_(clock), redactors_(redactors) {}

  // Stages the batch of the current attempt: events redacted, invalid objects
  // dropped (see ValidObjects). Returns how many objects were staged.
  absl::StatusOr<int64_t> AcceptBatch(const v1::TaskAttempt& attempt,
                                      const v1::ResultBatch& batch);
  // The attempt's outcome checked and redacted with its instance's Redactor
  // (NOT_FOUND for an unknown task). `task` gets the task's record.
  absl::StatusOr<CheckedOutcome> CheckAttemptOutcome(
      const v1::TaskAttempt& attempt, const v1::TaskOutcome& outcome,
      TaskRecord* task);

 private:
  Store* const store_;
  Clock* const clock_;
  const Redactors* const redactors_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_MERGE_H_
