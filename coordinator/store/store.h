// The coordinator's durable state, behind the Store interface: integration
// definitions, instances, runs and their steps, tasks with attempts and leases,
// staged task results, each instance's finalized graph, the change log and the
// hashes of bearer tokens. Everything that must survive a restart lives here.
// Store::Open picks the implementation from the spec (sqlite/sqlite_store.h:
// one SQLite file).
#ifndef GRAPHMILL_COORDINATOR_STORE_STORE_H_
#define GRAPHMILL_COORDINATOR_STORE_STORE_H_

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

// What Store::Finalize applies and how the run ends.
struct FinalizeRequest {
  int64_t run_id = 0;
  std::string instance_id;
  std::map<std::string, DeletionRule> rules;
  std::vector<v1::IncompleteType> incomplete_types;
  // The run's final status (SUCCEEDED or PARTIAL) and error text.
  v1::RunStatus status = v1::RUN_STATUS_SUCCEEDED;
  std::string error;
  bool upload_pending = false;  // the instance has an upload target
  // When finalize began: the time of its changes and events, and the run's
  // finalize_started_at_ms.
  int64_t now_ms = 0;
  // The run's end time (ended_at_ms, finalized_at_ms), read right before the
  // transaction commits: the diff takes most of finalize's time, so now_ms
  // would leave it out of the run's duration. Unset: now_ms.
  std::function<int64_t()> end_ms;
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

// What one provider webhook changes in an instance's graph (ApplyPatch).
struct GraphPatch {
  std::string instance_id;
  // The provider's id of the event; a delivery the provider repeats has the
  // same one. Non-empty.
  std::string event_id;
  // When the objects below were current at the provider (ms since the epoch):
  // the event's time for data the webhook carried, the time of the read for
  // data fetched because of it. Orders the patch against other patches and
  // against runs (see ApplyPatch).
  int64_t as_of_ms = 0;
  // Objects as they are now, with their scopes as a run's task gives them
  // (events are ignored).
  v1::ResultBatch objects;
  // Entities gone at the provider. Each goes with the entities scoped to it
  // (recursively, among `entity_types`) and the relationships touching any of
  // them.
  std::vector<std::string> deleted_entity_keys;
  // The instance's entity types: where deletions look for scoped children.
  std::vector<std::string> entity_types;
  // The time of the changes logged and of the event's receipt.
  int64_t now_ms = 0;
};

// What ApplyPatch did.
struct PatchCounts {
  bool duplicate = false;  // the event id was applied before: nothing changed
  int64_t created = 0;
  int64_t updated = 0;
  int64_t deleted = 0;
  // Objects left as they were because newer data is in the graph (a later
  // patch, or a run that began after `as_of_ms`), plus relationships not
  // stored because an endpoint entity is not in the graph.
  int64_t skipped = 0;
};

// How long a webhook's event id is remembered, so a provider's retry of it is
// recognised (CircleCI and Heroku retry for hours, not days).
inline constexpr int64_t kWebhookEventRetentionMs =
    int64_t{7} * 24 * 3600 * 1000;

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

// The coordinator's durable state behind one interface: integration
// definitions, instances, runs and their steps, tasks with attempts and leases,
// staged task results, each instance's finalized graph, the change log and
// tokens. Each method states its contract; implementations (sqlite/) keep them
// exactly and are checked by one conformance suite. Implementations are
// thread-safe.
class Store {
 public:
  virtual ~Store() = default;

  // Opens the store `spec` names: a SQLite file path (":memory:" for tests;
  // see SqliteStore::Open). INVALID_ARGUMENT for a spec no implementation
  // takes.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& spec);

  // --- Integrations (as last advertised by a worker) ---
  virtual absl::Status PutIntegration(
      const v1::IntegrationDefinition& definition) = 0;
  // NOT_FOUND naming the integration.
  virtual absl::StatusOr<v1::IntegrationDefinition> GetIntegration(
      const std::string& name) = 0;
  virtual absl::StatusOr<std::vector<v1::IntegrationDefinition>>
  ListIntegrations() = 0;

