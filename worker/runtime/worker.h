// The worker: connects out to the coordinator, runs the tasks it is leased,
// reconnects and drains.
#ifndef GRAPHMILL_WORKER_RUNTIME_WORKER_H_
#define GRAPHMILL_WORKER_RUNTIME_WORKER_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "graphmill/v1/worker.grpc.pb.h"
#include "graphmill/v1/worker.pb.h"
#include "worker/runtime/integration.h"
#include "worker/runtime/result_writer.h"
#include "worker/runtime/task_context.h"
#include "worker/runtime/task_executor.h"
#include "worker/runtime/thread_pool.h"

namespace graphmill::worker {

struct WorkerOptions {
  // Sent in WorkerHello; unique per worker process.
  std::string worker_id;
  // Tasks run at once (the pool's size, advertised in WorkerHello).
  int capacity = 16;
  // Where the channel points, for logs only.
  std::string coordinator = "coordinator";
  // Heartbeat period with no task; with tasks, a third of the shortest lease
  // if that is shorter.
  absl::Duration idle_heartbeat_interval = absl::Seconds(2);
  // Floor of the heartbeat period, whatever the leases say.
  absl::Duration min_heartbeat_interval = absl::Milliseconds(50);
  // Connect retries back off exponentially, with jitter (each wait is 50-100%
  // of the current step), from the first to the second. Each retry also resets
  // the channel's own connection backoff, so it really dials: a restarted
  // coordinator is found within max_reconnect_backoff (plus the dial).
  absl::Duration initial_reconnect_backoff = absl::Milliseconds(200);
  absl::Duration max_reconnect_backoff = absl::Seconds(1);
  // After Shutdown(), how long running tasks may take before they are
  // abandoned.
  absl::Duration drain_grace = absl::Seconds(30);
  // After the grace, how long abandoned handlers get to return before Run()
  // gives up on them.
  absl::Duration abandon_wait = absl::Seconds(2);
  // After WorkerDraining and the last result, how long to wait for the
  // coordinator to close the Connect stream before cancelling it.
  absl::Duration close_timeout = absl::Seconds(1);
  ResultBatchLimits result_limits;
  // Every wait and deadline above (heartbeats, reconnect back-off, drain
  // grace) and each task's request pacing go by this clock; tests pass a
  // FakeClock and move time themselves. Null means Clock::Real(); must
  // outlive the worker.
  Clock* clock = Clock::Real();
};

// One worker process's runtime. Run() holds the Connect stream to the
// coordinator: it says hello (id, capacity, definitions), heartbeats the
// attempts it runs, runs each TaskAssignment on a pool of `capacity` threads
// and streams its results on SubmitResults, stops attempts on CancelTask,
// paces each task's provider requests at the rate the coordinator gives it
// (RateUpdate) and reports 429s (RateLimited), and reconnects with backoff
// when the stream breaks (running attempts are then abandoned: the coordinator
// offers them again). Shutdown() drains.
//
// Run() is called once, from one thread; Shutdown() from any thread, any number
// of times.
class Worker {
 public:
  // `channel` leads to the coordinator's WorkerGateway; `integrations` must
  // outlive the worker.
  Worker(WorkerOptions options, std::shared_ptr<grpc::ChannelInterface> channel,
         std::vector<Integration*> integrations);
  // Joins the pool: waits for handlers still running. Call after Run()
  // returned.
  ~Worker();

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until Shutdown() and the drain end. Returns OK when every task
  // finished (or none ran), DEADLINE_EXCEEDED when the drain grace ran out and
  // tasks were abandoned (some handlers may still be running: the process
  // should exit without waiting for them), or INVALID_ARGUMENT for bad options
  // or integrations.
  absl::Status Run();

  // Starts draining: WorkerDraining is sent, no new task starts, running and
  // queued tasks get drain_grace to finish. Thread-safe; not async-signal-safe
  // (call it from a thread that waits for signals, not from a handler).
  void Shutdown();

