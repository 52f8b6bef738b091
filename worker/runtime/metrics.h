// Every metric a worker exports, named once with its help text
// (docs/operations.md, "Metrics and alerts", lists them). Provider request
// metrics are recorded by HttpClient, so the coordinator exports them too, for
// its JupiterOne uploads.
#ifndef GRAPHMILL_WORKER_RUNTIME_METRICS_H_
#define GRAPHMILL_WORKER_RUNTIME_METRICS_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::worker {

// Provider HTTP requests, one per attempt (retries count again).
class ProviderMetrics {
 public:
  // Process-wide; its families are registered by the first call.
  static ProviderMetrics& Get();

  // An attempt of `method` on `url` ended: `http_status` is the response's
  // status, 0 when none came (connection failure, timeout, body over the
  // limit). Labels: integration, endpoint (EndpointTemplate), status ("200",
  // "429", ..., or "error").
  void Request(const std::string& integration, absl::string_view method,
               absl::string_view url, int http_status, absl::Duration latency);

 private:
  ProviderMetrics();
  metrics::CounterFamily& requests_;
  metrics::HistogramFamily latency_;
};

// The `integration` label of HttpClients created on this thread while the
// scope lives (scopes nest). A client keeps the label it was created with, so
// requests from threads it fans out to count for the same integration. The
// worker opens one around each task, the coordinator around each upload
// ("jupiterone").
class ProviderLabelScope {
 public:
  explicit ProviderLabelScope(std::string integration);
  ~ProviderLabelScope();
  ProviderLabelScope(const ProviderLabelScope&) = delete;
  ProviderLabelScope& operator=(const ProviderLabelScope&) = delete;

 private:
  const std::string integration_;
  const std::string* const previous_;
};

// The label of the innermost ProviderLabelScope of this thread; "unknown"
// outside any.
std::string CurrentProviderLabel();

// The route of a request, as a bounded label value: the method and the URL's
// path without scheme, host, query or fragment, each segment that looks like
// an id (digits, UUIDs, escaped slugs, anything with '%', '.', ':' or '@',
// three digits or more, over 40 characters) replaced by "{id}". E.g. "GET
// /api/v2/pipeline/{id}/workflow". After kMaxEndpoints distinct values in the
// process, new ones become "<method> {other}".
std::string EndpointTemplate(absl::string_view method, absl::string_view url);
inline constexpr int kMaxEndpoints = 200;

// The worker's own metrics: slots, connection, tasks.
class WorkerMetrics {
 public:
  // Process-wide; its families are registered by the first call.
  static WorkerMetrics& Get();

  // --capacity: slots busy + free.
  void SetCapacity(int slots);
  // The Connect stream to the coordinator is up.
  void SetConnected(bool connected);

  // One task while it runs on this thread: a busy slot, the provider label
  // (its integration) for the HttpClients it creates, and, at Finish, its
  // outcome and duration.
  class Task {
   public:
    explicit Task(const graphmill::v1::TaskAssignment& assignment);
    ~Task();
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;

    // `cancelled`: the coordinator cancelled the attempt (outcome
    // "cancelled"); else the outcome's status, e.g. "succeeded".
    void Finish(const graphmill::v1::TaskOutcome& outcome, bool cancelled);

   private:
    const std::string integration_;
    const std::string step_;
    const absl::Time start_;
    ProviderLabelScope label_;
  };

 private:
  WorkerMetrics();
  std::atomic<int> capacity_{0};
  std::atomic<int> busy_{0};
  metrics::GaugeFamily& slots_;
  prometheus::Gauge& connected_;
  metrics::CounterFamily& tasks_;
  metrics::HistogramFamily task_duration_;
};

// --metrics_listen: registers every family the worker exports and serves them
// on `address`. Null for an empty address; errors as metrics::Server::Start.
absl::StatusOr<std::unique_ptr<metrics::Server>> ServeWorkerMetrics(
    const std::string& address);

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_METRICS_H_
