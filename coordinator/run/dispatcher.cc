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
  std::vector<const TaskRecord*> order;
  for (size_t round = 0; order.size() < pending.size(); ++round) {
    for (auto& [run_id, queue] : by_run) {
      if (round < queue.size()) order.push_back(queue[round]);
    }
  }
  return order;
}

WorkerSession* ChooseSession(WorkerSessions& sessions,
                             const IntegrationVersion& integration) {
  WorkerSession* chosen = nullptr;
  int chosen_free = 0;
  for (auto& [id, session] : sessions) {
    const int free = session.free_slots();
    if (free <= chosen_free || !session.integrations.contains(integration))
      continue;
    chosen = &session;
    chosen_free = free;
  }
  return chosen;
}

v1::CoordinatorMessage MakeAssignment(
    const TaskRecord& task, const v1::TaskAttempt& attempt,
    const v1::IntegrationDefinition& definition, const v1::Instance& instance,
    absl::Duration lease, double rate_share) {
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
  assignment.set_rate_limit_per_second(rate_share);
  return message;
}

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

void Dispatcher::Heartbeat(int64_t session, const v1::Heartbeat& heartbeat) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  const int64_t expires = absl::ToUnixMillis(clock_->Now() + options_.lease);
  for (const v1::TaskAttempt& attempt : heartbeat.running()) {
    absl::Status status = store_->RenewLease(
        attempt.task_id(), attempt.attempt(), it->second.worker_id, expires);
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

void Dispatcher::Dispatch(const RunDefinitionFn& run_definition) {
  int free_slots = 0;
  for (const auto& [id, session] : sessions_)
    free_slots += session.free_slots();
  if (free_slots == 0) return;
  absl::StatusOr<std::vector<TaskRecord>> pending =
      store_->PendingTasks(free_slots * 8 + 64);
  if (!pending.ok() || pending->empty()) return;
  for (const TaskRecord* task : DispatchOrder(*pending)) {
    // The instance and the definition the task was planned with (a stand-alone
    // validation task uses the integration's current definition).
    v1::IntegrationDefinition definition;
    if (task->run_id != 0) {
      const v1::IntegrationDefinition* planned = run_definition(task->run_id);
      if (planned == nullptr) continue;
      definition = *planned;
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
        ChooseSession(sessions_, {definition.name(), definition.version()});
    if (chosen == nullptr) continue;
    absl::Status opened = secrets_->Open(definition, &*instance);
    if (!opened.ok()) {
      // No worker can run it (e.g. the coordinator restarted with another
      // key): the task fails with the reason, so its run ends instead of
      // waiting forever.
      FailUndispatchable(*task, std::string(opened.message()));
      continue;
    }
    Assign(*task, *chosen, definition, *std::move(instance));
  }
}

void Dispatcher::Assign(const TaskRecord& task, WorkerSession& session,
                        const v1::IntegrationDefinition& definition,
                        v1::Instance instance) {
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
  // A new task gets an equal share of its instance's current rate; ShareRates
  // rebalances.
  int instance_tasks = 1;
  for (const auto& [id, other] : sessions_) {
    for (const auto& [task_id, running] : other.running)
      instance_tasks += running.instance_id == task.instance_id;
  }
  const double share =
      rates_->Current(task.instance_id,
                      coordinator::ConfiguredRate(
                          instance, options_.default_rate_per_second)) /
      instance_tasks;
  session.running[task.id] = RunningTask{leased, task.instance_id, share};
  if (!session.queue->Send(MakeAssignment(task, leased, definition, instance,
                                          options_.lease, share))) {
    session.running.erase(task.id);
    TaskRecord taken = task;
    taken.attempt = *attempt;
    taken.worker_id = session.worker_id;
    ReleaseLeases({taken}, "its worker's stream broke",
                  std::numeric_limits<int>::max());
  }
}

double Dispatcher::ConfiguredRate(const std::string& instance_id) {
  absl::StatusOr<v1::Instance> instance = store_->GetInstance(instance_id);
  return instance.ok() ? coordinator::ConfiguredRate(
                             *instance, options_.default_rate_per_second)
                       : options_.default_rate_per_second;
}

void Dispatcher::RateLimited(int64_t session, const v1::TaskAttempt& attempt) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  auto task = it->second.running.find(attempt.task_id());
  if (task == it->second.running.end()) return;
  const std::string instance_id = task->second.instance_id;
  const double rate =
      rates_->RateLimited(instance_id, ConfiguredRate(instance_id));
  CoordinatorMetrics::Get().RateLimitReported();
  LogWarn("instance '", instance_id,
          "': the provider answered 429; rate lowered to ", rate,
          " requests/s");
  ShareRates();
}

void Dispatcher::ShareRates() {
  // Running tasks per instance.
  std::map<std::string, std::vector<std::pair<WorkerSession*, RunningTask*>>>
      tasks;
  for (auto& [id, session] : sessions_) {
    for (auto& [task_id, running] : session.running)
      tasks[running.instance_id].emplace_back(&session, &running);
  }
  for (auto& [instance_id, list] : tasks) {
    const double configured = ConfiguredRate(instance_id);
    const double rate = rates_->Recover(instance_id, configured);
    CoordinatorMetrics::Get().RateBudget(instance_id, rate, configured);
    const double share = rate / static_cast<double>(list.size());
    for (auto& [session, running] : list) {
      if (!ShareMoved(running->rate_share, share)) continue;
      running->rate_share = share;
      v1::CoordinatorMessage message;
      *message.mutable_rate_update()->mutable_attempt() = running->attempt;
      message.mutable_rate_update()->set_rate_limit_per_second(share);
      session->queue->Send(message);
    }
  }
}

}  // namespace graphmill::coordinator
