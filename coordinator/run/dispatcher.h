// The dispatcher: connected workers and the tasks they hold. Each worker's
// stream is a session with a capacity, the integration versions it runs and
// its own SendQueue, so a stalled stream delays only itself. The dispatcher
// leases pending tasks to sessions (round-robin across runs, single-task
// steps before shards, the session with the most free slots first), renews
// leases on heartbeats, takes them back when they lapse or their worker goes
// away, tells workers to cancel, and tells each running task its share of its
// credential's budget (RateBudget).
//
// RenewLeases is a function of the store alone, so the engine renews leases
// without its lock.
//
// The choices are plain functions (DispatchOrder, ChooseSession,
// MakeAssignment), tested without a store. Dispatcher itself is not
// thread-safe: the engine calls it under its lock; it never writes to a
// stream itself (SendQueue does, on its own thread). Store errors are logged
// and the task is left for the next pump.
#ifndef GRAPHMILL_COORDINATOR_RUN_DISPATCHER_H_
#define GRAPHMILL_COORDINATOR_RUN_DISPATCHER_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "coordinator/instances.h"
#include "coordinator/run/events.h"
#include "coordinator/run/merge.h"
#include "coordinator/run/rate_budget.h"
#include "coordinator/run/run_mode.h"
#include "coordinator/run/send_queue.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::coordinator {

// (name, version) of an integration a worker implements.
using IntegrationVersion = std::pair<std::string, std::string>;

struct RunningTask {
  v1::TaskAttempt attempt;  // with its lease id
  std::string instance_id;
  std::string step;  // StepKey of its run and step
  // The credential whose budget the task shares (CredentialKey) and that
  // budget's limits, as of the assignment.
  std::string credential;
  CredentialLimits limits;
  // Last shares sent to the worker (rate 0: unlimited).
  double rate_share = 0;
  int in_flight_share = 0;
};

struct WorkerSession {
  std::string worker_id;
  int capacity = 0;
  std::set<IntegrationVersion> integrations;
  // Messages to the worker, written on the queue's own thread: never under
  // the engine's lock.
  std::unique_ptr<SendQueue> queue;
  std::map<int64_t, RunningTask> running;  // by task id
  bool draining = false;

  // Slots for more tasks (0 when draining).
  int free_slots() const {
    return draining ? 0
                    : std::max(0, capacity - static_cast<int>(running.size()));
  }
};

using WorkerSessions = std::map<int64_t, WorkerSession>;

// The hello's worker id and capacity, checked (INVALID_ARGUMENT), and its
// integrations: each definition valid, none redefining a registered version
// (FAILED_PRECONDITION), then stored. Returns the versions the worker runs.
// Called before the session exists, without the engine's lock.
absl::StatusOr<std::set<IntegrationVersion>> RegisterWorker(
    Store& store, const v1::WorkerHello& hello);

// Pending tasks in the order to offer them: round-robin across runs (one
// active run per instance), so one large instance does not starve the others;
// within a run, tasks of unsharded steps first (small, and usually on the
// critical path: later steps wait for them), then in store order (steps'
// shards taking turns, Store::PendingTasks).
std::vector<const TaskRecord*> DispatchOrder(
    const std::vector<TaskRecord>& pending);

// Slots of each worker (of capacity 2 or more) that shards may not take: a
// validation or a step without a parent type (small, and usually what later
// steps wait for) then never waits for a long or rate-limited shard to end.
inline constexpr int kSlotsKeptForUnsharded = 1;

// The session with the most free slots that runs `integration`; nullptr if
// none has a free slot. A `sharded` task leaves kSlotsKeptForUnsharded free.
WorkerSession* ChooseSession(WorkerSessions& sessions,
                             const IntegrationVersion& integration,
                             bool sharded);

// The task's share of its credential's budget when `tasks` tasks share it:
// an equal part of the rate and of the requests in flight (at least one).
struct BudgetShare {
  double rate = 0;  // 0: unlimited
  int in_flight = 1;
};
BudgetShare ShareOf(const Budget& budget, int tasks);

// A running task of a credential, as its budget is divided.
struct SharingTask {
  std::string instance_id;
  std::string step;  // StepKey of its run and step
};

// Names a run's step for SharingTask and `leased_by_instance`.
std::string StepKey(int64_t run_id, absl::string_view step_id);

// What each of `local` (the tasks this process runs on one credential)
// divides the credential's budget by: the budget goes in equal parts to the
// running steps, and a step's part in equal parts to its tasks. A one-task
// step (small, usually what later steps wait for) so gets as much as a step
// of thirty shards together, not a thirty-first of the budget.
// With coordinator replicas on one store, `leased_by_instance` holds the
// leased tasks of each instance in the store by step (empty otherwise): their
// steps count too, and a step counts the store's tasks or this process's own
// if that is more (the store may lag). So each replica gives its tasks a share
// of the whole budget, not the whole budget each. Same order as `local`.
std::vector<int> ShareDivisors(
    const std::vector<SharingTask>& local,
    const std::map<std::string, std::map<std::string, int>>&
        leased_by_instance);

