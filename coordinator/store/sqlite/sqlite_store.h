// The Store on one SQLite file in WAL mode.
//
// Contracts: every method keeps the one store.h states for it; errors are
// those store.h names, INTERNAL for SQLite's own and DATA_LOSS for a row that
// does not parse.
// Thread safety: thread-safe. Changes are serialized on one writing
// connection (a mutex). On a file store, reads (Get*, List*, ForEachStaged*,
// ReadChanges, Snapshot, ...) run concurrently on a pool of read-only
// connections, each in one read transaction that sees every commit that
// returned before it began (sqlite/connections.h); WAL checkpoints run on a
// thread of their own. An in-memory store reads on the writer, under the mutex.
// Ownership: the store owns its connections and, for a file, an exclusive lock
// on `<path>.lock` for as long as it is open, so one coordinator owns a file.
//
// Write path (schema version 3): StageBatch writes each object once, into its
// run's table (staged_<run>), keyed by the attempt that staged it; no other
// call copies it. CommitAttempt writes no object: the task records which
// attempt is committed, and only committed attempts' rows are the run's (every
// reader joins tasks). Finalize writes each created or changed object once
// into graph_objects and once into the change log; a run's staged table is
// dropped when the run is cancelled or a later run of its instance finalizes.
// The implementation is split by concern over coordinator/store/sqlite/*.cc:
// schema.cc (schema, migrations, transactions), instances.cc (integrations,
// instances, tokens), runs.cc, tasks.cc, staging.cc, finalize.cc, graph.cc
// (graph reads, snapshots) and changes.cc (change log).
#ifndef GRAPHMILL_COORDINATOR_STORE_SQLITE_SQLITE_STORE_H_
#define GRAPHMILL_COORDINATOR_STORE_SQLITE_SQLITE_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/store/file_lock.h"
#include "coordinator/store/sqlite/connections.h"
#include "coordinator/store/sqlite/database.h"
#include "coordinator/store/store.h"

namespace graphmill::coordinator {

class SqliteStore final : public Store {
 public:
  // Opens or creates the store at `path` (":memory:" for tests) and migrates
  // the schema. A file store is locked exclusively (`<path>.lock`) for as long
  // as it is open: FAILED_PRECONDITION naming the holder if another
  // coordinator (or Store) has it.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      const std::string& path);

