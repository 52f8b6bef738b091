// The planner: turns a run's step DAG into tasks and moves its steps along as
// tasks end. A step starts once its dependencies have settled (or is skipped
// as DISABLED when one of them is disabled); a step that iterates a parent
// type is split into shards, contiguous ranges of the run's staged parent
// keys; a running step settles once all its tasks have ended. Every decision
// is re-derived from the store on each call, so a restarted coordinator
// continues where the previous one stopped.
//
// The decisions are plain functions of their inputs (ShardBuilder,
// SummarizeDependencies, SettleStep, CheckValidation), tested without a
// store; Planner applies them to one. Planner is not thread-safe: the engine
// calls it under its lock. Store errors are returned; the engine fails the
// run with them.
#ifndef GRAPHMILL_COORDINATOR_RUN_PLANNER_H_
#define GRAPHMILL_COORDINATOR_RUN_PLANNER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "coordinator/run/events.h"
#include "coordinator/run/run_mode.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/integration.pb.h"

namespace graphmill::coordinator {

// What the layers need to know about an active run, read once.
struct RunInfo {
  std::string instance_id;
  v1::IntegrationDefinition definition;  // the snapshot it was planned with
  std::vector<std::string> order;        // topological step order
  IncrementalMode incremental;
};

// Shards over parent keys visited in key order: contiguous ranges of at most
// `shard_size` keys each.
class ShardBuilder {
 public:
  ShardBuilder(std::string parent_type, int shard_size)
      : parent_type_(std::move(parent_type)), shard_size_(shard_size) {}

  void Add(const std::string& key);
  // The shards. Without any key still one, with no key range: a step may have
  // work beyond its parents (e.g. configured extra project slugs), and a
  // shard without keys reads no parents.
  std::vector<v1::Shard> Finish() &&;

 private:
  const std::string parent_type_;
  const int shard_size_;
  std::vector<v1::Shard> shards_;
  int in_shard_ = 0;
};

// SUCCESS, FAILURE, PARTIAL and DISABLED: the step will not change again.
bool IsSettled(v1::StepStatus status);

// A step's dependencies as its own progress needs them.
struct Dependencies {
  bool settled = true;    // every dependency has settled
  bool disabled = false;  // some dependency is DISABLED
  bool failed = false;    // some dependency ended FAILURE or PARTIAL
};
Dependencies SummarizeDependencies(
    const v1::StepDefinition& step,
    const absl::flat_hash_map<std::string, v1::StepStatus>& status);

// How a running step ends.
struct StepEnd {
  v1::StepStatus status = v1::STEP_STATUS_SUCCESS;
  std::string error;  // the first failed task's
};
// Once every one of the step's tasks has ended: FAILURE if one failed (with
// its error), else PARTIAL if a dependency failed, else SUCCESS. nullopt while
// a task is pending or leased.
std::optional<StepEnd> SettleStep(const std::vector<const TaskRecord*>& tasks,
                                  bool dependency_failed);

// The run's invocation validation, from its tasks.
struct Validation {
  enum State { kNone, kPending, kPassed, kFailed };
  State state = kNone;
  std::string error;  // kFailed: the task's error
};
Validation CheckValidation(const std::vector<TaskRecord>& tasks);

// Where Planner::Advance left a run.
enum class RunProgress {
  kActive,   // steps are still running or waiting
  kEnded,    // the run ended (its validation failed)
  kSettled,  // every step settled: the run is ready to finalize
};

class Planner {
 public:
  // Pointers must outlive this.
  Planner(Store* store, Clock* clock, RunEvents* events, int shard_size)
      : store_(store),
        clock_(clock),
        events_(events),
        shard_size_(shard_size) {}

  // The run's instance, definition snapshot and step order, cached until
  // Forget.
  absl::StatusOr<const RunInfo*> Info(int64_t run_id);
  void Forget(int64_t run_id) { runs_.erase(run_id); }
  // Forgets every run not in `active` (sorted or not).
  void KeepOnly(const std::vector<int64_t>& active);

  // Advances one active run: fails it if its validation failed, starts the
  // steps whose dependencies settled, settles the steps whose tasks all
  // ended.
  absl::StatusOr<RunProgress> Advance(int64_t run_id);

 private:
  // Starts the step with its tasks (one per shard; Store::StartStep);
  // returns how many. FAILED_PRECONDITION if it was started before.
  absl::StatusOr<int> PlanStep(int64_t run_id, const v1::StepDefinition& step,
                               int64_t now_ms);

  Store* const store_;
  Clock* const clock_;
  RunEvents* const events_;
  const int shard_size_;
  std::map<int64_t, std::unique_ptr<RunInfo>> runs_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_PLANNER_H_
