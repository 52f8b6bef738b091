// Implementation of coordinator/store/sqlite_store.h.
#include "coordinator/store/sqlite_store.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/graph_json.h"
#include "common/status_macros.h"
#include "coordinator/store/object_diff.h"

namespace graphmill::coordinator {
namespace {

constexpr int kSchemaVersion = 2;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS integrations (
  name TEXT PRIMARY KEY, version TEXT NOT NULL, definition BLOB NOT NULL);
-- settings: a serialized Instance holding config (secrets sealed), schedule, disabled steps,
-- rate limit and upload target.
CREATE TABLE IF NOT EXISTS instances (
  id TEXT PRIMARY KEY, integration TEXT NOT NULL, settings BLOB NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
  last_slot_ms INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL,
  status INTEGER NOT NULL, created_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '', definition BLOB NOT NULL,
  created_count INTEGER NOT NULL DEFAULT 0, updated_count INTEGER NOT NULL DEFAULT 0,
  deleted_count INTEGER NOT NULL DEFAULT 0, trigger INTEGER NOT NULL DEFAULT 0,
  started_ms INTEGER NOT NULL DEFAULT 0, upload BLOB NOT NULL DEFAULT x'');
-- At most one active (VALIDATING=1, RUNNING=2) run per instance, enforced here.
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_active ON runs(instance_id) WHERE status IN (1, 2);
CREATE INDEX IF NOT EXISTS runs_by_instance ON runs(instance_id, id);
CREATE TABLE IF NOT EXISTS steps (
  run_id INTEGER NOT NULL, step_id TEXT NOT NULL, position INTEGER NOT NULL,
  name TEXT NOT NULL, status INTEGER NOT NULL, started_ms INTEGER NOT NULL DEFAULT 0,
  ended_ms INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
  tasks_total INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, step_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS step_type_counts (
  run_id INTEGER NOT NULL, step_id TEXT NOT NULL, type TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (run_id, step_id, type)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,
  instance_id TEXT NOT NULL, step_id TEXT NOT NULL,
  kind INTEGER NOT NULL, shard BLOB NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT 0, worker_id TEXT NOT NULL DEFAULT '',
  lease_expires_ms INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
  lease_id TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks(state, id);
CREATE INDEX IF NOT EXISTS tasks_by_run ON tasks(run_id, step_id);
-- Objects of a task attempt not yet ended (object: 0 entity, 1 relationship). scope: the
-- key of the parent entity whose listing produced the object ('' unscoped).
CREATE TABLE IF NOT EXISTS attempt_objects (
  task_id INTEGER NOT NULL, attempt INTEGER NOT NULL, object INTEGER NOT NULL,
  key TEXT NOT NULL, type TEXT NOT NULL, classes TEXT NOT NULL, from_key TEXT NOT NULL,
  to_key TEXT NOT NULL, data BLOB NOT NULL, props TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (task_id, attempt, object, key)) WITHOUT ROWID;
-- What an attempt could not look at completely: a type ('' scope) or a scope ('' type).
CREATE TABLE IF NOT EXISTS attempt_incomplete (
  task_id INTEGER NOT NULL, attempt INTEGER NOT NULL, type TEXT NOT NULL,
  scope TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (task_id, attempt, type, scope)) WITHOUT ROWID;
-- The same, for the run, from ended attempts.
CREATE TABLE IF NOT EXISTS run_incomplete (
  run_id INTEGER NOT NULL, step_id TEXT NOT NULL, type TEXT NOT NULL,
  scope TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (run_id, step_id, type, scope)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_incomplete_by_scope ON run_incomplete(run_id, scope);
-- A finalized run's incomplete types (IncompleteType).
CREATE TABLE IF NOT EXISTS run_incomplete_types (
  run_id INTEGER NOT NULL, type TEXT NOT NULL, reason TEXT NOT NULL,
  error INTEGER NOT NULL, all_kept INTEGER NOT NULL,
  PRIMARY KEY (run_id, type)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempt_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, task_id INTEGER NOT NULL, attempt INTEGER NOT NULL,
  time_ms INTEGER NOT NULL, level INTEGER NOT NULL, name TEXT NOT NULL,
  description TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS attempt_events_by_task ON attempt_events(task_id, attempt);
-- A run's collected objects, from ended attempts.
CREATE TABLE IF NOT EXISTS staged_objects (
  run_id INTEGER NOT NULL, object INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL,
  classes TEXT NOT NULL, from_key TEXT NOT NULL, to_key TEXT NOT NULL, data BLOB NOT NULL,
  props TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, object, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS staged_by_type ON staged_objects(run_id, object, type, key);
-- Each instance's finalized graph.
CREATE TABLE IF NOT EXISTS graph_objects (
  instance_id TEXT NOT NULL, object INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL,
  classes TEXT NOT NULL, from_key TEXT NOT NULL, to_key TEXT NOT NULL, data BLOB NOT NULL,
  props TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (instance_id, object, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS graph_by_type ON graph_objects(instance_id, object, type, key);
CREATE INDEX IF NOT EXISTS graph_by_from ON graph_objects(instance_id, object, from_key);
CREATE INDEX IF NOT EXISTS graph_by_to ON graph_objects(instance_id, object, to_key);
-- Named counters, e.g. the last change-log sequence pruned by retention.
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- The change log (change: 1 created, 2 updated, 3 deleted).
CREATE TABLE IF NOT EXISTS changes (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL,
  run_id INTEGER NOT NULL, change INTEGER NOT NULL, object INTEGER NOT NULL,
  key TEXT NOT NULL, type TEXT NOT NULL, data BLOB, previous BLOB, time_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS changes_by_run ON changes(run_id, object, change, key);
CREATE TABLE IF NOT EXISTS events (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,
  time_ms INTEGER NOT NULL, level INTEGER NOT NULL, name TEXT NOT NULL,
  description TEXT NOT NULL, step_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_run ON events(run_id, sequence);
-- Bearer tokens: the SHA-256 hash of each (never the token). Revoking deletes the row.
CREATE TABLE IF NOT EXISTS tokens (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('admin', 'reader', 'worker')),
  hash BLOB NOT NULL UNIQUE, created_ms INTEGER NOT NULL);
)sql";

constexpr int kEntityObject = 0;
constexpr int kRelationshipObject = 1;

// Classes are stored as "|A|B|" so a class filter is a LIKE '%|C|%'.
std::string JoinClasses(
    const google::protobuf::RepeatedPtrField<std::string>& classes) {
  return absl::StrCat("|", absl::StrJoin(classes, "|"), "|");
}

template <typename T>
absl::StatusOr<T> Parse(const std::string& bytes, absl::string_view what) {
  T message;
  if (!message.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("store: corrupt ", what));
  }
  return message;
}

constexpr char kTaskColumns[] =
    "id, run_id, step_id, kind, shard, attempt, state, worker_id, "
    "lease_expires_ms, error, "
    "instance_id, lease_id";

absl::StatusOr<TaskRecord> TaskFromRow(const SqliteStatement& row) {
  TaskRecord task;
  task.id = row.ColumnInt(0);
  task.run_id = row.ColumnInt(1);
  task.step_id = row.ColumnText(2);
  task.kind = static_cast<v1::TaskKind>(row.ColumnInt(3));
  GM_ASSIGN_OR_RETURN(task.shard,
                      Parse<v1::Shard>(row.ColumnBlob(4), "task shard"));
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
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    GM_ASSIGN_OR_RETURN(TaskRecord task, TaskFromRow(select));
    tasks.push_back(std::move(task));
  }
  return tasks;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const std::string& path) {
  // Taken before the database is opened, so a second coordinator changes
  // nothing (not even the schema) before it stops.
  std::optional<FileLock> lock;
  if (path != ":memory:" && !absl::StartsWith(path, "file::memory:")) {
    GM_ASSIGN_OR_RETURN(lock, FileLock::Acquire(path + ".lock"));
  }
  GM_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDatabase> db,
                      SqliteDatabase::Open(path));
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(db), path));
  store->lock_ = std::move(lock);
  GM_RETURN_IF_ERROR(store->Migrate());
  return store;
}

absl::Status SqliteStore::Migrate() {
  absl::MutexLock lock(&mu_);
  int64_t version = 0;
  {
    GM_RETURN_IF_ERROR(db_->Execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT "
        "NULL)"));
    GM_ASSIGN_OR_RETURN(SqliteStatement select,
                        db_->Prepare("SELECT version FROM schema_version"));
    GM_ASSIGN_OR_RETURN(bool has_row, select.Step());
    if (has_row) version = select.ColumnInt(0);
  }
  if (version == 1)
    GM_RETURN_IF_ERROR(Transaction([&] { return MigrateFrom1(); }));
  GM_RETURN_IF_ERROR(db_->Execute(kSchema));
  GM_ASSIGN_OR_RETURN(SqliteStatement select,
                      db_->Prepare("SELECT version FROM schema_version"));
  GM_ASSIGN_OR_RETURN(bool has_row, select.Step());
  if (!has_row) {
    return db_->Execute(absl::StrCat("INSERT INTO schema_version VALUES (",
                                     kSchemaVersion, ")"));
  }
  if (select.ColumnInt(0) != kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("store schema version ", select.ColumnInt(0),
                     " is not supported (want ", kSchemaVersion, ")"));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::MigrateFrom1() {
  // Version 2 records where each object came from (its scope) and what runs
  // could not look at completely, with reasons. Types a step in progress
  // reported partial before the upgrade stay partial.
  for (const char* table :
       {"attempt_objects", "staged_objects", "graph_objects"}) {
    GM_RETURN_IF_ERROR(db_->Execute(absl::StrCat(
        "ALTER TABLE ", table, " ADD COLUMN scope TEXT NOT NULL DEFAULT ''")));
  }
  // Leases are named by an unguessable id; leases held across the upgrade
  // have none and lapse (their tasks are offered again).
  GM_RETURN_IF_ERROR(db_->Execute(
      "ALTER TABLE tasks ADD COLUMN lease_id TEXT NOT NULL DEFAULT ''"));
  GM_RETURN_IF_ERROR(db_->Execute(kSchema));
  GM_ASSIGN_OR_RETURN(
      SqliteStatement partial,
      db_->Prepare("SELECT run_id, step_id, partial_types FROM steps WHERE "
                   "partial_types != ''"));
  GM_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db_->Prepare("INSERT OR IGNORE INTO run_incomplete VALUES (?, ?, ?, '', "
                   "'reported partial')"));
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, partial.Step());
    if (!row) break;
    for (absl::string_view type :
         absl::StrSplit(partial.ColumnText(2), ',', absl::SkipEmpty())) {
      insert.Reset();
      insert.Bind(1, partial.ColumnInt(0))
          .Bind(2, partial.ColumnText(1))
          .Bind(3, std::string(type));
      GM_RETURN_IF_ERROR(insert.Run());
    }
  }
  GM_RETURN_IF_ERROR(
      db_->Execute("ALTER TABLE steps DROP COLUMN partial_types;"
                   "DROP TABLE IF EXISTS attempt_partial_types;"
                   "UPDATE schema_version SET version = 2;"));
  return absl::OkStatus();
}

absl::Status SqliteStore::Transaction(
    const std::function<absl::Status()>& body) {
  GM_RETURN_IF_ERROR(db_->Execute("BEGIN IMMEDIATE"));
  absl::Status status = body();
  if (status.ok()) {
    status = db_->Execute("COMMIT");
    if (status.ok()) return status;
  }
  db_->Execute("ROLLBACK").IgnoreError();
  return status;
}

// --- Integrations ---

absl::Status SqliteStore::PutIntegration(
    const v1::IntegrationDefinition& definition) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db_->Prepare("INSERT INTO integrations VALUES (?, ?, ?) "
                   "ON CONFLICT(name) DO UPDATE SET version = excluded.version,"
                   " definition = excluded.definition"));
  insert.Bind(1, definition.name()).Bind(2, definition.version());
  insert.BindBlob(3, SerializeDeterministic(definition));
  return insert.Run();
}

