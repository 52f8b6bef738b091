// Implementation of worker/runtime/metrics.h.
#include "worker/runtime/metrics.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace graphmill::worker {
namespace {

namespace v1 = ::graphmill::v1;

thread_local const std::string* current_label = nullptr;

const metrics::Buckets& RequestBuckets() {
  static const auto* const buckets = new metrics::Buckets{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *buckets;
}

const metrics::Buckets& TaskBuckets() {
  static const auto* const buckets = new metrics::Buckets{
      0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
  return *buckets;
}

bool LooksLikeId(absl::string_view segment) {
  if (segment.size() > 40) return true;
  int digits = 0;
  for (const char c : segment) {
    if (absl::ascii_isdigit(c)) {
      ++digits;
    } else if (!absl::ascii_isalpha(c) && c != '-' && c != '_') {
      return true;  // '%', '.', ':', '@', ...: escaped slugs, names, addresses
    }
  }
  return digits >= 3 || digits == static_cast<int>(segment.size());
}

// Distinct endpoint labels handed out so far, to bound them.
class EndpointSet {
 public:
  std::string Admit(absl::string_view method, std::string endpoint) {
    absl::MutexLock lock(&mu_);
    if (seen_.contains(endpoint)) return endpoint;
    if (static_cast<int>(seen_.size()) >= kMaxEndpoints) {
      return absl::StrCat(method, " {other}");
    }
    seen_.insert(endpoint);
    return endpoint;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> seen_ ABSL_GUARDED_BY(mu_);
};

EndpointSet& Endpoints() {
  static auto* const endpoints = new EndpointSet();
  return *endpoints;
}

std::string StatusLabel(int http_status) {
  return http_status > 0 ? absl::StrCat(http_status) : "error";
}

}  // namespace

ProviderMetrics& ProviderMetrics::Get() {
  static auto* const instance = new ProviderMetrics();
  return *instance;
}

ProviderMetrics::ProviderMetrics()
    : requests_(metrics::AddCounter(
          "graphmill_provider_requests_total",
          "Provider API requests (each attempt, retries included) by "
          "integration, endpoint (route template) and HTTP status (\"error\": "
          "no response)")),
      latency_(metrics::AddHistogram(
          "graphmill_provider_request_duration_seconds",
          "Time from sending a provider API request to the end of its "
          "response, by integration and endpoint",
          RequestBuckets())) {}

void ProviderMetrics::Request(const std::string& integration,
                              absl::string_view method, absl::string_view url,
                              int http_status, absl::Duration latency) {
  const std::string endpoint = EndpointTemplate(method, url);
  requests_
      .Add({{"integration", integration},
            {"endpoint", endpoint},
            {"status", StatusLabel(http_status)}})
      .Increment();
  latency_.With({{"integration", integration}, {"endpoint", endpoint}})
      .Observe(absl::ToDoubleSeconds(latency));
}

ProviderLabelScope::ProviderLabelScope(std::string integration)
    : integration_(std::move(integration)), previous_(current_label) {
  current_label = &integration_;
}

ProviderLabelScope::~ProviderLabelScope() { current_label = previous_; }

std::string CurrentProviderLabel() {
  return current_label == nullptr || current_label->empty() ? "unknown"
                                                            : *current_label;
}

std::string EndpointTemplate(absl::string_view method, absl::string_view url) {
  absl::string_view path = url;
  const size_t scheme = path.find("://");
  if (scheme != absl::string_view::npos) {
    path.remove_prefix(scheme + 3);
    const size_t slash = path.find('/');
    path = slash == absl::string_view::npos ? absl::string_view()
                                            : path.substr(slash);
  }
  path = path.substr(0, path.find_first_of("?#"));
  std::string endpoint = absl::StrCat(method, " ");
  if (path.empty()) path = "/";
  bool first = true;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (!first) endpoint.push_back('/');
    first = false;
    if (segment.empty()) continue;
    if (LooksLikeId(segment)) {
      endpoint += "{id}";
    } else {
      endpoint.append(segment.data(), segment.size());
    }
  }
  return Endpoints().Admit(method, std::move(endpoint));
}

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
  ProviderMetrics::Get();
  return metrics::Server::Start(address);
}

}  // namespace graphmill::worker
