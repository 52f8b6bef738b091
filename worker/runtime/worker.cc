// Implementation of worker/runtime/worker.h.
#include "worker/runtime/worker.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <algorithm>
#include <exception>
#include <thread>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "worker/runtime/metrics.h"

namespace graphmill::worker {

namespace v1 = ::graphmill::v1;

// One leased attempt, queued or running.
struct Worker::Task {
  Task(v1::WorkerGateway::StubInterface* stub,
       const v1::TaskAssignment& assignment, ResultBatchLimits limits,
       TaskContext::RateLimitedCallback on_rate_limited, Clock* clock,
       TaskContext::RemainingCallback on_remaining)
      : assignment(assignment),
        context(stub, assignment, limits, std::move(on_rate_limited), clock,
                std::move(on_remaining)),
        label(AttemptLabel(assignment.attempt())),
        fields({{"run", assignment.run_id()},
                {"task", assignment.attempt().task_id()},
                {"attempt", assignment.attempt().attempt()},
                {"instance", assignment.instance_id()},
                {"step", assignment.step_id()}}) {}

  // Holds the instance's config, secrets included: never log it.
  const v1::TaskAssignment assignment;
  TaskContext context;
  const std::string label;
  // Structured fields of the task's log lines (--log_format json).
  const LogFields fields;
};

// State one Connect stream's reader shares with the session loop (guarded by
// Worker::mu_).
struct Worker::Session {
  bool reader_done = false;
  bool received_any = false;
};

namespace {

std::pair<int64_t, int32_t> KeyOf(const v1::TaskAttempt& attempt) {
  return {attempt.task_id(), attempt.attempt()};
}

absl::Status SetupStatus(const WorkerOptions& options,
                         const absl::StatusOr<IntegrationSet>& integrations) {
  if (options.capacity < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("capacity must be at least 1, got ", options.capacity));
  }
  if (options.worker_id.empty()) {
    return absl::InvalidArgumentError("worker_id must not be empty");
  }
  return integrations.status();
}

// "SUCCEEDED" rather than "TASK_OUTCOME_STATUS_SUCCEEDED", for logs.
std::string OutcomeName(v1::TaskOutcomeStatus status) {
  std::string name = v1::TaskOutcomeStatus_Name(status);
  constexpr absl::string_view kPrefix = "TASK_OUTCOME_STATUS_";
  if (absl::StartsWith(name, kPrefix)) name.erase(0, kPrefix.size());
  return name;
}

constexpr absl::Duration kWarnEvery = absl::Seconds(30);

std::string RoundedDuration(absl::Duration duration) {
  return absl::FormatDuration(absl::Trunc(duration, absl::Milliseconds(1)));
}

}  // namespace

Worker::Worker(WorkerOptions options,
               std::shared_ptr<grpc::ChannelInterface> channel,
               std::vector<Integration*> integrations)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : Clock::Real()),
      channel_(channel),
      stub_(v1::WorkerGateway::NewStub(channel)),
      pool_(std::make_unique<ThreadPool>(std::max(1, options_.capacity))) {
  absl::StatusOr<IntegrationSet> set = IntegrationSet::Create(integrations);
  setup_status_ = SetupStatus(options_, set);
  if (set.ok()) integrations_ = *std::move(set);
}

Worker::~Worker() {
  // Handlers use the stub and the task map: let them return first.
  pool_.reset();
}

