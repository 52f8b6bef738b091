// Implementation of coordinator/engine.h.
#include "coordinator/engine.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/graph_objects.h"
#include "common/grpc_limits.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "coordinator/completeness.h"
#include "coordinator/definitions.h"
#include "coordinator/metrics.h"
#include "coordinator/scheduler/schedule.h"
#include "coordinator/secrets/secret_box.h"
#include "coordinator/send_queue.h"

namespace graphmill::coordinator {
namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

bool IsSettled(v1::StepStatus status) {
  return status == v1::STEP_STATUS_SUCCESS ||
         status == v1::STEP_STATUS_FAILURE ||
         status == v1::STEP_STATUS_PARTIAL ||
         status == v1::STEP_STATUS_DISABLED;
}

const char* StepStatusName(v1::StepStatus status) {
  switch (status) {
    case v1::STEP_STATUS_SUCCESS:
      return "success";
    case v1::STEP_STATUS_FAILURE:
      return "failure";
    case v1::STEP_STATUS_PARTIAL:
      return "partial (a dependency failed)";
    case v1::STEP_STATUS_DISABLED:
      return "disabled";
    default:
      return "pending";
  }
}

}  // namespace

// Growth of an instance's rate per recovery interval without a 429.
constexpr double kRateRecoveryFactor = 1.25;
// The rate never drops below this fraction of the configured rate.
constexpr double kMinRateFraction = 0.05;

Engine::Engine(Store* store, const InstanceSecrets* secrets,
               EngineOptions options)
    : store_(store), secrets_(secrets), options_(options) {}

Engine::~Engine() { Stop(); }

void Engine::Start() {
  RebindSecrets();
  {
    absl::MutexLock lock(&mu_);
    // Leases granted by a previous process: their workers are gone or will
    // reconnect, and a reconnecting worker's old attempt is fenced. A restart
    // does not count as an attempt.
    auto leased = store_->LeasedTasks(std::numeric_limits<int64_t>::max(), "");
    if (leased.ok()) {
      ReleaseLeases(*leased, "the coordinator restarted",
                    std::numeric_limits<int>::max());
    }
  }
  CoordinatorMetrics::Get().ChangeLog(store_->GetChangeLogBounds());
  ticker_ = std::thread([this] { TickLoop(); });
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
    changed_.SignalAll();
  }
  if (ticker_.joinable()) ticker_.join();
}

void Engine::TickLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      changed_.WaitWithTimeout(&mu_, options_.tick);
      if (stopping_) return;
    }
    Pump();
  }
}

int64_t Engine::WaitForChange(int64_t seen, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + timeout;
  while (change_version_ <= seen && !stopping_) {
    if (changed_.WaitWithDeadline(&mu_, deadline)) break;
  }
  return change_version_;
}

void Engine::NotifyChange() {
  ++change_version_;
  changed_.SignalAll();
}

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

void Engine::ForgetTask(int64_t task_id) {
  for (auto& [id, session] : sessions_) session.running.erase(task_id);
}

void Engine::Event(int64_t run_id, v1::EventLevel level,
                   const std::string& name, const std::string& description,
                   const std::string& step_id) {
  absl::Status status =
      store_->AddEvent(run_id, level, name, description, step_id, NowMs());
  if (!status.ok())
    LogError("run ", run_id, ": cannot record event: ", status.ToString());
}

absl::StatusOr<v1::Run> Engine::StartRun(const std::string& instance_id,
                                         v1::RunTrigger trigger) {
  absl::StatusOr<v1::Run> run;
  {
    absl::MutexLock lock(&mu_);
    run = StartRunLocked(instance_id, trigger, std::nullopt);
  }
  if (run.ok()) Pump();
  return run;
}

absl::StatusOr<v1::Run> Engine::StartRunLocked(
    const std::string& instance_id, v1::RunTrigger trigger,
    std::optional<int64_t> schedule_slot_ms) {
  GM_ASSIGN_OR_RETURN(v1::Instance instance, store_->GetInstance(instance_id));
  GM_ASSIGN_OR_RETURN(v1::IntegrationDefinition definition,
                      store_->GetIntegration(instance.integration()));
  std::vector<std::string> disabled(instance.disabled_steps().begin(),
                                    instance.disabled_steps().end());
  GM_ASSIGN_OR_RETURN(int64_t run_id,
                      store_->CreateRun(instance_id, definition, trigger,
                                        disabled, NowMs(), schedule_slot_ms));
  LogInfo("run ", run_id, " started for instance '", instance_id, "'",
          trigger == v1::RUN_TRIGGER_SCHEDULE ? " by its schedule" : "");
  CoordinatorMetrics::Get().RunStarted(definition.name(), trigger);
  Event(run_id, v1::EVENT_LEVEL_INFO, "run_start",
        absl::StrCat(
            "run started for instance '", instance_id, "' (", definition.name(),
            " ", definition.version(), ")",
            trigger == v1::RUN_TRIGGER_SCHEDULE ? " by its schedule" : ""),
        "");
  for (const std::string& step : disabled) {
    Event(run_id, v1::EVENT_LEVEL_INFO, "step_skip",
          "step disabled by the operator", step);
  }
  NotifyChange();
  return store_->GetRun(run_id);
}