absl::StatusOr<v1::IntegrationDefinition> SqliteStore::GetIntegration(
    const std::string& name) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT definition FROM integrations WHERE name = ?"));
  select.Bind(1, name);
  GM_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("unknown integration '", name,
                     "' (no connected worker has advertised it)"));
  }
  return Parse<v1::IntegrationDefinition>(select.ColumnBlob(0),
                                          "integration definition");
}

absl::StatusOr<std::vector<v1::IntegrationDefinition>>
SqliteStore::ListIntegrations() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT definition FROM integrations ORDER BY name"));
  std::vector<v1::IntegrationDefinition> result;
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    GM_ASSIGN_OR_RETURN(
        v1::IntegrationDefinition definition,
        Parse<v1::IntegrationDefinition>(select.ColumnBlob(0), "definition"));
    result.push_back(std::move(definition));
  }
  return result;
}

// --- Instances ---

namespace {

// What the settings column holds: the instance without its identity and
// timestamps.
std::string Settings(const v1::Instance& instance) {
  v1::Instance settings = instance;
  settings.clear_id();
  settings.clear_integration();
  settings.clear_created_at_ms();
  settings.clear_updated_at_ms();
  settings.clear_next_run_at_ms();
  return SerializeDeterministic(settings);
}

}  // namespace

absl::Status SqliteStore::CreateInstance(const v1::Instance& instance) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db_->Prepare("INSERT INTO instances (id, integration, settings, "
                   "created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)"));
  insert.Bind(1, instance.id()).Bind(2, instance.integration());
  insert.BindBlob(3, Settings(instance));
  insert.Bind(4, instance.created_at_ms()).Bind(5, instance.updated_at_ms());
  absl::Status status = insert.Run();
  if (absl::IsAlreadyExists(status)) {
    return absl::AlreadyExistsError(
        absl::StrCat("instance '", instance.id(), "' already exists"));
  }
  return status;
}

namespace {

absl::StatusOr<v1::Instance> InstanceFromRow(const SqliteStatement& row) {
  GM_ASSIGN_OR_RETURN(
      v1::Instance instance,
      Parse<v1::Instance>(row.ColumnBlob(2), "instance settings"));
  instance.set_id(row.ColumnText(0));
  instance.set_integration(row.ColumnText(1));
  instance.set_created_at_ms(row.ColumnInt(3));
  instance.set_updated_at_ms(row.ColumnInt(4));
  return instance;
}

}  // namespace

absl::StatusOr<v1::Instance> SqliteStore::GetInstance(const std::string& id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT id, integration, settings, created_ms, updated_ms "
                   "FROM instances WHERE id = ?"));
  select.Bind(1, id);
  GM_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found)
    return absl::NotFoundError(absl::StrCat("instance '", id, "' not found"));
  return InstanceFromRow(select);
}

absl::StatusOr<std::vector<v1::Instance>> SqliteStore::ListInstances() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT id, integration, settings, created_ms, updated_ms "
                   "FROM instances ORDER BY id"));
  std::vector<v1::Instance> result;
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    GM_ASSIGN_OR_RETURN(v1::Instance instance, InstanceFromRow(select));
    result.push_back(std::move(instance));
  }
  return result;
}

absl::Status SqliteStore::UpdateInstance(const v1::Instance& instance) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE instances SET settings = ?, updated_ms = ? "
                   "WHERE id = ?"));
  update.BindBlob(1, Settings(instance))
      .Bind(2, instance.updated_at_ms())
      .Bind(3, instance.id());
  GM_RETURN_IF_ERROR(update.Run());
  if (db_->changes() == 0) {
    return absl::NotFoundError(
        absl::StrCat("instance '", instance.id(), "' not found"));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::DeleteInstance(const std::string& id,
                                         int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(SqliteStatement exists,
                        db_->Prepare("SELECT 1 FROM instances WHERE id = ?"));
    exists.Bind(1, id);
    GM_ASSIGN_OR_RETURN(bool found, exists.Step());
    if (!found)
      return absl::NotFoundError(absl::StrCat("instance '", id, "' not found"));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement active,
        db_->Prepare("SELECT id FROM runs WHERE instance_id = ? AND "
                     "status IN (1, 2)"));
    active.Bind(1, id);
    GM_ASSIGN_OR_RETURN(bool busy, active.Step());
    if (busy) {
      return absl::FailedPreconditionError(absl::StrCat(
          "instance '", id, "' has an active run ", active.ColumnInt(0),
          "; cancel it first (graphmill run cancel ", active.ColumnInt(0),
          ")"));
    }
    const char* kStatements[] = {
        // Subscribers see the graph go: every object is logged as deleted
        // (relationships
        // first, then entities, as finalize orders deletions).
        "INSERT INTO changes (instance_id, run_id, change, object, key, type, "
        "data, previous, "
        "time_ms) SELECT ?1, 0, 3, object, key, type, data, data, ?2 FROM "
        "graph_objects "
        "WHERE instance_id = ?1 ORDER BY object DESC, key",
        "DELETE FROM graph_objects WHERE instance_id = ?1",
        "DELETE FROM staged_objects WHERE run_id IN (SELECT id FROM runs WHERE "
        "instance_id = ?1)",
        "DELETE FROM attempt_objects WHERE task_id IN (SELECT id FROM tasks "
        "WHERE instance_id = ?1)",
        "DELETE FROM attempt_events WHERE task_id IN (SELECT id FROM tasks "
        "WHERE instance_id = ?1)",
        "DELETE FROM attempt_incomplete WHERE task_id IN "
        "(SELECT id FROM tasks WHERE instance_id = ?1)",
        "DELETE FROM run_incomplete WHERE run_id IN (SELECT id FROM runs "
        "WHERE instance_id = ?1)",
        "DELETE FROM run_incomplete_types WHERE run_id IN (SELECT id FROM "
        "runs WHERE instance_id = ?1)",
        "DELETE FROM tasks WHERE instance_id = ?1",
        "DELETE FROM steps WHERE run_id IN (SELECT id FROM runs WHERE "
        "instance_id = ?1)",
        "DELETE FROM step_type_counts WHERE run_id IN (SELECT id FROM runs "
        "WHERE instance_id = ?1)",
        "DELETE FROM events WHERE run_id IN (SELECT id FROM runs WHERE "
        "instance_id = ?1)",
        "DELETE FROM runs WHERE instance_id = ?1",
        "DELETE FROM instances WHERE id = ?1",
    };
    for (const char* sql : kStatements) {
      GM_ASSIGN_OR_RETURN(SqliteStatement statement, db_->Prepare(sql));
      // Statements without ?2 ignore it (SQLite leaves unused indexes unbound).
      statement.Bind(1, id).Bind(2, now_ms);
      GM_RETURN_IF_ERROR(statement.Run());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> SqliteStore::GetLastScheduledSlot(
    const std::string& id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT last_slot_ms FROM instances WHERE id = ?"));
  select.Bind(1, id);
  GM_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found)
    return absl::NotFoundError(absl::StrCat("instance '", id, "' not found"));
  return select.ColumnInt(0);
}

absl::Status SqliteStore::SetLastScheduledSlot(const std::string& id,
                                               int64_t slot_ms) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE instances SET last_slot_ms = ? WHERE id = ?"));
  update.Bind(1, slot_ms).Bind(2, id);
  return update.Run();
}

// --- Runs ---

absl::StatusOr<int64_t> SqliteStore::CreateRun(
    const std::string& instance_id, const v1::IntegrationDefinition& definition,
    v1::RunTrigger trigger, const std::vector<std::string>& disabled_steps,
    int64_t now_ms, std::optional<int64_t> schedule_slot_ms) {
  absl::MutexLock lock(&mu_);
  int64_t run_id = 0;
  if (schedule_slot_ms.has_value()) {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement slot,
        db_->Prepare("UPDATE instances SET last_slot_ms = ? WHERE id = ?"));
    slot.Bind(1, *schedule_slot_ms).Bind(2, instance_id);
    GM_RETURN_IF_ERROR(slot.Run());
  }
  absl::Status status = Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement active,
        db_->Prepare("SELECT id FROM runs WHERE instance_id = ? AND "
                     "status IN (1, 2)"));
    active.Bind(1, instance_id);
    GM_ASSIGN_OR_RETURN(bool busy, active.Step());
    if (busy) {
      return absl::FailedPreconditionError(
          absl::StrCat("instance '", instance_id,
                       "' already has an active run ", active.ColumnInt(0)));
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement insert,
        db_->Prepare("INSERT INTO runs (instance_id, status, created_ms, "
                     "definition, trigger) VALUES (?, ?, ?, ?, ?)"));
    insert.Bind(1, instance_id)
        .Bind(2, int64_t{v1::RUN_STATUS_VALIDATING})
        .Bind(3, now_ms);
    insert.BindBlob(4, SerializeDeterministic(definition))
        .Bind(5, int64_t{trigger});
    GM_RETURN_IF_ERROR(insert.Run());
    run_id = db_->last_insert_rowid();
    GM_ASSIGN_OR_RETURN(
        SqliteStatement step,
        db_->Prepare("INSERT INTO steps (run_id, step_id, position, name, "
                     "status) VALUES (?, ?, ?, ?, ?)"));
    int position = 0;
    for (const v1::StepDefinition& definition_step : definition.steps()) {
      step.Reset();
      step.Bind(1, run_id)
          .Bind(2, definition_step.id())
          .Bind(3, int64_t{position++});
      const bool disabled =
          std::find(disabled_steps.begin(), disabled_steps.end(),
                    definition_step.id()) != disabled_steps.end();
      step.Bind(4, definition_step.name())
          .Bind(5, int64_t{disabled ? v1::STEP_STATUS_DISABLED
                                    : v1::STEP_STATUS_PENDING});
      GM_RETURN_IF_ERROR(step.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement task,
        db_->Prepare("INSERT INTO tasks (run_id, instance_id, step_id, kind, "
                     "shard) VALUES (?, ?, '', ?, ?)"));
    task.Bind(1, run_id).Bind(2, instance_id);
    task.Bind(3, int64_t{v1::TASK_KIND_VALIDATE_INVOCATION}).BindBlob(4, "");
    return task.Run();
  });
  if (!status.ok()) return status;
  return run_id;
}

