// Implementation of coordinator/run/dispatcher.h.
#include "coordinator/run/dispatcher.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "coordinator/definitions.h"
#include "coordinator/metrics.h"
#include "coordinator/secrets/secret_box.h"

namespace graphmill::coordinator {
namespace {

// Random bytes naming a lease (TaskAttempt.lease_id): 128 bits, so a worker
// cannot guess another task's lease.
constexpr size_t kLeaseIdBytes = 16;

DispatcherOptions WithCredentialKey(DispatcherOptions options) {
  if (options.credential_hmac_key.empty()) {
    // Only this process compares the names, so a per-process key will do.
    absl::StatusOr<std::string> key = RandomHex(32);
    options.credential_hmac_key = key.ok() ? *key : "graphmill";
  }
  return options;
}

}  // namespace

absl::StatusOr<std::set<IntegrationVersion>> RegisterWorker(
    Store& store, const v1::WorkerHello& hello) {
  if (hello.worker_id().empty())
    return absl::InvalidArgumentError("worker hello: worker_id is required");
  if (hello.capacity() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "worker '", hello.worker_id(), "': capacity must be positive"));
  }
  std::set<IntegrationVersion> integrations;
  for (const v1::IntegrationDefinition& definition : hello.integrations()) {
    absl::StatusOr<std::vector<std::string>> order =
        ValidateDefinition(definition);
    if (!order.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "worker '", hello.worker_id(), "': ", order.status().message()));
    }
    absl::StatusOr<v1::IntegrationDefinition> stored =
        store.GetIntegration(definition.name());
    if (stored.ok()) {
      absl::Status allowed = CheckDefinitionChange(*stored, definition);
      if (!allowed.ok()) {
        LogWarn("worker '", hello.worker_id(),
                "' refused: ", allowed.message());
        return absl::FailedPreconditionError(absl::StrCat(
            "worker '", hello.worker_id(), "': ", allowed.message()));
      }
    } else if (!absl::IsNotFound(stored.status())) {
      return stored.status();
    }
    GM_RETURN_IF_ERROR(store.PutIntegration(definition));
    integrations.emplace(definition.name(), definition.version());
  }
  return integrations;
}

std::vector<const TaskRecord*> DispatchOrder(
    const std::vector<TaskRecord>& pending) {
  std::map<int64_t, std::vector<const TaskRecord*>> by_run;
  for (const TaskRecord& task : pending) by_run[task.run_id].push_back(&task);
  for (auto& [run_id, queue] : by_run) {
    std::stable_partition(queue.begin(), queue.end(), [](const TaskRecord* t) {
      return t->shard.parent_type().empty();
    });
  }
  std::vector<const TaskRecord*> order;
  for (size_t round = 0; order.size() < pending.size(); ++round) {
    for (auto& [run_id, queue] : by_run) {
      if (round < queue.size()) order.push_back(queue[round]);
    }
  }
  return order;
}

WorkerSession* ChooseSession(WorkerSessions& sessions,
                             const IntegrationVersion& integration,
                             bool sharded) {
  WorkerSession* chosen = nullptr;
  int chosen_free = 0;
  for (auto& [id, session] : sessions) {
    const int kept =
        sharded && session.capacity > 1 ? kSlotsKeptForUnsharded : 0;
    const int free = session.free_slots() - kept;
    if (free <= chosen_free || !session.integrations.contains(integration))
      continue;
    chosen = &session;
    chosen_free = free;
  }
  return chosen;
}

BudgetShare ShareOf(const Budget& budget, int tasks) {
  tasks = std::max(1, tasks);
  return {.rate = budget.rate / tasks,
          .in_flight = std::max(1, budget.max_in_flight / tasks)};
}

std::string StepKey(int64_t run_id, absl::string_view step_id) {
  return absl::StrCat(run_id, "/", step_id);
}