// The assignment of `task`'s new attempt, with the instance's (opened)
// config and defaults, the task's first budget share and whether its run is
// incremental.
v1::CoordinatorMessage MakeAssignment(
    const TaskRecord& task, const v1::TaskAttempt& attempt,
    const v1::IntegrationDefinition& definition, const v1::Instance& instance,
    absl::Duration lease, BudgetShare share,
    const IncrementalMode& incremental);

struct DispatcherOptions {
  // A lease lapses unless a heartbeat renews it within this time.
  absl::Duration lease = absl::Seconds(30);
  // Attempts (leases) per task before its step fails.
  int max_task_attempts = 3;
  // Provider requests per second per credential when the instance sets none;
  // 0: no rate bound (requests in flight and the provider's answers pace
  // it).
  double default_rate_per_second = 0;
  // Requests in flight per credential when the integration states none.
  int default_requests_in_flight = 32;
  // Keys CredentialKey; random per process unless set.
  std::string credential_hmac_key;
};

// Renews, until `expires_ms`, the leases `heartbeat` lists that `worker_id`
// holds; a lease the attempt no longer holds is logged and left. Needs no
// lock but the store's: the engine calls it without its own, so a pump waiting
// for the store's writer never holds up renewals (leases lapsed under load
// when it did).
void RenewLeases(Store& store, const std::string& worker_id,
                 const v1::Heartbeat& heartbeat, int64_t expires_ms);

class Dispatcher {
 public:
  // Writes one message to a worker's stream (see Engine::SendFn).
  using SendFn = std::function<bool(const v1::CoordinatorMessage&)>;
  // What tasks of a run are assigned with: the definition the run was planned
  // with and how it may use the graph. Both non-null.
  struct RunPlan {
    const v1::IntegrationDefinition* definition = nullptr;
    const IncrementalMode* incremental = nullptr;
  };
  // The plan of a run; nullopt if it cannot be read.
  using RunPlanFn = std::function<std::optional<RunPlan>(int64_t run_id)>;

  // Pointers must outlive this.
  Dispatcher(Store* store, Clock* clock, const InstanceSecrets* secrets,
             RunEvents* events, Redactors* redactors, RateBudget* rates,
             DispatcherOptions options);

  // --- Sessions.
  // A registered worker's stream; returns the session id.
  int64_t AddSession(const v1::WorkerHello& hello,
                     std::set<IntegrationVersion> integrations, SendFn send);
  // The stream closed: the worker's leases are taken back. Returns the
  // session's queue, to be destroyed without the engine's lock (destruction
  // waits for a write in progress); null for an unknown session.
  std::unique_ptr<SendQueue> RemoveSession(int64_t session);
  // The session takes no new tasks.
  void Drain(int64_t session);
  const WorkerSessions& sessions() const { return sessions_; }

  // --- Leases.
  // Takes back every lease in the store: they were granted by a previous
  // process. A restart does not count as an attempt.
  void ReleaseLeasesOfEarlierProcess();
  // Takes back leases that lapsed (counts as an attempt).
  void ExpireLeases();
  // Takes back the leases a worker that connects again still holds: it
  // abandoned those tasks when its stream ended (counts as an attempt).
  void ReleaseLeasesOfReconnectedWorker(const std::string& worker_id);
  // The task ended or was taken back: it no longer runs on any session.
  void Forget(int64_t task_id);
  // Tells the sessions running these tasks to stop them, and forgets them.
  void CancelOnWorkers(const std::vector<TaskRecord>& tasks);

  // --- Tasks.
  // Leases pending tasks to sessions with free slots.
  void Dispatch(const RunPlanFn& run_plan);

  // --- Rates.
  // A task of the session saw a 429: its credential's budget goes down for
  // all of the credential's running tasks.
  void RateLimited(int64_t session, const v1::TaskAttempt& attempt);
  // A task of the session reported its provider's remaining requests.
  void ProviderReport(int64_t session, const v1::ProviderReport& report);
  // Recovers rates that are due to grow and sends each running task its
  // share where it moved.
  void ShareRates();

 private:
  void ReleaseLeases(const std::vector<TaskRecord>& tasks,
                     const std::string& why, int max_attempts);
  // Ends a pending task that no worker can be given (its secrets do not open)
  // as FAILED with `error`, so its step and run settle.
  void FailUndispatchable(const TaskRecord& task, const std::string& error);
  // Leases `task` to `session` and sends it the assignment.
  void Assign(const TaskRecord& task, WorkerSession& session,
              const v1::IntegrationDefinition& definition,
              v1::Instance instance, const IncrementalMode& incremental);

  Store* const store_;
  Clock* const clock_;
  const InstanceSecrets* const secrets_;
  RunEvents* const events_;
  Redactors* const redactors_;
  RateBudget* const rates_;
  const DispatcherOptions options_;
  int64_t next_session_ = 1;
  WorkerSessions sessions_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_DISPATCHER_H_