absl::StatusOr<v1::Run> SqliteStore::GetRun(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT instance_id, status, created_ms, ended_ms, error, "
                   "created_count, updated_count, deleted_count, trigger, "
                   "started_ms, upload FROM runs WHERE id = ?"));
  select.Bind(1, run_id);
  GM_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found)
    return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  v1::Run run;
  run.set_id(run_id);
  run.set_instance_id(select.ColumnText(0));
  run.set_status(static_cast<v1::RunStatus>(select.ColumnInt(1)));
  run.set_created_at_ms(select.ColumnInt(2));
  run.set_ended_at_ms(select.ColumnInt(3));
  run.set_error(select.ColumnText(4));
  run.set_created_count(select.ColumnInt(5));
  run.set_updated_count(select.ColumnInt(6));
  run.set_deleted_count(select.ColumnInt(7));
  run.set_trigger(static_cast<v1::RunTrigger>(select.ColumnInt(8)));
  run.set_started_at_ms(select.ColumnInt(9));
  if (!select.ColumnBlob(10).empty()) {
    GM_ASSIGN_OR_RETURN(
        *run.mutable_upload(),
        Parse<v1::UploadStatus>(select.ColumnBlob(10), "run upload"));
  }

  GM_ASSIGN_OR_RETURN(
      SqliteStatement steps,
      db_->Prepare(
          "SELECT s.step_id, s.name, s.status, s.started_ms, s.ended_ms, "
          "s.error, "
          "s.tasks_total, (SELECT COUNT(*) FROM tasks t WHERE t.run_id = "
          "s.run_id "
          "AND t.step_id = s.step_id AND t.state IN (2, 3)) FROM steps s "
          "WHERE s.run_id = ? ORDER BY s.position"));
  steps.Bind(1, run_id);
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, steps.Step());
    if (!row) break;
    v1::StepRun* step = run.add_steps();
    step->set_step_id(steps.ColumnText(0));
    step->set_name(steps.ColumnText(1));
    step->set_status(static_cast<v1::StepStatus>(steps.ColumnInt(2)));
    step->set_started_at_ms(steps.ColumnInt(3));
    step->set_ended_at_ms(steps.ColumnInt(4));
    step->set_error(steps.ColumnText(5));
    step->set_tasks_total(static_cast<int32_t>(steps.ColumnInt(6)));
    step->set_tasks_done(static_cast<int32_t>(steps.ColumnInt(7)));
  }
  GM_ASSIGN_OR_RETURN(
      SqliteStatement counts,
      db_->Prepare("SELECT step_id, type, count FROM step_type_counts "
                   "WHERE run_id = ?"));
  counts.Bind(1, run_id);
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, counts.Step());
    if (!row) break;
    const std::string step_id = counts.ColumnText(0);
    for (v1::StepRun& step : *run.mutable_steps()) {
      if (step.step_id() == step_id) {
        (*step.mutable_type_counts())[counts.ColumnText(1)] =
            counts.ColumnInt(2);
      }
    }
  }
  GM_ASSIGN_OR_RETURN(
      SqliteStatement incomplete,
      db_->Prepare("SELECT type, reason, error, all_kept FROM "
                   "run_incomplete_types WHERE run_id = ? ORDER BY type"));
  incomplete.Bind(1, run_id);
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, incomplete.Step());
    if (!row) break;
    v1::IncompleteType* type = run.add_incomplete_types();
    type->set_type(incomplete.ColumnText(0));
    type->set_reason(incomplete.ColumnText(1));
    type->set_error(incomplete.ColumnInt(2) != 0);
    type->set_all_kept(incomplete.ColumnInt(3) != 0);
  }
  return run;
}

absl::StatusOr<std::vector<v1::Run>> SqliteStore::ListRuns(
    const std::string& instance_id, int limit) {
  std::vector<int64_t> ids;
  {
    absl::MutexLock lock(&mu_);
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db_->Prepare("SELECT id FROM runs WHERE (?1 = '' OR instance_id = ?1) "
                     "ORDER BY id DESC LIMIT ?2"));
    select.Bind(1, instance_id).Bind(2, int64_t{limit});
    while (true) {
      GM_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      ids.push_back(select.ColumnInt(0));
    }
  }
  std::vector<v1::Run> runs;
  for (int64_t id : ids) {
    GM_ASSIGN_OR_RETURN(v1::Run run, GetRun(id));
    runs.push_back(std::move(run));
  }
  return runs;
}

absl::StatusOr<std::vector<int64_t>> SqliteStore::ActiveRunIds() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT id FROM runs WHERE status IN (1, 2) ORDER BY id"));
  std::vector<int64_t> ids;
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    ids.push_back(select.ColumnInt(0));
  }
  return ids;
}

absl::StatusOr<v1::IntegrationDefinition> SqliteStore::GetRunDefinition(
    int64_t run_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(SqliteStatement select,
                      db_->Prepare("SELECT definition FROM runs WHERE id = ?"));
  select.Bind(1, run_id);
  GM_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found)
    return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  return Parse<v1::IntegrationDefinition>(select.ColumnBlob(0),
                                          "run definition");
}

absl::Status SqliteStore::SetRunStatus(int64_t run_id, v1::RunStatus status,
                                       const std::string& error,
                                       int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  const bool ended =
      status != v1::RUN_STATUS_VALIDATING && status != v1::RUN_STATUS_RUNNING;
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE runs SET status = ?1, error = ?2, ended_ms = ?3, "
                   "started_ms = CASE WHEN ?1 = 2 AND started_ms = 0 THEN ?5 "
                   "ELSE started_ms END WHERE id = ?4"));
  update.Bind(1, int64_t{status})
      .Bind(2, error)
      .Bind(3, ended ? now_ms : 0)
      .Bind(4, run_id);
  update.Bind(5, now_ms);
  return update.Run();
}

absl::Status SqliteStore::SetRunUpload(int64_t run_id,
                                       const v1::UploadStatus& upload) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(SqliteStatement update,
                      db_->Prepare("UPDATE runs SET upload = ? WHERE id = ?"));
  update.BindBlob(1, SerializeDeterministic(upload)).Bind(2, run_id);
  return update.Run();
}

absl::StatusOr<std::vector<TaskRecord>> SqliteStore::CancelRun(int64_t run_id,
                                                               int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  std::vector<TaskRecord> leased;
  absl::Status status = Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement update,
        db_->Prepare("UPDATE runs SET status = ?, ended_ms = ?, error = "
                     "'cancelled by an operator' WHERE id = ? AND "
                     "status IN (1, 2)"));
    update.Bind(1, int64_t{v1::RUN_STATUS_CANCELLED})
        .Bind(2, now_ms)
        .Bind(3, run_id);
    GM_RETURN_IF_ERROR(update.Run());
    if (db_->changes() == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("run ", run_id, " is not active"));
    }
    GM_ASSIGN_OR_RETURN(SqliteStatement select,
                        db_->Prepare(absl::StrCat("SELECT ", kTaskColumns,
                                                  " FROM tasks WHERE "
                                                  "run_id = ? AND state = 1")));
    select.Bind(1, run_id);
    GM_ASSIGN_OR_RETURN(leased, CollectTasks(select));
    const char* kStatements[] = {
        "DELETE FROM attempt_objects WHERE task_id IN (SELECT id FROM tasks "
        "WHERE run_id = ?1 "
        "AND state IN (0, 1))",
        "DELETE FROM attempt_events WHERE task_id IN (SELECT id FROM tasks "
        "WHERE run_id = ?1 "
        "AND state IN (0, 1))",
        "DELETE FROM attempt_incomplete WHERE task_id IN (SELECT id FROM "
        "tasks WHERE run_id = ?1 AND state IN (0, 1))",
        "UPDATE tasks SET state = 3, error = 'run cancelled', worker_id = '' "
        "WHERE run_id = ?1 "
        "AND state IN (0, 1)",
        "DELETE FROM staged_objects WHERE run_id = ?1",
    };
    for (const char* sql : kStatements) {
      GM_ASSIGN_OR_RETURN(SqliteStatement statement, db_->Prepare(sql));
      statement.Bind(1, run_id);
      GM_RETURN_IF_ERROR(statement.Run());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return leased;
}

