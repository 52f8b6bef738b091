// The coordinator's durable state in one SQLite file (WAL): integration
// definitions, instances, runs and their steps, tasks with attempts and leases,
// staged task results, each instance's finalized graph, the change log and
// the hashes of bearer tokens.
// Everything that must survive a restart lives here. Thread-safe: calls are
// serialized on one connection.
#ifndef GRAPHMILL_COORDINATOR_STORE_STORE_H_
#define GRAPHMILL_COORDINATOR_STORE_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/store/file_lock.h"
#include "coordinator/store/sqlite.h"
#include "graphmill/v1/admin.pb.h"
#include "graphmill/v1/graph.pb.h"
#include "graphmill/v1/integration.pb.h"
#include "graphmill/v1/run.pb.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::coordinator {

namespace v1 = ::graphmill::v1;

enum class TaskState { kPending = 0, kLeased = 1, kSucceeded = 2, kFailed = 3 };

// A task row.
struct TaskRecord {
  int64_t id = 0;
  int64_t run_id = 0;  // 0 for an instance's stand-alone validation task
  std::string instance_id;
  std::string step_id;  // empty for validation tasks
  v1::TaskKind kind = v1::TASK_KIND_UNSPECIFIED;
  v1::Shard shard;      // parent_type empty: not sharded
  int32_t attempt = 0;  // 0: never leased
  TaskState state = TaskState::kPending;
  std::string worker_id;
  int64_t lease_expires_ms = 0;
  std::string error;
  std::string lease_id;  // names the current lease (see TaskAttempt.lease_id)
};

// OK if `attempt` names the task's current lease (state LEASED, same attempt
// number and lease id); FAILED_PRECONDITION saying why not otherwise.
absl::Status CheckLease(const TaskRecord& task, const v1::TaskAttempt& attempt);

// Scopes (parent entities) a step could not list completely, for one reason.
struct ScopeGap {
  std::string reason;      // as the worker reported it
  std::string scope_type;  // `_type` of the scopes' entities ("" if unknown)
  int64_t count = 0;       // how many scopes
};

// A step row as the engine needs it.
struct StepRecord {
  std::string step_id;
  v1::StepStatus status = v1::STEP_STATUS_PENDING;
  std::string error;
  // Types tasks reported partly collected (or produced conflicting duplicates
  // of) -> the first reason.
  std::map<std::string, std::string> partial_types;
  std::vector<ScopeGap> scope_gaps;
};

// How finalize treats a type's objects that a run did not collect (see
// coordinator/completeness.h for how a run's rules are decided).
enum class DeletionRule {
  kDeleteMissing = 0,  // unscoped: deleted; scoped: by the scope rule
  kScopedOnly = 1,     // unscoped: kept; scoped: by the scope rule
  kKeepAll = 2,        // kept
};

// Objects changed by a finalize.
struct FinalizeCounts {
  int64_t created = 0;
  int64_t updated = 0;
  int64_t deleted = 0;
  int64_t dropped_relationships = 0;  // endpoint entity not in the graph
};

// One row of the change log.
struct ChangeRecord {
  int64_t sequence = 0;
  std::string instance_id;
  int64_t run_id = 0;
  v1::ChangeKind kind = v1::CHANGE_KIND_UNSPECIFIED;
  bool is_relationship = false;
  std::string type;
  std::string
      data;  // serialized object after the change (for deletions: as it was)
  std::string previous;  // serialized object before (updates and deletions)
  int64_t time_ms = 0;
};

// Sequence numbers of the change log.
struct ChangeLogBounds {
  int64_t last_sequence = 0;  // highest sequence ever appended (0: none)
  int64_t pruned_through =
      0;  // changes up to this sequence are no longer retained
};

// What a neighbor query returns per row.
struct NeighborRecord {
  v1::Relationship relationship;
  v1::Entity entity;
  bool outgoing = false;
};

// A bearer token as stored: its SHA-256 hash, never the token.
struct TokenRecord {
  std::string name;
  v1::TokenRole role = v1::TOKEN_ROLE_UNSPECIFIED;
  std::string hash;  // 32 raw bytes; empty in ListTokens results
  int64_t created_ms = 0;
};

class Store {
 public:
  // Opens or creates the store at `path` (":memory:" for tests) and migrates
  // the schema. A file store is locked exclusively (`<path>.lock`) for as long
  // as it is open: FAILED_PRECONDITION naming the holder if another
  // coordinator (or Store) has it.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);