  // --- Instances; config is returned as stored (unmasked): callers mask ---
  // ALREADY_EXISTS naming the id.
  virtual absl::Status CreateInstance(const v1::Instance& instance) = 0;
  // NOT_FOUND naming the id.
  virtual absl::StatusOr<v1::Instance> GetInstance(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<v1::Instance>> ListInstances() = 0;
  // Replaces the instance's settings (config, schedule, disabled steps, rate,
  // upload) and updated_at_ms. NOT_FOUND naming the id.
  virtual absl::Status UpdateInstance(const v1::Instance& instance) = 0;
  // Deletes the instance, its runs, tasks and graph; the graph's objects are
  // appended to the change log as deletions first, so subscribers see them go.
  // FAILED_PRECONDITION naming the active run if there is one.
  virtual absl::Status DeleteInstance(const std::string& id,
                                      int64_t now_ms) = 0;
  // The last schedule slot that fired for the instance (0: none).
  virtual absl::StatusOr<int64_t> GetLastScheduledSlot(
      const std::string& id) = 0;
  virtual absl::Status SetLastScheduledSlot(const std::string& id,
                                            int64_t slot_ms) = 0;

  // --- Runs ---
  // Creates a run in VALIDATING with one PENDING step row per definition step
  // and the validation task. FAILED_PRECONDITION naming the active run if the
  // instance has one. Steps in `disabled_steps` start DISABLED. A scheduled run
  // records the schedule slot it stands for in the same transaction (also when
  // it is refused because a run is active: the active run stands for the
  // slot), so a crash leaves either both or neither, and a slot starts one run
  // at most, exactly one unless a run was active: FAILED_PRECONDITION "slot ...
  // already fired" if the instance's last recorded slot is not older.
  // `incremental_since_ms` is kept as Run.incremental_since_ms (0: full).
  virtual absl::StatusOr<int64_t> CreateRun(
      const std::string& instance_id,
      const v1::IntegrationDefinition& definition, v1::RunTrigger trigger,
      const std::vector<std::string>& disabled_steps, int64_t now_ms,
      std::optional<int64_t> schedule_slot_ms = std::nullopt,
      int64_t incremental_since_ms = 0) = 0;
  // The run with steps, per-step type counts of committed attempts and of
  // attempts still running (arriving_type_counts), no events.
  virtual absl::StatusOr<v1::Run> GetRun(int64_t run_id) = 0;
  virtual absl::StatusOr<std::vector<v1::Run>> ListRuns(
      const std::string& instance_id, int limit) = 0;
  // Runs in VALIDATING or RUNNING.
  virtual absl::StatusOr<std::vector<int64_t>> ActiveRunIds() = 0;
  // The definition snapshot the run was planned with.
  virtual absl::StatusOr<v1::IntegrationDefinition> GetRunDefinition(
      int64_t run_id) = 0;
  virtual absl::Status SetRunStatus(int64_t run_id, v1::RunStatus status,
                                    const std::string& error,
                                    int64_t now_ms) = 0;
  virtual absl::Status SetRunUpload(int64_t run_id,
                                    const v1::UploadStatus& upload) = 0;
  // Ends an active run as CANCELLED: its unfinished tasks fail with "run
  // cancelled" and their staged objects are dropped. Returns the tasks that
  // were leased (to cancel on workers). FAILED_PRECONDITION if the run is not
  // active.
  virtual absl::StatusOr<std::vector<TaskRecord>> CancelRun(int64_t run_id,
                                                            int64_t now_ms) = 0;
  // The run's steps in definition order, with what their tasks reported
  // incomplete.
  virtual absl::StatusOr<std::vector<StepRecord>> GetSteps(int64_t run_id) = 0;
  virtual absl::Status SetStepStatus(int64_t run_id, const std::string& step_id,
                                     v1::StepStatus status,
                                     const std::string& error,
                                     int64_t now_ms) = 0;

  // Starts a step, once: in one transaction, the step goes PENDING -> RUNNING
  // with one PENDING task per shard (a step without a parent type has one,
  // empty shard) and its task total. Returns how many tasks it created.
  // FAILED_PRECONDITION if the step is not PENDING (an earlier process or
  // another replica started it), and nothing is created.
  virtual absl::StatusOr<int> StartStep(int64_t run_id,
                                        const std::string& step_id,
                                        const std::vector<v1::Shard>& shards,
                                        int64_t now_ms) = 0;

  // --- Tasks ---
  virtual absl::StatusOr<int64_t> CreateTask(int64_t run_id,
                                             const std::string& step_id,
                                             v1::TaskKind kind,
                                             const v1::Shard& shard) = 0;
  // A validation task outside any run (Admin.ValidateInstance).
  virtual absl::StatusOr<int64_t> CreateValidationTask(
      const std::string& instance_id) = 0;
  virtual absl::StatusOr<TaskRecord> GetTask(int64_t task_id) = 0;
  virtual absl::StatusOr<std::vector<TaskRecord>> TasksOfRun(
      int64_t run_id) = 0;
  // Up to `limit` pending tasks of active runs: unsharded ones (validations,
  // steps without a parent type) first, oldest first; then shards taking
  // turns by step (every step's oldest, then every step's second, ...). So a
  // step of one shard planned after hundreds of shards of another step is
  // among the first, and the dispatcher can ask for a few times its free
  // slots only.
  virtual absl::StatusOr<std::vector<TaskRecord>> PendingTasks(int limit) = 0;
  // PENDING -> LEASED with attempt+1 under `lease_id` (see
  // TaskAttempt.lease_id). Returns the new attempt.
  virtual absl::StatusOr<int32_t> LeaseTask(int64_t task_id,
                                            const std::string& worker_id,
                                            const std::string& lease_id,
                                            int64_t lease_expires_ms) = 0;
  // Extends the lease if `attempt` is current and leased to `worker_id`.
  virtual absl::Status RenewLease(int64_t task_id, int32_t attempt,
                                  const std::string& worker_id,
                                  int64_t lease_expires_ms) = 0;
  // LEASED tasks whose lease expired before `now_ms`, or held by `worker_id` if
  // not empty.
  virtual absl::StatusOr<std::vector<TaskRecord>> LeasedTasks(
      int64_t expired_before_ms, const std::string& worker_id) = 0;
  // Takes the lease back: the attempt's staged objects are dropped (no reader
  // sees them again; an implementation may reclaim their space later, at the
  // latest when the run is cancelled or a later run of the instance
  // finalizes); the task becomes PENDING, or FAILED with `error` if it has had
  // `max_attempts` attempts.
  virtual absl::Status ReleaseTask(int64_t task_id, int32_t attempt,
                                   int max_attempts,
                                   const std::string& error) = 0;

  // --- Results ---
  // Stages a batch of the current attempt (objects must be valid, scopes
  // parallel to them or absent). A key seen
  // before in the attempt keeps its first version; a different second version
  // raises a WARN event naming the differing fields and marks the type partial.
  // FAILED_PRECONDITION if the attempt is not current.
  virtual absl::Status StageBatch(const v1::TaskAttempt& attempt,
                                  const v1::ResultBatch& batch,
                                  int64_t now_ms) = 0;
  // Ends the attempt: its staged objects join the run (the first version of a
  // key wins: of two tasks' versions, the one committed first, with its scope;
  // identical duplicates merge silently, conflicting ones raise a WARN event,
  // of the later committer, naming the differing fields and mark the type
  // partial), its events join the run's events, type counts are added to the
  // step, what it reports `incomplete` (and its conflicts) is recorded for the
  // step (see GetSteps), and the task ends SUCCEEDED or FAILED. One
  // transaction.
  // FAILED_PRECONDITION if the attempt is stale.
  virtual absl::Status CommitAttempt(
      const v1::TaskAttempt& attempt, bool succeeded, const std::string& error,
      const std::vector<v1::Incompleteness>& incomplete) = 0;
  // Visits the run's staged entities of `type` with first_key <= key <=
  // last_key (empty bounds: open), in key order, in pages of `page_size`. Stops
  // at the first non-OK visit.
  virtual absl::Status ForEachStagedEntity(
      int64_t run_id, const std::string& type, const std::string& first_key,
      const std::string& last_key, int page_size,
      const std::function<absl::Status(const v1::Entity&)>& visit) = 0;
  // Visits every staged entity (or relationship) of the run in key order, in
  // pages; what a finalized run's upload sends. Stops at the first non-OK
  // visit.
  virtual absl::Status ForEachStagedObject(
      int64_t run_id, bool relationships, int page_size,
      const std::function<absl::Status(const std::string& data)>& visit) = 0;
  // True if the run's staged objects are still kept (they are pruned when a
  // later run of the instance finalizes).
  virtual absl::StatusOr<bool> HasStagedObjects(int64_t run_id) = 0;
  // Visits the keys of the run's staged entities of `type`, in key order.
  virtual absl::Status ForEachStagedKey(
      int64_t run_id, const std::string& type,
      const std::function<void(const std::string&)>& visit) = 0;

  // --- Finalize ---
  // One transaction: diff the run's staged objects against the instance's
  // graph and apply it, appending each change to the change log, and end the
  // run with `request.status` and `request.error` (and, if
  // `request.upload_pending`, an upload in state PENDING), so a crash leaves
  // either the old graph and an active run or the new graph and an ended run
  // with its upload handed off. An object the run did not collect is deleted
  // only when its type's rule (`rules`; absent: kDeleteMissing) allows it and,
  // if it has a scope, the scope was listed completely in this run (the scope's
  // entity was collected and no task reported the scope incomplete) or the
  // scope's entity is no longer in the graph. Relationships whose endpoint
  // entity is not in the resulting graph are dropped (with events) or deleted.
  // `incomplete_types` are recorded on the run (GetRun), and so are when
  // finalize began (`now_ms`) and committed (`end_ms`). Objects a webhook
  // patch marked after the run was created are left as the patch left them
  // (see ApplyPatch). FAILED_PRECONDITION if the run is not active (nothing is
  // changed).
  virtual absl::StatusOr<FinalizeCounts> Finalize(
      const FinalizeRequest& request) = 0;

  // --- Webhooks ---
  // One transaction: records `patch.event_id` for the instance (a repeat
  // changes nothing: `duplicate`; ids older than kWebhookEventRetentionMs are
  // forgotten), then writes the objects and deletions into the graph with a
  // change-log entry each (run id 0), exactly as a finalize would log them.
  // Order: each object the patch writes or deletes is marked with `as_of_ms`.
  // The patch leaves an object alone (skipped) if it bears a newer mark, or if
  // the instance's newest finalized run began after `as_of_ms` (the run read
  // the provider later). A run that began before a mark's time neither
  // overwrites, nor deletes, nor re-creates the marked object at its finalize
  // (Finalize drops marks no newer than its run's start). Relationships whose
  // endpoint entity is not in the graph afterwards are not stored (skipped).
  // NOT_FOUND for an unknown instance; INVALID_ARGUMENT for an empty event id
  // or scopes not parallel to their objects.
  virtual absl::StatusOr<PatchCounts> ApplyPatch(const GraphPatch& patch) = 0;

  // --- Events ---
  virtual absl::Status AddEvent(int64_t run_id, v1::EventLevel level,
                                const std::string& name,
                                const std::string& description,
                                const std::string& step_id, int64_t now_ms) = 0;
  // Events of the run with sequence > after_sequence, in order.
  virtual absl::StatusOr<std::vector<v1::Event>> ListEvents(
      int64_t run_id, int64_t after_sequence) = 0;

  // --- Graph reads (finalized graph) ---
  // Entities with key > after_key matching the filter, key order, at most
  // `limit`.
  virtual absl::StatusOr<std::vector<v1::Entity>> ListEntities(
      const v1::GraphFilter& filter, const std::string& after_key,
      int limit) = 0;
  virtual absl::StatusOr<std::vector<v1::Relationship>> ListRelationships(
      const v1::GraphFilter& filter, const std::string& after_key,
      int limit) = 0;
  // NOT_FOUND naming the key.
  virtual absl::StatusOr<v1::Entity> GetEntity(const std::string& instance_id,
                                               const std::string& key) = 0;
  // Relationships touching `key` (direction: 0 both, 1 out, 2 in) with the
  // entity at the other end, relationship key > after_key, key order.
  virtual absl::StatusOr<std::vector<NeighborRecord>> ListNeighbors(
      const std::string& instance_id, const std::string& key, int direction,
      const std::string& class_name, const std::string& after_key,
      int limit) = 0;
  // Visits the instance's graph entities of `type` with first_key <= key <=
  // last_key or, if `by_scope`, with a scope and first_key <= scope <=
  // last_key (empty bounds: open), with their scopes, in key order (by_scope:
  // scope, then key), a read transaction per page of `page_size`. What an
  // incremental run's tasks read (ReadEntitiesRequest.known). Stops at the
  // first non-OK visit.
  virtual absl::Status ForEachGraphEntity(
      const std::string& instance_id, const std::string& type,
      const std::string& first_key, const std::string& last_key, bool by_scope,
      int page_size,
      const std::function<absl::Status(const v1::Entity& entity,
                                       const std::string& scope)>& visit) = 0;
  // A consistent copy of the instance's graph: `header` gets the change-log
  // sequence it corresponds to, then entities and relationships follow in
  // pages. Other writers are not blocked (a separate read transaction).
  virtual absl::Status Snapshot(
      const std::string& instance_id, int page_size,
      const std::function<bool(int64_t as_of_sequence)>& header,
      const std::function<bool(const std::vector<v1::Entity>&,
                               const std::vector<v1::Relationship>&)>&
          page) = 0;

  // --- Change log ---
  virtual absl::StatusOr<ChangeLogBounds> GetChangeLogBounds() = 0;
  // Up to `limit` changes with sequence > after_sequence, in order.
  virtual absl::StatusOr<std::vector<ChangeRecord>> ReadChanges(
      int64_t after_sequence, int limit) = 0;
  // Drops changes older than `max_age_ms` (0: no age limit) and beyond the
  // newest `max_count` (0: no count limit). Returns how many were dropped.
  virtual absl::StatusOr<int64_t> PruneChanges(int64_t max_age_ms,
                                               int64_t max_count,
                                               int64_t now_ms) = 0;

  // --- Tokens (bearer tokens; only hashes are kept, see coordinator/auth) ---
  // Stores a token. INVALID_ARGUMENT for an unspecified role, ALREADY_EXISTS
  // naming the name if it is in use (or, never in practice, the hash).
  virtual absl::Status CreateToken(const std::string& name, v1::TokenRole role,
                                   const std::string& hash, int64_t now_ms) = 0;
  // All tokens ordered by name, without their hashes.
  virtual absl::StatusOr<std::vector<TokenRecord>> ListTokens() = 0;
  // Deletes the token's row, so it stops working at once and its name can be
  // used again. NOT_FOUND naming the name; FAILED_PRECONDITION if it is the
  // last admin token (create another admin token first).
  virtual absl::Status RevokeToken(const std::string& name) = 0;
  // The token with this hash. NOT_FOUND ("unknown or revoked token") if none.
  virtual absl::StatusOr<TokenRecord> FindTokenByHash(
      const std::string& hash) = 0;
  // True if at least one admin token exists.
  virtual absl::StatusOr<bool> HasAdminToken() = 0;
  // Changes (before CreateToken or RevokeToken returns) whenever this Store
  // creates or revokes a token, and soon after another replica does (see
  // WatchOtherReplicas), so verifiers may cache tokens until it moves.
  // Lock-free.
  virtual int64_t TokenGeneration() const = 0;

  // --- Replicas: several coordinator processes on one store ---
  // True if other coordinator processes may use the store at the same time
  // (PostgreSQL). Leases in the store may then be theirs, and run-level
  // decisions need HoldLeadership.
  virtual bool Shared() const = 0;
  // True while this process is the one replica that takes run-level
  // decisions (advancing and finalizing runs, uploads, schedules, change-log
  // retention); the role is taken when no live replica holds it, and a
  // replica that dies loses it. Always true for a store only one process can
  // open (SQLite). UNAVAILABLE if the store cannot be reached (not leader).
  virtual absl::StatusOr<bool> HoldLeadership() = 0;
  // `changed` (null: none) is called, on a thread of the store's and one call
  // at a time, soon after another replica commits a change to runs, tasks or
  // the change log (and when that cannot be known, e.g. after the store's
  // connection was lost). Replaces the previous callback; returns once no
  // call of the previous one is in progress. A store no other process uses
  // never calls it.
  virtual void WatchOtherReplicas(std::function<void()> changed) = 0;
};

// True for VALIDATING and RUNNING: the run may still change.
bool IsActiveRunStatus(v1::RunStatus status);

// An UploadStatus in state PENDING, serialized as runs store it.
std::string PendingUploadBytes();

// Deterministic serialization (map entries sorted), so equal objects have equal
// bytes and finalize can compare content by bytes.
std::string SerializeDeterministic(const google::protobuf::Message& message);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_STORE_STORE_H_