absl::StatusOr<std::vector<StepRecord>> SqliteStore::GetSteps(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(SqliteStatement select,
                      db_->Prepare("SELECT step_id, status, error FROM steps "
                                   "WHERE run_id = ? ORDER BY position"));
  select.Bind(1, run_id);
  std::vector<StepRecord> steps;
  std::map<std::string, size_t> position;
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    StepRecord step;
    step.step_id = select.ColumnText(0);
    step.status = static_cast<v1::StepStatus>(select.ColumnInt(1));
    step.error = select.ColumnText(2);
    position[step.step_id] = steps.size();
    steps.push_back(std::move(step));
  }
  // Partial types with their first reason, and scope gaps counted per reason
  // and scope type (a scope's entity is one of the run's parents).
  GM_ASSIGN_OR_RETURN(
      SqliteStatement incomplete,
      db_->Prepare(
          "SELECT r.step_id, r.type, MIN(r.reason), '', 0 FROM run_incomplete "
          "r WHERE r.run_id = ?1 AND r.scope = '' GROUP BY r.step_id, r.type "
          "UNION ALL SELECT r.step_id, '', r.reason, COALESCE((SELECT s.type "
          "FROM staged_objects s WHERE s.run_id = r.run_id AND s.object = 0 "
          "AND s.key = r.scope), ''), COUNT(*) FROM run_incomplete r WHERE "
          "r.run_id = ?1 AND r.scope != '' GROUP BY 1, 3, 4 ORDER BY 1, 2, 3, "
          "4"));
  incomplete.Bind(1, run_id);
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, incomplete.Step());
    if (!row) break;
    auto found = position.find(incomplete.ColumnText(0));
    if (found == position.end()) continue;
    StepRecord& step = steps[found->second];
    const std::string type = incomplete.ColumnText(1);
    if (!type.empty()) {
      step.partial_types.emplace(type, incomplete.ColumnText(2));
    } else {
      step.scope_gaps.push_back({incomplete.ColumnText(2),
                                 incomplete.ColumnText(3),
                                 incomplete.ColumnInt(4)});
    }
  }
  return steps;
}

absl::Status SqliteStore::SetStepStatus(int64_t run_id,
                                        const std::string& step_id,
                                        v1::StepStatus status,
                                        const std::string& error,
                                        int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  // started_ms is set when the step leaves PENDING, ended_ms when it settles.
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE steps SET status = ?1, error = ?2, "
                   "started_ms = CASE WHEN started_ms = 0 AND ?1 != 1 THEN ?3 "
                   "ELSE started_ms END, "
                   "ended_ms = CASE WHEN ?1 >= 3 THEN ?3 ELSE 0 END "
                   "WHERE run_id = ?4 AND step_id = ?5"));
  update.Bind(1, int64_t{status})
      .Bind(2, error)
      .Bind(3, now_ms)
      .Bind(4, run_id)
      .Bind(5, step_id);
  return update.Run();
}

// --- Tasks ---

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
  insert.Bind(1, run_id).Bind(2, step_id).Bind(3, int64_t{kind});
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
  insert.Bind(1, instance_id)
      .Bind(2, int64_t{v1::TASK_KIND_VALIDATE_INVOCATION});
  GM_RETURN_IF_ERROR(insert.Run());
  return db_->last_insert_rowid();
}

absl::Status SqliteStore::SetStepTaskTotal(int64_t run_id,
                                           const std::string& step_id,
                                           int total) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE steps SET tasks_total = ? WHERE run_id = ? AND "
                   "step_id = ?"));
  update.Bind(1, int64_t{total}).Bind(2, run_id).Bind(3, step_id);
  return update.Run();
}

absl::StatusOr<TaskRecord> SqliteStore::GetTaskLocked(int64_t task_id) {
  GM_ASSIGN_OR_RETURN(SqliteStatement select,
                      db_->Prepare(absl::StrCat("SELECT ", kTaskColumns,
                                                " FROM tasks WHERE id = ?")));
  select.Bind(1, task_id);
  GM_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found)
    return absl::NotFoundError(absl::StrCat("task ", task_id, " not found"));
  return TaskFromRow(select);
}

absl::StatusOr<TaskRecord> SqliteStore::GetTask(int64_t task_id) {
  absl::MutexLock lock(&mu_);
  return GetTaskLocked(task_id);
}

absl::StatusOr<std::vector<TaskRecord>> SqliteStore::TasksOfRun(
    int64_t run_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare(absl::StrCat("SELECT ", kTaskColumns,
                                " FROM tasks WHERE run_id = ? ORDER BY id")));
  select.Bind(1, run_id);
  return CollectTasks(select);
}

absl::StatusOr<std::vector<TaskRecord>> SqliteStore::PendingTasks(int limit) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare(absl::StrCat("SELECT ", kTaskColumns,
                                " FROM tasks WHERE state = 0 AND (run_id = 0 "
                                "OR run_id IN (SELECT id FROM runs WHERE "
                                "status IN (1, 2))) ORDER BY id LIMIT ?")));
  select.Bind(1, int64_t{limit});
  return CollectTasks(select);
}

absl::StatusOr<int32_t> SqliteStore::LeaseTask(int64_t task_id,
                                               const std::string& worker_id,
                                               const std::string& lease_id,
                                               int64_t lease_expires_ms) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement update,
      db_->Prepare("UPDATE tasks SET state = 1, attempt = attempt + 1, "
                   "worker_id = ?, lease_expires_ms = ?, lease_id = ? WHERE "
                   "id = ? AND state = 0 RETURNING attempt"));
  update.Bind(1, worker_id).Bind(2, lease_expires_ms).Bind(3, lease_id);
  update.Bind(4, task_id);
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
                   "attempt = ? AND worker_id = ? AND state = 1"));
  update.Bind(1, lease_expires_ms)
      .Bind(2, task_id)
      .Bind(3, int64_t{attempt})
      .Bind(4, worker_id);
  return update.Run();
}

absl::StatusOr<std::vector<TaskRecord>> SqliteStore::LeasedTasks(
    int64_t expired_before_ms, const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare(absl::StrCat(
          "SELECT ", kTaskColumns,
          " FROM tasks WHERE state = 1 AND (lease_expires_ms < ?1 OR "
          "(?2 != '' AND worker_id = ?2)) ORDER BY id")));
  select.Bind(1, expired_before_ms).Bind(2, worker_id);
  return CollectTasks(select);
}

absl::Status SqliteStore::ReleaseTask(int64_t task_id, int32_t attempt,
                                      int max_attempts,
                                      const std::string& error) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement update,
        db_->Prepare("UPDATE tasks SET state = CASE WHEN attempt >= ?1 THEN 3 "
                     "ELSE 0 END, error = ?2, worker_id = '' WHERE id = ?3 AND "
                     "attempt = ?4 AND state = 1"));
    update.Bind(1, int64_t{max_attempts})
        .Bind(2, error)
        .Bind(3, task_id)
        .Bind(4, int64_t{attempt});
    GM_RETURN_IF_ERROR(update.Run());
    for (const char* table :
         {"attempt_objects", "attempt_events", "attempt_incomplete"}) {
      GM_ASSIGN_OR_RETURN(
          SqliteStatement discard,
          db_->Prepare(absl::StrCat("DELETE FROM ", table,
                                    " WHERE task_id = ? AND attempt = ?")));
      discard.Bind(1, task_id).Bind(2, int64_t{attempt});
      GM_RETURN_IF_ERROR(discard.Run());
    }
    return absl::OkStatus();
  });
}

// --- Results ---

absl::Status SqliteStore::CheckCurrentAttempt(const v1::TaskAttempt& attempt,
                                              TaskRecord* task) {
  GM_ASSIGN_OR_RETURN(*task, GetTaskLocked(attempt.task_id()));
  return CheckLease(*task, attempt);
}

absl::Status SqliteStore::RecordConflict(const v1::TaskAttempt& attempt,
                                         int object, const std::string& type,
                                         const std::string& key,
                                         const std::string& first,
                                         const std::string& second,
                                         int64_t now_ms) {
  std::vector<std::string> fields;
  if (object == kEntityObject) {
    GM_ASSIGN_OR_RETURN(v1::Entity a, Parse<v1::Entity>(first, "entity"));
    GM_ASSIGN_OR_RETURN(v1::Entity b, Parse<v1::Entity>(second, "entity"));
    fields = DifferingFields(a, b);
  } else {
    GM_ASSIGN_OR_RETURN(v1::Relationship a,
                        Parse<v1::Relationship>(first, "relationship"));
    GM_ASSIGN_OR_RETURN(v1::Relationship b,
                        Parse<v1::Relationship>(second, "relationship"));
    fields = DifferingFields(a, b);
  }
  GM_ASSIGN_OR_RETURN(
      SqliteStatement event,
      db_->Prepare("INSERT INTO attempt_events (task_id, attempt, time_ms, "
                   "level, name, description) VALUES (?, ?, ?, ?, ?, ?)"));
  event.Bind(1, attempt.task_id())
      .Bind(2, int64_t{attempt.attempt()})
      .Bind(3, now_ms);
  event.Bind(4, int64_t{v1::EVENT_LEVEL_WARN})
      .Bind(5, "duplicate_key_conflict");
  event.Bind(
      6, absl::StrCat(object == kEntityObject ? "entity '" : "relationship '",
                      key, "' (", type,
                      ") was produced again with different content; "
                      "the first version is kept and ",
                      type, " is treated as partial; differing fields: ",
                      absl::StrJoin(fields, ", ")));
  GM_RETURN_IF_ERROR(event.Run());
  GM_ASSIGN_OR_RETURN(
      SqliteStatement partial,
      db_->Prepare("INSERT OR IGNORE INTO attempt_incomplete VALUES "
                   "(?, ?, ?, '', ?)"));
  partial.Bind(1, attempt.task_id())
      .Bind(2, int64_t{attempt.attempt()})
      .Bind(3, type)
      .Bind(4, "a key was produced twice with different content");
  return partial.Run();
}