  // --- Integrations (as last advertised by a worker) ---
  absl::Status PutIntegration(const v1::IntegrationDefinition& definition);
  // NOT_FOUND naming the integration.
  absl::StatusOr<v1::IntegrationDefinition> GetIntegration(
      const std::string& name);
  absl::StatusOr<std::vector<v1::IntegrationDefinition>> ListIntegrations();

  // --- Instances; config is returned as stored (unmasked): callers mask ---
  // ALREADY_EXISTS naming the id.
  absl::Status CreateInstance(const v1::Instance& instance);
  // NOT_FOUND naming the id.
  absl::StatusOr<v1::Instance> GetInstance(const std::string& id);
  absl::StatusOr<std::vector<v1::Instance>> ListInstances();
  // Replaces the instance's settings (config, schedule, disabled steps, rate,
  // upload) and updated_at_ms. NOT_FOUND naming the id.
  absl::Status UpdateInstance(const v1::Instance& instance);
  // Deletes the instance, its runs, tasks and graph; the graph's objects are
  // appended to the change log as deletions first, so subscribers see them go.
  // FAILED_PRECONDITION naming the active run if there is one.
  absl::Status DeleteInstance(const std::string& id, int64_t now_ms);
  // The last schedule slot that fired for the instance (0: none).
  absl::StatusOr<int64_t> GetLastScheduledSlot(const std::string& id);
  absl::Status SetLastScheduledSlot(const std::string& id, int64_t slot_ms);

  // --- Runs ---
  // Creates a run in VALIDATING with one PENDING step row per definition step
  // and the validation task. FAILED_PRECONDITION naming the active run if the
  // instance has one. Steps in `disabled_steps` start DISABLED. A scheduled run
  // first records the schedule slot it stands for (also when it is then refused
  // because a run is active), so a slot fires at most once, even across a
  // crash.
  absl::StatusOr<int64_t> CreateRun(
      const std::string& instance_id,
      const v1::IntegrationDefinition& definition, v1::RunTrigger trigger,
      const std::vector<std::string>& disabled_steps, int64_t now_ms,
      std::optional<int64_t> schedule_slot_ms = std::nullopt);
  // The run with steps and per-step type counts (no events).
  absl::StatusOr<v1::Run> GetRun(int64_t run_id);
  absl::StatusOr<std::vector<v1::Run>> ListRuns(const std::string& instance_id,
                                                int limit);
  // Runs in VALIDATING or RUNNING.
  absl::StatusOr<std::vector<int64_t>> ActiveRunIds();
  // The definition snapshot the run was planned with.
  absl::StatusOr<v1::IntegrationDefinition> GetRunDefinition(int64_t run_id);
  absl::Status SetRunStatus(int64_t run_id, v1::RunStatus status,
                            const std::string& error, int64_t now_ms);
  absl::Status SetRunUpload(int64_t run_id, const v1::UploadStatus& upload);
  // Ends an active run as CANCELLED: its unfinished tasks fail with "run
  // cancelled" and their staged objects are dropped. Returns the tasks that
  // were leased (to cancel on workers). FAILED_PRECONDITION if the run is not
  // active.
  absl::StatusOr<std::vector<TaskRecord>> CancelRun(int64_t run_id,
                                                    int64_t now_ms);
  // The run's steps in definition order, with what their tasks reported
  // incomplete.
  absl::StatusOr<std::vector<StepRecord>> GetSteps(int64_t run_id);
  absl::Status SetStepStatus(int64_t run_id, const std::string& step_id,
                             v1::StepStatus status, const std::string& error,
                             int64_t now_ms);

  // --- Tasks ---
  absl::StatusOr<int64_t> CreateTask(int64_t run_id, const std::string& step_id,
                                     v1::TaskKind kind, const v1::Shard& shard);
  // A validation task outside any run (Admin.ValidateInstance).
  absl::StatusOr<int64_t> CreateValidationTask(const std::string& instance_id);
  // Records how many tasks a step was split into.
  absl::Status SetStepTaskTotal(int64_t run_id, const std::string& step_id,
                                int total);
  absl::StatusOr<TaskRecord> GetTask(int64_t task_id);
  absl::StatusOr<std::vector<TaskRecord>> TasksOfRun(int64_t run_id);
  // Up to `limit` pending tasks of active runs, oldest first.
  absl::StatusOr<std::vector<TaskRecord>> PendingTasks(int limit);
  // PENDING -> LEASED with attempt+1 under `lease_id` (see
  // TaskAttempt.lease_id). Returns the new attempt.
  absl::StatusOr<int32_t> LeaseTask(int64_t task_id,
                                    const std::string& worker_id,
                                    const std::string& lease_id,
                                    int64_t lease_expires_ms);
  // Extends the lease if `attempt` is current and leased to `worker_id`.
  absl::Status RenewLease(int64_t task_id, int32_t attempt,
                          const std::string& worker_id,
                          int64_t lease_expires_ms);
  // LEASED tasks whose lease expired before `now_ms`, or held by `worker_id` if
  // not empty.
  absl::StatusOr<std::vector<TaskRecord>> LeasedTasks(
      int64_t expired_before_ms, const std::string& worker_id);
  // Takes the lease back: staged rows of the attempt are dropped; the task
  // becomes PENDING, or FAILED with `error` if it has had `max_attempts`
  // attempts.
  absl::Status ReleaseTask(int64_t task_id, int32_t attempt, int max_attempts,
                           const std::string& error);

