// Implementation of coordinator/metrics.h.
#include "coordinator/metrics.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "worker/runtime/metrics.h"

namespace graphmill::coordinator {
namespace {

// "succeeded" for RUN_STATUS_SUCCEEDED: a proto enum name without its prefix.
std::string EnumLabel(const std::string& name, absl::string_view prefix) {
  std::string label = absl::AsciiStrToLower(name);
  if (absl::StartsWith(label, prefix)) label.erase(0, prefix.size());
  return label;
}

}  // namespace

CoordinatorMetrics& CoordinatorMetrics::Get() {
  static auto* const instance = new CoordinatorMetrics();
  return *instance;
}

CoordinatorMetrics::CoordinatorMetrics()
    : runs_started_(metrics::AddCounter(
          "graphmill_runs_started_total",
          "Runs started, by integration and trigger (manual, schedule)")),
      runs_ended_(metrics::AddCounter(
          "graphmill_runs_total",
          "Runs that ended, by integration and final status (succeeded, "
          "partial, failed, cancelled)")),
      runs_active_(metrics::AddGauge(
          "graphmill_runs_active",
          "Runs validating or running, by integration (refreshed on each "
          "engine pump)")),
      run_duration_(metrics::AddHistogram(
          "graphmill_run_duration_seconds",
          "Time from a run's creation to its end, by integration and final "
          "status",
          {1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400,
           43200, 86400})),
      finalize_duration_(metrics::AddHistogram(
          "graphmill_finalize_duration_seconds",
          "Time to finalize a run (diff, change log, graph update), by "
          "integration",
          {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600})),
      graph_changes_(metrics::AddCounter(
          "graphmill_graph_changes_total",
          "Graph changes applied at finalize, by integration and kind "
          "(created, updated, deleted)")),
      change_log_sequence_(
          metrics::AddGauge("graphmill_change_log_sequence",
                            "Highest sequence number appended to the change "
                            "log")
              .Add({})),
      change_log_pruned_(
          metrics::AddGauge("graphmill_change_log_pruned_sequence",
                            "Changes up to this sequence number were dropped "
                            "by retention")
              .Add({})),
      tasks_(metrics::AddGauge(
          "graphmill_tasks",
          "Tasks of active runs by integration and state (pending, leased); "
          "refreshed on each engine pump")),
      attempts_(metrics::AddCounter(
          "graphmill_task_attempts_total",
          "Task attempts that ended, by outcome: succeeded or failed (reported "
          "by the worker), lost (lease lapsed, worker disconnected, "
          "coordinator restarted)")),
      retries_(metrics::AddCounter("graphmill_task_retries_total",
                                   "Lost attempts whose task was offered "
                                   "again")
                   .Add({})),
      lease_expiries_(
          metrics::AddCounter("graphmill_lease_expiries_total",
                              "Leases that lapsed without a heartbeat")
              .Add({})),
      workers_(metrics::AddGauge("graphmill_connected_workers",
                                 "Workers connected to this coordinator")
                   .Add({})),
      worker_slots_(metrics::AddGauge(
          "graphmill_connected_worker_slots",
          "Task slots of connected workers by state: busy (a task leased), "
          "free (draining workers have none)")),
      rate_budget_(metrics::AddGauge(
          "graphmill_credential_rate_budget_requests_per_second",
          "A provider credential's current requests/s budget, shared by the "
          "running tasks of every instance using it (0: unlimited; lowered "
          "by 429s and by a nearly empty provider bucket)")),
      in_flight_budget_(metrics::AddGauge(
          "graphmill_credential_requests_in_flight_budget",
          "A provider credential's current bound on requests in flight "
          "(halved by a 429, recovers over time)")),
      rate_limit_reports_(
          metrics::AddCounter("graphmill_rate_limited_reports_total",
                              "429s reported by workers; each lowers the "
                              "instance's rate budget")
              .Add({})),
      uploads_queued_(metrics::AddGauge("graphmill_uploads_queued",
                                        "Finalized runs waiting for their "
                                        "JupiterOne upload")
                          .Add({})),
      leader_(metrics::AddGauge("graphmill_leader",
                                "1 if this coordinator replica takes run-level "
                                "decisions (advances, finalizes and uploads "
                                "runs, fires schedules), else 0")
                  .Add({})),
      uploads_(metrics::AddCounter(
          "graphmill_uploads_total",
          "JupiterOne uploads that ended, by outcome (succeeded, failed)")),
      upload_duration_(metrics::AddHistogram(
          "graphmill_upload_duration_seconds",
          "Time to upload a run to JupiterOne, by outcome",
          {0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600})),
      webhooks_(metrics::AddCounter(
          "graphmill_webhooks_total",
          "Webhook deliveries, by integration and outcome (applied, "
          "duplicate, ignored, unauthorized, invalid, rate_limited, "
          "provider_error, store_error)")),
      webhook_duration_(metrics::AddHistogram(
          "graphmill_webhook_duration_seconds",
          "Time from a webhook's receipt to its reply (provider reads and "
          "the graph patch included), by integration",
          {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})),
      upload_objects_(metrics::AddCounter(
          "graphmill_upload_objects_total",
          "Objects sent by successful JupiterOne uploads, by kind (entity, "
          "relationship)")),
      subscribers_(metrics::AddGauge("graphmill_subscribers",
                                     "Open Graph.Subscribe streams")
                       .Add({})),
      subscriber_max_lag_(
          metrics::AddGauge("graphmill_subscriber_max_lag_changes",
                            "Changes the furthest-behind subscriber has not "
                            "read yet (0 without subscribers)")
              .Add({})),
      subscriber_changes_sent_(
          metrics::AddCounter("graphmill_subscriber_changes_sent_total",
                              "Changes sent to subscribers")
              .Add({})) {
  metrics::OnCollect([this] { Collect(); });
}

void CoordinatorMetrics::RunStarted(const std::string& integration,
                                    v1::RunTrigger trigger) {
  runs_started_
      .Add({{"integration", integration},
            {"trigger",
             EnumLabel(v1::RunTrigger_Name(trigger), "run_trigger_")}})
      .Increment();
}

void CoordinatorMetrics::RunEnded(Store& store, int64_t run_id,
                                  int64_t now_ms) {
  absl::StatusOr<v1::Run> run = store.GetRun(run_id);
  absl::StatusOr<v1::IntegrationDefinition> definition =
      store.GetRunDefinition(run_id);
  if (!run.ok()) return;
  const metrics::Labels labels = {
      {"integration", definition.ok() ? definition->name() : "unknown"},
      {"status", EnumLabel(v1::RunStatus_Name(run->status()), "run_status_")}};
  runs_ended_.Add(labels).Increment();
  const int64_t ended = run->ended_at_ms() > 0 ? run->ended_at_ms() : now_ms;
  run_duration_.With(labels).Observe(
      std::max<int64_t>(0, ended - run->created_at_ms()) / 1000.0);
}

metrics::ScopedTimer CoordinatorMetrics::TimeFinalize(
    const std::string& integration) {
  return metrics::ScopedTimer(
      finalize_duration_.With({{"integration", integration}}));
}

void CoordinatorMetrics::GraphChanged(const std::string& integration,
                                      int64_t created, int64_t updated,
                                      int64_t deleted) {
  for (const auto& [kind, count] :
       {std::pair<const char*, int64_t>{"created", created},
        {"updated", updated},
        {"deleted", deleted}}) {
    graph_changes_.Add({{"integration", integration}, {"kind", kind}})
        .Increment(static_cast<double>(count));
  }
}

void CoordinatorMetrics::ChangeLog(
    const absl::StatusOr<ChangeLogBounds>& bounds) {
  if (!bounds.ok()) return;
  last_sequence_.store(bounds->last_sequence);
  change_log_sequence_.Set(static_cast<double>(bounds->last_sequence));
  change_log_pruned_.Set(static_cast<double>(bounds->pruned_through));
}

void CoordinatorMetrics::BeginPump() {
  absl::MutexLock lock(&mu_);
  tally_.clear();
}

void CoordinatorMetrics::CountRunTasks(const std::string& integration,
                                       const std::vector<TaskRecord>& tasks) {
  absl::MutexLock lock(&mu_);
  Tally& tally = tally_[integration];
  ++tally.runs;
  for (const TaskRecord& task : tasks) {
    tally.pending += task.state == TaskState::kPending;
    tally.leased += task.state == TaskState::kLeased;
  }
}

void CoordinatorMetrics::EndPump() {
  absl::MutexLock lock(&mu_);
  for (const auto& [integration, tally] : tally_)
    integrations_.insert(integration);
  for (const std::string& integration : integrations_) {
    auto it = tally_.find(integration);
    const Tally tally = it == tally_.end() ? Tally() : it->second;
    runs_active_.Add({{"integration", integration}}).Set(tally.runs);
    tasks_.Add({{"integration", integration}, {"state", "pending"}})
        .Set(tally.pending);
    tasks_.Add({{"integration", integration}, {"state", "leased"}})
        .Set(tally.leased);
  }
}

void CoordinatorMetrics::SetWorkers(int workers, int busy_slots,
                                    int free_slots) {
  workers_.Set(workers);
  worker_slots_.Add({{"state", "busy"}}).Set(busy_slots);
  worker_slots_.Add({{"state", "free"}}).Set(free_slots);
}

void CoordinatorMetrics::LeasesExpired(size_t count) {
  lease_expiries_.Increment(static_cast<double>(count));
}

void CoordinatorMetrics::AttemptLost(bool retried) {
  attempts_.Add({{"outcome", "lost"}}).Increment();
  if (retried) retries_.Increment();
}

void CoordinatorMetrics::AttemptFinished(bool succeeded) {
  attempts_.Add({{"outcome", succeeded ? "succeeded" : "failed"}}).Increment();
}

void CoordinatorMetrics::CredentialBudget(const std::string& credential,
                                          double rate, int in_flight) {
  rate_budget_.Add({{"credential", credential}}).Set(rate);
  in_flight_budget_.Add({{"credential", credential}}).Set(in_flight);
}

void CoordinatorMetrics::RateLimitReported() {
  rate_limit_reports_.Increment();
}

void CoordinatorMetrics::UploadsQueued(size_t queued) {
  uploads_queued_.Set(static_cast<double>(queued));
}

void CoordinatorMetrics::Leading(bool leading) { leader_.Set(leading ? 1 : 0); }

void CoordinatorMetrics::WebhookReceived(const std::string& integration,
                                         const std::string& outcome,
                                         absl::Duration duration) {
  webhooks_.Add({{"integration", integration}, {"outcome", outcome}})
      .Increment();
  webhook_duration_.With({{"integration", integration}})
      .Observe(absl::ToDoubleSeconds(duration));
}

void CoordinatorMetrics::UploadEnded(const v1::UploadStatus& status,
                                     absl::Duration duration) {
  const bool succeeded = status.state() == v1::UPLOAD_STATE_SUCCEEDED;
  const metrics::Labels labels = {
      {"outcome", succeeded ? "succeeded" : "failed"}};
  uploads_.Add(labels).Increment();
  upload_duration_.With(labels).Observe(absl::ToDoubleSeconds(duration));
  if (succeeded) {
    upload_objects_.Add({{"kind", "entity"}})
        .Increment(static_cast<double>(status.entities_uploaded()));
    upload_objects_.Add({{"kind", "relationship"}})
        .Increment(static_cast<double>(status.relationships_uploaded()));
  }
}

CoordinatorMetrics::Subscriber::Subscriber(int64_t position)
    : position_(position) {
  CoordinatorMetrics& metrics = CoordinatorMetrics::Get();
  absl::MutexLock lock(&metrics.mu_);
  metrics.open_subscribers_.insert(this);
}

CoordinatorMetrics::Subscriber::~Subscriber() {
  CoordinatorMetrics& metrics = CoordinatorMetrics::Get();
  absl::MutexLock lock(&metrics.mu_);
  metrics.open_subscribers_.erase(this);
}

void CoordinatorMetrics::Subscriber::Sent() {
  CoordinatorMetrics::Get().subscriber_changes_sent_.Increment();
}

void CoordinatorMetrics::Collect() {
  const int64_t last = last_sequence_.load();
  int64_t max_lag = 0;
  size_t open = 0;
  {
    absl::MutexLock lock(&mu_);
    open = open_subscribers_.size();
    for (const Subscriber* subscriber : open_subscribers_) {
      max_lag = std::max(max_lag, last - subscriber->position_.load());
    }
  }
  subscribers_.Set(static_cast<double>(open));
  subscriber_max_lag_.Set(static_cast<double>(max_lag));
}

absl::StatusOr<std::unique_ptr<metrics::Server>> ServeCoordinatorMetrics(
    const std::string& address) {
  if (address.empty()) return nullptr;
  CoordinatorMetrics::Get();
  worker::ProviderMetrics::Get();
  return metrics::Server::Start(address);
}

}  // namespace graphmill::coordinator