absl::Status SqliteStore::StageBatch(const v1::TaskAttempt& attempt,
                                     const v1::ResultBatch& batch,
                                     int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    TaskRecord task;
    GM_RETURN_IF_ERROR(CheckCurrentAttempt(attempt, &task));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement insert,
        db_->Prepare(
            "INSERT INTO attempt_objects VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement existing,
        db_->Prepare("SELECT data FROM attempt_objects WHERE task_id = ? AND "
                     "attempt = ? AND object = ? AND key = ?"));
    auto stage = [&](int object, const std::string& key,
                     const std::string& type, const std::string& classes,
                     const std::string& from_key, const std::string& to_key,
                     const std::string& data, const std::string& props,
                     const std::string& scope) -> absl::Status {
      insert.Reset();
      insert.Bind(1, attempt.task_id()).Bind(2, int64_t{attempt.attempt()});
      insert.Bind(3, int64_t{object})
          .Bind(4, key)
          .Bind(5, type)
          .Bind(6, classes);
      insert.Bind(7, from_key)
          .Bind(8, to_key)
          .BindBlob(9, data)
          .Bind(10, props)
          .Bind(11, scope);
      GM_RETURN_IF_ERROR(insert.Run());
      if (db_->changes() > 0) return absl::OkStatus();
      // The key was staged before in this attempt: identical is fine, different
      // is a conflict.
      existing.Reset();
      existing.Bind(1, attempt.task_id()).Bind(2, int64_t{attempt.attempt()});
      existing.Bind(3, int64_t{object}).Bind(4, key);
      GM_ASSIGN_OR_RETURN(bool found, existing.Step());
      if (found && existing.ColumnBlob(0) != data) {
        return RecordConflict(attempt, object, type, key,
                              existing.ColumnBlob(0), data, now_ms);
      }
      return absl::OkStatus();
    };
    static const std::string kUnscoped;
    // Scopes are parallel to the objects, or absent (all unscoped); callers
    // check the sizes (ValidateResultBatch).
    auto scope_of = [](const auto& scopes, int i) -> const std::string& {
      return i < scopes.size() ? scopes[i] : kUnscoped;
    };
    for (int i = 0; i < batch.entities_size(); ++i) {
      const v1::Entity& entity = batch.entities(i);
      GM_RETURN_IF_ERROR(stage(kEntityObject, entity.key(), entity.type(),
                               JoinClasses(entity.classes()), "", "",
                               SerializeDeterministic(entity),
                               PropertiesToJson(entity.properties()),
                               scope_of(batch.entity_scopes(), i)));
    }
    for (int i = 0; i < batch.relationships_size(); ++i) {
      const v1::Relationship& relationship = batch.relationships(i);
      GM_RETURN_IF_ERROR(
          stage(kRelationshipObject, relationship.key(), relationship.type(),
                absl::StrCat("|", relationship.class_name(), "|"),
                relationship.from_entity_key(), relationship.to_entity_key(),
                SerializeDeterministic(relationship),
                PropertiesToJson(relationship.properties()),
                scope_of(batch.relationship_scopes(), i)));
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement event,
        db_->Prepare("INSERT INTO attempt_events (task_id, attempt, time_ms, "
                     "level, name, description) VALUES (?, ?, ?, ?, ?, ?)"));
    for (const v1::Event& e : batch.events()) {
      event.Reset();
      event.Bind(1, attempt.task_id()).Bind(2, int64_t{attempt.attempt()});
      event.Bind(3, e.time_ms() ? e.time_ms() : now_ms)
          .Bind(4, int64_t{e.level()});
      event.Bind(5, e.name()).Bind(6, e.description());
      GM_RETURN_IF_ERROR(event.Run());
    }
    return absl::OkStatus();
  });
}

absl::Status SqliteStore::CommitAttempt(
    const v1::TaskAttempt& attempt, bool succeeded, const std::string& error,
    const std::vector<v1::Incompleteness>& incomplete) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    TaskRecord task;
    GM_RETURN_IF_ERROR(CheckCurrentAttempt(attempt, &task));
    const int64_t task_id = attempt.task_id();
    const int64_t attempt_number = attempt.attempt();
    // Keys another task of the run already staged with different content.
    GM_ASSIGN_OR_RETURN(
        SqliteStatement conflicts,
        db_->Prepare(
            "SELECT a.object, a.key, a.type, s.data, a.data FROM "
            "attempt_objects a "
            "JOIN staged_objects s ON s.run_id = ?1 AND s.object = a.object "
            "AND "
            "s.key = a.key WHERE a.task_id = ?2 AND a.attempt = ?3 AND "
            "a.data != s.data ORDER BY a.object, a.key"));
    conflicts.Bind(1, task.run_id).Bind(2, task_id).Bind(3, attempt_number);
    while (true) {
      GM_ASSIGN_OR_RETURN(bool row, conflicts.Step());
      if (!row) break;
      GM_RETURN_IF_ERROR(
          RecordConflict(attempt, static_cast<int>(conflicts.ColumnInt(0)),
                         conflicts.ColumnText(2), conflicts.ColumnText(1),
                         conflicts.ColumnBlob(3), conflicts.ColumnBlob(4), 0));
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement stage,
        db_->Prepare(
            "INSERT OR IGNORE INTO staged_objects SELECT ?1, object, key, "
            "type, classes, from_key, to_key, data, props, scope FROM "
            "attempt_objects "
            "WHERE task_id = ?2 AND attempt = ?3 ORDER BY object, key"));
    stage.Bind(1, task.run_id).Bind(2, task_id).Bind(3, attempt_number);
    GM_RETURN_IF_ERROR(stage.Run());
    GM_ASSIGN_OR_RETURN(
        SqliteStatement counts,
        db_->Prepare(
            "INSERT INTO step_type_counts SELECT ?1, ?2, type, COUNT(*) FROM "
            "attempt_objects WHERE task_id = ?3 AND attempt = ?4 GROUP BY type "
            "ON CONFLICT(run_id, step_id, type) DO UPDATE SET "
            "count = count + excluded.count"));
    counts.Bind(1, task.run_id)
        .Bind(2, task.step_id)
        .Bind(3, task_id)
        .Bind(4, attempt_number);
    GM_RETURN_IF_ERROR(counts.Run());
    GM_ASSIGN_OR_RETURN(SqliteStatement events,
                        db_->Prepare("INSERT INTO events (run_id, time_ms, "
                                     "level, name, description, step_id) "
                                     "SELECT ?1, CASE WHEN time_ms = 0 THEN ?5 "
                                     "ELSE time_ms END, level, name, "
                                     "description, ?2 FROM attempt_events "
                                     "WHERE task_id = ?3 AND attempt = ?4 "
                                     "ORDER BY id"));
    events.Bind(1, task.run_id)
        .Bind(2, task.step_id)
        .Bind(3, task_id)
        .Bind(4, attempt_number);
    events.Bind(5, absl::ToUnixMillis(absl::Now()));
    GM_RETURN_IF_ERROR(events.Run());
    // What the worker reported incomplete joins what this attempt's conflicts
    // made partial; all of it becomes the run's, under the task's step.
    GM_ASSIGN_OR_RETURN(
        SqliteStatement report,
        db_->Prepare("INSERT OR IGNORE INTO attempt_incomplete VALUES "
                     "(?, ?, ?, ?, ?)"));
    for (const v1::Incompleteness& entry : incomplete) {
      report.Reset();
      report.Bind(1, task_id).Bind(2, attempt_number);
      report.Bind(3, entry.type())
          .Bind(4, entry.scope())
          .Bind(5, entry.reason());
      GM_RETURN_IF_ERROR(report.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement keep,
        db_->Prepare("INSERT OR IGNORE INTO run_incomplete SELECT ?1, ?2, "
                     "type, scope, reason FROM attempt_incomplete WHERE "
                     "task_id = ?3 AND attempt = ?4"));
    keep.Bind(1, task.run_id)
        .Bind(2, task.step_id)
        .Bind(3, task_id)
        .Bind(4, attempt_number);
    GM_RETURN_IF_ERROR(keep.Run());
    for (const char* table :
         {"attempt_objects", "attempt_events", "attempt_incomplete"}) {
      GM_ASSIGN_OR_RETURN(
          SqliteStatement discard,
          db_->Prepare(absl::StrCat("DELETE FROM ", table,
                                    " WHERE task_id = ? AND attempt = ?")));
      discard.Bind(1, task_id).Bind(2, attempt_number);
      GM_RETURN_IF_ERROR(discard.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement end,
        db_->Prepare("UPDATE tasks SET state = ?, error = ? WHERE id = ?"));
    end.Bind(1, int64_t{succeeded ? 2 : 3}).Bind(2, error).Bind(3, task_id);
    return end.Run();
  });
}

absl::Status SqliteStore::ForEachStagedEntity(
    int64_t run_id, const std::string& type, const std::string& first_key,
    const std::string& last_key, int page_size,
    const std::function<absl::Status(const v1::Entity&)>& visit) {
  // Keyset pagination: the lock is held for one page at a time, never across
  // `visit`.
  std::string after = first_key;
  bool inclusive = true;
  while (true) {
    std::vector<v1::Entity> page;
    {
      absl::MutexLock lock(&mu_);
      GM_ASSIGN_OR_RETURN(
          SqliteStatement select,
          db_->Prepare(absl::StrCat(
              "SELECT data FROM staged_objects WHERE run_id = ?1 AND object = "
              "0 AND "
              "type = ?2 AND key ",
              inclusive ? ">=" : ">",
              " ?3 AND (?4 = '' OR key <= ?4) ORDER BY key LIMIT ?5")));
      select.Bind(1, run_id).Bind(2, type).Bind(3, after).Bind(4, last_key);
      select.Bind(5, int64_t{page_size});
      while (true) {
        GM_ASSIGN_OR_RETURN(bool row, select.Step());
        if (!row) break;
        GM_ASSIGN_OR_RETURN(
            v1::Entity entity,
            Parse<v1::Entity>(select.ColumnBlob(0), "staged entity"));
        page.push_back(std::move(entity));
      }
    }
    for (const v1::Entity& entity : page) GM_RETURN_IF_ERROR(visit(entity));
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    after = page.back().key();
    inclusive = false;
  }
}

absl::Status SqliteStore::ForEachStagedObject(
    int64_t run_id, bool relationships, int page_size,
    const std::function<absl::Status(const std::string& data)>& visit) {
  std::string after;
  while (true) {
    std::vector<std::pair<std::string, std::string>> page;  // (key, data)
    {
      absl::MutexLock lock(&mu_);
      GM_ASSIGN_OR_RETURN(
          SqliteStatement select,
          db_->Prepare("SELECT key, data FROM staged_objects WHERE run_id = ? "
                       "AND object = ? AND key > ? ORDER BY key LIMIT ?"));
      select.Bind(1, run_id)
          .Bind(2, int64_t{relationships ? 1 : 0})
          .Bind(3, after);
      select.Bind(4, int64_t{page_size});
      while (true) {
        GM_ASSIGN_OR_RETURN(bool row, select.Step());
        if (!row) break;
        page.emplace_back(select.ColumnText(0), select.ColumnBlob(1));
      }
    }
    for (const auto& [key, data] : page) GM_RETURN_IF_ERROR(visit(data));
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    after = page.back().first;
  }
}

absl::StatusOr<bool> SqliteStore::HasStagedObjects(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT EXISTS (SELECT 1 FROM staged_objects WHERE "
                   "run_id = ?)"));
  select.Bind(1, run_id);
  GM_ASSIGN_OR_RETURN(bool ignored, select.Step());
  (void)ignored;
  return select.ColumnInt(0) != 0;
}

absl::Status SqliteStore::ForEachStagedKey(
    int64_t run_id, const std::string& type,
    const std::function<void(const std::string&)>& visit) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT key FROM staged_objects WHERE run_id = ? AND "
                   "object = 0 AND type = ? ORDER BY key"));
  select.Bind(1, run_id).Bind(2, type);
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return absl::OkStatus();
    visit(select.ColumnText(0));
  }
}

