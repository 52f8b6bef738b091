// SqliteStore: tasks, their leases, and cancelling a run's tasks.
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "common/status_macros.h"
#include "coordinator/store/sqlite/internal.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {

using sqlite::ActiveRunStatuses;
using sqlite::Code;
using sqlite::CollectTasks;
using sqlite::kTaskColumns;
using sqlite::UnfinishedTaskStates;

absl::StatusOr<std::vector<TaskRecord>> SqliteStore::CancelRun(int64_t run_id,
                                                               int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  std::vector<TaskRecord> leased;
  absl::Status status = Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement update,
        db_->Prepare(absl::StrCat(
            "UPDATE runs SET status = ?, ended_ms = ?, error = 'cancelled by "
            "an operator' WHERE id = ? AND status IN ",
            ActiveRunStatuses())));
    update.Bind(1, Code(v1::RUN_STATUS_CANCELLED))
        .Bind(2, now_ms)
        .Bind(3, run_id);
    GM_RETURN_IF_ERROR(update.Run());
    if (db_->changes() == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("run ", run_id, " is not active"));
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db_->Prepare(absl::StrCat("SELECT ", kTaskColumns,
                                  " FROM tasks WHERE run_id = ? AND "
                                  "state = ?")));
    select.Bind(1, run_id).Bind(2, Code(TaskState::kLeased));
    GM_ASSIGN_OR_RETURN(leased, CollectTasks(select));
    // ?1 run, ?2 failed.
    const std::string unfinished =
        absl::StrCat("(SELECT id FROM tasks WHERE run_id = ?1 AND state IN ",
                     UnfinishedTaskStates(), ")");
    // Every attempt's objects go, committed or not (see Store::CancelRun).
    const std::string statements[] = {
        absl::StrCat("DELETE FROM attempt_events WHERE task_id IN ",
                     unfinished),
        absl::StrCat("DELETE FROM attempt_incomplete WHERE task_id IN ",
                     unfinished),
        absl::StrCat("DELETE FROM attempt_type_counts WHERE task_id IN ",
                     unfinished),
        absl::StrCat("DELETE FROM attempt_shared_keys WHERE task_id IN ",
                     unfinished),
        absl::StrCat("UPDATE tasks SET state = ?2, error = 'run cancelled', "
                     "worker_id = '' WHERE run_id = ?1 AND state IN ",
                     UnfinishedTaskStates()),
    };
    for (const std::string& sql : statements) {
      GM_ASSIGN_OR_RETURN(SqliteStatement statement, db_->Prepare(sql));
      statement.Bind(1, run_id).Bind(2, Code(TaskState::kFailed));
      GM_RETURN_IF_ERROR(statement.Run());
    }
    return DropStagedTables("SELECT ?",
                            [&](SqliteStatement& s) { s.Bind(1, run_id); });
  });
  if (!status.ok()) return status;
  return leased;
}

absl::StatusOr<int64_t> SqliteStore::CreateTask(int64_t run_id,
                                                const std::string& step_id,
                                                v1::TaskKind kind,
                                                const v1::Shard& shard) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db_->Prepare("INSERT INTO tasks (run_id, instance_id, step_id, kind, "
                   "shard) SELECT ?1, instance_id, ?2, ?3, ?4 FROM runs "
                   "WHERE id = ?1"));
  insert.Bind(1, run_id).Bind(2, step_id).Bind(3, Code(kind));
  insert.BindBlob(4, SerializeDeterministic(shard));
  GM_RETURN_IF_ERROR(insert.Run());
  if (db_->changes() == 0)
    return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  return db_->last_insert_rowid();
}

absl::StatusOr<int64_t> SqliteStore::CreateValidationTask(
    const std::string& instance_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db_->Prepare("INSERT INTO tasks (run_id, instance_id, step_id, kind, "
                   "shard) VALUES (0, ?, '', ?, x'')"));
  insert.Bind(1, instance_id).Bind(2, Code(v1::TASK_KIND_VALIDATE_INVOCATION));
  GM_RETURN_IF_ERROR(insert.Run());
  return db_->last_insert_rowid();
}

namespace sqlite {

absl::StatusOr<TaskRecord> ReadTask(SqliteDatabase& db, int64_t task_id) {
  GM_ASSIGN_OR_RETURN(SqliteStatement select,
                      db.Prepare(absl::StrCat("SELECT ", kTaskColumns,
                                              " FROM tasks WHERE id = ?")));
  select.Bind(1, task_id);
  GM_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found)
    return absl::NotFoundError(absl::StrCat("task ", task_id, " not found"));
  return TaskFromRow(select);
}

}  // namespace sqlite

absl::StatusOr<TaskRecord> SqliteStore::GetTask(int64_t task_id) {
  return Read<TaskRecord>(
      [&](SqliteDatabase& db) { return sqlite::ReadTask(db, task_id); });
}

