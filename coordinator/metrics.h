// Every metric the coordinator exports, named once with its help text
// (docs/operations.md, "Metrics and alerts", lists them). The engine, the
// uploader and the Graph service call these one-line hooks; nothing here reads
// the store on a scrape: gauges of the store's state are refreshed on the
// engine's pump, the others are kept in memory.
#ifndef GRAPHMILL_COORDINATOR_METRICS_H_
#define GRAPHMILL_COORDINATOR_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/admin.pb.h"

namespace graphmill::coordinator {

class CoordinatorMetrics {
 public:
  // Process-wide; its families are registered by the first call.
  static CoordinatorMetrics& Get();

  // ---- Runs.
  void RunStarted(const std::string& integration, v1::RunTrigger trigger);
  // The run reached a final status (succeeded, partial, failed, cancelled):
  // reads it and its definition once. `now_ms` (the engine's clock) stands
  // for its end if the store has none recorded.
  void RunEnded(Store& store, int64_t run_id, int64_t now_ms);
  // Observes the finalize's duration when destroyed.
  metrics::ScopedTimer TimeFinalize(const std::string& integration);
  // What a finalize changed in the graph.
  void GraphChanged(const std::string& integration, int64_t created,
                    int64_t updated, int64_t deleted);
  // The change log's last and pruned-through sequence numbers (errors are
  // ignored).
  void ChangeLog(const absl::StatusOr<ChangeLogBounds>& bounds);

  // ---- Tasks, tallied on each pump from the tasks the engine reads anyway:
  // BeginPump, CountRunTasks for each active run, EndPump publishes.
  void BeginPump();
  void CountRunTasks(const std::string& integration,
                     const std::vector<TaskRecord>& tasks);
  void EndPump();
  // Connected worker sessions (the engine's map): count, busy and free slots.
  template <typename SessionMap>
  void ObserveWorkers(const SessionMap& sessions) {
    int busy = 0;
    int free = 0;
    for (const auto& [id, session] : sessions) {
      const int running = static_cast<int>(session.running.size());
      busy += running;
      if (!session.draining && session.capacity > running) {
        free += session.capacity - running;
      }
    }
    SetWorkers(static_cast<int>(sessions.size()), busy, free);
  }
  void LeasesExpired(size_t count);
  // A leased attempt was lost (lease lapsed, worker gone); `retried`: its task
  // is offered again.
  void AttemptLost(bool retried);
  // A worker reported an attempt's outcome.
  void AttemptFinished(bool succeeded);

  // ---- Budgets of a provider credential (named by its keyed hash, never
  // the credential): requests/s (0: unlimited) and requests in flight.
  void CredentialBudget(const std::string& credential, double rate,
                        int in_flight);
  // A worker reported a 429: the credential's budget goes down.
  void RateLimitReported();

  // ---- Uploads.
  void UploadsQueued(size_t queued);
  // Whether this replica takes run-level decisions (Store::HoldLeadership).
  void Leading(bool leading);
  void UploadEnded(const v1::UploadStatus& status, absl::Duration duration);

  // ---- Webhooks: a delivery ended with `outcome` (webhook_receiver.h's
  // WebhookReply::outcome) after `duration` (receipt to reply, API reads and
  // the patch included). `integration` is empty when the delivery was refused
  // before its instance could be used.
  void WebhookReceived(const std::string& integration,
                       const std::string& outcome, absl::Duration duration);

  // ---- Subscribers: one per open Subscribe stream, at the sequence it has
  // read up to; lag is measured against the change log's last sequence at
  // each scrape.
  class Subscriber {
   public:
    explicit Subscriber(int64_t position);
    ~Subscriber();
    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;

    void At(int64_t position) { position_.store(position); }
    void Sent();

   private:
    friend class CoordinatorMetrics;
    std::atomic<int64_t> position_;
  };

 private:
  CoordinatorMetrics();
  void SetWorkers(int workers, int busy_slots, int free_slots);
  void Collect();

  // Runs.
  metrics::CounterFamily& runs_started_;
  metrics::CounterFamily& runs_ended_;
  metrics::GaugeFamily& runs_active_;
  metrics::HistogramFamily run_duration_;
  metrics::HistogramFamily finalize_duration_;
  metrics::CounterFamily& graph_changes_;
  prometheus::Gauge& change_log_sequence_;
  prometheus::Gauge& change_log_pruned_;
  // Tasks and workers.
  metrics::GaugeFamily& tasks_;
  metrics::CounterFamily& attempts_;
  prometheus::Counter& retries_;
  prometheus::Counter& lease_expiries_;
  prometheus::Gauge& workers_;
  metrics::GaugeFamily& worker_slots_;
  // Rates.
  metrics::GaugeFamily& rate_budget_;
  metrics::GaugeFamily& in_flight_budget_;
  prometheus::Counter& rate_limit_reports_;
  // Uploads.
  prometheus::Gauge& uploads_queued_;
  prometheus::Gauge& leader_;
  metrics::CounterFamily& uploads_;
  metrics::HistogramFamily upload_duration_;
  // Webhooks.
  metrics::CounterFamily& webhooks_;
  metrics::HistogramFamily webhook_duration_;
  metrics::CounterFamily& upload_objects_;
  // Subscribers.
  prometheus::Gauge& subscribers_;
  prometheus::Gauge& subscriber_max_lag_;
  prometheus::Counter& subscriber_changes_sent_;

  std::atomic<int64_t> last_sequence_{0};

  struct Tally {
    int runs = 0;
    int pending = 0;
    int leased = 0;
  };
  absl::Mutex mu_;
  std::map<std::string, Tally> tally_ ABSL_GUARDED_BY(mu_);
  // Integrations published so far (their gauges go to 0, not away).
  std::set<std::string> integrations_ ABSL_GUARDED_BY(mu_);
  std::set<Subscriber*> open_subscribers_ ABSL_GUARDED_BY(mu_);
};

// --metrics_listen: registers every family the coordinator exports (its own
// and the provider request metrics of its JupiterOne uploads) and serves them
// on `address`. Null for an empty address; errors as metrics::Server::Start.
absl::StatusOr<std::unique_ptr<metrics::Server>> ServeCoordinatorMetrics(
    const std::string& address);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_METRICS_H_