std::vector<int> ShareDivisors(
    const std::vector<SharingTask>& local,
    const std::map<std::string, std::map<std::string, int>>&
        leased_by_instance) {
  std::map<std::string, int> tasks_by_step;
  for (const SharingTask& task : local) ++tasks_by_step[task.step];
  std::set<std::string> instances;
  for (const SharingTask& task : local) instances.insert(task.instance_id);
  for (const std::string& instance : instances) {
    const auto leased = leased_by_instance.find(instance);
    if (leased == leased_by_instance.end()) continue;
    for (const auto& [step, count] : leased->second) {
      int& tasks = tasks_by_step[step];
      tasks = std::max(tasks, count);
    }
  }
  const int steps = static_cast<int>(tasks_by_step.size());
  std::vector<int> divisors;
  divisors.reserve(local.size());
  for (const SharingTask& task : local)
    divisors.push_back(steps * tasks_by_step[task.step]);
  return divisors;
}

v1::CoordinatorMessage MakeAssignment(
    const TaskRecord& task, const v1::TaskAttempt& attempt,
    const v1::IntegrationDefinition& definition, const v1::Instance& instance,
    absl::Duration lease, BudgetShare share,
    const IncrementalMode& incremental) {
  v1::CoordinatorMessage message;
  v1::TaskAssignment& assignment = *message.mutable_assignment();
  *assignment.mutable_attempt() = attempt;
  assignment.set_kind(task.kind);
  assignment.set_run_id(task.run_id);
  assignment.set_instance_id(task.instance_id);
  assignment.set_integration(definition.name());
  assignment.set_integration_version(definition.version());
  assignment.set_step_id(task.step_id);
  ConfigMap config(instance.config().begin(), instance.config().end());
  for (const auto& [name, value] :
       WithDefaults(definition, std::move(config))) {
    (*assignment.mutable_config())[name] = value;
  }
  if (!task.shard.parent_type().empty())
    *assignment.mutable_shard() = task.shard;
  assignment.set_lease_ms(absl::ToInt64Milliseconds(lease));
  assignment.set_rate_limit_per_second(share.rate);
  assignment.set_max_requests_in_flight(share.in_flight);
  assignment.set_incremental_since_ms(incremental.since_ms);
  for (const std::string& type : incremental.not_carried_types)
    assignment.add_not_carried_types(type);
  return message;
}

Dispatcher::Dispatcher(Store* store, Clock* clock,
                       const InstanceSecrets* secrets, RunEvents* events,
                       Redactors* redactors, RateBudget* rates,
                       DispatcherOptions options)
    : store_(store),
      clock_(clock),
      secrets_(secrets),
      events_(events),
      redactors_(redactors),
      rates_(rates),
      options_(WithCredentialKey(std::move(options))) {}

int64_t Dispatcher::AddSession(const v1::WorkerHello& hello,
                               std::set<IntegrationVersion> integrations,
                               SendFn send) {
  const int64_t id = next_session_++;
  WorkerSession& session = sessions_[id];
  session.worker_id = hello.worker_id();
  session.capacity = hello.capacity();
  session.integrations = std::move(integrations);
  session.queue = std::make_unique<SendQueue>(std::move(send));
  return id;
}

std::unique_ptr<SendQueue> Dispatcher::RemoveSession(int64_t session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return nullptr;
  const std::string worker_id = it->second.worker_id;
  std::vector<TaskRecord> held;
  for (const auto& [task_id, running] : it->second.running) {
    absl::StatusOr<TaskRecord> task = store_->GetTask(task_id);
    if (task.ok() && task->state == TaskState::kLeased &&
        task->worker_id == worker_id) {
      held.push_back(*task);
    }
  }
  std::unique_ptr<SendQueue> queue = std::move(it->second.queue);
  sessions_.erase(it);
  ReleaseLeases(held, absl::StrCat("worker '", worker_id, "' disconnected"),
                options_.max_task_attempts);
  LogInfo("worker '", worker_id, "' disconnected; ", held.size(),
          " task(s) offered again");
  return queue;
}