absl::StatusOr<v1::Run> Engine::CancelRun(int64_t run_id) {
  {
    absl::MutexLock lock(&mu_);
    GM_ASSIGN_OR_RETURN(std::vector<TaskRecord> leased,
                        store_->CancelRun(run_id, NowMs()));
    for (const TaskRecord& task : leased) {
      for (auto& [id, session] : sessions_) {
        auto it = session.running.find(task.id);
        if (it == session.running.end()) continue;
        v1::CoordinatorMessage message;
        *message.mutable_cancel()->mutable_attempt() = it->second.attempt;
        session.queue->Send(message);
        session.running.erase(it);
      }
    }
    runs_.erase(run_id);
    Event(run_id, v1::EVENT_LEVEL_WARN, "run_cancelled",
          absl::StrCat("run cancelled by an operator; ", leased.size(),
                       " running task(s) stopped; the graph is unchanged"),
          "");
    LogInfo("run ", run_id, " cancelled");
    CoordinatorMetrics::Get().RunEnded(*store_, run_id);
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
  const absl::Time deadline = absl::Now() + timeout;
  int64_t seen = -1;
  while (absl::Now() < deadline) {
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
  if (hello.worker_id().empty()) {
    return absl::InvalidArgumentError("worker hello: worker_id is required");
  }
  if (hello.capacity() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "worker '", hello.worker_id(), "': capacity must be positive"));
  }
  WorkerSession session;
  session.worker_id = hello.worker_id();
  session.capacity = hello.capacity();
  session.queue = std::make_unique<SendQueue>(std::move(send));
  for (const v1::IntegrationDefinition& definition : hello.integrations()) {
    absl::StatusOr<std::vector<std::string>> order =
        ValidateDefinition(definition);
    if (!order.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "worker '", hello.worker_id(), "': ", order.status().message()));
    }
    absl::StatusOr<v1::IntegrationDefinition> stored =
        store_->GetIntegration(definition.name());
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
    GM_RETURN_IF_ERROR(store_->PutIntegration(definition));
    session.integrations.emplace(definition.name(), definition.version());
  }
  int64_t id;
  {
    absl::MutexLock lock(&mu_);
    id = next_session_++;
    sessions_[id] = std::move(session);
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
    auto it = sessions_.find(session);
    if (it == sessions_.end()) return;
    const std::string worker_id = it->second.worker_id;
    std::vector<TaskRecord> held;
    for (const auto& [task_id, running] : it->second.running) {
      absl::StatusOr<TaskRecord> task = store_->GetTask(task_id);
      if (task.ok() && task->state == TaskState::kLeased &&
          task->worker_id == worker_id) {
        held.push_back(*task);
      }
    }
    queue = std::move(it->second.queue);
    sessions_.erase(it);
    ReleaseLeases(held, absl::StrCat("worker '", worker_id, "' disconnected"),
                  options_.max_task_attempts);
    LogInfo("worker '", worker_id, "' disconnected; ", held.size(),
            " task(s) offered again");
  }
  Pump();
}

void Engine::Heartbeat(int64_t session, const v1::Heartbeat& heartbeat) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  const int64_t expires = NowMs() + absl::ToInt64Milliseconds(options_.lease);
  for (const v1::TaskAttempt& attempt : heartbeat.running()) {
    absl::Status status = store_->RenewLease(
        attempt.task_id(), attempt.attempt(), it->second.worker_id, expires);
    if (!status.ok()) LogWarn("lease renewal failed: ", status.ToString());
  }
}

void Engine::RateLimited(int64_t session, const v1::TaskAttempt& attempt) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  auto task = it->second.running.find(attempt.task_id());
  if (task == it->second.running.end()) return;
  const std::string& instance_id = task->second.instance_id;
  const double configured = ConfiguredRate(instance_id);
  RateState& rate = rates_[instance_id];
  if (rate.current <= 0) rate.current = configured;
  rate.current = std::max(configured * kMinRateFraction,
                          rate.current * options_.rate_backoff_factor);
  rate.last_change = absl::Now();
  CoordinatorMetrics::Get().RateLimitReported();
  LogWarn("instance '", instance_id,
          "': the provider answered 429; rate lowered to ", rate.current,
          " requests/s");
  ShareRates();
}

void Engine::Drain(int64_t session) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  it->second.draining = true;
  LogInfo("worker '", it->second.worker_id, "' is draining");
}

