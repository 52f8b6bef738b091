// Implementation of coordinator/engine.h.
#include "coordinator/engine.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "coordinator/metrics.h"
#include "coordinator/run/finalize.h"
#include "coordinator/run/run_mode.h"
#include "coordinator/run/send_queue.h"
#include "coordinator/run/shard_reader.h"
#include "coordinator/scheduler/schedule.h"

namespace graphmill::coordinator {

Engine::Engine(Store* store, const InstanceSecrets* secrets,
               EngineOptions options)
    : store_(store),
      secrets_(secrets),
      options_(std::move(options)),
      clock_(options_.clock),
      events_(store, clock_),
      merger_(store, clock_, &redactors_),
      rates_(clock_, {.backoff_factor = options_.rate_backoff_factor,
                      .recovery_interval = options_.rate_recovery_interval}),
      planner_(store, clock_, &events_, options_.shard_size),
      dispatcher_(
          store, clock_, secrets, &events_, &redactors_, &rates_,
          {.lease = options_.lease,
           .max_task_attempts = options_.max_task_attempts,
           .default_rate_per_second = options_.default_rate_per_second,
           .default_requests_in_flight = options_.default_requests_in_flight}),
      schedule_timer_(clock_, options_.schedule_interval),
      retention_(store, clock_,
                 {.max_age = options_.change_log_max_age,
                  .max_count = options_.change_log_max_count,
                  .interval = options_.retention_interval}) {}

Engine::~Engine() { Stop(); }

void Engine::Start() {
  RebindSecrets();
  if (!store_->Shared()) {
    // Leases in a store of its own were granted by an earlier process. In a
    // shared store they may be other replicas' and lapse if nobody renews
    // them; a worker that reconnects gives its own back (ConnectWorker).
    absl::MutexLock lock(&mu_);
    dispatcher_.ReleaseLeasesOfEarlierProcess();
  }
  // Another replica's commit may advance a run this one leads, finish a
  // run its watchers wait for, or append changes its subscribers stream.
  store_->WatchOtherReplicas([this] { NotifyExternalChange(); });
  CoordinatorMetrics::Get().ChangeLog(store_->GetChangeLogBounds());
  // The first tick is due a tick from now, read here rather than on the new
  // thread, which may start after the clock has moved on.
  ticker_ = std::thread([this, first_tick = clock_->Now() + options_.tick] {
    TickLoop(first_tick);
  });
}

void Engine::RebindSecrets() {
  absl::StatusOr<std::vector<v1::Instance>> instances = store_->ListInstances();
  if (!instances.ok()) return;
  for (v1::Instance& instance : *instances) {
    absl::StatusOr<v1::IntegrationDefinition> definition =
        store_->GetIntegration(instance.integration());
    if (!definition.ok()) continue;
    absl::StatusOr<bool> changed = secrets_->Rebind(*definition, &instance);
    if (!changed.ok()) {
      LogError("instance '", instance.id(), "': ", changed.status().message());
    } else if (*changed) {
      absl::Status stored = store_->UpdateInstance(instance);
      if (!stored.ok()) {
        LogError("instance '", instance.id(), "': ", stored.message());
      } else {
        LogInfo("instance '", instance.id(),
                "': secrets bound to their destination");
      }
    }
  }
}

void Engine::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  store_->WatchOtherReplicas(nullptr);
  if (ticker_.joinable()) ticker_.join();
}

void Engine::TickLoop(absl::Time next_tick) {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // Wakes early when something changed (another pump is then due) or the
      // engine stops; otherwise once the tick is due.
      const int64_t seen = change_version_;
      auto woken = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || change_version_ != seen;
      };
      clock_->AwaitWithDeadline(&mu_, absl::Condition(&woken), next_tick);
      if (stopping_) return;
    }
    // The next tick counts from before this pump reads the time, so time that
    // passes during the pump (a fake clock moved by a test, a slow store) is
    // pumped for one tick later at the latest, not a tick after the pump.
    next_tick = clock_->Now() + options_.tick;
    Pump();
  }
}

int64_t Engine::WaitForChange(int64_t seen, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return change_version_ > seen || stopping_;
  };
  clock_->AwaitWithDeadline(&mu_, absl::Condition(&changed),
                            clock_->Now() + timeout);
  return change_version_;
}

void Engine::NotifyChange() { ++change_version_; }

int64_t Engine::ChangeVersion() {
  absl::MutexLock lock(&mu_);
  return change_version_;
}