void RenewLeases(Store& store, const std::string& worker_id,
                 const v1::Heartbeat& heartbeat, int64_t expires_ms) {
  for (const v1::TaskAttempt& attempt : heartbeat.running()) {
    absl::Status status = store.RenewLease(attempt.task_id(), attempt.attempt(),
                                           worker_id, expires_ms);
    if (!status.ok()) LogWarn("lease renewal failed: ", status.ToString());
  }
}

void Dispatcher::Drain(int64_t session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  it->second.draining = true;
  LogInfo("worker '", it->second.worker_id, "' is draining");
}

void Dispatcher::ReleaseLeasesOfEarlierProcess() {
  // Their workers are gone or will reconnect, and a reconnecting worker's old
  // attempt is fenced by its lease id.
  absl::StatusOr<std::vector<TaskRecord>> leased =
      store_->LeasedTasks(std::numeric_limits<int64_t>::max(), "");
  if (leased.ok()) {
    ReleaseLeases(*leased, "the coordinator restarted",
                  std::numeric_limits<int>::max());
  }
}

void Dispatcher::ReleaseLeasesOfReconnectedWorker(
    const std::string& worker_id) {
  // Nothing expired before 0: only the worker's own leases.
  absl::StatusOr<std::vector<TaskRecord>> held =
      store_->LeasedTasks(0, worker_id);
  if (!held.ok() || held->empty()) return;
  for (const TaskRecord& task : *held) Forget(task.id);
  ReleaseLeases(
      *held,
      absl::StrCat("worker '", worker_id, "' connected again and abandoned it"),
      options_.max_task_attempts);
}

void Dispatcher::ExpireLeases() {
  absl::StatusOr<std::vector<TaskRecord>> expired =
      store_->LeasedTasks(clock_->NowMs(), "");
  if (!expired.ok() || expired->empty()) return;
  CoordinatorMetrics::Get().LeasesExpired(expired->size());
  for (const TaskRecord& task : *expired) Forget(task.id);
  ReleaseLeases(*expired, "lease lapsed", options_.max_task_attempts);
}

void Dispatcher::Forget(int64_t task_id) {
  for (auto& [id, session] : sessions_) session.running.erase(task_id);
}

void Dispatcher::CancelOnWorkers(const std::vector<TaskRecord>& tasks) {
  for (const TaskRecord& task : tasks) {
    for (auto& [id, session] : sessions_) {
      auto it = session.running.find(task.id);
      if (it == session.running.end()) continue;
      v1::CoordinatorMessage message;
      *message.mutable_cancel()->mutable_attempt() = it->second.attempt;
      session.queue->Send(message);
      session.running.erase(it);
    }
  }
}

void Dispatcher::ReleaseLeases(const std::vector<TaskRecord>& tasks,
                               const std::string& why, int max_attempts) {
  for (const TaskRecord& task : tasks) {
    const std::string error =
        absl::StrCat("task ", task.id, " attempt ", task.attempt,
                     " on worker '", task.worker_id, "' did not finish: ", why);
    absl::Status status =
        store_->ReleaseTask(task.id, task.attempt, max_attempts, error);
    if (!status.ok()) {
      LogError("cannot release task ", task.id, ": ", status.ToString());
      continue;
    }
    const bool retried = task.attempt < max_attempts;
    CoordinatorMetrics::Get().AttemptLost(retried);
    events_->Record(
        task.run_id, v1::EVENT_LEVEL_WARN,
        retried ? "task_retry" : "task_failure",
        retried ? absl::StrCat(error, "; offering it again") : error,
        task.step_id);
  }
}

void Dispatcher::FailUndispatchable(const TaskRecord& task,
                                    const std::string& error) {
  LogError("task ", task.id, ": ", error);
  absl::StatusOr<std::string> lease_id = RandomHex(kLeaseIdBytes);
  if (!lease_id.ok()) return;
  absl::StatusOr<int32_t> attempt =
      store_->LeaseTask(task.id, "coordinator", *lease_id, clock_->NowMs());
  if (!attempt.ok()) return;
  v1::TaskAttempt failed;
  failed.set_task_id(task.id);
  failed.set_attempt(*attempt);
  failed.set_lease_id(*lease_id);
  absl::Status committed = store_->CommitAttempt(failed, false, error, {});
  if (!committed.ok()) {
    LogError("task ", task.id,
             ": cannot record the failure: ", committed.ToString());
  }
}