absl::Status Worker::Run() {
  if (!setup_status_.ok()) return setup_status_;
  WorkerMetrics::Get().SetCapacity(options_.capacity);
  LogInfo("worker ", options_.worker_id, ": capacity ", options_.capacity,
          ", integrations ", integrations_.Describe(), ", coordinator ",
          options_.coordinator);

  absl::BitGen random;
  absl::Duration backoff = options_.initial_reconnect_backoff;
  // A failure repeated within 30 s is logged at DEBUG, so a coordinator that
  // is down for long adds a WARN line per 30 s, not one per retry.
  std::string last_warned;
  absl::Time last_warned_at = absl::InfinitePast();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (draining_) break;
    }
    absl::Status why;
    bool healthy = false;
    if (RunSession(&why, &healthy)) break;
    {
      absl::MutexLock lock(&mu_);
      if (draining_)
        break;  // the failure was (or does not matter after) Shutdown()
    }
    if (healthy) backoff = options_.initial_reconnect_backoff;
    // Jitter keeps a fleet of workers from reconnecting in lockstep after a
    // restart.
    const absl::Duration delay = backoff * absl::Uniform(random, 0.5, 1.0);
    const std::string reason(why.message());
    if (reason != last_warned || clock_->Now() - last_warned_at >= kWarnEvery) {
      LogWarn(
          "coordinator ", options_.coordinator, ": ", reason,
          "; reconnecting in ", RoundedDuration(delay),
          reason == last_warned ? " (repeats are logged at debug level)" : "");
      last_warned = reason;
      last_warned_at = clock_->Now();
    } else {
      LogDebug("coordinator ", options_.coordinator, ": ", reason,
               "; reconnecting in ", RoundedDuration(delay));
    }
    backoff = std::min(backoff * 2, options_.max_reconnect_backoff);
    if (WaitBeforeReconnect(delay)) break;
  }

  // Draining. Handlers may still run: tasks of this session, or ones abandoned
  // earlier.
  absl::MutexLock lock(&mu_);
  clock_->AwaitWithDeadline(
      &mu_, absl::Condition(this, &Worker::NothingInFlight), drain_deadline_);
  if (in_flight_ == 0 && !grace_expired_) {
    LogInfo("worker ", options_.worker_id, ": drained");
    return absl::OkStatus();
  }
  if (in_flight_ > 0) {
    grace_expired_ = true;
    AbandonTasksLocked("the drain grace ran out");
    clock_->AwaitWithDeadline(&mu_,
                              absl::Condition(this, &Worker::NothingInFlight),
                              clock_->Now() + options_.abandon_wait);
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "the drain grace of ", absl::FormatDuration(options_.drain_grace),
      " ran out and tasks were abandoned; ", in_flight_,
      " handlers had not returned"));
}

bool Worker::WaitBeforeReconnect(absl::Duration delay) {
  const absl::Time until = clock_->Now() + delay;
  auto* channel = dynamic_cast<grpc::Channel*>(channel_.get());
  while (true) {
    const absl::Time now = clock_->Now();
    {
      absl::MutexLock lock(&mu_);
      if (draining_) return true;
    }
    if (now >= until) return false;
    // Short slices, so Shutdown() is noticed within one.
    const absl::Time slice_end = std::min(until, now + absl::Milliseconds(100));
    // Waiting on the channel polls it. gRPC makes progress on a dial only
    // while something polls its channel, and with no call active (a failed
    // call ends at once) that is just its backup poller, every 5 s: without
    // this a coordinator that came back is found up to 5 s late. gRPC waits in
    // real time, so it gets the slice's length rather than its end on clock_.
    if (channel != nullptr && !channel->WaitForConnected(absl::ToChronoTime(
                                  absl::Now() + (slice_end - now)))) {
      continue;  // slice over, not connected
    }
    // Connected: after a failed dial, try at once; after a stream that ended
    // (the coordinator refused the worker, say), keep the backoff.
    if (channel != nullptr && dial_failed_) return false;
    absl::MutexLock lock(&mu_);
    if (clock_->AwaitWithDeadline(&mu_, absl::Condition(&draining_),
                                  slice_end)) {
      return true;
    }
  }
}

void Worker::WaitForChangeLocked(absl::Time deadline) {
  const uint64_t seen = changes_;
  const auto changed = [this, seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return changes_ != seen;
  };
  clock_->AwaitWithDeadline(&mu_, absl::Condition(&changed), deadline);
}

bool Worker::connected() const {
  absl::MutexLock lock(&mu_);
  return connected_;
}

bool Worker::draining() const {
  absl::MutexLock lock(&mu_);
  return draining_;
}

void Worker::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (draining_) return;
  draining_ = true;
  drain_deadline_ = clock_->Now() + options_.drain_grace;
  // Not connected yet: nothing to tell the coordinator, so stop waiting for it.
  if (connecting_ != nullptr) connecting_->TryCancel();
  LogInfo("worker ", options_.worker_id, ": draining; ", tasks_.size(),
          " tasks get up to ", absl::FormatDuration(options_.drain_grace),
          " to finish");
  ChangedLocked();
}