  absl::Status PutIntegration(
      const v1::IntegrationDefinition& definition) override;
  absl::StatusOr<v1::IntegrationDefinition> GetIntegration(
      const std::string& name) override;
  absl::StatusOr<std::vector<v1::IntegrationDefinition>> ListIntegrations()
      override;
  absl::Status CreateInstance(const v1::Instance& instance) override;
  absl::StatusOr<v1::Instance> GetInstance(const std::string& id) override;
  absl::StatusOr<std::vector<v1::Instance>> ListInstances() override;
  absl::Status UpdateInstance(const v1::Instance& instance) override;
  absl::Status DeleteInstance(const std::string& id, int64_t now_ms) override;
  absl::StatusOr<int64_t> GetLastScheduledSlot(const std::string& id) override;
  absl::Status SetLastScheduledSlot(const std::string& id,
                                    int64_t slot_ms) override;
  absl::StatusOr<int64_t> CreateRun(
      const std::string& instance_id,
      const v1::IntegrationDefinition& definition, v1::RunTrigger trigger,
      const std::vector<std::string>& disabled_steps, int64_t now_ms,
      std::optional<int64_t> schedule_slot_ms,
      int64_t incremental_since_ms) override;
  absl::StatusOr<v1::Run> GetRun(int64_t run_id) override;
  absl::StatusOr<std::vector<v1::Run>> ListRuns(const std::string& instance_id,
                                                int limit) override;
  absl::StatusOr<std::vector<int64_t>> ActiveRunIds() override;
  absl::StatusOr<v1::IntegrationDefinition> GetRunDefinition(
      int64_t run_id) override;
  absl::Status SetRunStatus(int64_t run_id, v1::RunStatus status,
                            const std::string& error, int64_t now_ms) override;
  absl::Status SetRunUpload(int64_t run_id,
                            const v1::UploadStatus& upload) override;
  absl::StatusOr<std::vector<TaskRecord>> CancelRun(int64_t run_id,
                                                    int64_t now_ms) override;
  absl::StatusOr<std::vector<StepRecord>> GetSteps(int64_t run_id) override;
  absl::Status SetStepStatus(int64_t run_id, const std::string& step_id,
                             v1::StepStatus status, const std::string& error,
                             int64_t now_ms) override;
  absl::StatusOr<int> StartStep(int64_t run_id, const std::string& step_id,
                                const std::vector<v1::Shard>& shards,
                                int64_t now_ms) override;
  absl::StatusOr<int64_t> CreateTask(int64_t run_id, const std::string& step_id,
                                     v1::TaskKind kind,
                                     const v1::Shard& shard) override;
  absl::StatusOr<int64_t> CreateValidationTask(
      const std::string& instance_id) override;
  absl::StatusOr<TaskRecord> GetTask(int64_t task_id) override;
  absl::StatusOr<std::vector<TaskRecord>> TasksOfRun(int64_t run_id) override;
  absl::StatusOr<std::vector<TaskRecord>> PendingTasks(int limit) override;
  absl::StatusOr<int32_t> LeaseTask(int64_t task_id,
                                    const std::string& worker_id,
                                    const std::string& lease_id,
                                    int64_t lease_expires_ms) override;
  absl::Status RenewLease(int64_t task_id, int32_t attempt,
                          const std::string& worker_id,
                          int64_t lease_expires_ms) override;
  absl::StatusOr<std::vector<TaskRecord>> LeasedTasks(
      int64_t expired_before_ms, const std::string& worker_id) override;
  absl::Status ReleaseTask(int64_t task_id, int32_t attempt, int max_attempts,
                           const std::string& error) override;
  absl::Status StageBatch(const v1::TaskAttempt& attempt,
                          const v1::ResultBatch& batch,
                          int64_t now_ms) override;
  absl::Status CommitAttempt(
      const v1::TaskAttempt& attempt, bool succeeded, const std::string& error,
      const std::vector<v1::Incompleteness>& incomplete) override;
  absl::Status ForEachStagedEntity(
      int64_t run_id, const std::string& type, const std::string& first_key,
      const std::string& last_key, int page_size,
      const std::function<absl::Status(const v1::Entity&)>& visit) override;
  absl::Status ForEachStagedObject(
      int64_t run_id, bool relationships, int page_size,
      const std::function<absl::Status(const std::string& data)>& visit)
      override;
  absl::StatusOr<bool> HasStagedObjects(int64_t run_id) override;
  absl::Status ForEachStagedKey(
      int64_t run_id, const std::string& type,
      const std::function<void(const std::string&)>& visit) override;
  absl::StatusOr<FinalizeCounts> Finalize(
      const FinalizeRequest& request) override;
  absl::StatusOr<PatchCounts> ApplyPatch(const GraphPatch& patch) override;
  absl::Status AddEvent(int64_t run_id, v1::EventLevel level,
                        const std::string& name, const std::string& description,
                        const std::string& step_id, int64_t now_ms) override;
  absl::StatusOr<std::vector<v1::Event>> ListEvents(
      int64_t run_id, int64_t after_sequence) override;
  absl::StatusOr<std::vector<v1::Entity>> ListEntities(
      const v1::GraphFilter& filter, const std::string& after_key,
      int limit) override;
  absl::StatusOr<std::vector<v1::Relationship>> ListRelationships(
      const v1::GraphFilter& filter, const std::string& after_key,
      int limit) override;
  absl::Status ForEachGraphEntity(
      const std::string& instance_id, const std::string& type,
      const std::string& first_key, const std::string& last_key, bool by_scope,
      int page_size,
      const std::function<absl::Status(
          const v1::Entity& entity, const std::string& scope)>& visit) override;
  absl::StatusOr<v1::Entity> GetEntity(const std::string& instance_id,
                                       const std::string& key) override;
  absl::StatusOr<std::vector<NeighborRecord>> ListNeighbors(
      const std::string& instance_id, const std::string& key, int direction,
      const std::string& class_name, const std::string& after_key,
      int limit) override;
  absl::Status Snapshot(
      const std::string& instance_id, int page_size,
      const std::function<bool(int64_t as_of_sequence)>& header,
      const std::function<bool(const std::vector<v1::Entity>&,
                               const std::vector<v1::Relationship>&)>& page)
      override;
  absl::StatusOr<ChangeLogBounds> GetChangeLogBounds() override;
  absl::StatusOr<std::vector<ChangeRecord>> ReadChanges(int64_t after_sequence,
                                                        int limit) override;
  absl::StatusOr<int64_t> PruneChanges(int64_t max_age_ms, int64_t max_count,
                                       int64_t now_ms) override;
  absl::Status CreateToken(const std::string& name, v1::TokenRole role,
                           const std::string& hash, int64_t now_ms) override;
  absl::StatusOr<std::vector<TokenRecord>> ListTokens() override;
  absl::Status RevokeToken(const std::string& name) override;
  absl::StatusOr<TokenRecord> FindTokenByHash(const std::string& hash) override;
  absl::StatusOr<bool> HasAdminToken() override;
  int64_t TokenGeneration() const override {
    return token_generation_.load(std::memory_order_acquire);
  }
  // One process has the file (its lock): it is the only replica.
  bool Shared() const override { return false; }
  absl::StatusOr<bool> HoldLeadership() override { return true; }
  void WatchOtherReplicas(std::function<void()>) override {}