void Dispatcher::Dispatch(const RunPlanFn& run_plan) {
  int free_slots = 0;
  for (const auto& [id, session] : sessions_)
    free_slots += session.free_slots();
  if (free_slots == 0) return;
  absl::StatusOr<std::vector<TaskRecord>> pending =
      store_->PendingTasks(free_slots * 8 + 64);
  if (!pending.ok() || pending->empty()) return;
  bool assigned = false;
  for (const TaskRecord* task : DispatchOrder(*pending)) {
    // The instance and the definition the task was planned with (a stand-alone
    // validation task uses the integration's current definition).
    v1::IntegrationDefinition definition;
    static const IncrementalMode kFullRun;
    const IncrementalMode* incremental = &kFullRun;
    if (task->run_id != 0) {
      const std::optional<RunPlan> planned = run_plan(task->run_id);
      if (!planned.has_value()) continue;
      definition = *planned->definition;
      incremental = planned->incremental;
    }
    absl::StatusOr<v1::Instance> instance =
        store_->GetInstance(task->instance_id);
    if (!instance.ok()) continue;
    if (task->run_id == 0) {
      absl::StatusOr<v1::IntegrationDefinition> current =
          store_->GetIntegration(instance->integration());
      if (!current.ok()) continue;
      definition = std::move(*current);
    }
    WorkerSession* chosen =
        ChooseSession(sessions_, {definition.name(), definition.version()},
                      !task->shard.parent_type().empty());
    if (chosen == nullptr) continue;
    absl::Status opened = secrets_->Open(definition, &*instance);
    if (!opened.ok()) {
      // No worker can run it (e.g. the coordinator restarted with another
      // key): the task fails with the reason, so its run ends instead of
      // waiting forever.
      FailUndispatchable(*task, std::string(opened.message()));
      continue;
    }
    Assign(*task, *chosen, definition, *std::move(instance), *incremental);
    assigned = true;
  }
  // Each assignment carried a share as if it were the last one; now that the
  // pass is over, every task of a credential gets its equal part, so the
  // first tasks of a burst do not keep a larger one.
  if (assigned) ShareRates();
}

void Dispatcher::Assign(const TaskRecord& task, WorkerSession& session,
                        const v1::IntegrationDefinition& definition,
                        v1::Instance instance,
                        const IncrementalMode& incremental) {
  redactors_->Set(task.instance_id,
                  Redactor(SecretValues(definition, instance)));
  absl::StatusOr<std::string> lease_id = RandomHex(kLeaseIdBytes);
  if (!lease_id.ok()) {
    LogError("task ", task.id, ": ", lease_id.status().message());
    return;
  }
  absl::StatusOr<int32_t> attempt =
      store_->LeaseTask(task.id, session.worker_id, *lease_id,
                        absl::ToUnixMillis(clock_->Now() + options_.lease));
  if (!attempt.ok()) return;
  v1::TaskAttempt leased;
  leased.set_task_id(task.id);
  leased.set_attempt(*attempt);
  leased.set_lease_id(*lease_id);
  // A new task gets an equal share of its credential's budget; ShareRates
  // rebalances the others.
  const std::string credential =
      CredentialKey(options_.credential_hmac_key, definition, instance);
  const CredentialLimits limits =
      LimitsOf(definition, instance, options_.default_rate_per_second,
               options_.default_requests_in_flight);
  int credential_tasks = 1;
  for (const auto& [id, other] : sessions_) {
    for (const auto& [task_id, running] : other.running)
      credential_tasks += running.credential == credential;
  }
  const BudgetShare share =
      ShareOf(rates_->Current(credential, limits), credential_tasks);
  session.running[task.id] =
      RunningTask{.attempt = leased,
                  .instance_id = task.instance_id,
                  .step = StepKey(task.run_id, task.step_id),
                  .credential = credential,
                  .limits = limits,
                  .rate_share = share.rate,
                  .in_flight_share = share.in_flight};
  if (!session.queue->Send(MakeAssignment(task, leased, definition, instance,
                                          options_.lease, share,
                                          incremental))) {
    session.running.erase(task.id);
    TaskRecord taken = task;
    taken.attempt = *attempt;
    taken.worker_id = session.worker_id;
    ReleaseLeases({taken}, "its worker's stream broke",
                  std::numeric_limits<int>::max());
  }
}