// --- Finalize ---

absl::StatusOr<FinalizeCounts> SqliteStore::Finalize(
    const FinalizeRequest& request) {
  const int64_t run_id = request.run_id;
  const std::string& instance_id = request.instance_id;
  const std::map<std::string, DeletionRule>& rules = request.rules;
  const std::vector<v1::IncompleteType>& incomplete_types =
      request.incomplete_types;
  const int64_t now_ms = request.now_ms;
  absl::MutexLock lock(&mu_);
  FinalizeCounts counts;
  absl::Status status = Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(SqliteStatement active,
                        db_->Prepare("SELECT status FROM runs WHERE id = ?"));
    active.Bind(1, run_id);
    GM_ASSIGN_OR_RETURN(bool found, active.Step());
    if (!found) {
      return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
    }
    if (!IsActiveRunStatus(static_cast<v1::RunStatus>(active.ColumnInt(0)))) {
      return absl::FailedPreconditionError(
          absl::StrCat("run ", run_id, " is not active: not finalized"));
    }
    GM_RETURN_IF_ERROR(
        db_->Execute("CREATE TEMP TABLE IF NOT EXISTS deletion_rules (type "
                     "TEXT PRIMARY KEY, rule INTEGER NOT NULL);"
                     "DELETE FROM deletion_rules;"));
    GM_ASSIGN_OR_RETURN(
        SqliteStatement rule,
        db_->Prepare("INSERT OR REPLACE INTO deletion_rules VALUES (?, ?)"));
    for (const auto& [type, deletion] : rules) {
      rule.Reset();
      rule.Bind(1, type).Bind(2, static_cast<int64_t>(deletion));
      GM_RETURN_IF_ERROR(rule.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement verdict,
        db_->Prepare("INSERT OR REPLACE INTO run_incomplete_types VALUES (?, "
                     "?, ?, ?, ?)"));
    for (const v1::IncompleteType& type : incomplete_types) {
      verdict.Reset();
      verdict.Bind(1, run_id).Bind(2, type.type()).Bind(3, type.reason());
      verdict.Bind(4, int64_t{type.error()}).Bind(5, int64_t{type.all_kept()});
      GM_RETURN_IF_ERROR(verdict.Run());
    }
    // Per object kind (entities first, so relationships can be checked against
    // the final entity set): the diff goes into the change log first, and the
    // graph is then updated from it, so the log and the graph cannot disagree.
    constexpr char kCreated[] =
        "INSERT INTO changes (instance_id, run_id, change, object, key, type, "
        "data, previous, "
        "time_ms) SELECT ?1, ?2, 1, s.object, s.key, s.type, s.data, NULL, ?3 "
        "FROM staged_objects s WHERE s.run_id = ?2 AND s.object = ?4 AND NOT "
        "EXISTS "
        "(SELECT 1 FROM graph_objects g WHERE g.instance_id = ?1 AND g.object "
        "= s.object AND "
        "g.key = s.key) ORDER BY s.key";
    constexpr char kUpdated[] =
        "INSERT INTO changes (instance_id, run_id, change, object, key, type, "
        "data, previous, "
        "time_ms) SELECT ?1, ?2, 2, s.object, s.key, s.type, s.data, g.data, "
        "?3 "
        "FROM staged_objects s JOIN graph_objects g ON g.instance_id = ?1 AND "
        "g.object = s.object AND g.key = s.key WHERE s.run_id = ?2 AND "
        "s.object = ?4 AND "
        "g.data != s.data ORDER BY s.key";
    // Deleted: absent from the run, of a type whose rule allows it (see
    // DeletionRule), and, for an object with a scope, the scope was listed
    // completely in this run (its entity was collected and no task reported it
    // incomplete) or its entity is gone from the graph (deleted, so its
    // children go too). Relationships also go when an endpoint entity is gone,
    // whatever their type.
    constexpr char kDeleted[] =
        "INSERT INTO changes (instance_id, run_id, change, object, key, type, "
        "data, previous, time_ms) SELECT ?1, ?2, 3, g.object, g.key, g.type, "
        "g.data, g.data, ?3 FROM graph_objects g LEFT JOIN temp.deletion_rules "
        "r ON r.type = g.type WHERE g.instance_id = ?1 AND g.object = ?4 AND (("
        "NOT EXISTS (SELECT 1 FROM staged_objects s WHERE s.run_id = ?2 AND "
        "s.object = g.object AND s.key = g.key) AND COALESCE(r.rule, 0) != 2 "
        "AND ((g.scope = '' AND COALESCE(r.rule, 0) = 0) OR (g.scope != '' AND "
        "((EXISTS (SELECT 1 FROM staged_objects p WHERE p.run_id = ?2 AND "
        "p.object = 0 AND p.key = g.scope) AND NOT EXISTS (SELECT 1 FROM "
        "run_incomplete i WHERE i.run_id = ?2 AND i.scope = g.scope)) OR (NOT "
        "EXISTS (SELECT 1 FROM staged_objects p WHERE p.run_id = ?2 AND "
        "p.object = 0 AND p.key = g.scope) AND NOT EXISTS (SELECT 1 FROM "
        "graph_objects e WHERE e.instance_id = ?1 AND e.object = 0 AND e.key = "
        "g.scope)))))) OR (g.object = 1 AND (NOT EXISTS (SELECT 1 FROM "
        "graph_objects e WHERE e.instance_id = ?1 AND e.object = 0 AND e.key = "
        "g.from_key) OR NOT EXISTS (SELECT 1 FROM graph_objects e WHERE "
        "e.instance_id = ?1 AND e.object = 0 AND e.key = g.to_key)))) ORDER BY "
        "g.key";
    constexpr char kApply[] =
        "INSERT INTO graph_objects SELECT ?1, object, key, type, classes, "
        "from_key, to_key, data, props, scope FROM staged_objects WHERE "
        "run_id = ?2 AND object = ?4 "
        "ON CONFLICT(instance_id, object, key) DO UPDATE SET type = "
        "excluded.type, "
        "classes = excluded.classes, from_key = excluded.from_key, to_key = "
        "excluded.to_key, "
        "data = excluded.data, props = excluded.props, scope = excluded.scope "
        "WHERE data != excluded.data OR scope != excluded.scope";
    constexpr char kRemove[] =
        "DELETE FROM graph_objects WHERE instance_id = ?1 AND object = ?4 AND "
        "key IN "
        "(SELECT key FROM changes WHERE run_id = ?2 AND object = ?4 AND change "
        "= 3)";
    auto run = [&](const char* sql, int object,
                   int64_t* counter) -> absl::Status {
      GM_ASSIGN_OR_RETURN(SqliteStatement statement, db_->Prepare(sql));
      statement.Bind(1, instance_id)
          .Bind(2, run_id)
          .Bind(3, now_ms)
          .Bind(4, int64_t{object});
      GM_RETURN_IF_ERROR(statement.Run());
      if (counter != nullptr) *counter += db_->changes();
      return absl::OkStatus();
    };
    GM_RETURN_IF_ERROR(run(kCreated, kEntityObject, &counts.created));
    GM_RETURN_IF_ERROR(run(kUpdated, kEntityObject, &counts.updated));
    GM_RETURN_IF_ERROR(run(kApply, kEntityObject, nullptr));
    // Deleting an entity can settle its children's scopes (a deleted
    // workflow's jobs go too): repeat until nothing more goes. Each round
    // removes what it logged, so nothing is logged twice.
    while (true) {
      int64_t deleted = 0;
      GM_RETURN_IF_ERROR(run(kDeleted, kEntityObject, &deleted));
      if (deleted == 0) break;
      counts.deleted += deleted;
      GM_RETURN_IF_ERROR(run(kRemove, kEntityObject, nullptr));
    }

    // Relationships whose endpoint entity is not in the graph are reported and
    // not stored.
    GM_ASSIGN_OR_RETURN(
        SqliteStatement dangling,
        db_->Prepare(
            "SELECT s.key, s.type, s.from_key, s.to_key, EXISTS (SELECT 1 FROM "
            "graph_objects e WHERE e.instance_id = ?1 AND e.object = 0 AND "
            "e.key = s.from_key) FROM staged_objects s WHERE s.run_id = ?2 AND "
            "s.object = 1 AND (NOT EXISTS (SELECT 1 FROM graph_objects e WHERE "
            "e.instance_id = ?1 AND e.object = 0 AND e.key = s.from_key) OR "
            "NOT EXISTS "
            "(SELECT 1 FROM graph_objects e WHERE e.instance_id = ?1 AND "
            "e.object = 0 "
            "AND e.key = s.to_key)) ORDER BY s.key"));
    dangling.Bind(1, instance_id).Bind(2, run_id);
    GM_ASSIGN_OR_RETURN(
        SqliteStatement report,
        db_->Prepare("INSERT INTO events (run_id, time_ms, level, name, "
                     "description, step_id) VALUES (?, ?, ?, ?, ?, '')"));
    constexpr int kMaxDanglingEvents = 100;
    std::vector<std::string> dropped;
    while (true) {
      GM_ASSIGN_OR_RETURN(bool row, dangling.Step());
      if (!row) break;
      const std::string key = dangling.ColumnText(0);
      dropped.push_back(key);
      if (dropped.size() > kMaxDanglingEvents) continue;
      const bool from_exists = dangling.ColumnInt(4) != 0;
      report.Reset();
      report.Bind(1, run_id).Bind(2, now_ms).Bind(
          3, int64_t{v1::EVENT_LEVEL_WARN});
      report.Bind(4, "relationship_dropped");
      report.Bind(
          5, absl::StrCat(
                 "relationship '", key, "' (", dangling.ColumnText(1),
                 ") is not stored: its ", from_exists ? "target" : "source",
                 " entity '",
                 from_exists ? dangling.ColumnText(3) : dangling.ColumnText(2),
                 "' is not in the graph"));
      GM_RETURN_IF_ERROR(report.Run());
    }
    if (dropped.size() > kMaxDanglingEvents) {
      report.Reset();
      report.Bind(1, run_id).Bind(2, now_ms).Bind(
          3, int64_t{v1::EVENT_LEVEL_WARN});
      report.Bind(4, "relationship_dropped");
      report.Bind(
          5, absl::StrCat(
                 dropped.size() - kMaxDanglingEvents,
                 " more relationships were not stored for the same reason"));
      GM_RETURN_IF_ERROR(report.Run());
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement unstage,
        db_->Prepare("DELETE FROM staged_objects WHERE run_id = ? AND "
                     "object = 1 AND key = ?"));
    for (const std::string& key : dropped) {
      unstage.Reset();
      unstage.Bind(1, run_id).Bind(2, key);
      GM_RETURN_IF_ERROR(unstage.Run());
    }
    counts.dropped_relationships = static_cast<int64_t>(dropped.size());

    GM_RETURN_IF_ERROR(run(kCreated, kRelationshipObject, &counts.created));
    GM_RETURN_IF_ERROR(run(kUpdated, kRelationshipObject, &counts.updated));
    GM_RETURN_IF_ERROR(run(kDeleted, kRelationshipObject, &counts.deleted));
    GM_RETURN_IF_ERROR(run(kApply, kRelationshipObject, nullptr));
    GM_RETURN_IF_ERROR(run(kRemove, kRelationshipObject, nullptr));

    GM_ASSIGN_OR_RETURN(
        SqliteStatement record,
        db_->Prepare("UPDATE runs SET created_count = ?, updated_count = ?, "
                     "deleted_count = ? WHERE id = ?"));
    record.Bind(1, counts.created)
        .Bind(2, counts.updated)
        .Bind(3, counts.deleted);
    record.Bind(4, run_id);
    GM_RETURN_IF_ERROR(record.Run());
    // Staged objects of earlier runs are no longer needed; this run's stay for
    // its upload.
    GM_ASSIGN_OR_RETURN(
        SqliteStatement prune,
        db_->Prepare("DELETE FROM staged_objects WHERE run_id IN (SELECT id "
                     "FROM runs WHERE instance_id = ? AND id < ?)"));
    prune.Bind(1, instance_id).Bind(2, run_id);
    GM_RETURN_IF_ERROR(prune.Run());
    GM_ASSIGN_OR_RETURN(
        SqliteStatement prune_gaps,
        db_->Prepare("DELETE FROM run_incomplete WHERE run_id IN (SELECT id "
                     "FROM runs WHERE instance_id = ? AND id < ?)"));
    prune_gaps.Bind(1, instance_id).Bind(2, run_id);
    GM_RETURN_IF_ERROR(prune_gaps.Run());
    // The run ends in the same transaction (see Store::Finalize).
    GM_ASSIGN_OR_RETURN(
        SqliteStatement end,
        db_->Prepare("UPDATE runs SET status = ?, error = ?, ended_ms = ?, "
                     "upload = COALESCE(?, upload) WHERE id = ?"));
    end.Bind(1, int64_t{request.status}).Bind(2, request.error);
    end.Bind(3, now_ms);
    if (request.upload_pending) {
      end.BindBlob(4, PendingUploadBytes());
    } else {
      end.BindNull(4);
    }
    end.Bind(5, run_id);
    return end.Run();
  });
  if (!status.ok()) return status;
  return counts;
}

