// Implementation of coordinator/store/sqlite/internal.h.
#include "coordinator/store/sqlite/internal.h"

#include "absl/strings/str_join.h"
#include "absl/strings/substitute.h"
#include "common/status_macros.h"

namespace graphmill::coordinator::sqlite {

std::string CodeList(std::initializer_list<int64_t> codes) {
  return absl::StrCat("(", absl::StrJoin(codes, ", "), ")");
}

const std::string& ActiveRunStatuses() {
  static const std::string* const kList = new std::string(CodeList(
      {Code(v1::RUN_STATUS_VALIDATING), Code(v1::RUN_STATUS_RUNNING)}));
  return *kList;
}

const std::string& UnfinishedTaskStates() {
  static const std::string* const kList = new std::string(
      CodeList({Code(TaskState::kPending), Code(TaskState::kLeased)}));
  return *kList;
}

const std::string& EndedTaskStates() {
  static const std::string* const kList = new std::string(
      CodeList({Code(TaskState::kSucceeded), Code(TaskState::kFailed)}));
  return *kList;
}

std::string StagedTable(int64_t run_id) {
  return absl::StrCat("staged_", run_id);
}

std::string StagedTableSchema(int64_t run_id) {
  // Every object a task attempt of the run staged, written once, by
  // StageBatch. A row joins the run when its task's committed_attempt names
  // its attempt; rows of other attempts are never read and go with the table.
  // Among committed rows a key is unique (CommitAttempt drops a later copy).
  // object: kEntityObject or kRelationshipObject; scope: the key of the parent
  // entity whose listing produced the object ('' unscoped).
  return absl::Substitute(
      "CREATE TABLE IF NOT EXISTS $0 (object INTEGER NOT NULL, key TEXT NOT "
      "NULL, task_id INTEGER NOT NULL, attempt INTEGER NOT NULL, type TEXT NOT "
      "NULL, classes TEXT NOT NULL, from_key TEXT NOT NULL, to_key TEXT NOT "
      "NULL, data BLOB NOT NULL, props TEXT NOT NULL, scope TEXT NOT NULL, "
      "PRIMARY KEY (object, key, task_id, attempt)) WITHOUT ROWID;"
      "CREATE INDEX IF NOT EXISTS $0_by_type ON $0(object, type, key);",
      StagedTable(run_id));
}

std::string CommittedRows(int64_t run_id) {
  return absl::StrCat(StagedTable(run_id),
                      " s JOIN tasks t ON t.id = s.task_id AND "
                      "t.committed_attempt = s.attempt");
}

std::string JoinClasses(
    const google::protobuf::RepeatedPtrField<std::string>& classes) {
  return absl::StrCat("|", absl::StrJoin(classes, "|"), "|");
}

absl::StatusOr<TaskRecord> TaskFromRow(const SqliteStatement& row) {
  TaskRecord task;
  task.id = row.ColumnInt(0);
  task.run_id = row.ColumnInt(1);
  task.step_id = row.ColumnText(2);
  task.kind = static_cast<v1::TaskKind>(row.ColumnInt(3));
  GM_ASSIGN_OR_RETURN(task.shard,
                      Parse<v1::Shard>(row.ColumnView(4), "task shard"));
  task.attempt = static_cast<int32_t>(row.ColumnInt(5));
  task.state = static_cast<TaskState>(row.ColumnInt(6));
  task.worker_id = row.ColumnText(7);
  task.lease_expires_ms = row.ColumnInt(8);
  task.error = row.ColumnText(9);
  task.instance_id = row.ColumnText(10);
  task.lease_id = row.ColumnText(11);
  return task;
}

absl::StatusOr<std::vector<TaskRecord>> CollectTasks(SqliteStatement& select) {
  std::vector<TaskRecord> tasks;
  GM_RETURN_IF_ERROR(
      select.ForEachRow([&](const SqliteStatement& row) -> absl::Status {
        GM_ASSIGN_OR_RETURN(TaskRecord task, TaskFromRow(row));
        tasks.push_back(std::move(task));
        return absl::OkStatus();
      }));
  return tasks;
}

std::string InstanceSettings(const v1::Instance& instance) {
  v1::Instance settings = instance;
  settings.clear_id();
  settings.clear_integration();
  settings.clear_created_at_ms();
  settings.clear_updated_at_ms();
  settings.clear_next_run_at_ms();
  return SerializeDeterministic(settings);
}

}  // namespace graphmill::coordinator::sqlite