void Dispatcher::RateLimited(int64_t session, const v1::TaskAttempt& attempt) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  auto task = it->second.running.find(attempt.task_id());
  if (task == it->second.running.end()) return;
  const RunningTask& running = task->second;
  const Budget budget = rates_->RateLimited(running.credential, running.limits);
  CoordinatorMetrics::Get().RateLimitReported();
  LogWarn("instance '", running.instance_id,
          "': the provider answered 429; its credential's budget is now ",
          budget.max_in_flight, " request(s) in flight",
          budget.rate > 0 ? absl::StrCat(", ", budget.rate, " requests/s")
                          : std::string());
  ShareRates();
}

void Dispatcher::ProviderReport(int64_t session,
                                const v1::ProviderReport& report) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  auto task = it->second.running.find(report.attempt().task_id());
  if (task == it->second.running.end() ||
      task->second.attempt.attempt() != report.attempt().attempt()) {
    return;
  }
  rates_->ProviderRemaining(task->second.credential, report.remaining());
}

void Dispatcher::ShareRates() {
  // Running tasks per credential.
  std::map<std::string, std::vector<std::pair<WorkerSession*, RunningTask*>>>
      tasks;
  for (auto& [id, session] : sessions_) {
    for (auto& [task_id, running] : session.running)
      tasks[running.credential].emplace_back(&session, &running);
  }
  // With replicas, a credential's tasks may run on several of them.
  std::map<std::string, std::map<std::string, int>> leased_by_instance;
  if (store_->Shared() && !tasks.empty()) {
    absl::StatusOr<std::vector<TaskRecord>> leased =
        store_->LeasedTasks(std::numeric_limits<int64_t>::max(), "");
    if (leased.ok()) {
      for (const TaskRecord& task : *leased) {
        ++leased_by_instance[task.instance_id]
                            [StepKey(task.run_id, task.step_id)];
      }
    }
  }
  for (auto& [credential, list] : tasks) {
    std::vector<CredentialLimits> configured;
    std::vector<SharingTask> sharing;
    for (const auto& [session, running] : list) {
      configured.push_back(running->limits);
      sharing.push_back(
          {.instance_id = running->instance_id, .step = running->step});
    }
    const CredentialLimits limits = StrictestOf(configured);
    const Budget budget = rates_->Recover(credential, limits);
    CoordinatorMetrics::Get().CredentialBudget(credential, budget.rate,
                                               budget.max_in_flight);
    const std::vector<int> divisors =
        ShareDivisors(sharing, leased_by_instance);
    for (size_t i = 0; i < list.size(); ++i) {
      auto& [session, running] = list[i];
      const BudgetShare share = ShareOf(budget, divisors[i]);
      if (!ShareMoved(running->rate_share, share.rate) &&
          running->in_flight_share == share.in_flight) {
        continue;
      }
      running->rate_share = share.rate;
      running->in_flight_share = share.in_flight;
      v1::CoordinatorMessage message;
      v1::RateUpdate& update = *message.mutable_rate_update();
      *update.mutable_attempt() = running->attempt;
      update.set_rate_limit_per_second(share.rate);
      update.set_max_requests_in_flight(share.in_flight);
      session->queue->Send(message);
    }
  }
}

}  // namespace graphmill::coordinator
