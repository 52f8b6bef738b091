// SqliteStore: opening a store, its schema and the migrations to it, and
// transactions.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/substitute.h"
#include "common/status_macros.h"
#include "coordinator/store/sqlite/internal.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {
namespace {

using sqlite::ActiveRunStatuses;
using sqlite::Code;

constexpr int kSchemaVersion = 6;

// What a task attempt staged, besides its objects: counts per type (for the
// step's type counts) and the keys it shares with other tasks' attempts (so a
// commit checks only those for conflicts). Version 3 made them.
std::string AttemptTables() {
  return R"sql(
CREATE TABLE IF NOT EXISTS attempt_type_counts (
  task_id INTEGER NOT NULL, attempt INTEGER NOT NULL, type TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (task_id, attempt, type)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempt_shared_keys (
  task_id INTEGER NOT NULL, attempt INTEGER NOT NULL, object INTEGER NOT NULL,
  key TEXT NOT NULL,
  PRIMARY KEY (task_id, attempt, object, key)) WITHOUT ROWID;
)sql";
}

// The schema of a new store (every statement IF NOT EXISTS, so it also adds
// what an older store lacks). Codes come from the enums (sqlite/internal.h).
std::string Schema() {
  return absl::Substitute(
      R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS integrations (
  name TEXT PRIMARY KEY, version TEXT NOT NULL, definition BLOB NOT NULL);
-- settings: a serialized Instance holding config (secrets sealed), schedule, disabled steps,
-- rate limit and upload target.
CREATE TABLE IF NOT EXISTS instances (
  id TEXT PRIMARY KEY, integration TEXT NOT NULL, settings BLOB NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
  last_slot_ms INTEGER NOT NULL DEFAULT 0);
-- status: RunStatus; trigger: RunTrigger; upload: a serialized UploadStatus (x'': none).
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL,
  status INTEGER NOT NULL, created_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '', definition BLOB NOT NULL,
  created_count INTEGER NOT NULL DEFAULT 0, updated_count INTEGER NOT NULL DEFAULT 0,
  deleted_count INTEGER NOT NULL DEFAULT 0, trigger INTEGER NOT NULL DEFAULT 0,
  started_ms INTEGER NOT NULL DEFAULT 0, upload BLOB NOT NULL DEFAULT x'',
  finalize_started_ms INTEGER NOT NULL DEFAULT 0,
  incremental_since_ms INTEGER NOT NULL DEFAULT 0);
-- At most one active run per instance, enforced here.
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_active ON runs(instance_id) WHERE status IN $0;
CREATE INDEX IF NOT EXISTS runs_by_instance ON runs(instance_id, id);
-- status: StepStatus.
CREATE TABLE IF NOT EXISTS steps (
  run_id INTEGER NOT NULL, step_id TEXT NOT NULL, position INTEGER NOT NULL,
  name TEXT NOT NULL, status INTEGER NOT NULL, started_ms INTEGER NOT NULL DEFAULT 0,
  ended_ms INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
  tasks_total INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, step_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS step_type_counts (
  run_id INTEGER NOT NULL, step_id TEXT NOT NULL, type TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (run_id, step_id, type)) WITHOUT ROWID;
-- kind: TaskKind; state: TaskState (store.h). committed_attempt: the attempt whose staged
-- objects joined the run (CommitAttempt), 0 if none did.
CREATE TABLE IF NOT EXISTS tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,
  instance_id TEXT NOT NULL, step_id TEXT NOT NULL,
  kind INTEGER NOT NULL, shard BLOB NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT $1, worker_id TEXT NOT NULL DEFAULT '',
  lease_expires_ms INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
  lease_id TEXT NOT NULL DEFAULT '', committed_attempt INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks(state, id);
CREATE INDEX IF NOT EXISTS tasks_by_run ON tasks(run_id, step_id);
$4
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
-- level: EventLevel.
CREATE TABLE IF NOT EXISTS attempt_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, task_id INTEGER NOT NULL, attempt INTEGER NOT NULL,
  time_ms INTEGER NOT NULL, level INTEGER NOT NULL, name TEXT NOT NULL,
  description TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS attempt_events_by_task ON attempt_events(task_id, attempt);
-- Each run's staged objects are in a table of its own: see sqlite::StagedTableSchema.
-- Each instance's finalized graph (object: $2 entity, $3 relationship). The endpoint indexes
-- serve ListNeighbors; entities have no endpoints and are left out of them.
CREATE TABLE IF NOT EXISTS graph_objects (
  instance_id TEXT NOT NULL, object INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL,
  classes TEXT NOT NULL, from_key TEXT NOT NULL, to_key TEXT NOT NULL, data BLOB NOT NULL,
  props TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (instance_id, object, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS graph_by_from ON graph_objects(instance_id, from_key)
  WHERE object = $3;
CREATE INDEX IF NOT EXISTS graph_by_to ON graph_objects(instance_id, to_key)
  WHERE object = $3;
-- Entities by the scope they were listed for: an incremental run's task reads the known
-- children of its shard's parents (Store::ForEachGraphEntity).
CREATE INDEX IF NOT EXISTS graph_entities_by_scope ON graph_objects(instance_id, type, scope, key)
  WHERE object = $2 AND scope != '';
-- Webhook event ids applied (Store::ApplyPatch), so a provider's retry is recognised.
CREATE TABLE IF NOT EXISTS webhook_events (
  instance_id TEXT NOT NULL, event_id TEXT NOT NULL, received_ms INTEGER NOT NULL,
  PRIMARY KEY (instance_id, event_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhook_events_by_time ON webhook_events(received_ms);
-- The provider time (as_of_ms) of the last webhook patch that wrote or deleted each object:
-- a run that began before it leaves the object alone at finalize.
CREATE TABLE IF NOT EXISTS patch_marks (
  instance_id TEXT NOT NULL, object INTEGER NOT NULL, key TEXT NOT NULL,
  as_of_ms INTEGER NOT NULL, PRIMARY KEY (instance_id, object, key)) WITHOUT ROWID;
-- Named counters, e.g. the last change-log sequence pruned by retention.
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- The change log (change: ChangeKind). previous: the object before an update; NULL for a
-- deletion, whose data is the object as it was (ReadChanges returns it as both).
CREATE TABLE IF NOT EXISTS changes (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL,
  run_id INTEGER NOT NULL, change INTEGER NOT NULL, object INTEGER NOT NULL,
  key TEXT NOT NULL, type TEXT NOT NULL, data BLOB, previous BLOB, time_ms INTEGER NOT NULL);
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
)sql",
      ActiveRunStatuses(), Code(TaskState::kPending), sqlite::kEntityObject,
      sqlite::kRelationshipObject, AttemptTables());
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
  if (store->lock_.has_value()) {
    store->readers_ = std::make_unique<SqliteReaders>(path);
    absl::MutexLock writer(&store->mu_);
    GM_ASSIGN_OR_RETURN(store->checkpointer_,
                        SqliteCheckpointer::Start(path, *store->db_));
  }
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
  // Each step is one transaction; a crash between them leaves a store of the
  // version the last one reached, which the next Open continues from.
  if (version == 1) {
    GM_RETURN_IF_ERROR(Transaction([&] { return MigrateFrom1(); }));
    version = 2;
  }
  if (version == 2) {
    GM_RETURN_IF_ERROR(Transaction([&] { return MigrateFrom2(); }));
    version = 3;
  }
  // A column of runs that a later version added; a store without a runs
  // table gets it, with the column, from Schema().
  auto add_runs_column = [&](absl::string_view column,
                             int64_t next_version) -> absl::Status {
    return Transaction([&]() -> absl::Status {
      bool has_runs = false;
      {
        GM_ASSIGN_OR_RETURN(
            SqliteStatement runs,
            db_->Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                         "AND name = 'runs'"));
        GM_ASSIGN_OR_RETURN(has_runs, runs.Step());
      }
      if (has_runs) {
        GM_RETURN_IF_ERROR(
            db_->Execute(absl::StrCat("ALTER TABLE runs ADD COLUMN ", column,
                                      " INTEGER NOT NULL DEFAULT 0")));
      }
      return db_->Execute(
          absl::StrCat("UPDATE schema_version SET version = ", next_version));
    });
  };
  if (version == 3) {
    // Version 4 records when finalize began (Run.finalize_started_at_ms).
    GM_RETURN_IF_ERROR(add_runs_column("finalize_started_ms", 4));
    version = 4;
  }
  if (version == 4) {
    // Version 5 records whether a run is incremental
    // (Run.incremental_since_ms); the index of entities by scope comes from
    // Schema().
    GM_RETURN_IF_ERROR(add_runs_column("incremental_since_ms", 5));
    version = 5;
  }
  if (version == 5) {
    // Version 6 adds webhook_events and patch_marks (from Schema()).
    GM_RETURN_IF_ERROR(db_->Execute("UPDATE schema_version SET version = 6"));
  }
  GM_RETURN_IF_ERROR(db_->Execute(Schema()));
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
  // As version 2 made it; tables this step does not write to are made by the
  // current schema once every step has run.
  GM_RETURN_IF_ERROR(db_->Execute(
      "CREATE TABLE IF NOT EXISTS run_incomplete (run_id INTEGER NOT NULL, "
      "step_id TEXT NOT NULL, type TEXT NOT NULL, scope TEXT NOT NULL, "
      "reason TEXT NOT NULL, PRIMARY KEY (run_id, step_id, type, scope)) "
      "WITHOUT ROWID;"));
  GM_ASSIGN_OR_RETURN(
      SqliteStatement partial,
      db_->Prepare("SELECT run_id, step_id, partial_types FROM steps WHERE "
                   "partial_types != ''"));
  GM_ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db_->Prepare("INSERT OR IGNORE INTO run_incomplete VALUES (?, ?, ?, '', "
                   "'reported partial')"));
  GM_RETURN_IF_ERROR(partial.ForEachRow([&](const SqliteStatement& row)
                                            -> absl::Status {
    for (absl::string_view type :
         absl::StrSplit(row.ColumnText(2), ',', absl::SkipEmpty())) {
      insert.Reset();
      insert.Bind(1, row.ColumnInt(0)).Bind(2, row.ColumnText(1)).Bind(3, type);
      GM_RETURN_IF_ERROR(insert.Run());
    }
    return absl::OkStatus();
  }));
  GM_RETURN_IF_ERROR(
      db_->Execute("ALTER TABLE steps DROP COLUMN partial_types;"
                   "DROP TABLE IF EXISTS attempt_partial_types;"
                   "UPDATE schema_version SET version = 2;"));
  return absl::OkStatus();
}

absl::Status SqliteStore::MigrateFrom2() {
  // Version 3 stages each object once, in a table per run keyed by the
  // attempt that staged it, instead of in attempt_objects and again, merged,
  // in staged_objects when the attempt ended.
  //
  // Which attempt joined its run: version 2 merged the rows of ended attempts
  // into staged_objects and kept no rows for tasks that ended otherwise, so
  // marking every ended task committed adds no object to any run.
  GM_RETURN_IF_ERROR(db_->Execute(absl::Substitute(
      "ALTER TABLE tasks ADD COLUMN committed_attempt INTEGER NOT NULL "
      "DEFAULT 0; UPDATE tasks SET committed_attempt = attempt WHERE state IN "
      "$0;",
      sqlite::EndedTaskStates())));
  GM_RETURN_IF_ERROR(db_->Execute(AttemptTables()));
  std::vector<int64_t> runs;
  {
    GM_ASSIGN_OR_RETURN(
        SqliteStatement select,
        db_->Prepare("SELECT run_id FROM staged_objects UNION SELECT t.run_id "
                     "FROM attempt_objects a JOIN tasks t ON t.id = "
                     "a.task_id"));
    GM_RETURN_IF_ERROR(select.ForEachRow([&](const SqliteStatement& row) {
      runs.push_back(row.ColumnInt(0));
      return absl::OkStatus();
    }));
  }
  for (int64_t run : runs) {
    const std::string table = sqlite::StagedTable(run);
    GM_RETURN_IF_ERROR(db_->Execute(sqlite::StagedTableSchema(run)));
    // The run's merged rows (one per key) become the rows of one of its
    // committed tasks, so they stay visible and a key stays unique among
    // committed rows. A run with staged rows has at least one such task.
    // Attempts in progress keep what they staged, still uncommitted, and the
    // keys they share with other tasks.
    const std::string statements[] = {
        absl::StrCat(
            "INSERT INTO ", table,
            " SELECT s.object, s.key, t.id, t.committed_attempt, s.type, "
            "s.classes, s.from_key, s.to_key, s.data, s.props, s.scope FROM "
            "staged_objects s JOIN tasks t ON t.id = (SELECT MIN(c.id) FROM "
            "tasks c WHERE c.run_id = ?1 AND c.committed_attempt > 0) WHERE "
            "s.run_id = ?1"),
        absl::StrCat("INSERT INTO ", table,
                     " SELECT a.object, a.key, a.task_id, a.attempt, a.type, "
                     "a.classes, a.from_key, a.to_key, a.data, a.props, "
                     "a.scope FROM attempt_objects a JOIN tasks t ON t.id = "
                     "a.task_id WHERE t.run_id = ?1"),
        absl::StrCat("INSERT OR IGNORE INTO attempt_shared_keys SELECT "
                     "a.task_id, a.attempt, a.object, a.key FROM "
                     "attempt_objects a JOIN tasks t ON t.id = a.task_id "
                     "WHERE t.run_id = ?1 AND EXISTS (SELECT 1 FROM ",
                     table,
                     " o WHERE o.object = a.object AND o.key = a.key AND "
                     "o.task_id != a.task_id)"),
    };
    for (const std::string& sql : statements) {
      GM_ASSIGN_OR_RETURN(SqliteStatement statement, db_->Prepare(sql));
      statement.Bind(1, run);
      GM_RETURN_IF_ERROR(statement.Run());
    }
  }
  // Indexes no query used (graph_by_type, changes_by_run), and endpoint
  // indexes that held a row per entity too; the schema makes the new ones.
  return db_->Execute(
      "INSERT INTO attempt_type_counts SELECT task_id, attempt, type, "
      "COUNT(*) FROM attempt_objects GROUP BY task_id, attempt, type;"
      "DROP TABLE staged_objects; DROP TABLE attempt_objects;"
      "DROP INDEX IF EXISTS graph_by_type; DROP INDEX IF EXISTS graph_by_from;"
      "DROP INDEX IF EXISTS graph_by_to; DROP INDEX IF EXISTS changes_by_run;"
      "UPDATE schema_version SET version = 3;");
}

absl::Status SqliteStore::ReadOnly(
    absl::FunctionRef<absl::Status(SqliteDatabase&)> read) {
  if (readers_ != nullptr) return readers_->Read(read);
  absl::MutexLock lock(&mu_);
  GM_RETURN_IF_ERROR(db_->Execute("BEGIN"));
  absl::Status status = read(*db_);
  const absl::Status ended = db_->Execute("COMMIT");
  return status.ok() ? ended : status;
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

}  // namespace graphmill::coordinator
