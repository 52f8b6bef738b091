// The StepContext of one task attempt, over the coordinator's WorkerGateway.
#ifndef GRAPHMILL_WORKER_RUNTIME_TASK_CONTEXT_H_
#define GRAPHMILL_WORKER_RUNTIME_TASK_CONTEXT_H_

#include <grpcpp/client_context.h>

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/redact.h"
#include "graphmill/v1/worker.grpc.pb.h"
#include "graphmill/v1/worker.pb.h"
#include "worker/runtime/integration.h"
#include "worker/runtime/request_pacer.h"
#include "worker/runtime/result_writer.h"

namespace graphmill::worker {

// Everything a handler does for one attempt goes through here: reads stream
// from ReadEntities, objects and events go to a ResultWriter, partial types are
// collected for the outcome. Thread-safe (handlers may use their own threads).
//
// Cancel() (a CancelTask from the coordinator, a lost Connect stream, or a
// drain that ran out of time) makes Add* return CANCELLED, interrupts reads in
// progress and abandons the results stream, so the coordinator keeps nothing of
// this attempt and re-offers the task.
class TaskContext : public StepContext {
 public:
  // Called (from a handler's thread) when the provider answered 429, so the
  // coordinator can lower the instance's rate.
  using RateLimitedCallback =
      std::function<void(const graphmill::v1::TaskAttempt&)>;
  // Called (from a handler's thread) with the provider's remaining requests,
  // at most once per kRemainingReportInterval unless it fell below
  // kRemainingReportAlways, so the coordinator can pace the credential.
  using RemainingCallback =
      std::function<void(const graphmill::v1::TaskAttempt&, int64_t remaining)>;
  static constexpr absl::Duration kRemainingReportInterval =
      absl::Milliseconds(250);
  static constexpr int64_t kRemainingReportAlways = 100;

  // `stub` and `clock` must outlive the context. The assignment's config holds
  // secrets: it is copied into config() and never logged. Requests are paced
  // on `clock` (null: Clock::Real()) at the assignment's rate_limit_per_second
  // until SetBudget() changes it; events are stamped with its time.
  TaskContext(graphmill::v1::WorkerGateway::StubInterface* stub,
              const graphmill::v1::TaskAssignment& assignment,
              ResultBatchLimits limits,
              RateLimitedCallback on_rate_limited = nullptr,
              Clock* clock = Clock::Real(),
              RemainingCallback on_remaining = nullptr);

  TaskContext(const TaskContext&) = delete;
  TaskContext& operator=(const TaskContext&) = delete;

  // StepContext.
  const InstanceConfig& config() const override { return config_; }
  int64_t run_id() const override { return run_id_; }
  absl::Status ForEachEntity(
      absl::string_view type,
      const std::function<absl::Status(const v1::Entity&)>& visit) override;
  int64_t incremental_since_ms() const override {
    return incremental_since_ms_;
  }
  bool CanCarry(absl::string_view type) const override;
  // FAILED_PRECONDITION in a full run.
  absl::Status ForEachKnownEntity(
      absl::string_view type,
      const std::function<absl::Status(
          const v1::Entity&, const std::string& scope)>& visit) override;
  absl::Status AddEntity(v1::Entity entity, absl::string_view scope) override;
  absl::Status AddRelationship(v1::Relationship relationship,
                               absl::string_view scope) override;
  // Events are best effort: one that cannot be queued (cancelled, stream
  // broken) is dropped.
  void AddEvent(v1::EventLevel level, absl::string_view name,
                absl::string_view description) override;
  void MarkPartial(absl::string_view type, absl::string_view reason) override;
  void MarkScopeIncomplete(absl::string_view scope,
                           absl::string_view reason) override;
  bool cancelled() const override { return cancelled_; }
  // Uses the secrets given to SetSecrets.
  std::string Redact(absl::string_view text) const override;

  // The instance's secret config values: from now on they are removed from
  // events, reasons and Redact(). Call before the handler starts.
  void SetSecrets(const std::vector<std::string>& secrets);
  // Blocks for this task's share of the rate budget; at once when cancelled.
  void AwaitRequestSlot() override;
  // A 429 is reported through the RateLimitedCallback.
  void OnProviderResponse(int http_status) override;
  // Reported through the RemainingCallback (see there).
  void OnProviderRemaining(int64_t remaining) override;
  int max_requests_in_flight() const override { return max_in_flight_; }

  // The coordinator's new budget share for this task (RateUpdate): requests
  // per second (<= 0: unlimited) and requests in flight (<= 0: unchanged).
  void SetBudget(double per_second, int max_in_flight) {
    pacer_.SetRate(per_second);
    if (max_in_flight > 0) max_in_flight_ = max_in_flight;
  }
  double rate_limit() const { return pacer_.rate(); }

  // Stops the attempt (see the class comment). Idempotent; callable from any
  // thread.
  void Cancel();

  // What MarkPartial and MarkScopeIncomplete reported (the first reason per
  // type or scope), sorted by type, then scope.
  std::vector<v1::Incompleteness> incomplete() const;

  const graphmill::v1::TaskAttempt& attempt() const { return attempt_; }
  ResultWriter& results() { return results_; }

 private:
  absl::Status CancelledStatus() const;
  // One ReadEntities call: this run's entities, or the graph's (`known`,
  // with their scopes; empty otherwise).
  absl::Status Read(absl::string_view type, bool known,
                    const std::function<absl::Status(
                        const v1::Entity&, const std::string& scope)>& visit);

  graphmill::v1::WorkerGateway::StubInterface* const stub_;
  Clock* const clock_;
  const graphmill::v1::TaskAttempt attempt_;
  const int64_t run_id_;
  const std::string step_id_;
  const InstanceConfig config_;
  ResultWriter results_;
  RequestPacer pacer_;
  const RateLimitedCallback on_rate_limited_;
  const RemainingCallback on_remaining_;
  std::atomic<int> max_in_flight_;
  const int64_t incremental_since_ms_;
  const std::set<std::string, std::less<>> not_carried_types_;
  std::atomic<bool> cancelled_{false};

  mutable absl::Mutex mu_;
  Redactor redactor_ ABSL_GUARDED_BY(mu_);
  // ReadEntities calls in progress, so Cancel() can interrupt them.
  std::set<grpc::ClientContext*> reads_ ABSL_GUARDED_BY(mu_);
  // (type, scope) -> reason.
  std::map<std::pair<std::string, std::string>, std::string> incomplete_
      ABSL_GUARDED_BY(mu_);
  absl::Time last_remaining_report_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_TASK_CONTEXT_H_