namespace {

// Random bytes naming a lease (TaskAttempt.lease_id): 128 bits.
constexpr size_t kLeaseIdBytes = 16;

// What a worker may report, so that a broken or hostile worker cannot fill
// the store or the operator's screen: names are identifiers, descriptions and
// reasons are sentences (provider bodies are quoted at most ~200 characters).
constexpr size_t kMaxEventNameBytes = 64;
constexpr size_t kMaxEventDescriptionBytes = 8192;
constexpr size_t kMaxReportedKeyBytes = 4096;

absl::Status CheckWorkerEvents(
    const google::protobuf::RepeatedPtrField<v1::Event>& events) {
  for (const v1::Event& event : events) {
    if (event.name().empty() || event.name().size() > kMaxEventNameBytes ||
        !std::all_of(event.name().begin(), event.name().end(), [](char c) {
          return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
        })) {
      return absl::InvalidArgumentError(
          absl::StrCat("events.name must be 1 to ", kMaxEventNameBytes,
                       " characters of a-z, 0-9 and '_' (got ",
                       event.name().size(), " bytes)"));
    }
    if (event.description().size() > kMaxEventDescriptionBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("events.description of '", event.name(), "' is ",
                       event.description().size(), " bytes, over the limit of ",
                       kMaxEventDescriptionBytes));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckIncompleteness(
    const google::protobuf::RepeatedPtrField<v1::Incompleteness>& entries) {
  for (const v1::Incompleteness& entry : entries) {
    if (entry.type().empty() == entry.scope().empty()) {
      return absl::InvalidArgumentError(
          "outcome.incomplete: exactly one of type and scope must be set");
    }
    if (entry.type().size() > kMaxReportedKeyBytes ||
        entry.scope().size() > kMaxReportedKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("outcome.incomplete: type and scope are at most ",
                       kMaxReportedKeyBytes, " bytes"));
    }
    if (entry.reason().empty() ||
        entry.reason().size() > kMaxEventDescriptionBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "outcome.incomplete.reason must be 1 to ", kMaxEventDescriptionBytes,
          " bytes (got ", entry.reason().size(), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Redactor Engine::RedactorFor(const std::string& instance_id) {
  absl::MutexLock lock(&mu_);
  auto found = redactors_.find(instance_id);
  return found == redactors_.end() ? Redactor() : found->second;
}

absl::StatusOr<int64_t> Engine::AcceptBatch(const v1::TaskAttempt& attempt,
                                            const v1::ResultBatch& in) {
  GM_RETURN_IF_ERROR(CheckWorkerEvents(in.events()));
  const v1::ResultBatch* checked = &in;
  v1::ResultBatch redacted;
  if (in.events_size() > 0) {
    GM_ASSIGN_OR_RETURN(TaskRecord task, store_->GetTask(attempt.task_id()));
    const Redactor redactor = RedactorFor(task.instance_id);
    redacted = in;
    for (v1::Event& event : *redacted.mutable_events()) {
      event.set_description(redactor.Redact(event.description()));
    }
    checked = &redacted;
  }
  const v1::ResultBatch& batch = *checked;
  if ((batch.entity_scopes_size() != 0 &&
       batch.entity_scopes_size() != batch.entities_size()) ||
      (batch.relationship_scopes_size() != 0 &&
       batch.relationship_scopes_size() != batch.relationships_size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch: entity_scopes (", batch.entity_scopes_size(),
        ") and relationship_scopes (", batch.relationship_scopes_size(),
        ") must be empty or as many as entities (", batch.entities_size(),
        ") and relationships (", batch.relationships_size(), ")"));
  }
  // Invalid objects never reach the graph; each is reported with its key and
  // the rule.
  bool all_valid = true;
  for (const v1::Entity& entity : batch.entities())
    all_valid &= ValidateEntity(entity).ok();
  for (const v1::Relationship& relationship : batch.relationships()) {
    all_valid &= ValidateRelationship(relationship).ok();
  }
  if (all_valid) {
    GM_RETURN_IF_ERROR(store_->StageBatch(attempt, batch, NowMs()));
    return batch.entities_size() + batch.relationships_size();
  }
  v1::ResultBatch valid;
  *valid.mutable_events() = batch.events();
  auto reject = [&](const absl::Status& status) {
    v1::Event* event = valid.add_events();
    event->set_level(v1::EVENT_LEVEL_WARN);
    event->set_name("object_rejected");
    event->set_description(
        absl::StrCat(status.message(), "; the object was not stored"));
  };
  for (int i = 0; i < batch.entities_size(); ++i) {
    absl::Status status = ValidateEntity(batch.entities(i));
    if (status.ok()) {
      *valid.add_entities() = batch.entities(i);
      if (batch.entity_scopes_size() > 0) {
        valid.add_entity_scopes(batch.entity_scopes(i));
      }
    } else {
      reject(status);
    }
  }
  for (int i = 0; i < batch.relationships_size(); ++i) {
    absl::Status status = ValidateRelationship(batch.relationships(i));
    if (status.ok()) {
      *valid.add_relationships() = batch.relationships(i);
      if (batch.relationship_scopes_size() > 0) {
        valid.add_relationship_scopes(batch.relationship_scopes(i));
      }
    } else {
      reject(status);
    }
  }
  GM_RETURN_IF_ERROR(store_->StageBatch(attempt, valid, NowMs()));
  return valid.entities_size() + valid.relationships_size();
}

absl::Status Engine::CommitAndForget(
    const v1::TaskAttempt& attempt, bool succeeded, const std::string& error,
    const std::vector<v1::Incompleteness>& incomplete) {
  // Under the engine's lock, so no pump sees the task ended in the store but
  // still running on its worker (it would count it when sharing rates).
  absl::MutexLock lock(&mu_);
  GM_RETURN_IF_ERROR(
      store_->CommitAttempt(attempt, succeeded, error, incomplete));
  ForgetTask(attempt.task_id());
  return absl::OkStatus();
}

absl::Status Engine::FinishAttempt(const v1::TaskAttempt& attempt,
                                   const v1::TaskOutcome& outcome) {
  GM_ASSIGN_OR_RETURN(TaskRecord task, store_->GetTask(attempt.task_id()));
  const bool succeeded = outcome.status() == v1::TASK_OUTCOME_STATUS_SUCCEEDED;
  std::string error = outcome.error();
  if (!succeeded && error.empty())
    error = "the task failed without an error message";
  if (outcome.status() == v1::TASK_OUTCOME_STATUS_INVALID_CONFIG) {
    error = absl::StrCat("invalid config: ", error);
  }
  GM_RETURN_IF_ERROR(CheckIncompleteness(outcome.incomplete()));
  if (error.size() > kMaxEventDescriptionBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("outcome.error is ", error.size(),
                     " bytes, over the limit of ", kMaxEventDescriptionBytes));
  }
  const Redactor redactor = RedactorFor(task.instance_id);
  error = redactor.Redact(error);
  std::vector<v1::Incompleteness> incomplete(outcome.incomplete().begin(),
                                             outcome.incomplete().end());
  for (v1::Incompleteness& entry : incomplete) {
    entry.set_reason(redactor.Redact(entry.reason()));
  }
  GM_RETURN_IF_ERROR(CommitAndForget(attempt, succeeded, error, incomplete));
  CoordinatorMetrics::Get().AttemptFinished(succeeded);
  if (!succeeded && task.kind == v1::TASK_KIND_STEP) {
    LogWarn("run ", task.run_id, " step '", task.step_id, "' task ", task.id,
            " failed: ", error);
  }
  Pump();
  return absl::OkStatus();
}

absl::Status Engine::ReadEntities(
    const v1::ReadEntitiesRequest& request,
    const std::function<bool(const v1::EntityBatch&)>& send) {
  GM_ASSIGN_OR_RETURN(TaskRecord task,
                      store_->GetTask(request.attempt().task_id()));
  GM_RETURN_IF_ERROR(CheckLease(task, request.attempt()));
  if (request.type().empty())
    return absl::InvalidArgumentError("type is required");
  const bool shard = !task.shard.parent_type().empty() &&
                     task.shard.parent_type() == request.type();
  if (shard && task.shard.first_key().empty())
    return absl::OkStatus();  // no parents
  v1::EntityBatch batch;
  size_t batch_bytes = 0;
  bool stream_ok = true;
  GM_RETURN_IF_ERROR(store_->ForEachStagedEntity(
      task.run_id, request.type(), shard ? task.shard.first_key() : "",
      shard ? task.shard.last_key() : "", options_.read_batch_size,
      [&](const v1::Entity& entity) -> absl::Status {
        // Bounded by bytes as well as count, as Graph reads are: entities
        // with MBs of raw data must not add up past a worker's message limit.
        const size_t size = entity.ByteSizeLong();
        if (batch.entities_size() > 0 &&
            batch_bytes + size > static_cast<size_t>(kGraphPageBytes)) {
          stream_ok = send(batch);
          batch.Clear();
          batch_bytes = 0;
          if (!stream_ok) return absl::CancelledError("reader went away");
        }
        *batch.add_entities() = entity;
        batch_bytes += size;
        if (batch.entities_size() >= options_.read_batch_size) {
          stream_ok = send(batch);
          batch.Clear();
          batch_bytes = 0;
          if (!stream_ok) return absl::CancelledError("reader went away");
        }
        return absl::OkStatus();
      }));
  if (batch.entities_size() > 0 && !send(batch)) {
    return absl::CancelledError("reader went away");
  }
  return absl::OkStatus();
}

void Engine::Pump() {
  std::vector<int64_t> finalized;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    PumpLocked();
    finalized.swap(finalized_);
  }
  if (options_.on_finalized) {
    for (int64_t run_id : finalized) options_.on_finalized(run_id);
  }
}

void Engine::PumpLocked() {
  CoordinatorMetrics::Get().BeginPump();  // task gauges, published by EndPump
  // 1. Leases that lapsed.
  absl::StatusOr<std::vector<TaskRecord>> expired =
      store_->LeasedTasks(NowMs(), "");
  if (expired.ok() && !expired->empty()) {
    CoordinatorMetrics::Get().LeasesExpired(expired->size());
    for (const TaskRecord& task : *expired) ForgetTask(task.id);
    ReleaseLeases(*expired, "lease lapsed", options_.max_task_attempts);
  }
  const absl::Time now = absl::Now();
  if (now - last_schedule_check_ >= options_.schedule_interval) {
    last_schedule_check_ = now;
    FireSchedules();
  }
  if (now - last_retention_ >= options_.retention_interval &&
      (options_.change_log_max_age > absl::ZeroDuration() ||
       options_.change_log_max_count > 0)) {
    last_retention_ = now;
    absl::StatusOr<int64_t> pruned = store_->PruneChanges(
        absl::ToInt64Milliseconds(options_.change_log_max_age),
        options_.change_log_max_count, NowMs());
    if (!pruned.ok()) {
      LogError("change log retention failed: ", pruned.status().ToString());
    } else if (*pruned > 0) {
      LogInfo("change log retention dropped ", *pruned, " change(s)");
      CoordinatorMetrics::Get().ChangeLog(store_->GetChangeLogBounds());
    }
  }
  // 2. Runs.
  absl::StatusOr<std::vector<int64_t>> active = store_->ActiveRunIds();
  if (!active.ok()) {
    LogError("cannot list active runs: ", active.status().ToString());
    return;
  }
  for (int64_t run_id : *active) {
    absl::Status status = AdvanceRun(run_id);
    if (!status.ok()) {
      LogError("run ", run_id, ": ", status.ToString());
      store_
          ->SetRunStatus(run_id, v1::RUN_STATUS_FAILED,
                         absl::StrCat("internal error: ", status.message()),
                         NowMs())
          .IgnoreError();
      CoordinatorMetrics::Get().RunEnded(*store_, run_id);
      runs_.erase(run_id);
    }
  }
  // 3. Tasks.
  Dispatch();
  ShareRates();
  CoordinatorMetrics::Get().EndPump();
  CoordinatorMetrics::Get().ObserveWorkers(sessions_);
  NotifyChange();
}

void Engine::FireSchedules() {
  absl::StatusOr<std::vector<v1::Instance>> instances = store_->ListInstances();
  if (!instances.ok()) return;
  const absl::Time now = absl::Now();
  for (const v1::Instance& instance : *instances) {
    if (!instance.has_schedule() || !IsScheduled(instance.schedule())) continue;
    absl::StatusOr<int64_t> last = store_->GetLastScheduledSlot(instance.id());
    if (!last.ok()) continue;
    const absl::Time last_slot =
        absl::FromUnixMillis(*last > 0 ? *last : instance.created_at_ms());
    absl::StatusOr<ScheduleDecision> decision =
        Decide(instance.schedule(), instance.id(), last_slot, now);
    if (!decision.ok() || !decision->fire_now) continue;
    absl::StatusOr<v1::Run> run =
        StartRunLocked(instance.id(), v1::RUN_TRIGGER_SCHEDULE,
                       absl::ToUnixMillis(decision->slot_to_record));
    if (!run.ok()) {
      LogWarn("instance '", instance.id(),
              "': scheduled run not started: ", run.status().message());
    }
  }
}

double Engine::ConfiguredRate(const v1::Instance& instance) const {
  return instance.rate_limit_per_second() > 0
             ? instance.rate_limit_per_second()
             : options_.default_rate_per_second;
}

double Engine::ConfiguredRate(const std::string& instance_id) {
  absl::StatusOr<v1::Instance> instance = store_->GetInstance(instance_id);
  return instance.ok() ? ConfiguredRate(*instance)
                       : options_.default_rate_per_second;
}

void Engine::ShareRates() {
  // Running tasks per instance.
  std::map<std::string, std::vector<std::pair<WorkerSession*, int64_t>>> tasks;
  for (auto& [id, session] : sessions_) {
    for (auto& [task_id, running] : session.running) {
      tasks[running.instance_id].emplace_back(&session, task_id);
    }
  }
  const absl::Time now = absl::Now();
  for (auto& [instance_id, list] : tasks) {
    const double configured = ConfiguredRate(instance_id);
    RateState& rate = rates_[instance_id];
    if (rate.current <= 0) rate.current = configured;
    if (rate.current < configured &&
        now - rate.last_change >= options_.rate_recovery_interval) {
      rate.current = std::min(configured, rate.current * kRateRecoveryFactor);
      rate.last_change = now;
    }
    CoordinatorMetrics::Get().RateBudget(instance_id, rate.current, configured);
    const double share = rate.current / static_cast<double>(list.size());
    for (auto& [session, task_id] : list) {
      RunningTask& running = session->running[task_id];
      // Resend only when the share moved by more than 5%, so updates stay rare.
      if (running.rate_share > 0 &&
          std::abs(running.rate_share - share) <= 0.05 * share) {
        continue;
      }
      running.rate_share = share;
      v1::CoordinatorMessage message;
      *message.mutable_rate_update()->mutable_attempt() = running.attempt;
      message.mutable_rate_update()->set_rate_limit_per_second(share);
      session->queue->Send(message);
    }
  }
}

void Engine::ReleaseLeases(const std::vector<TaskRecord>& tasks,
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
    Event(task.run_id, v1::EVENT_LEVEL_WARN,
          retried ? "task_retry" : "task_failure",
          retried ? absl::StrCat(error, "; offering it again") : error,
          task.step_id);
  }
}

absl::StatusOr<const Engine::RunInfo*> Engine::GetRunInfo(int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it != runs_.end()) return it->second.get();
  auto info = std::make_unique<RunInfo>();
  GM_ASSIGN_OR_RETURN(info->definition, store_->GetRunDefinition(run_id));
  GM_ASSIGN_OR_RETURN(info->order, ValidateDefinition(info->definition));
  GM_ASSIGN_OR_RETURN(v1::Run run, store_->GetRun(run_id));
  info->instance_id = run.instance_id();
  const RunInfo* result = info.get();
  runs_[run_id] = std::move(info);
  return result;
}

absl::Status Engine::AdvanceRun(int64_t run_id) {
  GM_ASSIGN_OR_RETURN(const RunInfo* info, GetRunInfo(run_id));
  GM_ASSIGN_OR_RETURN(v1::Run run, store_->GetRun(run_id));
  GM_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks,
                      store_->TasksOfRun(run_id));
  CoordinatorMetrics::Get().CountRunTasks(info->definition.name(), tasks);
  const int64_t now = NowMs();

