// PostgresStore: tasks and their leases.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/store/postgres/internal.h"
#include "coordinator/store/postgres_store.h"

namespace graphmill::coordinator {

using namespace postgres_internal;  // NOLINT(build/namespaces): one module

// --- Tasks ---

absl::StatusOr<int64_t> PostgresStore::CreateTask(int64_t run_id,
                                                  const std::string& step_id,
                                                  v1::TaskKind kind,
                                                  const v1::Shard& shard) {
  absl::MutexLock lock(&mu_);
  constexpr char kInsert[] = R"sql(
      INSERT INTO tasks (run_id, instance_id, step_id, kind, shard)
      SELECT $1, instance_id, $2, $3, $4 FROM runs WHERE id = $1
      RETURNING id)sql";
  GM_ASSIGN_OR_RETURN(
      PgResult inserted,
      db_->Query(kInsert, PgParams().Int(run_id).Text(step_id).Int(kind).Bytes(
                              SerializeDeterministic(shard))));
  if (inserted.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  }
  return inserted.Int(0, 0);
}

absl::StatusOr<int> PostgresStore::StartStep(
    int64_t run_id, const std::string& step_id,
    const std::vector<v1::Shard>& shards, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> serialized;
  serialized.reserve(shards.size());
  for (const v1::Shard& shard : shards) {
    serialized.push_back(SerializeDeterministic(shard));
  }
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    // One conditional update decides: of two replicas starting the step, the
    // second finds it no longer pending once the first commits.
    constexpr char kStart[] = R"sql(
        UPDATE steps SET status = $1, tasks_total = $2,
          started_ms = CASE WHEN started_ms = 0 THEN $3 ELSE started_ms END
        WHERE run_id = $4 AND step_id = $5 AND status = $6)sql";
    GM_ASSIGN_OR_RETURN(PgResult started,
                        db_->Query(kStart, PgParams()
                                               .Int(v1::STEP_STATUS_RUNNING)
                                               .Int(shards.size())
                                               .Int(now_ms)
                                               .Int(run_id)
                                               .Text(step_id)
                                               .Int(v1::STEP_STATUS_PENDING)));
    if (started.affected() == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("run ", run_id, " step '", step_id, "' is not pending"));
    }
    constexpr char kInsert[] = R"sql(
        INSERT INTO tasks (run_id, instance_id, step_id, kind, shard)
        SELECT $1, runs.instance_id, $2, $3, shard
        FROM runs, unnest($4::bytea[]) WITH ORDINALITY AS s(shard, position)
        WHERE runs.id = $1 ORDER BY position)sql";
    GM_RETURN_IF_ERROR(db_->Query(kInsert, PgParams()
                                               .Int(run_id)
                                               .Text(step_id)
                                               .Int(v1::TASK_KIND_STEP)
                                               .BytesArray(serialized))
                           .status());
    // The step's tasks exist: replicas with free workers may lease them.
    return NotifyReplicas(ReplicaChange::kRuns);
  }));
  return static_cast<int>(shards.size());
}

absl::StatusOr<int64_t> PostgresStore::CreateValidationTask(
    const std::string& instance_id) {
  absl::MutexLock lock(&mu_);
  constexpr char kInsert[] = R"sql(
      INSERT INTO tasks (run_id, instance_id, step_id, kind, shard)
      VALUES (0, $1, '', $2, '') RETURNING id)sql";
  GM_ASSIGN_OR_RETURN(
      PgResult inserted,
      db_->Query(
          kInsert,
          PgParams().Text(instance_id).Int(v1::TASK_KIND_VALIDATE_INVOCATION)));
  WakeReplicas(ReplicaChange::kRuns);
  return inserted.Int(0, 0);
}

absl::StatusOr<TaskRecord> PostgresStore::GetTaskLocked(int64_t task_id,
                                                        bool lock) {
  GM_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks,
                      CollectTasks(*db_,
                                   absl::StrCat("SELECT ", kTaskColumns,
                                                " FROM tasks WHERE id = $1",
                                                lock ? " FOR UPDATE" : ""),
                                   PgParams().Int(task_id)));
  if (tasks.empty()) {
    return absl::NotFoundError(absl::StrCat("task ", task_id, " not found"));
  }
  return std::move(tasks.front());
}

absl::StatusOr<TaskRecord> PostgresStore::GetTask(int64_t task_id) {
  absl::MutexLock lock(&mu_);
  return GetTaskLocked(task_id, /*lock=*/false);
}

absl::StatusOr<std::vector<TaskRecord>> PostgresStore::TasksOfRun(
    int64_t run_id) {
  absl::MutexLock lock(&mu_);
  return CollectTasks(*db_,
                      absl::StrCat("SELECT ", kTaskColumns,
                                   " FROM tasks WHERE run_id = $1 ORDER BY id"),
                      PgParams().Int(run_id));
}