void Engine::NotifyExternalChange() {
  // E.g. an instance's deletion appended to the change log.
  CoordinatorMetrics::Get().ChangeLog(store_->GetChangeLogBounds());
  absl::MutexLock lock(&mu_);
  NotifyChange();
}

absl::StatusOr<v1::Run> Engine::StartRun(const std::string& instance_id,
                                         v1::RunTrigger trigger, bool full) {
  absl::StatusOr<v1::Run> run;
  {
    absl::MutexLock lock(&mu_);
    run = StartRunLocked(instance_id, trigger, std::nullopt, full);
  }
  if (run.ok()) Pump();
  return run;
}

absl::StatusOr<v1::Run> Engine::StartRunLocked(
    const std::string& instance_id, v1::RunTrigger trigger,
    std::optional<int64_t> schedule_slot_ms, bool full) {
  GM_ASSIGN_OR_RETURN(v1::Instance instance, store_->GetInstance(instance_id));
  GM_ASSIGN_OR_RETURN(v1::IntegrationDefinition definition,
                      store_->GetIntegration(instance.integration()));
  std::vector<std::string> disabled(instance.disabled_steps().begin(),
                                    instance.disabled_steps().end());
  // Few runs are read under the lock unless the last full run is further back.
  std::vector<v1::Run> earlier;
  if (!full && !instance.incremental().disabled()) {
    GM_ASSIGN_OR_RETURN(
        earlier, ReadEarlierRuns(*store_, instance_id, HasFinalizedFullRun));
  }
  const int64_t now_ms = clock_->NowMs();
  const int64_t incremental_since_ms =
      IncrementalSince(instance, full, earlier, now_ms);
  GM_ASSIGN_OR_RETURN(
      int64_t run_id,
      store_->CreateRun(instance_id, definition, trigger, disabled, now_ms,
                        schedule_slot_ms, incremental_since_ms));
  const bool scheduled = trigger == v1::RUN_TRIGGER_SCHEDULE;
  const std::string mode = incremental_since_ms > 0 ? "incremental" : "full";
  LogInfo(mode, " run ", run_id, " started for instance '", instance_id, "'",
          scheduled ? " by its schedule" : "");
  CoordinatorMetrics::Get().RunStarted(definition.name(), trigger);
  events_.Record(
      run_id, v1::EVENT_LEVEL_INFO, "run_start",
      absl::StrCat(mode, " run started for instance '", instance_id, "' (",
                   definition.name(), " ", definition.version(), ")",
                   scheduled ? " by its schedule" : ""),
      "");
  for (const std::string& step : disabled) {
    events_.Record(run_id, v1::EVENT_LEVEL_INFO, "step_skip",
                   "step disabled by the operator", step);
  }
  NotifyChange();
  return store_->GetRun(run_id);
}

absl::StatusOr<v1::Run> Engine::CancelRun(int64_t run_id) {
  {
    absl::MutexLock lock(&mu_);
    GM_ASSIGN_OR_RETURN(std::vector<TaskRecord> leased,
                        store_->CancelRun(run_id, clock_->NowMs()));
    dispatcher_.CancelOnWorkers(leased);
    planner_.Forget(run_id);
    events_.Record(
        run_id, v1::EVENT_LEVEL_WARN, "run_cancelled",
        absl::StrCat("run cancelled by an operator; ", leased.size(),
                     " running task(s) stopped; the graph is unchanged"),
        "");
    LogInfo("run ", run_id, " cancelled");
    CoordinatorMetrics::Get().RunEnded(*store_, run_id, clock_->NowMs());
    NotifyChange();
  }
  Pump();
  return store_->GetRun(run_id);
}