  if (run.status() == v1::RUN_STATUS_VALIDATING) {
    for (const TaskRecord& task : tasks) {
      if (task.kind != v1::TASK_KIND_VALIDATE_INVOCATION) continue;
      if (task.state == TaskState::kFailed) {
        const std::string error =
            absl::StrCat("invocation validation failed: ", task.error);
        Event(run_id, v1::EVENT_LEVEL_ERROR, "validation_failure", error, "");
        GM_RETURN_IF_ERROR(
            store_->SetRunStatus(run_id, v1::RUN_STATUS_FAILED, error, now));
        LogWarn("run ", run_id, ": ", error);
        CoordinatorMetrics::Get().RunEnded(*store_, run_id);
        runs_.erase(run_id);
        return absl::OkStatus();
      }
      if (task.state != TaskState::kSucceeded) return absl::OkStatus();
      Event(run_id, v1::EVENT_LEVEL_INFO, "validation_success",
            "the provider accepted the credentials", "");
      GM_RETURN_IF_ERROR(
          store_->SetRunStatus(run_id, v1::RUN_STATUS_RUNNING, "", now));
    }
  }

  absl::flat_hash_map<std::string, v1::StepStatus> status;
  for (const v1::StepRun& step : run.steps())
    status[step.step_id()] = step.status();
  absl::flat_hash_map<std::string, std::vector<const TaskRecord*>> step_tasks;
  for (const TaskRecord& task : tasks) {
    if (task.kind == v1::TASK_KIND_STEP)
      step_tasks[task.step_id].push_back(&task);
  }
  absl::flat_hash_map<std::string, const v1::StepDefinition*> steps;
  for (const v1::StepDefinition& step : info->definition.steps())
    steps[step.id()] = &step;