  // Whether a Connect stream is up: its hello went out and it has not ended.
  // (A coordinator that refuses the worker, e.g. its token, ends the stream
  // at once.) Thread-safe; for readiness probes.
  bool connected() const;
  // Whether Shutdown() was called. Thread-safe.
  bool draining() const;

 private:
  struct Task;
  struct Session;
  using AttemptKey = std::pair<int64_t, int32_t>;

  // One Connect stream, from hello to its end. Returns true when the worker is
  // done with the coordinator (drained, or draining before a stream was up);
  // otherwise `why` says why the stream ended and `healthy` whether it had been
  // up long enough (or brought messages) to reset the reconnect backoff.
  bool RunSession(absl::Status* why, bool* healthy);
  // Waits `delay` before the next Connect attempt, polling the channel; ends
  // early when the channel connects after a failed dial. True when draining.
  bool WaitBeforeReconnect(absl::Duration delay);
  // Reads coordinator messages until the stream ends.
  void ReadLoop(grpc::ClientReaderWriterInterface<
                    graphmill::v1::WorkerMessage,
                    graphmill::v1::CoordinatorMessage>* stream,
                Session* session);
  void Accept(const graphmill::v1::TaskAssignment& assignment);
  void CancelAttempt(const graphmill::v1::TaskAttempt& attempt);
  void UpdateRate(const graphmill::v1::RateUpdate& update);
  // Queues a RateLimited report for the Connect stream.
  void ReportRateLimited(const graphmill::v1::TaskAttempt& attempt);
  // Queues a ProviderReport (the latest count per attempt).
  void ReportRemaining(const graphmill::v1::TaskAttempt& attempt,
                       int64_t remaining);
  // Pool work: runs one task and delivers its results.
  void RunTask(const std::shared_ptr<Task>& task);
  // Cancels every task of the session and forgets them (they end on their own).
  void AbandonTasksLocked(const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records a change of the state guarded by mu_, which wakes WaitForChange.
  void ChangedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { ++changes_; }
  // With mu_ held: waits until ChangedLocked() is called or the clock reaches
  // `deadline`.
  void WaitForChangeLocked(absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool NothingInFlight() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return in_flight_ == 0;
  }
  absl::Duration HeartbeatIntervalLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  graphmill::v1::WorkerMessage HelloMessage() const;

  // Run()'s thread only: the last Connect attempt failed before its hello
  // went out (no connection), and when the last stream ended.
  bool dial_failed_ = false;
  absl::Time lost_at_ = absl::InfinitePast();

  const WorkerOptions options_;
  Clock* const clock_;  // options_.clock, or Clock::Real()
  // Kept to reset its connection backoff before each Connect attempt.
  const std::shared_ptr<grpc::ChannelInterface> channel_;
  std::unique_ptr<graphmill::v1::WorkerGateway::Stub> stub_;
  // Why the worker cannot run (bad options or integrations); OK otherwise.
  absl::Status setup_status_;
  IntegrationSet integrations_;

  // Waits on mu_ go through clock_->AwaitWithDeadline, so a fake clock can
  // fire their deadlines; `changes_` counts every change of the state below.
  mutable absl::Mutex mu_;
  uint64_t changes_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  // A Connect stream is up (see connected()).
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time drain_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  // The Connect call while its hello is in flight, so Shutdown() can interrupt
  // a connection attempt to a coordinator that does not answer; null otherwise.
  grpc::ClientContext* connecting_ ABSL_GUARDED_BY(mu_) = nullptr;
  // The drain grace ran out and tasks were abandoned.
  bool grace_expired_ ABSL_GUARDED_BY(mu_) = false;
  // Tasks of the current session that have not ended (queued or running).
  std::map<AttemptKey, std::shared_ptr<Task>> tasks_ ABSL_GUARDED_BY(mu_);
  // Messages for the current Connect stream besides hello, heartbeats and
  // draining (RateLimited reports).
  std::deque<graphmill::v1::WorkerMessage> outbox_ ABSL_GUARDED_BY(mu_);
  // Pool work scheduled and not returned, abandoned tasks included.
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;

  // Last member: destroyed first, so handlers finish while the rest still
  // exists.
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_WORKER_H_
