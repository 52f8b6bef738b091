// Every metric a worker exports, named once with its help text
// (docs/operations.md, "Metrics and alerts", lists them): its own here, the
// provider request metrics in common/http/provider_metrics.h. Thread-safe.
#ifndef GRAPHMILL_WORKER_RUNTIME_METRICS_H_
#define GRAPHMILL_WORKER_RUNTIME_METRICS_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/http/provider_metrics.h"
#include "common/metrics.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::worker {

// The provider request metrics live in common/http (HttpClient records them in
// the coordinator too). This name keeps coordinator/metrics.cc, which reaches
// them through the worker, compiling until it names http::ProviderMetrics.
using ::graphmill::http::ProviderMetrics;

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
    http::ProviderLabelScope label_;
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