  bool all_settled = true;
  for (const std::string& step_id : info->order) {
    const v1::StepDefinition& step = *steps.at(step_id);
    v1::StepStatus& current = status[step_id];
    bool dependency_disabled = false;
    bool dependency_failed = false;
    bool dependencies_settled = true;
    for (const std::string& dependency : step.depends_on()) {
      const v1::StepStatus dependency_status = status[dependency];
      dependencies_settled &= IsSettled(dependency_status);
      dependency_disabled |= dependency_status == v1::STEP_STATUS_DISABLED;
      dependency_failed |= dependency_status == v1::STEP_STATUS_FAILURE ||
                           dependency_status == v1::STEP_STATUS_PARTIAL;
    }
    if (current == v1::STEP_STATUS_PENDING && dependencies_settled) {
      if (dependency_disabled) {
        current = v1::STEP_STATUS_DISABLED;
        GM_RETURN_IF_ERROR(
            store_->SetStepStatus(run_id, step_id, current, "", now));
        Event(run_id, v1::EVENT_LEVEL_INFO, "step_skip",
              "step disabled because a dependency is disabled", step_id);
      } else {
        int created = 0;
        GM_RETURN_IF_ERROR(PlanStep(run_id, step, &created));
        current = v1::STEP_STATUS_RUNNING;
        GM_RETURN_IF_ERROR(
            store_->SetStepStatus(run_id, step_id, current, "", now));
        Event(run_id, v1::EVENT_LEVEL_INFO, "step_start",
              absl::StrCat("step '", step.name(), "' started with ", created,
                           " task(s)"),
              step_id);
        // Tasks just planned are not in `tasks`; a step with none settles
        // below.
        if (created > 0) {
          all_settled = false;
          continue;
        }
      }
    }
    if (current == v1::STEP_STATUS_RUNNING) {
      const std::vector<const TaskRecord*>& mine = step_tasks[step_id];
      const TaskRecord* failed = nullptr;
      bool done = true;
      for (const TaskRecord* task : mine) {
        done &= task->state == TaskState::kSucceeded ||
                task->state == TaskState::kFailed;
        if (task->state == TaskState::kFailed && failed == nullptr)
          failed = task;
      }
      if (done) {
        current = failed != nullptr   ? v1::STEP_STATUS_FAILURE
                  : dependency_failed ? v1::STEP_STATUS_PARTIAL
                                      : v1::STEP_STATUS_SUCCESS;
        const std::string error = failed != nullptr ? failed->error : "";
        GM_RETURN_IF_ERROR(
            store_->SetStepStatus(run_id, step_id, current, error, now));
        Event(run_id,
              current == v1::STEP_STATUS_FAILURE ? v1::EVENT_LEVEL_ERROR
                                                 : v1::EVENT_LEVEL_INFO,
              current == v1::STEP_STATUS_FAILURE ? "step_failure" : "step_end",
              absl::StrCat("step '", step.name(),
                           "' ended: ", StepStatusName(current),
                           error.empty() ? "" : absl::StrCat(": ", error)),
              step_id);
      }
    }
    all_settled &= IsSettled(current);
  }
  if (all_settled) return FinalizeRun(run_id, *info);
  return absl::OkStatus();
}