bool Worker::RunSession(absl::Status* why, bool* healthy) {
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (draining_) {
      *why = absl::CancelledError("draining");
      return true;
    }
    connecting_ = &context;
  }
  // gRPC's channel backs off on its own after failed dials (up to its
  // GRPC_ARG_MAX_RECONNECT_BACKOFF_MS) and fails calls at once meanwhile; dial
  // now instead, so the worker's backoff alone decides when it tries.
  if (auto* channel = dynamic_cast<grpc::Channel*>(channel_.get())) {
    grpc::experimental::ChannelResetConnectionBackoff(channel);
  }
  std::unique_ptr<grpc::ClientReaderWriterInterface<v1::WorkerMessage,
                                                    v1::CoordinatorMessage>>
      stream = stub_->Connect(&context);
  const bool hello_sent = stream->Write(HelloMessage());
  {
    absl::MutexLock lock(&mu_);
    connecting_ = nullptr;
  }
  const absl::Time started = clock_->Now();
  dial_failed_ = !hello_sent;
  if (!hello_sent) {
    const grpc::Status finished = stream->Finish();
    *why = absl::UnavailableError(
        absl::StrCat("cannot connect: ", FromGrpcStatus(finished).ToString()));
    *healthy = false;
    return false;
  }
  {
    absl::MutexLock lock(&mu_);
    connected_ = true;
  }
  LogInfo("worker ", options_.worker_id, ": connected to coordinator ",
          options_.coordinator,
          lost_at_ == absl::InfinitePast()
              ? ""
              : absl::StrCat(" (", RoundedDuration(started - lost_at_),
                             " after the last connection ended)"));
  WorkerMetrics::Get().SetConnected(true);

  Session session;
  {
    absl::MutexLock lock(&mu_);
    outbox_.clear();  // reports about tasks of an earlier stream
  }
  std::thread reader(
      [this, &stream, &session] { ReadLoop(stream.get(), &session); });

  enum class Action {
    kStreamEnded,
    kSendDraining,
    kSendQueued,
    kHeartbeat,
    kDrained
  };
  bool draining_sent = false;
  absl::Time last_heartbeat = started;
  Action action;
  while (true) {
    v1::WorkerMessage message;
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        const absl::Time now = clock_->Now();
        if (session.reader_done) {
          action = Action::kStreamEnded;
        } else if (draining_ && !draining_sent) {
          action = Action::kSendDraining;
        } else if (!outbox_.empty()) {
          action = Action::kSendQueued;
          message = std::move(outbox_.front());
          outbox_.pop_front();
        } else if (draining_sent && tasks_.empty()) {
          action = Action::kDrained;
        } else if (draining_ && now >= drain_deadline_) {
          grace_expired_ = true;
          AbandonTasksLocked("the drain grace ran out");
          action = Action::kDrained;
        } else {
          const absl::Time next_heartbeat =
              last_heartbeat + HeartbeatIntervalLocked();
          if (now < next_heartbeat) {
            WaitForChangeLocked(std::min(next_heartbeat, drain_deadline_));
            continue;
          }
          action = Action::kHeartbeat;
          v1::Heartbeat* heartbeat = message.mutable_heartbeat();
          for (const auto& [key, task] : tasks_) {
            if (!task->context.cancelled()) {
              *heartbeat->add_running() = task->context.attempt();
            }
          }
        }
        break;
      }
    }
    if (action == Action::kStreamEnded || action == Action::kDrained) break;
    if (action == Action::kSendDraining) message.mutable_draining();
    if (!stream->Write(message)) break;  // the reader sees the end too
    if (action == Action::kSendDraining) draining_sent = true;
    if (action == Action::kHeartbeat) last_heartbeat = clock_->Now();
  }

  const bool drained = action == Action::kDrained;
  if (drained) stream->WritesDone();
  {
    // Let the stream end on its own (the coordinator closes it after
    // WritesDone, and a failed write means it is ending) so Finish() reports
    // the coordinator's status.
    absl::MutexLock lock(&mu_);
    clock_->AwaitWithDeadline(&mu_, absl::Condition(&session.reader_done),
                              clock_->Now() + options_.close_timeout);
  }
  context.TryCancel();
  reader.join();
  const grpc::Status finished = stream->Finish();
  WorkerMetrics::Get().SetConnected(false);

  lost_at_ = clock_->Now();
  absl::MutexLock lock(&mu_);
  connected_ = false;
  AbandonTasksLocked("the connection to the coordinator was lost");
  *healthy = session.received_any ||
             clock_->Now() - started >= options_.max_reconnect_backoff;
  *why = absl::UnavailableError(
      finished.ok() ? "the coordinator ended the Connect stream"
                    : absl::StrCat("Connect stream lost: ",
                                   FromGrpcStatus(finished).ToString()));
  return drained;
}