// --- Events ---

absl::Status SqliteStore::AddEvent(int64_t run_id, v1::EventLevel level,
                                   const std::string& name,
                                   const std::string& description,
                                   const std::string& step_id, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db_->Prepare("INSERT INTO events (run_id, time_ms, level, name, "
                   "description, step_id) VALUES (?, ?, ?, ?, ?, ?)"));
  insert.Bind(1, run_id).Bind(2, now_ms).Bind(3, int64_t{level}).Bind(4, name);
  insert.Bind(5, description).Bind(6, step_id);
  return insert.Run();
}

absl::StatusOr<std::vector<v1::Event>> SqliteStore::ListEvents(
    int64_t run_id, int64_t after_sequence) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT sequence, time_ms, level, name, description, "
                   "step_id FROM events WHERE run_id = ? AND sequence > ? "
                   "ORDER BY sequence"));
  select.Bind(1, run_id).Bind(2, after_sequence);
  std::vector<v1::Event> events;
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    v1::Event& event = events.emplace_back();
    event.set_run_id(run_id);
    event.set_sequence(select.ColumnInt(0));
    event.set_time_ms(select.ColumnInt(1));
    event.set_level(static_cast<v1::EventLevel>(select.ColumnInt(2)));
    event.set_name(select.ColumnText(3));
    event.set_description(select.ColumnText(4));
    event.set_step_id(select.ColumnText(5));
  }
  return events;
}

// --- Graph reads ---

namespace {

// WHERE clause of a graph listing: ?1 instance, ?2 object kind, ?3 type, ?4
// class, ?5 after key, ?6 limit, then one parameter per property filter (names
// are validated by the caller against the data model's property-name pattern,
// so they are safe inside a JSON path).
std::string GraphWhere(const v1::GraphFilter& filter) {
  std::string where =
      "instance_id = ?1 AND object = ?2 AND (?3 = '' OR type = ?3) AND "
      "(?4 = '' OR classes LIKE '%|' || ?4 || '|%') AND key > ?5";
  int parameter = 7;
  std::vector<std::string> names;
  for (const auto& [name, value] : filter.properties()) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = absl::StrCat("'$.\"", name, "\"'");
    const v1::Value& value = filter.properties().at(name);
    switch (value.kind_case()) {
      case v1::Value::kNullValue:
      case v1::Value::KIND_NOT_SET:
        absl::StrAppend(&where, " AND json_type(props, ", path,
                        ") = 'null' AND ?", parameter, " IS NULL");
        break;
      case v1::Value::kListValue:
        absl::StrAppend(&where, " AND json(json_extract(props, ", path,
                        ")) = json(?", parameter, ")");
        break;
      case v1::Value::kBoolValue:
        absl::StrAppend(&where, " AND json_type(props, ", path,
                        ") = (CASE WHEN ?", parameter,
                        " THEN 'true' ELSE 'false' END)");
        break;
      default:
        absl::StrAppend(&where, " AND json_extract(props, ", path, ") = ?",
                        parameter);
    }
    ++parameter;
  }
  absl::StrAppend(&where, " ORDER BY key LIMIT ?6");
  return where;
}

void BindGraphFilter(SqliteStatement& select, const v1::GraphFilter& filter,
                     int object, const std::string& after_key, int limit) {
  select.Bind(1, filter.instance_id())
      .Bind(2, int64_t{object})
      .Bind(3, filter.type());
  select.Bind(4, filter.class_name())
      .Bind(5, after_key)
      .Bind(6, int64_t{limit});
  std::vector<std::string> names;
  for (const auto& [name, value] : filter.properties()) names.push_back(name);
  std::sort(names.begin(), names.end());
  int parameter = 7;
  for (const std::string& name : names) {
    const v1::Value& value = filter.properties().at(name);
    switch (value.kind_case()) {
      case v1::Value::kBoolValue:
        select.Bind(parameter, int64_t{value.bool_value()});
        break;
      case v1::Value::kIntValue:
        select.Bind(parameter, value.int_value());
        break;
      case v1::Value::kDoubleValue:
        select.Bind(parameter, value.double_value());
        break;
      case v1::Value::kStringValue:
        select.Bind(parameter, value.string_value());
        break;
      case v1::Value::kListValue:
        select.Bind(parameter, ValueToJson(value));
        break;
      default:
        select.BindNull(parameter);
    }
    ++parameter;
  }
}

}  // namespace

template <typename Object>
absl::StatusOr<std::vector<Object>> SqliteStore::ListGraphObjects(
    const v1::GraphFilter& filter, int object, const std::string& after_key,
    int limit) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare(absl::StrCat("SELECT data FROM graph_objects WHERE ",
                                GraphWhere(filter))));
  BindGraphFilter(select, filter, object, after_key, limit);
  std::vector<Object> result;
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    GM_ASSIGN_OR_RETURN(Object parsed,
                        Parse<Object>(select.ColumnBlob(0), "graph object"));
    result.push_back(std::move(parsed));
  }
  return result;
}

absl::StatusOr<std::vector<v1::Entity>> SqliteStore::ListEntities(
    const v1::GraphFilter& filter, const std::string& after_key, int limit) {
  return ListGraphObjects<v1::Entity>(filter, kEntityObject, after_key, limit);
}

absl::StatusOr<std::vector<v1::Relationship>> SqliteStore::ListRelationships(
    const v1::GraphFilter& filter, const std::string& after_key, int limit) {
  return ListGraphObjects<v1::Relationship>(filter, kRelationshipObject,
                                            after_key, limit);
}

absl::StatusOr<v1::Entity> SqliteStore::GetEntity(
    const std::string& instance_id, const std::string& key) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT data FROM graph_objects WHERE instance_id = ? AND "
                   "object = 0 AND key = ?"));
  select.Bind(1, instance_id).Bind(2, key);
  GM_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) {
    return absl::NotFoundError(absl::StrCat(
        "entity '", key, "' not found in instance '", instance_id, "'"));
  }
  return Parse<v1::Entity>(select.ColumnBlob(0), "entity");
}

absl::StatusOr<std::vector<NeighborRecord>> SqliteStore::ListNeighbors(
    const std::string& instance_id, const std::string& key, int direction,
    const std::string& class_name, const std::string& after_key, int limit) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare(
          "SELECT r.data, e.data, r.from_key = ?2 FROM graph_objects r JOIN "
          "graph_objects e ON e.instance_id = ?1 AND e.object = 0 AND e.key = "
          "(CASE WHEN r.from_key = ?2 THEN r.to_key ELSE r.from_key END) "
          "WHERE r.instance_id = ?1 AND r.object = 1 AND "
          "((?3 IN (0, 1) AND r.from_key = ?2) OR (?3 IN (0, 2) AND r.to_key = "
          "?2)) "
          "AND (?4 = '' OR r.classes = '|' || ?4 || '|') AND r.key > ?5 "
          "ORDER BY r.key LIMIT ?6"));
  select.Bind(1, instance_id)
      .Bind(2, key)
      .Bind(3, int64_t{direction})
      .Bind(4, class_name);
  select.Bind(5, after_key).Bind(6, int64_t{limit});
  std::vector<NeighborRecord> result;
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    NeighborRecord& neighbor = result.emplace_back();
    GM_ASSIGN_OR_RETURN(
        neighbor.relationship,
        Parse<v1::Relationship>(select.ColumnBlob(0), "relationship"));
    GM_ASSIGN_OR_RETURN(neighbor.entity,
                        Parse<v1::Entity>(select.ColumnBlob(1), "entity"));
    neighbor.outgoing = select.ColumnInt(2) != 0;
  }
  return result;
}