absl::Status Engine::PlanStep(int64_t run_id, const v1::StepDefinition& step,
                              int* tasks_created) {
  int created = 0;
  if (step.parent_type().empty()) {
    GM_RETURN_IF_ERROR(
        store_->CreateTask(run_id, step.id(), v1::TASK_KIND_STEP, v1::Shard())
            .status());
    created = 1;
  } else {
    // Shards are contiguous key ranges over the run's parent entities, in key
    // order.
    std::vector<v1::Shard> shards;
    int in_shard = 0;
    GM_RETURN_IF_ERROR(store_->ForEachStagedKey(
        run_id, step.parent_type(), [&](const std::string& key) {
          if (in_shard == 0) {
            v1::Shard& shard = shards.emplace_back();
            shard.set_parent_type(step.parent_type());
            shard.set_first_key(key);
          }
          shards.back().set_last_key(key);
          if (++in_shard == options_.shard_size) in_shard = 0;
        }));
    if (shards.empty()) {
      // Still one task: a step may have work beyond its parents (e.g.
      // configured extra project slugs). Its shard has no keys, so it reads no
      // parents.
      shards.emplace_back().set_parent_type(step.parent_type());
    }
    for (const v1::Shard& shard : shards) {
      GM_RETURN_IF_ERROR(
          store_->CreateTask(run_id, step.id(), v1::TASK_KIND_STEP, shard)
              .status());
    }
    created = static_cast<int>(shards.size());
  }
  GM_RETURN_IF_ERROR(store_->SetStepTaskTotal(run_id, step.id(), created));
  *tasks_created = created;
  return absl::OkStatus();
}