void Worker::ReadLoop(grpc::ClientReaderWriterInterface<
                          v1::WorkerMessage, v1::CoordinatorMessage>* stream,
                      Session* session) {
  v1::CoordinatorMessage message;
  while (stream->Read(&message)) {
    {
      absl::MutexLock lock(&mu_);
      session->received_any = true;
    }
    try {
      switch (message.message_case()) {
        case v1::CoordinatorMessage::kAssignment:
          Accept(message.assignment());
          break;
        case v1::CoordinatorMessage::kCancel:
          CancelAttempt(message.cancel().attempt());
          break;
        case v1::CoordinatorMessage::kRateUpdate:
          UpdateRate(message.rate_update());
          break;
        default:
          LogWarn("ignoring a coordinator message with no known content");
      }
    } catch (const std::exception& e) {
      LogError("handling a coordinator message: ", e.what());
    } catch (...) {
      LogError("handling a coordinator message: unknown exception");
    }
  }
  absl::MutexLock lock(&mu_);
  session->reader_done = true;
  connected_ = false;
  ChangedLocked();
}

void Worker::Accept(const v1::TaskAssignment& assignment) {
  const std::string label = AttemptLabel(assignment.attempt());
  if (!assignment.has_attempt() || assignment.attempt().task_id() <= 0) {
    LogWarn("ignoring a task assignment without a valid attempt");
    return;
  }
  auto task = std::make_shared<Task>(
      stub_.get(), assignment, options_.result_limits,
      [this](const v1::TaskAttempt& attempt) { ReportRateLimited(attempt); },
      clock_,
      [this](const v1::TaskAttempt& attempt, int64_t remaining) {
        ReportRemaining(attempt, remaining);
      });
  {
    absl::MutexLock lock(&mu_);
    if (draining_) {
      // Never started, so the lease lapses and the coordinator offers it
      // elsewhere.
      LogInfo("not starting ", label, " (", DescribeAssignment(assignment),
              "): the worker is draining");
      return;
    }
    if (!tasks_.emplace(KeyOf(assignment.attempt()), task).second) {
      LogWarn("ignoring a second assignment of ", label);
      return;
    }
    ++in_flight_;
    ChangedLocked();
  }
  pool_->Schedule([this, task] { RunTask(task); });
}

void Worker::CancelAttempt(const v1::TaskAttempt& attempt) {
  const std::string label = AttemptLabel(attempt);
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(KeyOf(attempt));
  if (it == tasks_.end()) {
    LogInfo("CancelTask for ", label, ", which this worker does not run");
    return;
  }
  LogInfo("cancelling ", label, " at the coordinator's request");
  // Stays in tasks_ (out of heartbeats) until its handler returns, so a drain
  // waits for it.
  it->second->context.Cancel();
  ChangedLocked();
}

void Worker::UpdateRate(const v1::RateUpdate& update) {
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(KeyOf(update.attempt()));
  // An update racing the task's end is moot.
  if (it != tasks_.end()) {
    it->second->context.SetBudget(update.rate_limit_per_second(),
                                  update.max_requests_in_flight());
  }
}

void Worker::ReportRateLimited(const v1::TaskAttempt& attempt) {
  absl::MutexLock lock(&mu_);
  if (tasks_.count(KeyOf(attempt)) == 0) return;  // abandoned or ended
  // A burst of 429s from one task needs one report until it is sent.
  for (const v1::WorkerMessage& queued : outbox_) {
    if (queued.has_rate_limited() &&
        KeyOf(queued.rate_limited().attempt()) == KeyOf(attempt)) {
      return;
    }
  }
  v1::WorkerMessage message;
  *message.mutable_rate_limited()->mutable_attempt() = attempt;
  outbox_.push_back(std::move(message));
  ChangedLocked();
}

void Worker::ReportRemaining(const v1::TaskAttempt& attempt,
                             int64_t remaining) {
  absl::MutexLock lock(&mu_);
  if (tasks_.count(KeyOf(attempt)) == 0) return;  // abandoned or ended
  // Only the latest count matters: replace a report still queued.
  for (v1::WorkerMessage& queued : outbox_) {
    if (queued.has_provider_report() &&
        KeyOf(queued.provider_report().attempt()) == KeyOf(attempt)) {
      queued.mutable_provider_report()->set_remaining(remaining);
      return;
    }
  }
  v1::WorkerMessage message;
  *message.mutable_provider_report()->mutable_attempt() = attempt;
  message.mutable_provider_report()->set_remaining(remaining);
  outbox_.push_back(std::move(message));
  ChangedLocked();
}