 private:
  SqliteStore(std::unique_ptr<SqliteDatabase> db, std::string path)
      : path_(std::move(path)), db_(std::move(db)) {}
  // Brings the schema to the current version (sqlite/schema.cc).
  absl::Status Migrate();
  // Schema version 1 -> 2 (scopes, incompleteness with reasons).
  absl::Status MigrateFrom1() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Schema version 2 -> 3 (objects staged once, per attempt, a table per run).
  absl::Status MigrateFrom2() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Entities or relationships (`object`, a sqlite::k*Object) of the finalized
  // graph, filtered.
  template <typename Object>
  absl::StatusOr<std::vector<Object>> ListGraphObjects(
      const v1::GraphFilter& filter, int64_t object,
      const std::string& after_key, int limit);
  // Runs `read` in one read transaction: on a connection of the reader pool
  // for a file store (concurrently with writes and other reads), on the writer
  // under mu_ for an in-memory one.
  absl::Status ReadOnly(absl::FunctionRef<absl::Status(SqliteDatabase&)> read)
      ABSL_LOCKS_EXCLUDED(mu_);
  // ReadOnly for a read that returns a value.
  template <typename T>
  absl::StatusOr<T> Read(
      absl::FunctionRef<absl::StatusOr<T>(SqliteDatabase&)> read)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::StatusOr<T> result = absl::UnknownError("not read");
    absl::Status status = ReadOnly([&](SqliteDatabase& db) {
      result = read(db);
      return result.status();
    });
    if (!status.ok()) return status;
    return result;
  }
  // Runs `body` in a transaction, committing on OK and rolling back otherwise.
  absl::Status Transaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads the attempt's task into `task`; FAILED_PRECONDITION (CheckLease)
  // unless the attempt holds the task's current lease.
  absl::Status CheckCurrentAttempt(const v1::TaskAttempt& attempt,
                                   TaskRecord* task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Finalize's relationships whose endpoint entity is not in the graph: WARN
  // events (at most 100 and a sum), and they leave the run. Returns how many.
  absl::StatusOr<int64_t> DropDanglingRelationships(
      const FinalizeRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the staged objects of the runs `run_ids` selects (a query of run
  // ids, with `bind` binding its parameters).
  absl::Status DropStagedTables(
      const std::string& run_ids,
      const std::function<void(SqliteStatement&)>& bind)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes what an attempt recorded besides its objects (events, incomplete
  // reports, type counts, shared keys): at its commit, release or cancel.
  absl::Status DiscardAttemptRecords(int64_t task_id, int64_t attempt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Records a duplicate-key conflict of the attempt: a WARN event naming the
  // fields in which `second` differs from `first` (serialized objects of kind
  // `object`), and `type` partial.
  absl::Status RecordConflict(const v1::TaskAttempt& attempt, int64_t object,
                              const std::string& type, const std::string& key,
                              absl::string_view first, absl::string_view second,
                              int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  // Held while the store is open (none for ":memory:").
  std::optional<FileLock> lock_;
  absl::Mutex mu_;
  std::unique_ptr<SqliteDatabase> db_ ABSL_GUARDED_BY(mu_);
  // File stores only (null for ":memory:"). Declared after db_, so destroyed
  // before it: the checkpointer unhooks the writer.
  std::unique_ptr<SqliteReaders> readers_;
  std::unique_ptr<SqliteCheckpointer> checkpointer_;
  // See TokenGeneration().
  std::atomic<int64_t> token_generation_{0};
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_STORE_SQLITE_SQLITE_STORE_H_