absl::StatusOr<std::vector<TaskRecord>> PostgresStore::PendingTasks(int limit) {
  absl::MutexLock lock(&mu_);
  return CollectTasks(
      *db_,
      absl::StrCat("SELECT ", kTaskColumns,
                   " FROM tasks WHERE state = ", StateCode(TaskState::kPending),
                   " AND (run_id = 0 OR run_id IN "
                   "(SELECT id FROM runs WHERE status IN ",
                   ActiveRunStatuses(),
                   // Unsharded tasks (an empty shard) first, then shards by
                   // their rank within their step: a small step must not
                   // wait until hundreds of older shards of another step are
                   // leased.
                   ")) ORDER BY octet_length(shard) > 0, "
                   "row_number() OVER (PARTITION BY run_id, instance_id, "
                   "step_id ORDER BY id), id LIMIT $1"),
      PgParams().Limit(limit));
}

absl::StatusOr<int32_t> PostgresStore::LeaseTask(int64_t task_id,
                                                 const std::string& worker_id,
                                                 const std::string& lease_id,
                                                 int64_t lease_expires_ms) {
  absl::MutexLock lock(&mu_);
  // One statement: of two coordinators leasing the same task, the second
  // finds it no longer pending once the first commits.
  constexpr char kLease[] = R"sql(
      UPDATE tasks SET state = $5, attempt = attempt + 1, worker_id = $1,
        lease_expires_ms = $2, lease_id = $3
      WHERE id = $4 AND state = $6 RETURNING attempt)sql";
  GM_ASSIGN_OR_RETURN(
      PgResult leased,
      db_->Query(kLease, PgParams()
                             .Text(worker_id)
                             .Int(lease_expires_ms)
                             .Text(lease_id)
                             .Int(task_id)
                             .Int(StateCode(TaskState::kLeased))
                             .Int(StateCode(TaskState::kPending))));
  if (leased.rows() == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", task_id, " is not pending"));
  }
  return static_cast<int32_t>(leased.Int(0, 0));
}

absl::Status PostgresStore::RenewLease(int64_t task_id, int32_t attempt,
                                       const std::string& worker_id,
                                       int64_t lease_expires_ms) {
  absl::MutexLock lock(&mu_);
  constexpr char kRenew[] = R"sql(
      UPDATE tasks SET lease_expires_ms = $1
      WHERE id = $2 AND attempt = $3 AND worker_id = $4 AND state = $5)sql";
  return db_
      ->Query(kRenew, PgParams()
                          .Int(lease_expires_ms)
                          .Int(task_id)
                          .Int(attempt)
                          .Text(worker_id)
                          .Int(StateCode(TaskState::kLeased)))
      .status();
}

absl::StatusOr<std::vector<TaskRecord>> PostgresStore::LeasedTasks(
    int64_t expired_before_ms, const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  return CollectTasks(
      *db_,
      absl::StrCat("SELECT ", kTaskColumns,
                   " FROM tasks WHERE state = $3 AND "
                   "(lease_expires_ms < $1 OR "
                   "($2 != '' AND worker_id = $2)) ORDER BY id"),
      PgParams()
          .Int(expired_before_ms)
          .Text(worker_id)
          .Int(StateCode(TaskState::kLeased)));
}

absl::Status PostgresStore::ReleaseTask(int64_t task_id, int32_t attempt,
                                        int max_attempts,
                                        const std::string& error) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    constexpr char kRelease[] = R"sql(
        UPDATE tasks SET state = CASE WHEN attempt >= $1 THEN $5 ELSE $6 END,
          error = $2, worker_id = ''
        WHERE id = $3 AND attempt = $4 AND state = $7)sql";
    GM_ASSIGN_OR_RETURN(
        PgResult released,
        db_->Query(kRelease, PgParams()
                                 .Int(max_attempts)
                                 .Text(error)
                                 .Int(task_id)
                                 .Int(attempt)
                                 .Int(StateCode(TaskState::kFailed))
                                 .Int(StateCode(TaskState::kPending))
                                 .Int(StateCode(TaskState::kLeased))));
    // Only an attempt that held the lease has rows to drop: those of a stale
    // attempt went when it was released, and a committed attempt's objects
    // belong to its run.
    if (released.affected() == 0) return absl::OkStatus();
    for (const char* table : {"staged_objects", "attempt_events",
                              "attempt_incomplete", "attempt_type_counts"}) {
      GM_RETURN_IF_ERROR(
          db_->Query(absl::StrCat("DELETE FROM ", table,
                                  " WHERE task_id = $1 AND attempt = $2"),
                     PgParams().Int(task_id).Int(attempt))
              .status());
    }
    return NotifyReplicas(ReplicaChange::kRuns);
  });
}

}  // namespace graphmill::coordinator