absl::StatusOr<std::vector<TaskRecord>> SqliteStore::TasksOfRun(
    int64_t run_id) {
  return Read<std::vector<TaskRecord>>(
      [&](SqliteDatabase& db) -> absl::StatusOr<std::vector<TaskRecord>> {
        GM_ASSIGN_OR_RETURN(SqliteStatement select,
                            db.Prepare(absl::StrCat(
                                "SELECT ", kTaskColumns,
                                " FROM tasks WHERE run_id = ? ORDER BY id")));
        select.Bind(1, run_id);
        return CollectTasks(select);
      });
}

absl::StatusOr<std::vector<TaskRecord>> SqliteStore::PendingTasks(int limit) {
  return Read<
      std::vector<TaskRecord>>([&](SqliteDatabase& db)
                                   -> absl::StatusOr<std::vector<TaskRecord>> {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db.Prepare(absl::StrCat(
            "SELECT ", kTaskColumns,
            " FROM tasks WHERE state = ?1 AND (run_id = 0 OR run_id IN (SELECT "
            "id FROM runs WHERE status IN ",
            ActiveRunStatuses(),
            // Unsharded tasks (an empty shard) first, then shards by their
            // rank within their step: a small step must not wait until
            // hundreds of older shards of another step are leased.
            ")) ORDER BY length(shard) > 0, "
            "row_number() OVER (PARTITION BY run_id, instance_id, step_id "
            "ORDER BY id), id LIMIT ?2")));
    select.Bind(1, Code(TaskState::kPending)).Bind(2, int64_t{limit});
    return CollectTasks(select);
  });
}

absl::StatusOr<int32_t> SqliteStore::LeaseTask(int64_t task_id,
                                               const std::string& worker_id,
                                               const std::string& lease_id,
                                               int64_t lease_expires_ms) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE tasks SET state = ?5, attempt = attempt + 1, "
                   "worker_id = ?1, lease_expires_ms = ?2, lease_id = ?3 "
                   "WHERE id = ?4 AND state = ?6 RETURNING attempt"));
  update.Bind(1, worker_id).Bind(2, lease_expires_ms).Bind(3, lease_id);
  update.Bind(4, task_id)
      .Bind(5, Code(TaskState::kLeased))
      .Bind(6, Code(TaskState::kPending));
  GM_ASSIGN_OR_RETURN(bool leased, update.Step());
  if (!leased) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", task_id, " is not pending"));
  }
  const int32_t attempt = static_cast<int32_t>(update.ColumnInt(0));
  GM_RETURN_IF_ERROR(update.Run());
  return attempt;
}

absl::Status SqliteStore::RenewLease(int64_t task_id, int32_t attempt,
                                     const std::string& worker_id,
                                     int64_t lease_expires_ms) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE tasks SET lease_expires_ms = ? WHERE id = ? AND "
                   "attempt = ? AND worker_id = ? AND state = ?"));
  update.Bind(1, lease_expires_ms)
      .Bind(2, task_id)
      .Bind(3, int64_t{attempt})
      .Bind(4, worker_id)
      .Bind(5, Code(TaskState::kLeased));
  return update.Run();
}

absl::StatusOr<std::vector<TaskRecord>> SqliteStore::LeasedTasks(
    int64_t expired_before_ms, const std::string& worker_id) {
  return Read<std::vector<TaskRecord>>(
      [&](SqliteDatabase& db) -> absl::StatusOr<std::vector<TaskRecord>> {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db.Prepare(absl::StrCat(
                "SELECT ", kTaskColumns,
                " FROM tasks WHERE state = ?3 AND (lease_expires_ms < ?1 OR "
                "(?2 != '' AND worker_id = ?2)) ORDER BY id")));
        select.Bind(1, expired_before_ms)
            .Bind(2, worker_id)
            .Bind(3, Code(TaskState::kLeased));
        return CollectTasks(select);
      });
}

absl::Status SqliteStore::ReleaseTask(int64_t task_id, int32_t attempt,
                                      int max_attempts,
                                      const std::string& error) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement update,
        db_->Prepare("UPDATE tasks SET state = CASE WHEN attempt >= ?1 THEN ?5 "
                     "ELSE ?6 END, error = ?2, worker_id = '' WHERE id = ?3 "
                     "AND attempt = ?4 AND state = ?7"));
    update.Bind(1, int64_t{max_attempts})
        .Bind(2, error)
        .Bind(3, task_id)
        .Bind(4, int64_t{attempt})
        .Bind(5, Code(TaskState::kFailed))
        .Bind(6, Code(TaskState::kPending))
        .Bind(7, Code(TaskState::kLeased));
    GM_RETURN_IF_ERROR(update.Run());
    // The attempt's staged objects are left where they are: no reader sees
    // them (its attempt is never committed), and they go with the run's
    // other staged rows (see the schema). Finding them now would cost a scan
    // of the run's rows, as they are keyed for the readers.
    return DiscardAttemptRecords(task_id, attempt);
  });
}

}  // namespace graphmill::coordinator