absl::StatusOr<v1::ValidateInstanceResponse> Engine::ValidateInstance(
    const std::string& instance_id, absl::Duration timeout) {
  GM_RETURN_IF_ERROR(store_->GetInstance(instance_id).status());
  GM_ASSIGN_OR_RETURN(int64_t task_id,
                      store_->CreateValidationTask(instance_id));
  Pump();
  const absl::Time deadline = clock_->Now() + timeout;
  int64_t seen = -1;
  while (clock_->Now() < deadline) {
    GM_ASSIGN_OR_RETURN(TaskRecord task, store_->GetTask(task_id));
    if (task.state == TaskState::kSucceeded ||
        task.state == TaskState::kFailed) {
      v1::ValidateInstanceResponse response;
      response.set_valid(task.state == TaskState::kSucceeded);
      response.set_message(response.valid()
                               ? "the provider accepted the credentials"
                               : task.error);
      response.set_worker_id(task.worker_id);
      return response;
    }
    seen = WaitForChange(seen, absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("instance '", instance_id,
                   "': no worker ran the invocation check within ",
                   absl::FormatDuration(timeout),
                   " (is a worker for its integration connected?)"));
}

absl::StatusOr<int64_t> Engine::ConnectWorker(const v1::WorkerHello& hello,
                                              SendFn send) {
  // Definitions are checked and stored without the lock: a worker with many
  // integrations does not hold up the pump.
  GM_ASSIGN_OR_RETURN(std::set<IntegrationVersion> integrations,
                      RegisterWorker(*store_, hello));
  int64_t id;
  {
    absl::MutexLock lock(&mu_);
    // A worker abandons its tasks when its stream ends: whatever it still
    // holds (through this replica or one that died) is offered again now
    // rather than when the lease lapses.
    dispatcher_.ReleaseLeasesOfReconnectedWorker(hello.worker_id());
    id =
        dispatcher_.AddSession(hello, std::move(integrations), std::move(send));
  }
  LogInfo("worker '", hello.worker_id(), "' connected (capacity ",
          hello.capacity(), ")");
  Pump();
  return id;
}

void Engine::DisconnectWorker(int64_t session) {
  // Destroyed after the lock is released: it waits for a write in progress.
  std::unique_ptr<SendQueue> queue;
  {
    absl::MutexLock lock(&mu_);
    queue = dispatcher_.RemoveSession(session);
    if (queue == nullptr) return;
  }
  Pump();
}

void Engine::Heartbeat(const std::string& worker_id,
                       const v1::Heartbeat& heartbeat) {
  RenewLeases(*store_, worker_id, heartbeat,
              absl::ToUnixMillis(clock_->Now() + options_.lease));
}

void Engine::RateLimited(int64_t session, const v1::TaskAttempt& attempt) {
  absl::MutexLock lock(&mu_);
  dispatcher_.RateLimited(session, attempt);
}

void Engine::ProviderReport(int64_t session, const v1::ProviderReport& report) {
  absl::MutexLock lock(&mu_);
  dispatcher_.ProviderReport(session, report);
}

void Engine::Drain(int64_t session) {
  absl::MutexLock lock(&mu_);
  dispatcher_.Drain(session);
}

absl::StatusOr<int64_t> Engine::AcceptBatch(const v1::TaskAttempt& attempt,
                                            const v1::ResultBatch& batch) {
  return merger_.AcceptBatch(attempt, batch);
}

absl::Status Engine::FinishAttempt(const v1::TaskAttempt& attempt,
                                   const v1::TaskOutcome& outcome) {
  TaskRecord task;
  GM_ASSIGN_OR_RETURN(CheckedOutcome checked,
                      merger_.CheckAttemptOutcome(attempt, outcome, &task));
  {
    // The worker has ended the task whatever the commit's outcome: its slot
    // is free. Forgotten first, so no pump counts it as running once the
    // store has it ended (it would when sharing rates).
    absl::MutexLock lock(&mu_);
    dispatcher_.Forget(attempt.task_id());
  }
  // Without the engine's lock: the commit waits for the store's writer,
  // which other tasks' batches keep busy, and the pump, heartbeats and other
  // commits must not wait with it (under load, leases lapsed when they did).
  GM_RETURN_IF_ERROR(store_->CommitAttempt(attempt, checked.succeeded,
                                           checked.error, checked.incomplete));
  CoordinatorMetrics::Get().AttemptFinished(checked.succeeded);
  if (!checked.succeeded && task.kind == v1::TASK_KIND_STEP) {
    LogWarn("run ", task.run_id, " step '", task.step_id, "' task ", task.id,
            " failed: ", checked.error);
  }
  Pump();
  return absl::OkStatus();
}

absl::Status Engine::ReadEntities(
    const v1::ReadEntitiesRequest& request,
    const std::function<bool(const v1::EntityBatch&)>& send) {
  return coordinator::ReadEntities(*store_, request, options_.read_batch_size,
                                   send);
}

void Engine::Pump() {
  std::vector<int64_t> finalized;
  bool became_leader = false;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    PumpLocked();
    finalized.swap(finalized_);
    std::swap(became_leader, became_leader_);
  }
  if (became_leader && options_.on_leadership) options_.on_leadership();
  if (options_.on_finalized) {
    for (int64_t run_id : finalized) options_.on_finalized(run_id);
  }
}