  // --- Results ---
  // Stages a batch of the current attempt (objects must be valid, scopes
  // parallel to them or absent). A key seen
  // before in the attempt keeps its first version; a different second version
  // raises a WARN event naming the differing fields and marks the type partial.
  // FAILED_PRECONDITION if the attempt is not current.
  absl::Status StageBatch(const v1::TaskAttempt& attempt,
                          const v1::ResultBatch& batch, int64_t now_ms);
  // Ends the attempt: its staged objects join the run (the first version of a
  // key wins; identical duplicates merge silently, conflicting ones raise a
  // WARN event naming the differing fields and mark the type partial), its
  // events join the run's events, type counts are added to the step, what it
  // reports `incomplete` (and its conflicts) is recorded for the step (see
  // GetSteps), and the task ends SUCCEEDED or FAILED. One transaction.
  // FAILED_PRECONDITION if the attempt is stale.
  absl::Status CommitAttempt(const v1::TaskAttempt& attempt, bool succeeded,
                             const std::string& error,
                             const std::vector<v1::Incompleteness>& incomplete);
  // Visits the run's staged entities of `type` with first_key <= key <=
  // last_key (empty bounds: open), in key order, in pages of `page_size`. Stops
  // at the first non-OK visit.
  absl::Status ForEachStagedEntity(
      int64_t run_id, const std::string& type, const std::string& first_key,
      const std::string& last_key, int page_size,
      const std::function<absl::Status(const v1::Entity&)>& visit);
  // Visits every staged entity (or relationship) of the run in key order, in
  // pages; what a finalized run's upload sends. Stops at the first non-OK
  // visit.
  absl::Status ForEachStagedObject(
      int64_t run_id, bool relationships, int page_size,
      const std::function<absl::Status(const std::string& data)>& visit);
  // True if the run's staged objects are still kept (they are pruned when a
  // later run of the instance finalizes).
  absl::StatusOr<bool> HasStagedObjects(int64_t run_id);
  // Visits the keys of the run's staged entities of `type`, in key order.
  absl::Status ForEachStagedKey(
      int64_t run_id, const std::string& type,
      const std::function<void(const std::string&)>& visit);

  // --- Finalize ---
  // One transaction: diff the run's staged objects against the instance's
  // graph and apply it, appending each change to the change log. An object
  // the run did not collect is deleted only when its type's rule (`rules`;
  // absent: kDeleteMissing) allows it and, if it has a scope, the scope was
  // listed completely in this run (the scope's entity was collected and no
  // task reported the scope incomplete) or the scope's entity is no longer in
  // the graph. Relationships whose endpoint entity is not in the resulting
  // graph are dropped (with events) or deleted. `incomplete_types` are
  // recorded on the run (GetRun).
  absl::StatusOr<FinalizeCounts> Finalize(
      int64_t run_id, const std::string& instance_id,
      const std::map<std::string, DeletionRule>& rules,
      const std::vector<v1::IncompleteType>& incomplete_types, int64_t now_ms);

  // --- Events ---
  absl::Status AddEvent(int64_t run_id, v1::EventLevel level,
                        const std::string& name, const std::string& description,
                        const std::string& step_id, int64_t now_ms);
  // Events of the run with sequence > after_sequence, in order.
  absl::StatusOr<std::vector<v1::Event>> ListEvents(int64_t run_id,
                                                    int64_t after_sequence);