absl::Status Engine::FinalizeRun(int64_t run_id, const RunInfo& info) {
  auto timer = CoordinatorMetrics::Get().TimeFinalize(info.definition.name());
  GM_ASSIGN_OR_RETURN(std::vector<StepRecord> steps, store_->GetSteps(run_id));
  const RunCompleteness completeness =
      ComputeCompleteness(info.definition, steps);
  const std::vector<v1::IncompleteType> incomplete =
      completeness.IncompleteTypes();
  bool degraded = completeness.degraded();
  for (const StepRecord& step : steps) {
    degraded |= step.status == v1::STEP_STATUS_FAILURE ||
                step.status == v1::STEP_STATUS_PARTIAL;
  }
  for (const v1::IncompleteType& type : incomplete) {
    Event(run_id, type.error() ? v1::EVENT_LEVEL_WARN : v1::EVENT_LEVEL_INFO,
          "type_incomplete",
          absl::StrCat(type.type(), ": ", type.reason(),
                       type.all_kept()
                           ? " (nothing of it deleted)"
                           : " (deleted only where listed completely)"),
          "");
  }
  const std::string error_types = completeness.ErrorTypesList();
  FinalizeRequest request;
  request.run_id = run_id;
  request.instance_id = info.instance_id;
  request.rules = completeness.DeletionRules();
  request.incomplete_types = incomplete;
  request.status = degraded ? v1::RUN_STATUS_PARTIAL : v1::RUN_STATUS_SUCCEEDED;
  request.error = !degraded ? ""
                  : error_types.empty()
                      ? "some steps failed or were partial"
                      : absl::StrCat("not looked at completely: ", error_types,
                                     " (see run show)");
  // The upload is pending when the run is seen as ended, so watchers wait for
  // it.
  absl::StatusOr<v1::Instance> instance = store_->GetInstance(info.instance_id);
  request.upload_pending = instance.ok() && instance->has_upload();
  request.now_ms = NowMs();
  GM_ASSIGN_OR_RETURN(FinalizeCounts counts, store_->Finalize(request));
  CoordinatorMetrics::Get().GraphChanged(info.definition.name(), counts.created,
                                         counts.updated, counts.deleted);
  CoordinatorMetrics::Get().ChangeLog(store_->GetChangeLogBounds());
  const std::string summary =
      absl::StrCat("graph finalized: ", counts.created, " created, ",
                   counts.updated, " updated, ", counts.deleted, " deleted");
  // After the run ended (its counts are on the run record as well).
  Event(run_id, v1::EVENT_LEVEL_INFO, "run_finalized", summary, "");
  LogInfo("run ", run_id, " ended ", degraded ? "partial" : "succeeded", "; ",
          summary);
  CoordinatorMetrics::Get().RunEnded(*store_, run_id);
  runs_.erase(run_id);
  finalized_.push_back(run_id);
  return absl::OkStatus();
}

