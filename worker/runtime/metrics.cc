// Implementation of worker/runtime/metrics.h.
#include "worker/runtime/metrics.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"

namespace graphmill::worker {
namespace {

namespace v1 = ::graphmill::v1;

const metrics::Buckets& TaskBuckets() {
  static const auto* const buckets = new metrics::Buckets{
      0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
  return *buckets;
}

}  // namespace

WorkerMetrics& WorkerMetrics::Get() {
  static auto* const instance = new WorkerMetrics();
  return *instance;
}

WorkerMetrics::WorkerMetrics()
    : slots_(metrics::AddGauge(
          "graphmill_worker_slots",
          "Task slots of this worker (--capacity): busy (running a task) "
          "or free")),
      connected_(metrics::AddGauge("graphmill_worker_connected",
                                   "1 while the worker's Connect stream to "
                                   "the coordinator is up, else 0")
                     .Add({})),
      tasks_(metrics::AddCounter(
          "graphmill_worker_tasks_total",
          "Tasks this worker ran to the end, by integration, step "
          "(\"validate_invocation\" for invocation checks) and outcome "
          "(succeeded, failed, invalid_config, cancelled)")),
      task_duration_(metrics::AddHistogram(
          "graphmill_worker_task_duration_seconds",
          "Run time of a task on this worker, by integration and step",
          TaskBuckets())) {
  connected_.Set(0);
  // Free slots follow from capacity and busy ones; set together at each
  // scrape so they always add up.
  metrics::OnCollect([this] {
    const int busy = busy_.load();
    slots_.Add({{"state", "busy"}}).Set(busy);
    slots_.Add({{"state", "free"}}).Set(std::max(0, capacity_.load() - busy));
  });
}

void WorkerMetrics::SetCapacity(int slots) { capacity_.store(slots); }

void WorkerMetrics::SetConnected(bool connected) {
  connected_.Set(connected ? 1 : 0);
}

WorkerMetrics::Task::Task(const v1::TaskAssignment& assignment)
    : integration_(assignment.integration()),
      step_(assignment.kind() == v1::TASK_KIND_VALIDATE_INVOCATION
                ? "validate_invocation"
                : assignment.step_id()),
      start_(absl::Now()),
      label_(assignment.integration()) {
  ++WorkerMetrics::Get().busy_;
}

WorkerMetrics::Task::~Task() { --WorkerMetrics::Get().busy_; }

void WorkerMetrics::Task::Finish(const v1::TaskOutcome& outcome,
                                 bool cancelled) {
  std::string status = "cancelled";
  if (!cancelled) {
    status =
        absl::AsciiStrToLower(v1::TaskOutcomeStatus_Name(outcome.status()));
    constexpr absl::string_view kPrefix = "task_outcome_status_";
    if (absl::StartsWith(status, kPrefix)) status.erase(0, kPrefix.size());
  }
  WorkerMetrics& metrics = WorkerMetrics::Get();
  metrics.tasks_
      .Add(
          {{"integration", integration_}, {"step", step_}, {"outcome", status}})
      .Increment();
  metrics.task_duration_.With({{"integration", integration_}, {"step", step_}})
      .Observe(absl::ToDoubleSeconds(absl::Now() - start_));
}

absl::StatusOr<std::unique_ptr<metrics::Server>> ServeWorkerMetrics(
    const std::string& address) {
  if (address.empty()) return nullptr;
  WorkerMetrics::Get();
  http::ProviderMetrics::Get();
  return metrics::Server::Start(address);
}

}  // namespace graphmill::worker