void Worker::RunTask(const std::shared_ptr<Task>& task) {
  try {
    if (!task->context.cancelled()) {
      const v1::TaskAssignment& assignment = task->assignment;
      // A busy slot; HTTP clients of the task count for its integration.
      WorkerMetrics::Task task_metrics(assignment);
      LogInfo(task->fields, "starting ", task->label, ": ",
              DescribeAssignment(assignment), " for instance '",
              assignment.instance_id(), "' (run ", assignment.run_id(), "), ",
              assignment.rate_limit_per_second() > 0
                  ? absl::StrCat(assignment.rate_limit_per_second(),
                                 " provider requests/s")
                  : "no requests/s limit",
              ", ", assignment.max_requests_in_flight(),
              " request(s) in flight");
      const absl::Time started = clock_->Now();
      const v1::TaskOutcome outcome =
          ExecuteAssignment(assignment, integrations_, task->context);
      task_metrics.Finish(outcome, task->context.cancelled());
      ResultWriter& results = task->context.results();
      if (task->context.cancelled()) {
        LogInfo(task->fields, task->label, " stopped: cancelled");
      } else {
        const absl::Status delivered = results.Finish(outcome);
        if (delivered.ok()) {
          LogInfo(task->fields, task->label, " ", OutcomeName(outcome.status()),
                  " after ", RoundedDuration(clock_->Now() - started), " (",
                  results.entity_count(), " entities, ",
                  results.relationship_count(), " relationships, ",
                  results.event_count(), " events in ", results.batch_count(),
                  " batches)", outcome.error().empty() ? "" : ": ",
                  outcome.error());
        } else if (delivered.code() == absl::StatusCode::kFailedPrecondition) {
          LogWarn(task->fields, "the coordinator no longer holds ", task->label,
                  "; its results were dropped: ", delivered.message());
        } else if (task->context.cancelled()) {
          LogInfo(task->fields, task->label,
                  " stopped: cancelled while sending its outcome");
        } else {
          LogWarn(task->fields, "could not deliver the results of ",
                  task->label, ": ", delivered.ToString(),
                  "; the coordinator will offer the task again");
        }
      }
    }
  } catch (const std::exception& e) {
    LogError(task->fields, task->label, ": ", e.what());
  } catch (...) {
    LogError(task->fields, task->label, ": unknown exception");
  }
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(KeyOf(task->context.attempt()));
  if (it != tasks_.end() && it->second == task) tasks_.erase(it);
  --in_flight_;
  ChangedLocked();
}

void Worker::AbandonTasksLocked(const std::string& why) {
  if (tasks_.empty()) return;
  std::vector<std::string> labels;
  for (const auto& [key, task] : tasks_) {
    labels.push_back(task->label);
    task->context.Cancel();
  }
  LogWarn("abandoning ", absl::StrJoin(labels, ", "), ": ", why,
          " (the coordinator offers them again)");
  tasks_.clear();
  ChangedLocked();
}

absl::Duration Worker::HeartbeatIntervalLocked() const {
  // A third of the shortest lease leaves room for two lost heartbeats; never
  // slower than the idle period, so the coordinator also learns quickly that
  // the worker is alive.
  absl::Duration interval = options_.idle_heartbeat_interval;
  for (const auto& [key, task] : tasks_) {
    const int64_t lease_ms = task->assignment.lease_ms();
    if (lease_ms > 0)
      interval = std::min(interval, absl::Milliseconds(lease_ms) / 3);
  }
  return std::max(interval, options_.min_heartbeat_interval);
}

v1::WorkerMessage Worker::HelloMessage() const {
  v1::WorkerMessage message;
  v1::WorkerHello* hello = message.mutable_hello();
  hello->set_worker_id(options_.worker_id);
  hello->set_capacity(options_.capacity);
  for (const v1::IntegrationDefinition* definition :
       integrations_.definitions()) {
    *hello->add_integrations() = *definition;
  }
  return message;
}

}  // namespace graphmill::worker
