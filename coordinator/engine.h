// The run engine: the pump that ties the layers of coordinator/run together.
// On every pump (a tick of the injected clock, or any call that may have
// changed a run) it takes back lapsed leases, starts due scheduled runs,
// applies change-log retention, advances every active run (planner),
// finalizes the runs whose steps all settled (finalize), leases pending tasks
// to workers (dispatcher) and rebalances provider rates (rate budget). Worker
// reports are checked and staged by merge before the engine sees them.
// All decisions are re-derived from the store, so a restarted coordinator
// continues where the previous one stopped.
//
// Replicas. Several coordinators may share one store (Store::Shared). Each
// leases pending tasks to its own workers (LeaseTask is one conditional
// update, so a task goes to one of them); only the one that holds the store's
// leadership takes back lapsed leases, fires schedules, applies retention,
// advances and finalizes runs and (on_leadership, on_finalized) uploads. A
// replica that dies loses leadership and another takes it at its next pump;
// its workers reconnect elsewhere and their tasks are offered again.
//
// Thread-safe: one lock serializes the layers; nothing under it writes to a
// worker's stream (each session's SendQueue does, on its own thread) or calls
// on_finalized. Time comes only from EngineOptions::clock.
#ifndef GRAPHMILL_COORDINATOR_ENGINE_H_
#define GRAPHMILL_COORDINATOR_ENGINE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "coordinator/instances.h"
#include "coordinator/run/dispatcher.h"
#include "coordinator/run/events.h"
#include "coordinator/run/merge.h"
#include "coordinator/run/planner.h"
#include "coordinator/run/rate_budget.h"
#include "coordinator/run/retention.h"
#include "coordinator/scheduler/timer.h"
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
  // Provider requests per second per credential when the instance sets
  // none; 0: no requests/s bound (see coordinator/run/rate_budget.h).
  double default_rate_per_second = 0;
  // Requests in flight per credential when the integration states none.
  int default_requests_in_flight = 32;
  // After a 429 the credential's budget is multiplied by this; it then grows
  // back by kRateRecoveryFactor per rate_recovery_interval without a 429.
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
  // Called (without engine locks) when this process becomes the replica that
  // takes run-level decisions (Store::HoldLeadership), e.g. to resume the
  // uploads a replica that died left unfinished. With a store of its own, at
  // the first pump.
  std::function<void()> on_leadership;
  // Every time the engine reads (leases, schedules, rates, retention, the
  // tick's wait, timeouts). Must outlive the engine; tests pass a FakeClock.
  Clock* clock = Clock::Real();
};

// Thread-safe.
class Engine {
 public:
  // Writes one message to a worker's stream; false if the stream is broken.
  // Called on the session's own thread (SendQueue), never under the engine's
  // lock, so it may block (flow control) without stalling other workers.
  using SendFn = Dispatcher::SendFn;

  Engine(Store* store, const InstanceSecrets* secrets, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Takes back leases held before a restart and starts the background tick.
  void Start();
  void Stop();

  // Starts a run of the instance, incremental unless `full` or the instance's
  // runs say otherwise (IncrementalSince). NOT_FOUND for an unknown instance
  // or integration; FAILED_PRECONDITION naming the active run if there is
  // one.
  absl::StatusOr<v1::Run> StartRun(
      const std::string& instance_id,
      v1::RunTrigger trigger = v1::RUN_TRIGGER_MANUAL, bool full = false);
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
  // Renews the leases the heartbeat lists that `worker_id` (the session's
  // hello) holds. Takes no engine lock (see RenewLeases).
  void Heartbeat(const std::string& worker_id, const v1::Heartbeat& heartbeat);
  // The worker takes no new tasks.
  void Drain(int64_t session);
  // A task of the session saw a 429: the instance's rate goes down for all its
  // tasks.
  void RateLimited(int64_t session, const v1::TaskAttempt& attempt);
  // A worker's task reported the provider's remaining requests.
  void ProviderReport(int64_t session, const v1::ProviderReport& report);

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
  // blocks until it exceeds `seen` or `timeout` (on the engine's clock)
  // passes, and returns the current value.
  int64_t WaitForChange(int64_t seen, absl::Duration timeout);
  int64_t ChangeVersion();
  // Something outside the engine changed (e.g. an instance was deleted).
  void NotifyExternalChange();

  // Pumps once now, as the tick does: expires leases, fires due schedules,
  // advances every active run, dispatches pending tasks. For a test that has
  // just moved its FakeClock; production code never needs to call it.
  void Pump();

 private:
  // Pumps whenever something changed and at least once per tick, the first
  // due at `next_tick`.
  void TickLoop(absl::Time next_tick);
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // True if this replica takes run-level decisions now; logs when that
  // changes.
  bool HoldLeadership() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Leases pending tasks to this replica's workers and shares rates.
  void DispatchAndShareRates() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Finalizes a settled run and queues it for on_finalized.
  absl::Status Finalize(int64_t run_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the runs whose schedules are due.
  void FireSchedules() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<v1::Run> StartRunLocked(
      const std::string& instance_id, v1::RunTrigger trigger,
      std::optional<int64_t> schedule_slot_ms, bool full)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Seals again, bound to their destination, secrets an earlier version sealed
  // without it (InstanceSecrets::Rebind). Runs once at Start.
  void RebindSecrets() ABSL_LOCKS_EXCLUDED(mu_);
  void NotifyChange() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store* const store_;
  const InstanceSecrets* const secrets_;
  const EngineOptions options_;
  Clock* const clock_;
  RunEvents events_;
  // Thread-safe layers, used without the lock.
  Redactors redactors_;
  Merger merger_;

  absl::Mutex mu_;
  // Layers the lock serializes.
  RateBudget rates_ ABSL_GUARDED_BY(mu_);
  Planner planner_ ABSL_GUARDED_BY(mu_);
  Dispatcher dispatcher_ ABSL_GUARDED_BY(mu_);
  ScheduleTimer schedule_timer_ ABSL_GUARDED_BY(mu_);
  ChangeLogRetention retention_ ABSL_GUARDED_BY(mu_);
  // Runs finalized during the current pump, handed to on_finalized once the
  // lock is free.
  std::vector<int64_t> finalized_ ABSL_GUARDED_BY(mu_);
  int64_t change_version_ ABSL_GUARDED_BY(mu_) = 0;
  // Whether the last pump held leadership, and whether it was gained since
  // on_leadership was last called.
  bool leading_ ABSL_GUARDED_BY(mu_) = false;
  bool became_leader_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ticker_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_ENGINE_H_