void Engine::FailUndispatchable(const TaskRecord& task,
                                const std::string& error) {
  LogError("task ", task.id, ": ", error);
  absl::StatusOr<std::string> lease_id = RandomHex(kLeaseIdBytes);
  if (!lease_id.ok()) return;
  absl::StatusOr<int32_t> attempt =
      store_->LeaseTask(task.id, "coordinator", *lease_id, NowMs());
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

void Engine::Dispatch() {
  int free_slots = 0;
  for (const auto& [id, session] : sessions_) {
    if (!session.draining) {
      free_slots += std::max(
          0, session.capacity - static_cast<int>(session.running.size()));
    }
  }
  if (free_slots == 0) return;
  absl::StatusOr<std::vector<TaskRecord>> pending =
      store_->PendingTasks(free_slots * 8 + 64);
  if (!pending.ok() || pending->empty()) return;
  // Round-robin across runs (one active run per instance), so one large
  // instance does not starve the others.
  std::map<int64_t, std::vector<const TaskRecord*>> by_run;
  for (const TaskRecord& task : *pending) by_run[task.run_id].push_back(&task);
  std::vector<const TaskRecord*> order;
  for (size_t round = 0; order.size() < pending->size(); ++round) {
    for (auto& [run_id, queue] : by_run) {
      if (round < queue.size()) order.push_back(queue[round]);
    }
  }
  const int64_t lease_ms = absl::ToInt64Milliseconds(options_.lease);
  for (const TaskRecord* task : order) {
    // The instance and the definition the task was planned with (a stand-alone
    // validation task uses the integration's current definition).
    v1::IntegrationDefinition definition;
    if (task->run_id != 0) {
      absl::StatusOr<const RunInfo*> info = GetRunInfo(task->run_id);
      if (!info.ok()) continue;
      definition = (*info)->definition;
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
    // The session with the most free slots that implements this integration
    // version.
    WorkerSession* chosen = nullptr;
    int chosen_free = 0;
    for (auto& [id, session] : sessions_) {
      const int free =
          session.capacity - static_cast<int>(session.running.size());
      if (session.draining || free <= chosen_free ||
          !session.integrations.contains(
              {definition.name(), definition.version()})) {
        continue;
      }
      chosen = &session;
      chosen_free = free;
    }
    if (chosen == nullptr) continue;
    absl::Status opened = secrets_->Open(definition, &*instance);
    if (!opened.ok()) {
      // No worker can run it (e.g. the coordinator restarted with another
      // key): the task fails with the reason, so its run ends instead of
      // waiting forever.
      FailUndispatchable(*task, std::string(opened.message()));
      continue;
    }
    redactors_[task->instance_id] =
        Redactor(SecretValues(definition, *instance));
    absl::StatusOr<std::string> lease_id = RandomHex(kLeaseIdBytes);
    if (!lease_id.ok()) {
      LogError("task ", task->id, ": ", lease_id.status().message());
      continue;
    }
    absl::StatusOr<int32_t> attempt = store_->LeaseTask(
        task->id, chosen->worker_id, *lease_id, NowMs() + lease_ms);
    if (!attempt.ok()) continue;
    // A new task gets an equal share of its instance's current rate; ShareRates
    // rebalances.
    const double configured = ConfiguredRate(*instance);
    RateState& rate = rates_[task->instance_id];
    if (rate.current <= 0) rate.current = configured;
    int instance_tasks = 1;
    for (const auto& [id, session] : sessions_) {
      for (const auto& [task_id, running] : session.running) {
        instance_tasks += running.instance_id == task->instance_id;
      }
    }
    const double share = rate.current / instance_tasks;
    v1::CoordinatorMessage message;
    v1::TaskAssignment& assignment = *message.mutable_assignment();
    assignment.mutable_attempt()->set_task_id(task->id);
    assignment.mutable_attempt()->set_attempt(*attempt);
    assignment.mutable_attempt()->set_lease_id(*lease_id);
    assignment.set_kind(task->kind);
    assignment.set_run_id(task->run_id);
    assignment.set_instance_id(task->instance_id);
    assignment.set_integration(definition.name());
    assignment.set_integration_version(definition.version());
    assignment.set_step_id(task->step_id);
    ConfigMap config(instance->config().begin(), instance->config().end());
    for (const auto& [name, value] :
         WithDefaults(definition, std::move(config))) {
      (*assignment.mutable_config())[name] = value;
    }
    if (!task->shard.parent_type().empty())
      *assignment.mutable_shard() = task->shard;
    assignment.set_lease_ms(lease_ms);
    assignment.set_rate_limit_per_second(share);
    chosen->running[task->id] =
        RunningTask{assignment.attempt(), task->instance_id, share};
    if (!chosen->queue->Send(std::move(message))) {
      chosen->running.erase(task->id);
      TaskRecord leased = *task;
      leased.attempt = *attempt;
      leased.worker_id = chosen->worker_id;
      ReleaseLeases({leased}, "its worker's stream broke",
                    std::numeric_limits<int>::max());
    }
  }
}

}  // namespace graphmill::coordinator