bool Engine::HoldLeadership() {
  absl::StatusOr<bool> leading = store_->HoldLeadership();
  const bool now_leading = leading.ok() && *leading;
  CoordinatorMetrics::Get().Leading(now_leading);
  if (now_leading != leading_) {
    leading_ = now_leading;
    if (store_->Shared()) {
      if (now_leading) {
        LogInfo("this replica now takes run-level decisions (leader)");
      } else {
        LogWarn(
            "this replica no longer takes run-level decisions",
            leading.ok() ? "" : absl::StrCat(": ", leading.status().message()));
      }
    }
    if (now_leading) became_leader_ = true;
  }
  return now_leading;
}

void Engine::PumpLocked() {
  CoordinatorMetrics::Get().BeginPump();  // task gauges, published by EndPump
  // Run-level decisions are the leader's (one replica at a time); every
  // replica leases pending tasks to its own workers.
  if (!HoldLeadership()) {
    absl::StatusOr<std::vector<int64_t>> active = store_->ActiveRunIds();
    if (active.ok()) planner_.KeepOnly(*active);
    DispatchAndShareRates();
    return;
  }
  // 1. Leases that lapsed, schedules, retention.
  dispatcher_.ExpireLeases();
  FireSchedules();
  retention_.MaybeApply();
  // 2. Runs (those schedules just started included).
  absl::StatusOr<std::vector<int64_t>> active = store_->ActiveRunIds();
  if (!active.ok()) {
    LogError("cannot list active runs: ", active.status().ToString());
    return;
  }
  for (int64_t run_id : *active) {
    absl::StatusOr<RunProgress> progress = planner_.Advance(run_id);
    absl::Status status = progress.status();
    if (progress.ok() && *progress == RunProgress::kSettled)
      status = Finalize(run_id);
    if (!status.ok()) {
      LogError("run ", run_id, ": ", status.ToString());
      store_
          ->SetRunStatus(run_id, v1::RUN_STATUS_FAILED,
                         absl::StrCat("internal error: ", status.message()),
                         clock_->NowMs())
          .IgnoreError();
      CoordinatorMetrics::Get().RunEnded(*store_, run_id, clock_->NowMs());
      planner_.Forget(run_id);
    }
  }
  // 3. Tasks.
  DispatchAndShareRates();
}

void Engine::DispatchAndShareRates() {
  dispatcher_.Dispatch(
      [this](int64_t run_id) -> std::optional<Dispatcher::RunPlan> {
        absl::StatusOr<const RunInfo*> info = planner_.Info(run_id);
        if (!info.ok()) return std::nullopt;
        return Dispatcher::RunPlan{.definition = &(*info)->definition,
                                   .incremental = &(*info)->incremental};
      });
  dispatcher_.ShareRates();
  CoordinatorMetrics::Get().EndPump();
  CoordinatorMetrics::Get().ObserveWorkers(dispatcher_.sessions());
  NotifyChange();
}

absl::Status Engine::Finalize(int64_t run_id) {
  GM_ASSIGN_OR_RETURN(const RunInfo* info, planner_.Info(run_id));
  GM_RETURN_IF_ERROR(FinalizeRun(*store_, *clock_, events_, run_id, *info));
  planner_.Forget(run_id);
  finalized_.push_back(run_id);
  return absl::OkStatus();
}

void Engine::FireSchedules() {
  const std::optional<absl::Time> now = schedule_timer_.Check();
  if (!now.has_value()) return;
  absl::StatusOr<std::vector<v1::Instance>> instances = store_->ListInstances();
  if (!instances.ok()) return;
  for (const v1::Instance& instance : *instances) {
    if (!instance.has_schedule() || !IsScheduled(instance.schedule())) continue;
    absl::StatusOr<int64_t> last = store_->GetLastScheduledSlot(instance.id());
    if (!last.ok()) continue;
    const std::optional<absl::Time> slot = DueSlot(instance, *last, *now);
    if (!slot.has_value()) continue;
    absl::StatusOr<v1::Run> run = StartRunLocked(
        instance.id(), v1::RUN_TRIGGER_SCHEDULE, absl::ToUnixMillis(*slot),
        /*full=*/false);
    if (!run.ok()) {
      LogWarn("instance '", instance.id(),
              "': scheduled run not started: ", run.status().message());
    }
  }
}

}  // namespace graphmill::coordinator
