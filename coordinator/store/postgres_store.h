// The Store on PostgreSQL (a libpq connection URI). Implemented in
// coordinator/store/postgres/, one file per concern (schema.cc: the schema and
// its migrations; staging.cc: how a run's objects are staged once; finalize.cc:
// the set-based diff into the graph).
//
// Thread safety: thread-safe. Calls are serialized on one connection (mu_);
// paged reads (ForEachStaged*, Snapshot) release it between pages, and
// Snapshot reads on a connection of its own. Each multi-statement operation is
// one transaction that locks the rows it decides on (instance, run, task,
// admin tokens) and appends to the change log under a table lock, so change
// sequence order is commit order.
// Ownership: the store owns its connection; callers own what they pass.
// Errors: as store.h says per method, plus UNAVAILABLE when the server cannot
// be reached (the connection is re-established on the next call outside a
// transaction) and the codes PgConnection::Query maps server errors to.
#ifndef GRAPHMILL_COORDINATOR_STORE_POSTGRES_STORE_H_
#define GRAPHMILL_COORDINATOR_STORE_POSTGRES_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/store/postgres.h"
#include "coordinator/store/postgres/replicas.h"
#include "coordinator/store/store.h"

namespace graphmill::coordinator {

class PostgresStore final : public Store {
 public:
  // Connects to the database `uri` names (postgresql://... or postgres://...),
  // creates the schema if it is missing and migrates an older one (version 2)
  // to the current version, in one transaction. UNAVAILABLE naming the URI
  // (password redacted) if the server cannot be reached; FAILED_PRECONDITION
  // if the database holds a schema version this code does not know.
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(
      const std::string& uri);

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
  bool Shared() const override { return true; }
  absl::StatusOr<bool> HoldLeadership() override { return leadership_.Hold(); }
  void WatchOtherReplicas(std::function<void()> changed) override;

 private:
  PostgresStore(std::unique_ptr<PgConnection> db, std::string uri);
  // Tells the other replicas (NOTIFY, delivered when the current transaction
  // commits, at once outside one) that `change` happened.
  absl::Status NotifyReplicas(ReplicaChange change)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // NotifyReplicas after a statement that committed on its own: a failure is
  // only logged (replicas see the change at their next tick anyway).
  void WakeReplicas(ReplicaChange change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The listener's callback: what another replica changed.
  void OtherReplicaChanged(ReplicaChange change);
  absl::Status Migrate();
  // Runs `body` in a READ COMMITTED transaction, committing on OK and rolling
  // back otherwise; retried (up to 3 times) after a serialization failure or
  // deadlock, so `body` must set its outputs afresh.
  absl::Status Transaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `body` in a read-only REPEATABLE READ transaction: its statements see
  // one snapshot.
  absl::Status ReadTransaction(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Taken by transactions that append to the change log, before they do: they
  // commit in the order of the sequences they get (see the .cc).
  absl::Status LockChangeLog() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<v1::Run> GetRunLocked(int64_t run_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  template <typename Object>
  absl::StatusOr<std::vector<Object>> ListGraphObjects(
      const v1::GraphFilter& filter, int object, const std::string& after_key,
      int limit);
  // The task row; with `lock`, locked until the transaction ends.
  absl::StatusOr<TaskRecord> GetTaskLocked(int64_t task_id, bool lock)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Locks the task and checks that `attempt` holds its lease (`task`: the
  // task row).
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

  // Kept for Snapshot's own connection; never put in messages unredacted.
  const std::string uri_;
  absl::Mutex mu_;
  std::unique_ptr<PgConnection> db_ ABSL_GUARDED_BY(mu_);
  // See TokenGeneration().
  std::atomic<int64_t> token_generation_{0};
  // Names this process in its notifications, so it ignores its own.
  const std::string replica_id_;
  PgLeadership leadership_;
  absl::Mutex watch_mu_;
  std::function<void()> watcher_ ABSL_GUARDED_BY(watch_mu_);
  // Last: stopped first when the store is destroyed, before what it calls.
  std::unique_ptr<PgChangeListener> listener_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_STORE_POSTGRES_STORE_H_
