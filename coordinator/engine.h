// The run engine: plans each run's step DAG into tasks, leases tasks to
// connected workers, takes leases back when they lapse or a worker goes away,
// advances steps as tasks end, and finalizes a run when every step has settled.
// All decisions are re-derived from the store, so a restarted coordinator
// continues where the previous one stopped.
#ifndef GRAPHMILL_COORDINATOR_ENGINE_H_
#define GRAPHMILL_COORDINATOR_ENGINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/redact.h"
#include "coordinator/instances.h"
#include "coordinator/send_queue.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/admin.pb.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::coordinator {

struct EngineOptions {
  // A task's lease lapses unless a heartbeat renews it within this time.
  absl::Duration lease = absl::Seconds(30);
  // Attempts (leases) per task before its step fails.
  int max_task_attempts = 3;
  // Parent entities per task for steps that iterate a parent type.
  int shard_size = 200;
  // How often leases are checked and runs advanced without any other trigger.
  absl::Duration tick = absl::Milliseconds(250);
  // Entities per message when a task reads its ancestors' entities.
  int read_batch_size = 500;
  // Provider requests per second per instance when the instance sets none.
  double default_rate_per_second = 20;
  // After a 429 the instance's rate is multiplied by this; it then grows back
  // by kRateRecoveryFactor per rate_recovery_interval without a 429.
  double rate_backoff_factor = 0.5;
  absl::Duration rate_recovery_interval = absl::Seconds(5);
  // Change log retention (0: unlimited) and how often it is applied.
  absl::Duration change_log_max_age = absl::ZeroDuration();
  int64_t change_log_max_count = 0;
  absl::Duration retention_interval = absl::Minutes(1);
  // How often schedules are checked.
  absl::Duration schedule_interval = absl::Seconds(1);
  // Called (without engine locks) after a run is finalized, e.g. to start its
  // upload.
  std::function<void(int64_t run_id)> on_finalized;
};

// Thread-safe.
class Engine {
 public:
  // Writes one message to a worker's stream; false if the stream is broken.
  // Called on the session's own thread (SendQueue), never under the engine's
  // lock, so it may block (flow control) without stalling other workers.
  using SendFn = std::function<bool(const v1::CoordinatorMessage&)>;