absl::Status SqliteStore::Snapshot(
    const std::string& instance_id, int page_size,
    const std::function<bool(int64_t)>& header,
    const std::function<bool(const std::vector<v1::Entity>&,
                             const std::vector<v1::Relationship>&)>& page) {
  // A file store gets its own connection and read transaction (WAL: a
  // consistent view while finalize goes on); an in-memory store (tests) reads
  // under the lock.
  std::unique_ptr<SqliteDatabase> own;
  std::unique_ptr<absl::MutexLock> lock;
  SqliteDatabase* db;
  if (path_ == ":memory:") {
    lock = std::make_unique<absl::MutexLock>(&mu_);
    db = db_.get();
  } else {
    GM_ASSIGN_OR_RETURN(own, SqliteDatabase::Open(path_));
    db = own.get();
  }
  GM_RETURN_IF_ERROR(db->Execute("BEGIN"));
  absl::Status status = [&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement last,
        db->Prepare("SELECT COALESCE(MAX(sequence), 0) FROM changes"));
    GM_ASSIGN_OR_RETURN(bool ignored, last.Step());
    (void)ignored;
    if (!header(last.ColumnInt(0)))
      return absl::CancelledError("snapshot reader went away");
    for (int object : {kEntityObject, kRelationshipObject}) {
      std::string after;
      while (true) {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement select,
            db->Prepare("SELECT key, data FROM graph_objects WHERE "
                        "instance_id = ? AND object = ? AND key > ? "
                        "ORDER BY key LIMIT ?"));
        select.Bind(1, instance_id).Bind(2, int64_t{object}).Bind(3, after);
        select.Bind(4, int64_t{page_size});
        std::vector<v1::Entity> entities;
        std::vector<v1::Relationship> relationships;
        int rows = 0;
        while (true) {
          GM_ASSIGN_OR_RETURN(bool row, select.Step());
          if (!row) break;
          ++rows;
          after = select.ColumnText(0);
          if (object == kEntityObject) {
            GM_ASSIGN_OR_RETURN(
                entities.emplace_back(),
                Parse<v1::Entity>(select.ColumnBlob(1), "entity"));
          } else {
            GM_ASSIGN_OR_RETURN(
                relationships.emplace_back(),
                Parse<v1::Relationship>(select.ColumnBlob(1), "relationship"));
          }
        }
        if (rows > 0 && !page(entities, relationships)) {
          return absl::CancelledError("snapshot reader went away");
        }
        if (rows < page_size) break;
      }
    }
    return absl::OkStatus();
  }();
  db->Execute("COMMIT").IgnoreError();
  return status;
}

// --- Change log ---

absl::StatusOr<ChangeLogBounds> SqliteStore::GetChangeLogBounds() {
  absl::MutexLock lock(&mu_);
  ChangeLogBounds bounds;
  GM_ASSIGN_OR_RETURN(
      SqliteStatement last,
      db_->Prepare("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE "
                   "name = 'changes'), 0), COALESCE((SELECT value FROM meta "
                   "WHERE name = 'changes_pruned_through'), 0)"));
  GM_ASSIGN_OR_RETURN(bool ignored, last.Step());
  (void)ignored;
  bounds.last_sequence = last.ColumnInt(0);
  bounds.pruned_through = last.ColumnInt(1);
  return bounds;
}

absl::StatusOr<std::vector<ChangeRecord>> SqliteStore::ReadChanges(
    int64_t after_sequence, int limit) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare(
          "SELECT sequence, instance_id, run_id, change, object, type, "
          "data, previous, time_ms FROM changes WHERE sequence > ? "
          "ORDER BY sequence LIMIT ?"));
  select.Bind(1, after_sequence).Bind(2, int64_t{limit});
  std::vector<ChangeRecord> changes;
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    ChangeRecord& change = changes.emplace_back();
    change.sequence = select.ColumnInt(0);
    change.instance_id = select.ColumnText(1);
    change.run_id = select.ColumnInt(2);
    change.kind = static_cast<v1::ChangeKind>(select.ColumnInt(3));
    change.is_relationship = select.ColumnInt(4) == kRelationshipObject;
    change.type = select.ColumnText(5);
    change.data = select.ColumnBlob(6);
    change.previous = select.ColumnBlob(7);
    change.time_ms = select.ColumnInt(8);
  }
  return changes;
}

absl::StatusOr<int64_t> SqliteStore::PruneChanges(int64_t max_age_ms,
                                                  int64_t max_count,
                                                  int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  int64_t pruned = 0;
  absl::Status status = Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement bound,
        db_->Prepare("SELECT MAX(COALESCE((SELECT MAX(sequence) FROM changes "
                     "WHERE ?1 > 0 AND "
                     "time_ms < ?3 - ?1), 0), COALESCE((SELECT MAX(sequence) "
                     "FROM changes), 0) "
                     "- (CASE WHEN ?2 > 0 THEN ?2 ELSE 1e18 END))"));
    bound.Bind(1, max_age_ms).Bind(2, max_count).Bind(3, now_ms);
    GM_ASSIGN_OR_RETURN(bool ignored, bound.Step());
    (void)ignored;
    const int64_t through = bound.ColumnInt(0);
    if (through <= 0) return absl::OkStatus();
    GM_ASSIGN_OR_RETURN(
        SqliteStatement remove,
        db_->Prepare("DELETE FROM changes WHERE sequence <= ?"));
    remove.Bind(1, through);
    GM_RETURN_IF_ERROR(remove.Run());
    pruned = db_->changes();
    GM_ASSIGN_OR_RETURN(
        SqliteStatement mark,
        db_->Prepare("INSERT INTO meta VALUES ('changes_pruned_through', ?1) "
                     "ON CONFLICT(name) DO UPDATE SET value = MAX(value, ?1)"));
    mark.Bind(1, through);
    return mark.Run();
  });
  if (!status.ok()) return status;
  return pruned;
}

// --- Tokens ---

namespace {

// How the tokens table spells roles ("" for none).
std::string TokenRoleText(v1::TokenRole role) {
  switch (role) {
    case v1::TOKEN_ROLE_ADMIN:
      return "admin";
    case v1::TOKEN_ROLE_READER:
      return "reader";
    case v1::TOKEN_ROLE_WORKER:
      return "worker";
    default:
      return "";
  }
}

v1::TokenRole TokenRoleFromText(const std::string& text) {
  if (text == "admin") return v1::TOKEN_ROLE_ADMIN;
  if (text == "reader") return v1::TOKEN_ROLE_READER;
  if (text == "worker") return v1::TOKEN_ROLE_WORKER;
  return v1::TOKEN_ROLE_UNSPECIFIED;
}

}  // namespace

absl::Status SqliteStore::CreateToken(const std::string& name,
                                      v1::TokenRole role,
                                      const std::string& hash, int64_t now_ms) {
  const std::string role_text = TokenRoleText(role);
  if (role_text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token '", name, "': role is required"));
  }
  if (hash.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token '", name, "': hash is required"));
  }
  absl::MutexLock lock(&mu_);
  absl::Status status = Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(SqliteStatement exists,
                        db_->Prepare("SELECT 1 FROM tokens WHERE name = ?"));
    exists.Bind(1, name);
    GM_ASSIGN_OR_RETURN(bool taken, exists.Step());
    if (taken) {
      return absl::AlreadyExistsError(
          absl::StrCat("token '", name, "' already exists"));
    }
    GM_ASSIGN_OR_RETURN(
        SqliteStatement insert,
        db_->Prepare("INSERT INTO tokens (name, role, hash, created_ms) "
                     "VALUES (?, ?, ?, ?)"));
    insert.Bind(1, name).Bind(2, role_text);
    insert.BindBlob(3, hash);
    insert.Bind(4, now_ms);
    absl::Status inserted = insert.Run();
    if (absl::IsAlreadyExists(inserted)) {
      // Only the hash can collide here; never say more about it.
      return absl::AlreadyExistsError(absl::StrCat(
          "token '", name, "': an identical token exists; generate another"));
    }
    return inserted;
  });
  if (status.ok()) token_generation_.fetch_add(1, std::memory_order_release);
  return status;
}

absl::StatusOr<std::vector<TokenRecord>> SqliteStore::ListTokens() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare("SELECT name, role, created_ms FROM tokens ORDER BY name"));
  std::vector<TokenRecord> tokens;
  while (true) {
    GM_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    TokenRecord& token = tokens.emplace_back();
    token.name = select.ColumnText(0);
    token.role = TokenRoleFromText(select.ColumnText(1));
    token.created_ms = select.ColumnInt(2);
  }
  return tokens;
}

absl::Status SqliteStore::RevokeToken(const std::string& name) {
  absl::MutexLock lock(&mu_);
  absl::Status status = Transaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db_->Prepare("SELECT role, (SELECT COUNT(*) FROM tokens WHERE role = "
                     "'admin') FROM tokens WHERE name = ?"));
    select.Bind(1, name);
    GM_ASSIGN_OR_RETURN(bool found, select.Step());
    if (!found) {
      return absl::NotFoundError(absl::StrCat("token '", name, "' not found"));
    }
    if (select.ColumnText(0) == "admin" && select.ColumnInt(1) <= 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "token '", name,
          "' is the last admin token; create another admin token first"));
    }
    GM_ASSIGN_OR_RETURN(SqliteStatement remove,
                        db_->Prepare("DELETE FROM tokens WHERE name = ?"));
    remove.Bind(1, name);
    return remove.Run();
  });
  if (status.ok()) token_generation_.fetch_add(1, std::memory_order_release);
  return status;
}

absl::StatusOr<TokenRecord> SqliteStore::FindTokenByHash(
    const std::string& hash) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare(
          "SELECT name, role, hash, created_ms FROM tokens WHERE hash = ?"));
  select.BindBlob(1, hash);
  GM_ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return absl::NotFoundError("unknown or revoked token");
  TokenRecord token;
  token.name = select.ColumnText(0);
  token.role = TokenRoleFromText(select.ColumnText(1));
  token.hash = select.ColumnBlob(2);
  token.created_ms = select.ColumnInt(3);
  return token;
}

absl::StatusOr<bool> SqliteStore::HasAdminToken() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      SqliteStatement select,
      db_->Prepare(
          "SELECT EXISTS (SELECT 1 FROM tokens WHERE role = 'admin')"));
  GM_ASSIGN_OR_RETURN(bool row, select.Step());
  return row && select.ColumnInt(0) != 0;
}

}  // namespace graphmill::coordinator