  // --- Graph reads (finalized graph) ---
  // Entities with key > after_key matching the filter, key order, at most
  // `limit`.
  absl::StatusOr<std::vector<v1::Entity>> ListEntities(
      const v1::GraphFilter& filter, const std::string& after_key, int limit);
  absl::StatusOr<std::vector<v1::Relationship>> ListRelationships(
      const v1::GraphFilter& filter, const std::string& after_key, int limit);
  // NOT_FOUND naming the key.
  absl::StatusOr<v1::Entity> GetEntity(const std::string& instance_id,
                                       const std::string& key);
  // Relationships touching `key` (direction: 0 both, 1 out, 2 in) with the
  // entity at the other end, relationship key > after_key, key order.
  absl::StatusOr<std::vector<NeighborRecord>> ListNeighbors(
      const std::string& instance_id, const std::string& key, int direction,
      const std::string& class_name, const std::string& after_key, int limit);
  // A consistent copy of the instance's graph: `header` gets the change-log
  // sequence it corresponds to, then entities and relationships follow in
  // pages. Other writers are not blocked (a separate read transaction).
  absl::Status Snapshot(
      const std::string& instance_id, int page_size,
      const std::function<bool(int64_t as_of_sequence)>& header,
      const std::function<bool(const std::vector<v1::Entity>&,
                               const std::vector<v1::Relationship>&)>& page);

  // --- Change log ---
  absl::StatusOr<ChangeLogBounds> GetChangeLogBounds();
  // Up to `limit` changes with sequence > after_sequence, in order.
  absl::StatusOr<std::vector<ChangeRecord>> ReadChanges(int64_t after_sequence,
                                                        int limit);
  // Drops changes older than `max_age_ms` (0: no age limit) and beyond the
  // newest `max_count` (0: no count limit). Returns how many were dropped.
  absl::StatusOr<int64_t> PruneChanges(int64_t max_age_ms, int64_t max_count,
                                       int64_t now_ms);

  // --- Tokens (bearer tokens; only hashes are kept, see coordinator/auth) ---
  // Stores a token. INVALID_ARGUMENT for an unspecified role, ALREADY_EXISTS
  // naming the name if it is in use (or, never in practice, the hash).
  absl::Status CreateToken(const std::string& name, v1::TokenRole role,
                           const std::string& hash, int64_t now_ms);
  // All tokens ordered by name, without their hashes.
  absl::StatusOr<std::vector<TokenRecord>> ListTokens();
  // Deletes the token's row, so it stops working at once and its name can be
  // used again. NOT_FOUND naming the name; FAILED_PRECONDITION if it is the
  // last admin token (create another admin token first).
  absl::Status RevokeToken(const std::string& name);
  // The token with this hash. NOT_FOUND ("unknown or revoked token") if none.
  absl::StatusOr<TokenRecord> FindTokenByHash(const std::string& hash);
  // True if at least one admin token exists.
  absl::StatusOr<bool> HasAdminToken();
  // Changes (before CreateToken or RevokeToken returns) whenever this Store
  // creates or revokes a token, so verifiers may cache tokens until it moves.
  // Lock-free.
  int64_t TokenGeneration() const {
    return token_generation_.load(std::memory_order_acquire);
  }

 private:
  Store(std::unique_ptr<SqliteDatabase> db, std::string path)
      : path_(std::move(path)), db_(std::move(db)) {}
  absl::Status Migrate();
  // Schema version 1 -> 2 (scopes, incompleteness with reasons).
  absl::Status MigrateFrom1() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Entities (object 0) or relationships (1) of the finalized graph, filtered.
  template <typename Object>
  absl::StatusOr<std::vector<Object>> ListGraphObjects(
      const v1::GraphFilter& filter, int object, const std::string& after_key,
      int limit);
  // Runs `body` in a transaction, committing on OK and rolling back otherwise.
  absl::Status Transaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<TaskRecord> GetTaskLocked(int64_t task_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckCurrentAttempt(const v1::TaskAttempt& attempt,
                                   TaskRecord* task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Records a duplicate-key conflict of the attempt: a WARN event and a partial
  // type.
  absl::Status RecordConflict(const v1::TaskAttempt& attempt, int object,
                              const std::string& type, const std::string& key,
                              const std::string& first,
                              const std::string& second, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  // Held while the store is open (none for ":memory:").
  std::optional<FileLock> lock_;
  absl::Mutex mu_;
  std::unique_ptr<SqliteDatabase> db_ ABSL_GUARDED_BY(mu_);
  // See TokenGeneration().
  std::atomic<int64_t> token_generation_{0};
};

// Deterministic serialization (map entries sorted), so equal objects have equal
// bytes and finalize can compare content by bytes.
std::string SerializeDeterministic(const google::protobuf::Message& message);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_STORE_STORE_H_