  Engine(Store* store, const InstanceSecrets* secrets, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Takes back leases held before a restart and starts the background tick.
  void Start();
  void Stop();

  // Starts a run of the instance. NOT_FOUND for an unknown instance or
  // integration; FAILED_PRECONDITION naming the active run if there is one.
  absl::StatusOr<v1::Run> StartRun(
      const std::string& instance_id,
      v1::RunTrigger trigger = v1::RUN_TRIGGER_MANUAL);
  // Cancels an active run: unfinished tasks stop (workers are told), nothing is
  // finalized.
  absl::StatusOr<v1::Run> CancelRun(int64_t run_id);
  // Runs the instance's invocation check on a worker and waits up to `timeout`
  // for it.
  absl::StatusOr<v1::ValidateInstanceResponse> ValidateInstance(
      const std::string& instance_id, absl::Duration timeout);

  // A worker's stream opened with `hello`. Returns a session id for the other
  // calls; INVALID_ARGUMENT if the hello or a definition is invalid (naming the
  // step or field).
  absl::StatusOr<int64_t> ConnectWorker(const v1::WorkerHello& hello,
                                        SendFn send);
  // The stream closed: the worker's leases are taken back and its tasks offered
  // again.
  void DisconnectWorker(int64_t session);
  void Heartbeat(int64_t session, const v1::Heartbeat& heartbeat);
  // The worker takes no new tasks.
  void Drain(int64_t session);
  // A task of the session saw a 429: the instance's rate goes down for all its
  // tasks.
  void RateLimited(int64_t session, const v1::TaskAttempt& attempt);

  // Results of the current attempt of a task: invalid objects are dropped
  // with a warning event each; returns how many objects were stored.
  // FAILED_PRECONDITION for a stale attempt; INVALID_ARGUMENT for malformed
  // scopes or events (over-long names, descriptions).
  absl::StatusOr<int64_t> AcceptBatch(const v1::TaskAttempt& attempt,
                                      const v1::ResultBatch& batch);
  // Ends the attempt with what it reports incomplete. INVALID_ARGUMENT for a
  // malformed outcome (see AcceptBatch).
  absl::Status FinishAttempt(const v1::TaskAttempt& attempt,
                             const v1::TaskOutcome& outcome);
  // Entities of `type` the task may read (its shard, for the step's parent
  // type), in batches.
  absl::Status ReadEntities(
      const v1::ReadEntitiesRequest& request,
      const std::function<bool(const v1::EntityBatch&)>& send);

  // A counter that increases whenever a run may have changed; WaitForChange
  // blocks until it exceeds `seen` or `timeout` passes, and returns the current
  // value.
  int64_t WaitForChange(int64_t seen, absl::Duration timeout);
  int64_t ChangeVersion();
  // Something outside the engine changed (e.g. an instance was deleted).
  void NotifyExternalChange();

 private:
  struct RunningTask {
    v1::TaskAttempt attempt;  // with its lease id
    std::string instance_id;
    double rate_share = 0;  // last rate sent to the worker
  };
  struct WorkerSession {
    std::string worker_id;
    int capacity = 0;
    std::set<std::pair<std::string, std::string>>
        integrations;  // (name, version)
    // Messages to the worker, written on the queue's own thread: never
    // under the engine's lock.
    std::unique_ptr<SendQueue> queue;
    std::map<int64_t, RunningTask> running;  // by task id
    bool draining = false;
  };
  // An instance's current provider rate, shared by all its running tasks.
  struct RateState {
    double current = 0;
    absl::Time last_change = absl::InfinitePast();
  };
  // Ends the attempt in the store and forgets it on its worker, atomically
  // for the pump.
  absl::Status CommitAndForget(
      const v1::TaskAttempt& attempt, bool succeeded, const std::string& error,
      const std::vector<v1::Incompleteness>& incomplete)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Ends a pending task that no worker can be given (its secrets do not open)
  // as FAILED with `error`, so its step and run settle.
  void FailUndispatchable(const TaskRecord& task, const std::string& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Seals again, bound to their destination, secrets an earlier version sealed
  // without it (InstanceSecrets::Rebind). Runs once at Start.
  void RebindSecrets() ABSL_LOCKS_EXCLUDED(mu_);

  // What a worker reports passes through the instance's Redactor before it is
  // stored or logged: a worker's own redaction is not trusted to be complete.
  // Built when a task of the instance is dispatched (its secrets are opened
  // then anyway); empty until then.
  Redactor RedactorFor(const std::string& instance_id) ABSL_LOCKS_EXCLUDED(mu_);

  struct RunInfo {
    std::string instance_id;
    v1::IntegrationDefinition definition;
    std::vector<std::string> order;  // topological step order
  };

  void TickLoop();
  // Expires leases, advances every active run, dispatches pending tasks.
  void Pump();
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<const RunInfo*> GetRunInfo(int64_t run_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AdvanceRun(int64_t run_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PlanStep(int64_t run_id, const v1::StepDefinition& step,
                        int* tasks_created) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FinalizeRun(int64_t run_id, const RunInfo& info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs finalized during the current pump, handed to on_finalized once the
  // lock is free.
  std::vector<int64_t> finalized_ ABSL_GUARDED_BY(mu_);
  void Dispatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the runs whose schedules are due.
  void FireSchedules() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Recomputes each instance's rate and sends changed shares to running tasks.
  void ShareRates() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The instance's provider rate (its own setting, else the default).
  double ConfiguredRate(const v1::Instance& instance) const;
  double ConfiguredRate(const std::string& instance_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<v1::Run> StartRunLocked(
      const std::string& instance_id, v1::RunTrigger trigger,
      std::optional<int64_t> schedule_slot_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetTask(int64_t task_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseLeases(const std::vector<TaskRecord>& tasks,
                     const std::string& why, int max_attempts)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Event(int64_t run_id, v1::EventLevel level, const std::string& name,
             const std::string& description, const std::string& step_id);
  void NotifyChange() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store* const store_;
  const InstanceSecrets* const secrets_;
  const EngineOptions options_;

  absl::Mutex mu_;
  absl::CondVar changed_;
  int64_t change_version_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_session_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int64_t, WorkerSession> sessions_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::unique_ptr<RunInfo>> runs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Redactor> redactors_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, RateState> rates_ ABSL_GUARDED_BY(mu_);
  absl::Time last_schedule_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_retention_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ticker_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_ENGINE_H_
