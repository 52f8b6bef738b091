// Implementation of coordinator/store/postgres_store.h. The SQL follows
// sqlite_store.cc statement by statement; where they differ, the comment says
// why.
#include "coordinator/store/postgres_store.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/graph_json.h"
#include "common/status_macros.h"
#include "coordinator/store/object_diff.h"

namespace graphmill::coordinator {
namespace {

// The same version as the SQLite schema's: the tables and what they hold are
// the same. PostgreSQL stores start at this version (there is nothing older to
// migrate).
constexpr int kSchemaVersion = 2;

// Every TEXT column compares bytewise (COLLATE "C", as SQLite's BINARY), so
// key order, keyset pagination and shard ranges do not depend on the
// database's locale.
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS integrations (
  name TEXT COLLATE "C" PRIMARY KEY, version TEXT COLLATE "C" NOT NULL,
  definition BYTEA NOT NULL);
-- settings: a serialized Instance holding config (secrets sealed), schedule,
-- disabled steps, rate limit and upload target.
CREATE TABLE IF NOT EXISTS instances (
  id TEXT COLLATE "C" PRIMARY KEY, integration TEXT COLLATE "C" NOT NULL,
  settings BYTEA NOT NULL, created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,
  last_slot_ms BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS runs (
  id BIGSERIAL PRIMARY KEY, instance_id TEXT COLLATE "C" NOT NULL,
  status INTEGER NOT NULL, created_ms BIGINT NOT NULL,
  ended_ms BIGINT NOT NULL DEFAULT 0, error TEXT COLLATE "C" NOT NULL DEFAULT '',
  definition BYTEA NOT NULL, created_count BIGINT NOT NULL DEFAULT 0,
  updated_count BIGINT NOT NULL DEFAULT 0, deleted_count BIGINT NOT NULL DEFAULT 0,
  trigger INTEGER NOT NULL DEFAULT 0, started_ms BIGINT NOT NULL DEFAULT 0,
  upload BYTEA NOT NULL DEFAULT '');
-- At most one active (VALIDATING=1, RUNNING=2) run per instance, enforced here.
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_active ON runs (instance_id)
  WHERE status IN (1, 2);
CREATE INDEX IF NOT EXISTS runs_by_instance ON runs (instance_id, id);
CREATE TABLE IF NOT EXISTS steps (
  run_id BIGINT NOT NULL, step_id TEXT COLLATE "C" NOT NULL,
  position INTEGER NOT NULL, name TEXT COLLATE "C" NOT NULL,
  status INTEGER NOT NULL, started_ms BIGINT NOT NULL DEFAULT 0,
  ended_ms BIGINT NOT NULL DEFAULT 0, error TEXT COLLATE "C" NOT NULL DEFAULT '',
  tasks_total INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, step_id));
CREATE TABLE IF NOT EXISTS step_type_counts (
  run_id BIGINT NOT NULL, step_id TEXT COLLATE "C" NOT NULL,
  type TEXT COLLATE "C" NOT NULL, count BIGINT NOT NULL,
  PRIMARY KEY (run_id, step_id, type));
CREATE TABLE IF NOT EXISTS tasks (
  id BIGSERIAL PRIMARY KEY, run_id BIGINT NOT NULL,
  instance_id TEXT COLLATE "C" NOT NULL, step_id TEXT COLLATE "C" NOT NULL,
  kind INTEGER NOT NULL, shard BYTEA NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT 0, worker_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  lease_expires_ms BIGINT NOT NULL DEFAULT 0,
  error TEXT COLLATE "C" NOT NULL DEFAULT '',
  lease_id TEXT COLLATE "C" NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state, id);
CREATE INDEX IF NOT EXISTS tasks_by_run ON tasks (run_id, step_id);
-- Objects of a task attempt not yet ended (object: 0 entity, 1 relationship).
-- scope: the key of the parent entity whose listing produced the object (''
-- unscoped). props: the properties as JSON, for property filters only.
CREATE TABLE IF NOT EXISTS attempt_objects (
  task_id BIGINT NOT NULL, attempt INTEGER NOT NULL, object INTEGER NOT NULL,
  key TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
  classes TEXT COLLATE "C" NOT NULL, from_key TEXT COLLATE "C" NOT NULL,
  to_key TEXT COLLATE "C" NOT NULL, data BYTEA NOT NULL, props JSONB NOT NULL,
  scope TEXT COLLATE "C" NOT NULL DEFAULT '',
  PRIMARY KEY (task_id, attempt, object, key));
-- What an attempt could not look at completely: a type ('' scope) or a scope
-- ('' type).
CREATE TABLE IF NOT EXISTS attempt_incomplete (
  task_id BIGINT NOT NULL, attempt INTEGER NOT NULL,
  type TEXT COLLATE "C" NOT NULL, scope TEXT COLLATE "C" NOT NULL,
  reason TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (task_id, attempt, type, scope));
-- The same, for the run, from ended attempts.
CREATE TABLE IF NOT EXISTS run_incomplete (
  run_id BIGINT NOT NULL, step_id TEXT COLLATE "C" NOT NULL,
  type TEXT COLLATE "C" NOT NULL, scope TEXT COLLATE "C" NOT NULL,
  reason TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (run_id, step_id, type, scope));
CREATE INDEX IF NOT EXISTS run_incomplete_by_scope ON run_incomplete (run_id, scope);
-- A finalized run's incomplete types (IncompleteType).
CREATE TABLE IF NOT EXISTS run_incomplete_types (
  run_id BIGINT NOT NULL, type TEXT COLLATE "C" NOT NULL,
  reason TEXT COLLATE "C" NOT NULL, error BOOLEAN NOT NULL,
  all_kept BOOLEAN NOT NULL,
  PRIMARY KEY (run_id, type));
CREATE TABLE IF NOT EXISTS attempt_events (
  id BIGSERIAL PRIMARY KEY, task_id BIGINT NOT NULL, attempt INTEGER NOT NULL,
  time_ms BIGINT NOT NULL, level INTEGER NOT NULL, name TEXT COLLATE "C" NOT NULL,
  description TEXT COLLATE "C" NOT NULL);
CREATE INDEX IF NOT EXISTS attempt_events_by_task ON attempt_events (task_id, attempt);
-- A run's collected objects, from ended attempts.
CREATE TABLE IF NOT EXISTS staged_objects (
  run_id BIGINT NOT NULL, object INTEGER NOT NULL, key TEXT COLLATE "C" NOT NULL,
  type TEXT COLLATE "C" NOT NULL, classes TEXT COLLATE "C" NOT NULL,
  from_key TEXT COLLATE "C" NOT NULL, to_key TEXT COLLATE "C" NOT NULL,
  data BYTEA NOT NULL, props JSONB NOT NULL,
  scope TEXT COLLATE "C" NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, object, key));
CREATE INDEX IF NOT EXISTS staged_by_type ON staged_objects (run_id, object, type, key);
-- Each instance's finalized graph.
CREATE TABLE IF NOT EXISTS graph_objects (
  instance_id TEXT COLLATE "C" NOT NULL, object INTEGER NOT NULL,
  key TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL,
  classes TEXT COLLATE "C" NOT NULL, from_key TEXT COLLATE "C" NOT NULL,
  to_key TEXT COLLATE "C" NOT NULL, data BYTEA NOT NULL, props JSONB NOT NULL,
  scope TEXT COLLATE "C" NOT NULL DEFAULT '',
  PRIMARY KEY (instance_id, object, key));
CREATE INDEX IF NOT EXISTS graph_by_type ON graph_objects (instance_id, object, type, key);
CREATE INDEX IF NOT EXISTS graph_by_from ON graph_objects (instance_id, object, from_key);
CREATE INDEX IF NOT EXISTS graph_by_to ON graph_objects (instance_id, object, to_key);
-- Named counters, e.g. the last change-log sequence pruned by retention.
CREATE TABLE IF NOT EXISTS meta (
  name TEXT COLLATE "C" PRIMARY KEY, value BIGINT NOT NULL);
-- The change log (change: 1 created, 2 updated, 3 deleted).
CREATE TABLE IF NOT EXISTS changes (
  sequence BIGSERIAL PRIMARY KEY, instance_id TEXT COLLATE "C" NOT NULL,
  run_id BIGINT NOT NULL, change INTEGER NOT NULL, object INTEGER NOT NULL,
  key TEXT COLLATE "C" NOT NULL, type TEXT COLLATE "C" NOT NULL, data BYTEA,
  previous BYTEA, time_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS changes_by_run ON changes (run_id, object, change, key);
CREATE TABLE IF NOT EXISTS events (
  sequence BIGSERIAL PRIMARY KEY, run_id BIGINT NOT NULL, time_ms BIGINT NOT NULL,
  level INTEGER NOT NULL, name TEXT COLLATE "C" NOT NULL,
  description TEXT COLLATE "C" NOT NULL, step_id TEXT COLLATE "C" NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, sequence);
-- Bearer tokens: the SHA-256 hash of each (never the token). Revoking deletes
-- the row.
CREATE TABLE IF NOT EXISTS tokens (
  name TEXT COLLATE "C" PRIMARY KEY,
  role TEXT COLLATE "C" NOT NULL CHECK (role IN ('admin', 'reader', 'worker')),
  hash BYTEA NOT NULL UNIQUE, created_ms BIGINT NOT NULL);
)sql";

// Held (transaction-scoped) while the schema is created, so coordinators
// starting together on an empty database do not race on CREATE TABLE.
constexpr int64_t kSchemaLockKey = 0x67726170686d696c;  // "graphmil"

constexpr int kEntityObject = 0;
constexpr int kRelationshipObject = 1;

// Classes are stored as "|A|B|" so a class filter is a substring match.
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

// True if `value` is or holds a NaN or infinite number.
bool HasNonFinite(const v1::Value& value) {
  if (value.kind_case() == v1::Value::kDoubleValue) {
    return !std::isfinite(value.double_value());
  }
  if (value.kind_case() == v1::Value::kListValue) {
    for (const v1::Value& element : value.list_value().values()) {
      if (HasNonFinite(element)) return true;
    }
  }
  return false;
}

v1::Value WithoutNonFinite(const v1::Value& value) {
  if (!HasNonFinite(value)) return value;
  v1::Value result;
  if (value.kind_case() == v1::Value::kDoubleValue) {
    result.set_null_value(true);
    return result;
  }
  for (const v1::Value& element : value.list_value().values()) {
    *result.mutable_list_value()->add_values() = WithoutNonFinite(element);
  }
  return result;
}

// JSON that jsonb accepts: "\u0000" (which jsonb refuses) becomes "\ufffd".
std::string JsonbSafe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    if (json[i] != '\\') {
      out += json[i];
    } else if (json.compare(i, 6, "\\u0000") == 0) {
      out += "\\ufffd";
      i += 5;
    } else if (i + 1 < json.size()) {
      out.append(json, i, 2);  // an escape: its second character is not one
      ++i;
    }
  }
  return out;
}

// The props column: PropertiesToJson's JSON, which property filters read, made
// acceptable to jsonb (NaN and infinities, which JSON cannot spell, as null;
// U+0000 as U+FFFD). `data` keeps the exact object.
std::string PropsJson(
    const google::protobuf::Map<std::string, v1::Value>& properties) {
  bool non_finite = false;
  for (const auto& [name, value] : properties)
    non_finite |= HasNonFinite(value);
  if (!non_finite) return JsonbSafe(PropertiesToJson(properties));
  google::protobuf::Map<std::string, v1::Value> finite;
  for (const auto& [name, value] : properties) {
    finite[name] = WithoutNonFinite(value);
  }
  return JsonbSafe(PropertiesToJson(finite));
}

constexpr char kTaskColumns[] =
    "id, run_id, step_id, kind, shard, attempt, state, worker_id, "
    "lease_expires_ms, error, instance_id, lease_id";

absl::StatusOr<TaskRecord> TaskFromRow(const PgResult& rows, int row) {
  TaskRecord task;
  task.id = rows.Int(row, 0);
  task.run_id = rows.Int(row, 1);
  task.step_id = rows.Text(row, 2);
  task.kind = static_cast<v1::TaskKind>(rows.Int(row, 3));
  GM_ASSIGN_OR_RETURN(task.shard,
                      Parse<v1::Shard>(rows.Text(row, 4), "task shard"));
  task.attempt = static_cast<int32_t>(rows.Int(row, 5));
  task.state = static_cast<TaskState>(rows.Int(row, 6));
  task.worker_id = rows.Text(row, 7);
  task.lease_expires_ms = rows.Int(row, 8);
  task.error = rows.Text(row, 9);
  task.instance_id = rows.Text(row, 10);
  task.lease_id = rows.Text(row, 11);
  return task;
}

absl::StatusOr<std::vector<TaskRecord>> CollectTasks(const PgResult& rows) {
  std::vector<TaskRecord> tasks;
  for (int row = 0; row < rows.rows(); ++row) {
    GM_ASSIGN_OR_RETURN(TaskRecord task, TaskFromRow(rows, row));
    tasks.push_back(std::move(task));
  }
  return tasks;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const std::string& uri) {
  GM_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> db,
                      PgConnection::Open(uri));
  std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(db), uri));
  GM_RETURN_IF_ERROR(store->Migrate());
  return store;
}

absl::Status PostgresStore::Migrate() {
  absl::MutexLock lock(&mu_);
  int64_t version = 0;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    GM_RETURN_IF_ERROR(db_->Query("SELECT pg_advisory_xact_lock($1)",
                                  PgParams().Int(kSchemaLockKey))
                           .status());
    GM_RETURN_IF_ERROR(db_->Execute(kSchema));
    GM_ASSIGN_OR_RETURN(PgResult rows,
                        db_->Query("SELECT version FROM schema_version"));
    if (rows.rows() > 0) {
      version = rows.Int(0, 0);
      return absl::OkStatus();
    }
    version = kSchemaVersion;
    return db_
        ->Query("INSERT INTO schema_version (version) VALUES ($1)",
                PgParams().Int(kSchemaVersion))
        .status();
  }));
  if (version != kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("store schema version ", version,
                     " is not supported (want ", kSchemaVersion, ")"));
  }
  return absl::OkStatus();
}

absl::Status PostgresStore::Transaction(
    const std::function<absl::Status()>& body) {
  constexpr int kTries = 3;
  absl::Status status;
  for (int attempt = 1; attempt <= kTries; ++attempt) {
    status = db_->Begin();
    if (!status.ok()) return status;
    status = body();
    if (status.ok()) status = db_->Commit();
    if (status.ok()) return status;
    db_->Rollback();
    if (!absl::IsAborted(status)) return status;
  }
  return status;
}

absl::Status PostgresStore::ReadTransaction(
    const std::function<absl::Status()>& body) {
  GM_RETURN_IF_ERROR(
      db_->Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  absl::Status status = body();
  if (status.ok()) return db_->Commit();
  db_->Rollback();
  return status;
}

// Sequence numbers are taken when rows are inserted but become visible when
// their transaction commits. If two transactions appended at once, a reader
// could see sequence 12 committed before 11 and move past 11 for good. Writers
// of the change log therefore take this lock (readers are not blocked; it is
// held until commit), so each one's sequences follow every earlier one's.
absl::Status PostgresStore::LockChangeLog() {
  return db_->Execute("LOCK TABLE changes IN EXCLUSIVE MODE");
}

// --- Integrations ---

absl::Status PostgresStore::PutIntegration(
    const v1::IntegrationDefinition& definition) {
  absl::MutexLock lock(&mu_);
  constexpr char kPut[] = R"sql(
      INSERT INTO integrations (name, version, definition) VALUES ($1, $2, $3)
      ON CONFLICT (name) DO UPDATE
        SET version = excluded.version, definition = excluded.definition)sql";
  return db_
      ->Query(kPut, PgParams()
                        .Text(definition.name())
                        .Text(definition.version())
                        .Bytes(SerializeDeterministic(definition)))
      .status();
}

absl::StatusOr<v1::IntegrationDefinition> PostgresStore::GetIntegration(
    const std::string& name) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query("SELECT definition FROM integrations WHERE name = $1",
                 PgParams().Text(name)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(
        absl::StrCat("unknown integration '", name,
                     "' (no connected worker has advertised it)"));
  }
  return Parse<v1::IntegrationDefinition>(rows.Text(0, 0),
                                          "integration definition");
}

absl::StatusOr<std::vector<v1::IntegrationDefinition>>
PostgresStore::ListIntegrations() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query("SELECT definition FROM integrations ORDER BY name"));
  std::vector<v1::IntegrationDefinition> result;
  for (int row = 0; row < rows.rows(); ++row) {
    GM_ASSIGN_OR_RETURN(
        v1::IntegrationDefinition definition,
        Parse<v1::IntegrationDefinition>(rows.Text(row, 0), "definition"));
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

constexpr char kInstanceColumns[] =
    "id, integration, settings, created_ms, updated_ms";

absl::StatusOr<v1::Instance> InstanceFromRow(const PgResult& rows, int row) {
  GM_ASSIGN_OR_RETURN(
      v1::Instance instance,
      Parse<v1::Instance>(rows.Text(row, 2), "instance settings"));
  instance.set_id(rows.Text(row, 0));
  instance.set_integration(rows.Text(row, 1));
  instance.set_created_at_ms(rows.Int(row, 3));
  instance.set_updated_at_ms(rows.Int(row, 4));
  return instance;
}

}  // namespace

absl::Status PostgresStore::CreateInstance(const v1::Instance& instance) {
  absl::MutexLock lock(&mu_);
  constexpr char kInsert[] = R"sql(
      INSERT INTO instances (id, integration, settings, created_ms, updated_ms)
      VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING)sql";
  GM_ASSIGN_OR_RETURN(PgResult inserted,
                      db_->Query(kInsert, PgParams()
                                              .Text(instance.id())
                                              .Text(instance.integration())
                                              .Bytes(Settings(instance))
                                              .Int(instance.created_at_ms())
                                              .Int(instance.updated_at_ms())));
  if (inserted.affected() == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("instance '", instance.id(), "' already exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Instance> PostgresStore::GetInstance(const std::string& id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(PgResult rows,
                      db_->Query(absl::StrCat("SELECT ", kInstanceColumns,
                                              " FROM instances WHERE id = $1"),
                                 PgParams().Text(id)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("instance '", id, "' not found"));
  }
  return InstanceFromRow(rows, 0);
}

absl::StatusOr<std::vector<v1::Instance>> PostgresStore::ListInstances() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(PgResult rows,
                      db_->Query(absl::StrCat("SELECT ", kInstanceColumns,
                                              " FROM instances ORDER BY id")));
  std::vector<v1::Instance> result;
  for (int row = 0; row < rows.rows(); ++row) {
    GM_ASSIGN_OR_RETURN(v1::Instance instance, InstanceFromRow(rows, row));
    result.push_back(std::move(instance));
  }
  return result;
}

absl::Status PostgresStore::UpdateInstance(const v1::Instance& instance) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult updated,
      db_->Query(
          "UPDATE instances SET settings = $1, updated_ms = $2 WHERE id = $3",
          PgParams()
              .Bytes(Settings(instance))
              .Int(instance.updated_at_ms())
              .Text(instance.id())));
  if (updated.affected() == 0) {
    return absl::NotFoundError(
        absl::StrCat("instance '", instance.id(), "' not found"));
  }
  return absl::OkStatus();
}

absl::Status PostgresStore::DeleteInstance(const std::string& id,
                                           int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    // The instance row is locked first, as CreateRun and Finalize do: no run
    // can start or finalize while it goes.
    GM_ASSIGN_OR_RETURN(
        PgResult exists,
        db_->Query("SELECT 1 FROM instances WHERE id = $1 FOR UPDATE",
                   PgParams().Text(id)));
    if (exists.rows() == 0) {
      return absl::NotFoundError(absl::StrCat("instance '", id, "' not found"));
    }
    GM_ASSIGN_OR_RETURN(
        PgResult active,
        db_->Query(
            "SELECT id FROM runs WHERE instance_id = $1 AND status IN (1, 2)",
            PgParams().Text(id)));
    if (active.rows() > 0) {
      const int64_t run = active.Int(0, 0);
      return absl::FailedPreconditionError(
          absl::StrCat("instance '", id, "' has an active run ", run,
                       "; cancel it first (graphmill run cancel ", run, ")"));
    }
    GM_RETURN_IF_ERROR(LockChangeLog());
    // Subscribers see the graph go: every object is logged as deleted
    // (relationships first, then entities, as finalize orders deletions).
    constexpr char kLogDeletions[] = R"sql(
        INSERT INTO changes
          (instance_id, run_id, change, object, key, type, data, previous, time_ms)
        SELECT $1, 0, 3, object, key, type, data, data, $2 FROM graph_objects
        WHERE instance_id = $1 ORDER BY object DESC, key)sql";
    GM_RETURN_IF_ERROR(
        db_->Query(kLogDeletions, PgParams().Text(id).Int(now_ms)).status());
    const char* kStatements[] = {
        "DELETE FROM graph_objects WHERE instance_id = $1",
        "DELETE FROM staged_objects WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM attempt_objects WHERE task_id IN "
        "(SELECT id FROM tasks WHERE instance_id = $1)",
        "DELETE FROM attempt_events WHERE task_id IN "
        "(SELECT id FROM tasks WHERE instance_id = $1)",
        "DELETE FROM attempt_incomplete WHERE task_id IN "
        "(SELECT id FROM tasks WHERE instance_id = $1)",
        "DELETE FROM run_incomplete WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM run_incomplete_types WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM tasks WHERE instance_id = $1",
        "DELETE FROM steps WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM step_type_counts WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM events WHERE run_id IN "
        "(SELECT id FROM runs WHERE instance_id = $1)",
        "DELETE FROM runs WHERE instance_id = $1",
        "DELETE FROM instances WHERE id = $1",
    };
    for (const char* sql : kStatements) {
      GM_RETURN_IF_ERROR(db_->Query(sql, PgParams().Text(id)).status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> PostgresStore::GetLastScheduledSlot(
    const std::string& id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query("SELECT last_slot_ms FROM instances WHERE id = $1",
                 PgParams().Text(id)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("instance '", id, "' not found"));
  }
  return rows.Int(0, 0);
}

absl::Status PostgresStore::SetLastScheduledSlot(const std::string& id,
                                                 int64_t slot_ms) {
  absl::MutexLock lock(&mu_);
  return db_
      ->Query("UPDATE instances SET last_slot_ms = $1 WHERE id = $2",
              PgParams().Int(slot_ms).Text(id))
      .status();
}

// --- Runs ---

absl::StatusOr<int64_t> PostgresStore::CreateRun(
    const std::string& instance_id, const v1::IntegrationDefinition& definition,
    v1::RunTrigger trigger, const std::vector<std::string>& disabled_steps,
    int64_t now_ms, std::optional<int64_t> schedule_slot_ms) {
  absl::MutexLock lock(&mu_);
  // Recorded on its own, so it stays when the run is refused.
  if (schedule_slot_ms.has_value()) {
    GM_RETURN_IF_ERROR(
        db_->Query("UPDATE instances SET last_slot_ms = $1 WHERE id = $2",
                   PgParams().Int(*schedule_slot_ms).Text(instance_id))
            .status());
  }
  int64_t run_id = 0;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    // Locking the instance row makes "is a run active?" and the insert one
    // decision.
    GM_RETURN_IF_ERROR(
        db_->Query("SELECT 1 FROM instances WHERE id = $1 FOR UPDATE",
                   PgParams().Text(instance_id))
            .status());
    GM_ASSIGN_OR_RETURN(
        PgResult active,
        db_->Query(
            "SELECT id FROM runs WHERE instance_id = $1 AND status IN (1, 2)",
            PgParams().Text(instance_id)));
    if (active.rows() > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("instance '", instance_id,
                       "' already has an active run ", active.Int(0, 0)));
    }
    constexpr char kInsertRun[] = R"sql(
        INSERT INTO runs (instance_id, status, created_ms, definition, trigger)
        VALUES ($1, $2, $3, $4, $5) RETURNING id)sql";
    absl::StatusOr<PgResult> inserted =
        db_->Query(kInsertRun, PgParams()
                                   .Text(instance_id)
                                   .Int(v1::RUN_STATUS_VALIDATING)
                                   .Int(now_ms)
                                   .Bytes(SerializeDeterministic(definition))
                                   .Int(trigger));
    if (absl::IsAlreadyExists(inserted.status())) {
      // runs_one_active: a run started for an instance without a row.
      return absl::FailedPreconditionError(absl::StrCat(
          "instance '", instance_id, "' already has an active run"));
    }
    GM_RETURN_IF_ERROR(inserted.status());
    run_id = inserted->Int(0, 0);
    int position = 0;
    for (const v1::StepDefinition& step : definition.steps()) {
      const bool disabled =
          std::find(disabled_steps.begin(), disabled_steps.end(), step.id()) !=
          disabled_steps.end();
      constexpr char kInsertStep[] = R"sql(
          INSERT INTO steps (run_id, step_id, position, name, status)
          VALUES ($1, $2, $3, $4, $5))sql";
      GM_RETURN_IF_ERROR(
          db_->Query(kInsertStep, PgParams()
                                      .Int(run_id)
                                      .Text(step.id())
                                      .Int(position++)
                                      .Text(step.name())
                                      .Int(disabled ? v1::STEP_STATUS_DISABLED
                                                    : v1::STEP_STATUS_PENDING))
              .status());
    }
    constexpr char kInsertValidation[] = R"sql(
        INSERT INTO tasks (run_id, instance_id, step_id, kind, shard)
        VALUES ($1, $2, '', $3, ''))sql";
    return db_
        ->Query(kInsertValidation, PgParams()
                                       .Int(run_id)
                                       .Text(instance_id)
                                       .Int(v1::TASK_KIND_VALIDATE_INVOCATION))
        .status();
  }));
  return run_id;
}

absl::StatusOr<v1::Run> PostgresStore::GetRun(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  v1::Run run;
  GM_RETURN_IF_ERROR(ReadTransaction([&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(run, GetRunLocked(run_id));
    return absl::OkStatus();
  }));
  return run;
}

absl::StatusOr<v1::Run> PostgresStore::GetRunLocked(int64_t run_id) {
  constexpr char kSelectRun[] = R"sql(
      SELECT instance_id, status, created_ms, ended_ms, error, created_count,
             updated_count, deleted_count, trigger, started_ms, upload
      FROM runs WHERE id = $1)sql";
  GM_ASSIGN_OR_RETURN(PgResult rows,
                      db_->Query(kSelectRun, PgParams().Int(run_id)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  }
  v1::Run run;
  run.set_id(run_id);
  run.set_instance_id(rows.Text(0, 0));
  run.set_status(static_cast<v1::RunStatus>(rows.Int(0, 1)));
  run.set_created_at_ms(rows.Int(0, 2));
  run.set_ended_at_ms(rows.Int(0, 3));
  run.set_error(rows.Text(0, 4));
  run.set_created_count(rows.Int(0, 5));
  run.set_updated_count(rows.Int(0, 6));
  run.set_deleted_count(rows.Int(0, 7));
  run.set_trigger(static_cast<v1::RunTrigger>(rows.Int(0, 8)));
  run.set_started_at_ms(rows.Int(0, 9));
  if (const std::string upload = rows.Text(0, 10); !upload.empty()) {
    GM_ASSIGN_OR_RETURN(*run.mutable_upload(),
                        Parse<v1::UploadStatus>(upload, "run upload"));
  }

  constexpr char kSelectSteps[] = R"sql(
      SELECT s.step_id, s.name, s.status, s.started_ms, s.ended_ms, s.error,
             s.tasks_total,
             (SELECT COUNT(*) FROM tasks t
              WHERE t.run_id = s.run_id AND t.step_id = s.step_id
                AND t.state IN (2, 3))
      FROM steps s WHERE s.run_id = $1 ORDER BY s.position)sql";
  GM_ASSIGN_OR_RETURN(PgResult steps,
                      db_->Query(kSelectSteps, PgParams().Int(run_id)));
  for (int row = 0; row < steps.rows(); ++row) {
    v1::StepRun* step = run.add_steps();
    step->set_step_id(steps.Text(row, 0));
    step->set_name(steps.Text(row, 1));
    step->set_status(static_cast<v1::StepStatus>(steps.Int(row, 2)));
    step->set_started_at_ms(steps.Int(row, 3));
    step->set_ended_at_ms(steps.Int(row, 4));
    step->set_error(steps.Text(row, 5));
    step->set_tasks_total(static_cast<int32_t>(steps.Int(row, 6)));
    step->set_tasks_done(static_cast<int32_t>(steps.Int(row, 7)));
  }
  GM_ASSIGN_OR_RETURN(
      PgResult counts,
      db_->Query(
          "SELECT step_id, type, count FROM step_type_counts WHERE run_id = $1",
          PgParams().Int(run_id)));
  for (int row = 0; row < counts.rows(); ++row) {
    const std::string step_id = counts.Text(row, 0);
    for (v1::StepRun& step : *run.mutable_steps()) {
      if (step.step_id() == step_id) {
        (*step.mutable_type_counts())[counts.Text(row, 1)] = counts.Int(row, 2);
      }
    }
  }
  constexpr char kSelectIncompleteTypes[] = R"sql(
      SELECT type, reason, error, all_kept FROM run_incomplete_types
      WHERE run_id = $1 ORDER BY type)sql";
  GM_ASSIGN_OR_RETURN(PgResult incomplete, db_->Query(kSelectIncompleteTypes,
                                                      PgParams().Int(run_id)));
  for (int row = 0; row < incomplete.rows(); ++row) {
    v1::IncompleteType* type = run.add_incomplete_types();
    type->set_type(incomplete.Text(row, 0));
    type->set_reason(incomplete.Text(row, 1));
    type->set_error(incomplete.Bool(row, 2));
    type->set_all_kept(incomplete.Bool(row, 3));
  }
  return run;
}

absl::StatusOr<std::vector<v1::Run>> PostgresStore::ListRuns(
    const std::string& instance_id, int limit) {
  std::vector<int64_t> ids;
  {
    absl::MutexLock lock(&mu_);
    constexpr char kSelectIds[] = R"sql(
        SELECT id FROM runs WHERE ($1 = '' OR instance_id = $1)
        ORDER BY id DESC LIMIT $2)sql";
    GM_ASSIGN_OR_RETURN(
        PgResult rows,
        db_->Query(kSelectIds, PgParams().Text(instance_id).Limit(limit)));
    for (int row = 0; row < rows.rows(); ++row) ids.push_back(rows.Int(row, 0));
  }
  std::vector<v1::Run> runs;
  for (int64_t id : ids) {
    GM_ASSIGN_OR_RETURN(v1::Run run, GetRun(id));
    runs.push_back(std::move(run));
  }
  return runs;
}

absl::StatusOr<std::vector<int64_t>> PostgresStore::ActiveRunIds() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query("SELECT id FROM runs WHERE status IN (1, 2) ORDER BY id"));
  std::vector<int64_t> ids;
  for (int row = 0; row < rows.rows(); ++row) ids.push_back(rows.Int(row, 0));
  return ids;
}

absl::StatusOr<v1::IntegrationDefinition> PostgresStore::GetRunDefinition(
    int64_t run_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(PgResult rows,
                      db_->Query("SELECT definition FROM runs WHERE id = $1",
                                 PgParams().Int(run_id)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
  }
  return Parse<v1::IntegrationDefinition>(rows.Text(0, 0), "run definition");
}

absl::Status PostgresStore::SetRunStatus(int64_t run_id, v1::RunStatus status,
                                         const std::string& error,
                                         int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  const bool ended =
      status != v1::RUN_STATUS_VALIDATING && status != v1::RUN_STATUS_RUNNING;
  constexpr char kUpdate[] = R"sql(
      UPDATE runs SET status = $1, error = $2, ended_ms = $3,
        started_ms = CASE WHEN $1 = 2 AND started_ms = 0 THEN $5
                          ELSE started_ms END
      WHERE id = $4)sql";
  return db_
      ->Query(kUpdate, PgParams()
                           .Int(status)
                           .Text(error)
                           .Int(ended ? now_ms : 0)
                           .Int(run_id)
                           .Int(now_ms))
      .status();
}

absl::Status PostgresStore::SetRunUpload(int64_t run_id,
                                         const v1::UploadStatus& upload) {
  absl::MutexLock lock(&mu_);
  return db_
      ->Query("UPDATE runs SET upload = $1 WHERE id = $2",
              PgParams().Bytes(SerializeDeterministic(upload)).Int(run_id))
      .status();
}

absl::StatusOr<std::vector<TaskRecord>> PostgresStore::CancelRun(
    int64_t run_id, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  std::vector<TaskRecord> leased;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    // The run row, then its unfinished task rows (the order CommitAttempt
    // locks them in): an attempt cannot end while its run is cancelled.
    constexpr char kCancel[] = R"sql(
        UPDATE runs SET status = $1, ended_ms = $2,
          error = 'cancelled by an operator'
        WHERE id = $3 AND status IN (1, 2))sql";
    GM_ASSIGN_OR_RETURN(
        PgResult cancelled,
        db_->Query(
            kCancel,
            PgParams().Int(v1::RUN_STATUS_CANCELLED).Int(now_ms).Int(run_id)));
    if (cancelled.affected() == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("run ", run_id, " is not active"));
    }
    GM_ASSIGN_OR_RETURN(
        PgResult unfinished,
        db_->Query(absl::StrCat("SELECT ", kTaskColumns,
                                " FROM tasks WHERE run_id = $1 AND state IN "
                                "(0, 1) ORDER BY id FOR UPDATE"),
                   PgParams().Int(run_id)));
    GM_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks,
                        CollectTasks(unfinished));
    leased.clear();
    for (TaskRecord& task : tasks) {
      if (task.state == TaskState::kLeased) leased.push_back(std::move(task));
    }
    const char* kStatements[] = {
        "DELETE FROM attempt_objects WHERE task_id IN "
        "(SELECT id FROM tasks WHERE run_id = $1 AND state IN (0, 1))",
        "DELETE FROM attempt_events WHERE task_id IN "
        "(SELECT id FROM tasks WHERE run_id = $1 AND state IN (0, 1))",
        "DELETE FROM attempt_incomplete WHERE task_id IN "
        "(SELECT id FROM tasks WHERE run_id = $1 AND state IN (0, 1))",
        "UPDATE tasks SET state = 3, error = 'run cancelled', worker_id = '' "
        "WHERE run_id = $1 AND state IN (0, 1)",
        "DELETE FROM staged_objects WHERE run_id = $1",
    };
    for (const char* sql : kStatements) {
      GM_RETURN_IF_ERROR(db_->Query(sql, PgParams().Int(run_id)).status());
    }
    return absl::OkStatus();
  }));
  return leased;
}

absl::StatusOr<std::vector<StepRecord>> PostgresStore::GetSteps(
    int64_t run_id) {
  absl::MutexLock lock(&mu_);
  std::vector<StepRecord> steps;
  GM_RETURN_IF_ERROR(ReadTransaction([&]() -> absl::Status {
    steps.clear();
    constexpr char kSelectSteps[] = R"sql(
        SELECT step_id, status, error FROM steps WHERE run_id = $1
        ORDER BY position)sql";
    GM_ASSIGN_OR_RETURN(PgResult rows,
                        db_->Query(kSelectSteps, PgParams().Int(run_id)));
    std::map<std::string, size_t> position;
    for (int row = 0; row < rows.rows(); ++row) {
      StepRecord& step = steps.emplace_back();
      step.step_id = rows.Text(row, 0);
      step.status = static_cast<v1::StepStatus>(rows.Int(row, 1));
      step.error = rows.Text(row, 2);
      position[step.step_id] = steps.size() - 1;
    }
    // Partial types with their first reason.
    constexpr char kSelectPartialTypes[] = R"sql(
        SELECT step_id, type, MIN(reason) FROM run_incomplete
        WHERE run_id = $1 AND scope = ''
        GROUP BY step_id, type ORDER BY step_id, type)sql";
    GM_ASSIGN_OR_RETURN(PgResult partial, db_->Query(kSelectPartialTypes,
                                                     PgParams().Int(run_id)));
    for (int row = 0; row < partial.rows(); ++row) {
      auto found = position.find(partial.Text(row, 0));
      if (found == position.end()) continue;
      steps[found->second].partial_types.emplace(partial.Text(row, 1),
                                                 partial.Text(row, 2));
    }
    // Scope gaps counted per reason and scope type (a scope's entity is one of
    // the run's parents).
    constexpr char kSelectScopeGaps[] = R"sql(
        SELECT step_id, reason, scope_type, COUNT(*) FROM (
          SELECT r.step_id, r.reason,
                 COALESCE((SELECT s.type FROM staged_objects s
                           WHERE s.run_id = r.run_id AND s.object = 0
                             AND s.key = r.scope), '') AS scope_type
          FROM run_incomplete r WHERE r.run_id = $1 AND r.scope != '') gap
        GROUP BY step_id, reason, scope_type
        ORDER BY step_id, reason, scope_type)sql";
    GM_ASSIGN_OR_RETURN(PgResult gaps,
                        db_->Query(kSelectScopeGaps, PgParams().Int(run_id)));
    for (int row = 0; row < gaps.rows(); ++row) {
      auto found = position.find(gaps.Text(row, 0));
      if (found == position.end()) continue;
      steps[found->second].scope_gaps.push_back(
          {gaps.Text(row, 1), gaps.Text(row, 2), gaps.Int(row, 3)});
    }
    return absl::OkStatus();
  }));
  return steps;
}

absl::Status PostgresStore::SetStepStatus(int64_t run_id,
                                          const std::string& step_id,
                                          v1::StepStatus status,
                                          const std::string& error,
                                          int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  // started_ms is set when the step leaves PENDING, ended_ms when it settles.
  constexpr char kUpdate[] = R"sql(
      UPDATE steps SET status = $1, error = $2,
        started_ms = CASE WHEN started_ms = 0 AND $1 != 1 THEN $3
                          ELSE started_ms END,
        ended_ms = CASE WHEN $1 >= 3 THEN $3 ELSE 0 END
      WHERE run_id = $4 AND step_id = $5)sql";
  return db_
      ->Query(kUpdate,
              PgParams().Int(status).Text(error).Int(now_ms).Int(run_id).Text(
                  step_id))
      .status();
}

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
  return inserted.Int(0, 0);
}

absl::Status PostgresStore::SetStepTaskTotal(int64_t run_id,
                                             const std::string& step_id,
                                             int total) {
  absl::MutexLock lock(&mu_);
  return db_
      ->Query(
          "UPDATE steps SET tasks_total = $1 WHERE run_id = $2 AND step_id = "
          "$3",
          PgParams().Int(total).Int(run_id).Text(step_id))
      .status();
}

absl::StatusOr<TaskRecord> PostgresStore::GetTaskLocked(int64_t task_id,
                                                        bool lock) {
  GM_ASSIGN_OR_RETURN(PgResult rows,
                      db_->Query(absl::StrCat("SELECT ", kTaskColumns,
                                              " FROM tasks WHERE id = $1",
                                              lock ? " FOR UPDATE" : ""),
                                 PgParams().Int(task_id)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("task ", task_id, " not found"));
  }
  return TaskFromRow(rows, 0);
}

absl::StatusOr<TaskRecord> PostgresStore::GetTask(int64_t task_id) {
  absl::MutexLock lock(&mu_);
  return GetTaskLocked(task_id, /*lock=*/false);
}

absl::StatusOr<std::vector<TaskRecord>> PostgresStore::TasksOfRun(
    int64_t run_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(absl::StrCat("SELECT ", kTaskColumns,
                              " FROM tasks WHERE run_id = $1 ORDER BY id"),
                 PgParams().Int(run_id)));
  return CollectTasks(rows);
}

absl::StatusOr<std::vector<TaskRecord>> PostgresStore::PendingTasks(int limit) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(absl::StrCat(
                     "SELECT ", kTaskColumns,
                     " FROM tasks WHERE state = 0 AND (run_id = 0 OR run_id IN "
                     "(SELECT id FROM runs WHERE status IN (1, 2))) "
                     "ORDER BY id LIMIT $1"),
                 PgParams().Limit(limit)));
  return CollectTasks(rows);
}

absl::StatusOr<int32_t> PostgresStore::LeaseTask(int64_t task_id,
                                                 const std::string& worker_id,
                                                 const std::string& lease_id,
                                                 int64_t lease_expires_ms) {
  absl::MutexLock lock(&mu_);
  // One statement: of two coordinators leasing the same task, the second
  // finds it no longer pending once the first commits.
  constexpr char kLease[] = R"sql(
      UPDATE tasks SET state = 1, attempt = attempt + 1, worker_id = $1,
        lease_expires_ms = $2, lease_id = $3
      WHERE id = $4 AND state = 0 RETURNING attempt)sql";
  GM_ASSIGN_OR_RETURN(PgResult leased,
                      db_->Query(kLease, PgParams()
                                             .Text(worker_id)
                                             .Int(lease_expires_ms)
                                             .Text(lease_id)
                                             .Int(task_id)));
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
      WHERE id = $2 AND attempt = $3 AND worker_id = $4 AND state = 1)sql";
  return db_
      ->Query(kRenew, PgParams()
                          .Int(lease_expires_ms)
                          .Int(task_id)
                          .Int(attempt)
                          .Text(worker_id))
      .status();
}

absl::StatusOr<std::vector<TaskRecord>> PostgresStore::LeasedTasks(
    int64_t expired_before_ms, const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(absl::StrCat("SELECT ", kTaskColumns,
                              " FROM tasks WHERE state = 1 AND "
                              "(lease_expires_ms < $1 OR "
                              "($2 != '' AND worker_id = $2)) ORDER BY id"),
                 PgParams().Int(expired_before_ms).Text(worker_id)));
  return CollectTasks(rows);
}

absl::Status PostgresStore::ReleaseTask(int64_t task_id, int32_t attempt,
                                        int max_attempts,
                                        const std::string& error) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    constexpr char kRelease[] = R"sql(
        UPDATE tasks SET state = CASE WHEN attempt >= $1 THEN 3 ELSE 0 END,
          error = $2, worker_id = ''
        WHERE id = $3 AND attempt = $4 AND state = 1)sql";
    GM_RETURN_IF_ERROR(db_->Query(kRelease, PgParams()
                                                .Int(max_attempts)
                                                .Text(error)
                                                .Int(task_id)
                                                .Int(attempt))
                           .status());
    for (const char* table :
         {"attempt_objects", "attempt_events", "attempt_incomplete"}) {
      GM_RETURN_IF_ERROR(
          db_->Query(absl::StrCat("DELETE FROM ", table,
                                  " WHERE task_id = $1 AND attempt = $2"),
                     PgParams().Int(task_id).Int(attempt))
              .status());
    }
    return absl::OkStatus();
  });
}

// --- Results ---

absl::Status PostgresStore::CheckCurrentAttempt(const v1::TaskAttempt& attempt,
                                                TaskRecord* task) {
  GM_ASSIGN_OR_RETURN(*task, GetTaskLocked(attempt.task_id(), /*lock=*/true));
  return CheckLease(*task, attempt);
}

absl::Status PostgresStore::RecordConflict(const v1::TaskAttempt& attempt,
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
  constexpr char kInsertEvent[] = R"sql(
      INSERT INTO attempt_events
        (task_id, attempt, time_ms, level, name, description)
      VALUES ($1, $2, $3, $4, $5, $6))sql";
  GM_RETURN_IF_ERROR(
      db_->Query(
             kInsertEvent,
             PgParams()
                 .Int(attempt.task_id())
                 .Int(attempt.attempt())
                 .Int(now_ms)
                 .Int(v1::EVENT_LEVEL_WARN)
                 .Text("duplicate_key_conflict")
                 .Text(absl::StrCat(
                     object == kEntityObject ? "entity '" : "relationship '",
                     key, "' (", type,
                     ") was produced again with different content; the "
                     "first version is kept and ",
                     type, " is treated as partial; differing fields: ",
                     absl::StrJoin(fields, ", "))))
          .status());
  constexpr char kInsertPartial[] = R"sql(
      INSERT INTO attempt_incomplete (task_id, attempt, type, scope, reason)
      VALUES ($1, $2, $3, '', $4) ON CONFLICT DO NOTHING)sql";
  return db_
      ->Query(kInsertPartial,
              PgParams()
                  .Int(attempt.task_id())
                  .Int(attempt.attempt())
                  .Text(type)
                  .Text("a key was produced twice with different content"))
      .status();
}

absl::Status PostgresStore::StageBatch(const v1::TaskAttempt& attempt,
                                       const v1::ResultBatch& batch,
                                       int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    TaskRecord task;
    GM_RETURN_IF_ERROR(CheckCurrentAttempt(attempt, &task));
    auto stage = [&](int object, const std::string& key,
                     const std::string& type, const std::string& classes,
                     const std::string& from_key, const std::string& to_key,
                     const std::string& data, const std::string& props,
                     const std::string& scope) -> absl::Status {
      constexpr char kInsert[] = R"sql(
          INSERT INTO attempt_objects (task_id, attempt, object, key, type,
            classes, from_key, to_key, data, props, scope)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
          ON CONFLICT DO NOTHING)sql";
      GM_ASSIGN_OR_RETURN(PgResult inserted,
                          db_->Query(kInsert, PgParams()
                                                  .Int(attempt.task_id())
                                                  .Int(attempt.attempt())
                                                  .Int(object)
                                                  .Text(key)
                                                  .Text(type)
                                                  .Text(classes)
                                                  .Text(from_key)
                                                  .Text(to_key)
                                                  .Bytes(data)
                                                  .Jsonb(props)
                                                  .Text(scope)));
      if (inserted.affected() > 0) return absl::OkStatus();
      // The key was staged before in this attempt: identical is fine,
      // different is a conflict.
      constexpr char kSelectExisting[] = R"sql(
          SELECT data FROM attempt_objects
          WHERE task_id = $1 AND attempt = $2 AND object = $3 AND key = $4)sql";
      GM_ASSIGN_OR_RETURN(
          PgResult existing,
          db_->Query(kSelectExisting, PgParams()
                                          .Int(attempt.task_id())
                                          .Int(attempt.attempt())
                                          .Int(object)
                                          .Text(key)));
      if (existing.rows() > 0 && existing.Text(0, 0) != data) {
        return RecordConflict(attempt, object, type, key, existing.Text(0, 0),
                              data, now_ms);
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
      GM_RETURN_IF_ERROR(stage(
          kEntityObject, entity.key(), entity.type(),
          JoinClasses(entity.classes()), "", "", SerializeDeterministic(entity),
          PropsJson(entity.properties()), scope_of(batch.entity_scopes(), i)));
    }
    for (int i = 0; i < batch.relationships_size(); ++i) {
      const v1::Relationship& relationship = batch.relationships(i);
      GM_RETURN_IF_ERROR(
          stage(kRelationshipObject, relationship.key(), relationship.type(),
                absl::StrCat("|", relationship.class_name(), "|"),
                relationship.from_entity_key(), relationship.to_entity_key(),
                SerializeDeterministic(relationship),
                PropsJson(relationship.properties()),
                scope_of(batch.relationship_scopes(), i)));
    }
    for (const v1::Event& e : batch.events()) {
      constexpr char kInsertEvent[] = R"sql(
          INSERT INTO attempt_events
            (task_id, attempt, time_ms, level, name, description)
          VALUES ($1, $2, $3, $4, $5, $6))sql";
      GM_RETURN_IF_ERROR(
          db_->Query(kInsertEvent, PgParams()
                                       .Int(attempt.task_id())
                                       .Int(attempt.attempt())
                                       .Int(e.time_ms() ? e.time_ms() : now_ms)
                                       .Int(e.level())
                                       .Text(e.name())
                                       .Text(e.description()))
              .status());
    }
    return absl::OkStatus();
  });
}

absl::Status PostgresStore::CommitAttempt(
    const v1::TaskAttempt& attempt, bool succeeded, const std::string& error,
    const std::vector<v1::Incompleteness>& incomplete) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    // The run row first (as CancelRun locks it), then the task: attempts of
    // one run end one at a time, so each sees what the previous staged.
    constexpr char kLockRun[] = R"sql(
        SELECT 1 FROM runs
        WHERE id = (SELECT run_id FROM tasks WHERE id = $1) FOR UPDATE)sql";
    GM_RETURN_IF_ERROR(
        db_->Query(kLockRun, PgParams().Int(attempt.task_id())).status());
    TaskRecord task;
    GM_RETURN_IF_ERROR(CheckCurrentAttempt(attempt, &task));
    const int64_t task_id = attempt.task_id();
    const int64_t number = attempt.attempt();
    auto params = [&] {
      return PgParams().Int(task.run_id).Int(task_id).Int(number);
    };
    // Keys another task of the run already staged with different content.
    constexpr char kSelectConflicts[] = R"sql(
        SELECT a.object, a.key, a.type, s.data, a.data
        FROM attempt_objects a JOIN staged_objects s
          ON s.run_id = $1 AND s.object = a.object AND s.key = a.key
        WHERE a.task_id = $2 AND a.attempt = $3 AND a.data != s.data
        ORDER BY a.object, a.key)sql";
    GM_ASSIGN_OR_RETURN(PgResult conflicts,
                        db_->Query(kSelectConflicts, params()));
    for (int row = 0; row < conflicts.rows(); ++row) {
      GM_RETURN_IF_ERROR(
          RecordConflict(attempt, static_cast<int>(conflicts.Int(row, 0)),
                         conflicts.Text(row, 2), conflicts.Text(row, 1),
                         conflicts.Text(row, 3), conflicts.Text(row, 4), 0));
    }
    constexpr char kStage[] = R"sql(
        INSERT INTO staged_objects (run_id, object, key, type, classes,
          from_key, to_key, data, props, scope)
        SELECT $1, object, key, type, classes, from_key, to_key, data, props,
               scope
        FROM attempt_objects WHERE task_id = $2 AND attempt = $3
        ORDER BY object, key
        ON CONFLICT DO NOTHING)sql";
    GM_RETURN_IF_ERROR(db_->Query(kStage, params()).status());
    constexpr char kCountTypes[] = R"sql(
        INSERT INTO step_type_counts (run_id, step_id, type, count)
        SELECT $1, $4, type, COUNT(*) FROM attempt_objects
        WHERE task_id = $2 AND attempt = $3 GROUP BY type
        ON CONFLICT (run_id, step_id, type) DO UPDATE
          SET count = step_type_counts.count + excluded.count)sql";
    GM_RETURN_IF_ERROR(
        db_->Query(kCountTypes, params().Text(task.step_id)).status());
    constexpr char kCopyEvents[] = R"sql(
        INSERT INTO events (run_id, time_ms, level, name, description, step_id)
        SELECT $1, CASE WHEN time_ms = 0 THEN $5 ELSE time_ms END, level,
               name, description, $4
        FROM attempt_events WHERE task_id = $2 AND attempt = $3
        ORDER BY id)sql";
    GM_RETURN_IF_ERROR(
        db_->Query(
               kCopyEvents,
               params().Text(task.step_id).Int(absl::ToUnixMillis(absl::Now())))
            .status());
    // What the worker reported incomplete joins what this attempt's conflicts
    // made partial; all of it becomes the run's, under the task's step.
    for (const v1::Incompleteness& entry : incomplete) {
      constexpr char kInsertIncomplete[] = R"sql(
          INSERT INTO attempt_incomplete (task_id, attempt, type, scope, reason)
          VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING)sql";
      GM_RETURN_IF_ERROR(
          db_->Query(kInsertIncomplete, PgParams()
                                            .Int(task_id)
                                            .Int(number)
                                            .Text(entry.type())
                                            .Text(entry.scope())
                                            .Text(entry.reason()))
              .status());
    }
    constexpr char kKeepIncomplete[] = R"sql(
        INSERT INTO run_incomplete (run_id, step_id, type, scope, reason)
        SELECT $1, $4, type, scope, reason FROM attempt_incomplete
        WHERE task_id = $2 AND attempt = $3
        ON CONFLICT DO NOTHING)sql";
    GM_RETURN_IF_ERROR(
        db_->Query(kKeepIncomplete, params().Text(task.step_id)).status());
    for (const char* table :
         {"attempt_objects", "attempt_events", "attempt_incomplete"}) {
      GM_RETURN_IF_ERROR(
          db_->Query(absl::StrCat("DELETE FROM ", table,
                                  " WHERE task_id = $1 AND attempt = $2"),
                     PgParams().Int(task_id).Int(number))
              .status());
    }
    return db_
        ->Query("UPDATE tasks SET state = $1, error = $2 WHERE id = $3",
                PgParams().Int(succeeded ? 2 : 3).Text(error).Int(task_id))
        .status();
  });
}

absl::Status PostgresStore::ForEachStagedEntity(
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
          PgResult rows,
          db_->Query(
              absl::StrCat(
                  "SELECT data FROM staged_objects WHERE run_id = $1 "
                  "AND object = 0 AND type = $2 AND key ",
                  inclusive ? ">=" : ">",
                  " $3 AND ($4 = '' OR key <= $4) ORDER BY key LIMIT $5"),
              PgParams()
                  .Int(run_id)
                  .Text(type)
                  .Text(after)
                  .Text(last_key)
                  .Limit(page_size)));
      for (int row = 0; row < rows.rows(); ++row) {
        GM_ASSIGN_OR_RETURN(
            v1::Entity entity,
            Parse<v1::Entity>(rows.Text(row, 0), "staged entity"));
        page.push_back(std::move(entity));
      }
    }
    for (const v1::Entity& entity : page) GM_RETURN_IF_ERROR(visit(entity));
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    after = page.back().key();
    inclusive = false;
  }
}

absl::Status PostgresStore::ForEachStagedObject(
    int64_t run_id, bool relationships, int page_size,
    const std::function<absl::Status(const std::string& data)>& visit) {
  std::string after;
  while (true) {
    std::vector<std::pair<std::string, std::string>> page;  // (key, data)
    {
      absl::MutexLock lock(&mu_);
      constexpr char kSelectPage[] = R"sql(
          SELECT key, data FROM staged_objects
          WHERE run_id = $1 AND object = $2 AND key > $3
          ORDER BY key LIMIT $4)sql";
      GM_ASSIGN_OR_RETURN(
          PgResult rows, db_->Query(kSelectPage, PgParams()
                                                     .Int(run_id)
                                                     .Int(relationships ? 1 : 0)
                                                     .Text(after)
                                                     .Limit(page_size)));
      for (int row = 0; row < rows.rows(); ++row) {
        page.emplace_back(rows.Text(row, 0), rows.Text(row, 1));
      }
    }
    for (const auto& [key, data] : page) GM_RETURN_IF_ERROR(visit(data));
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    after = page.back().first;
  }
}

absl::StatusOr<bool> PostgresStore::HasStagedObjects(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(
          "SELECT EXISTS (SELECT 1 FROM staged_objects WHERE run_id = $1)",
          PgParams().Int(run_id)));
  return rows.Bool(0, 0);
}

absl::Status PostgresStore::ForEachStagedKey(
    int64_t run_id, const std::string& type,
    const std::function<void(const std::string&)>& visit) {
  absl::MutexLock lock(&mu_);
  constexpr char kSelectKeys[] = R"sql(
      SELECT key FROM staged_objects WHERE run_id = $1 AND object = 0
        AND type = $2
      ORDER BY key)sql";
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(kSelectKeys, PgParams().Int(run_id).Text(type)));
  for (int row = 0; row < rows.rows(); ++row) visit(rows.Text(row, 0));
  return absl::OkStatus();
}

// --- Finalize ---

namespace {

// Per object kind ($4: entities first, so relationships can be checked against
// the final entity set): the diff goes into the change log first, and the
// graph is then updated from it, so the log and the graph cannot disagree.
// Parameters: $1 instance, $2 run, $3 now, $4 object kind.
constexpr char kCreated[] = R"sql(
    INSERT INTO changes
      (instance_id, run_id, change, object, key, type, data, previous, time_ms)
    SELECT $1, $2, 1, s.object, s.key, s.type, s.data, NULL, $3
    FROM staged_objects s
    WHERE s.run_id = $2 AND s.object = $4
      AND NOT EXISTS (SELECT 1 FROM graph_objects g
                      WHERE g.instance_id = $1 AND g.object = s.object
                        AND g.key = s.key)
    ORDER BY s.key)sql";

constexpr char kUpdated[] = R"sql(
    INSERT INTO changes
      (instance_id, run_id, change, object, key, type, data, previous, time_ms)
    SELECT $1, $2, 2, s.object, s.key, s.type, s.data, g.data, $3
    FROM staged_objects s JOIN graph_objects g
      ON g.instance_id = $1 AND g.object = s.object AND g.key = s.key
    WHERE s.run_id = $2 AND s.object = $4 AND g.data != s.data
    ORDER BY s.key)sql";

// Deleted: absent from the run, of a type whose rule allows it (see
// DeletionRule; $5/$6: types and their rules), and, for an object with a
// scope, the scope was listed completely in this run (its entity was collected
// and no task reported it incomplete) or its entity is gone from the graph
// (deleted, so its children go too). Relationships also go when an endpoint
// entity is gone, whatever their type.
constexpr char kDeleted[] = R"sql(
    INSERT INTO changes
      (instance_id, run_id, change, object, key, type, data, previous, time_ms)
    SELECT $1, $2, 3, g.object, g.key, g.type, g.data, g.data, $3
    FROM graph_objects g
      LEFT JOIN unnest($5::text[], $6::bigint[]) AS r (type, rule)
        ON r.type = g.type
    WHERE g.instance_id = $1 AND g.object = $4 AND (
      (NOT EXISTS (SELECT 1 FROM staged_objects s
                   WHERE s.run_id = $2 AND s.object = g.object AND s.key = g.key)
       AND COALESCE(r.rule, 0) != 2
       AND ((g.scope = '' AND COALESCE(r.rule, 0) = 0)
            OR (g.scope != ''
                AND ((EXISTS (SELECT 1 FROM staged_objects p
                              WHERE p.run_id = $2 AND p.object = 0
                                AND p.key = g.scope)
                      AND NOT EXISTS (SELECT 1 FROM run_incomplete i
                                      WHERE i.run_id = $2 AND i.scope = g.scope))
                     OR (NOT EXISTS (SELECT 1 FROM staged_objects p
                                     WHERE p.run_id = $2 AND p.object = 0
                                       AND p.key = g.scope)
                         AND NOT EXISTS (SELECT 1 FROM graph_objects e
                                         WHERE e.instance_id = $1
                                           AND e.object = 0
                                           AND e.key = g.scope))))))
      OR (g.object = 1
          AND (NOT EXISTS (SELECT 1 FROM graph_objects e
                           WHERE e.instance_id = $1 AND e.object = 0
                             AND e.key = g.from_key)
               OR NOT EXISTS (SELECT 1 FROM graph_objects e
                              WHERE e.instance_id = $1 AND e.object = 0
                                AND e.key = g.to_key))))
    ORDER BY g.key)sql";

// Parameters: $1 instance, $2 run, $3 object kind.
constexpr char kApply[] = R"sql(
    INSERT INTO graph_objects (instance_id, object, key, type, classes,
      from_key, to_key, data, props, scope)
    SELECT $1, object, key, type, classes, from_key, to_key, data, props, scope
    FROM staged_objects WHERE run_id = $2 AND object = $3
    ON CONFLICT (instance_id, object, key) DO UPDATE
      SET type = excluded.type, classes = excluded.classes,
          from_key = excluded.from_key, to_key = excluded.to_key,
          data = excluded.data, props = excluded.props, scope = excluded.scope
      WHERE graph_objects.data != excluded.data
         OR graph_objects.scope != excluded.scope)sql";

constexpr char kRemove[] = R"sql(
    DELETE FROM graph_objects
    WHERE instance_id = $1 AND object = $3
      AND key IN (SELECT key FROM changes
                  WHERE run_id = $2 AND object = $3 AND change = 3))sql";

}  // namespace

absl::StatusOr<FinalizeCounts> PostgresStore::Finalize(
    const FinalizeRequest& request) {
  const int64_t run_id = request.run_id;
  const std::string& instance_id = request.instance_id;
  const std::map<std::string, DeletionRule>& rules = request.rules;
  const std::vector<v1::IncompleteType>& incomplete_types =
      request.incomplete_types;
  const int64_t now_ms = request.now_ms;
  absl::MutexLock lock(&mu_);
  std::vector<std::string> rule_types;
  std::vector<int64_t> rule_values;
  for (const auto& [type, rule] : rules) {
    rule_types.push_back(type);
    rule_values.push_back(static_cast<int64_t>(rule));
  }
  FinalizeCounts counts;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    counts = FinalizeCounts();
    GM_RETURN_IF_ERROR(
        db_->Query("SELECT 1 FROM instances WHERE id = $1 FOR UPDATE",
                   PgParams().Text(instance_id))
            .status());
    GM_RETURN_IF_ERROR(LockChangeLog());
    GM_ASSIGN_OR_RETURN(
        PgResult active,
        db_->Query("SELECT status FROM runs WHERE id = $1 FOR UPDATE",
                   PgParams().Int(run_id)));
    if (active.rows() == 0) {
      return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
    }
    if (!IsActiveRunStatus(static_cast<v1::RunStatus>(active.Int(0, 0)))) {
      return absl::FailedPreconditionError(
          absl::StrCat("run ", run_id, " is not active: not finalized"));
    }
    for (const v1::IncompleteType& type : incomplete_types) {
      constexpr char kRecordIncompleteType[] = R"sql(
          INSERT INTO run_incomplete_types (run_id, type, reason, error, all_kept)
          VALUES ($1, $2, $3, $4, $5)
          ON CONFLICT (run_id, type) DO UPDATE
            SET reason = excluded.reason, error = excluded.error,
                all_kept = excluded.all_kept)sql";
      GM_RETURN_IF_ERROR(
          db_->Query(kRecordIncompleteType, PgParams()
                                                .Int(run_id)
                                                .Text(type.type())
                                                .Text(type.reason())
                                                .Bool(type.error())
                                                .Bool(type.all_kept()))
              .status());
    }
    // kCreated's and kUpdated's parameters for `object`; kDeleted's add the
    // deletion rules.
    auto diff_params = [&](int object) {
      return PgParams().Text(instance_id).Int(run_id).Int(now_ms).Int(object);
    };
    auto deletion_params = [&](int object) {
      return diff_params(object).TextArray(rule_types).IntArray(rule_values);
    };
    // Runs one of them; adds the changes it logged to `counter`.
    auto diff = [&](const char* sql, const PgParams& params,
                    int64_t* counter) -> absl::Status {
      GM_ASSIGN_OR_RETURN(PgResult result, db_->Query(sql, params));
      *counter += result.affected();
      return absl::OkStatus();
    };
    auto apply = [&](const char* sql, int object) {
      return db_
          ->Query(sql, PgParams().Text(instance_id).Int(run_id).Int(object))
          .status();
    };
    GM_RETURN_IF_ERROR(
        diff(kCreated, diff_params(kEntityObject), &counts.created));
    GM_RETURN_IF_ERROR(
        diff(kUpdated, diff_params(kEntityObject), &counts.updated));
    GM_RETURN_IF_ERROR(apply(kApply, kEntityObject));
    // Deleting an entity can settle its children's scopes (a deleted
    // workflow's jobs go too): repeat until nothing more goes. Each round
    // removes what it logged, so nothing is logged twice.
    while (true) {
      int64_t deleted = 0;
      GM_RETURN_IF_ERROR(
          diff(kDeleted, deletion_params(kEntityObject), &deleted));
      if (deleted == 0) break;
      counts.deleted += deleted;
      GM_RETURN_IF_ERROR(apply(kRemove, kEntityObject));
    }

    // Relationships whose endpoint entity is not in the graph are reported and
    // not stored.
    constexpr char kSelectDangling[] = R"sql(
        SELECT s.key, s.type, s.from_key, s.to_key,
               EXISTS (SELECT 1 FROM graph_objects e
                       WHERE e.instance_id = $1 AND e.object = 0
                         AND e.key = s.from_key)
        FROM staged_objects s
        WHERE s.run_id = $2 AND s.object = 1
          AND (NOT EXISTS (SELECT 1 FROM graph_objects e
                           WHERE e.instance_id = $1 AND e.object = 0
                             AND e.key = s.from_key)
               OR NOT EXISTS (SELECT 1 FROM graph_objects e
                              WHERE e.instance_id = $1 AND e.object = 0
                                AND e.key = s.to_key))
        ORDER BY s.key)sql";
    GM_ASSIGN_OR_RETURN(
        PgResult dangling,
        db_->Query(kSelectDangling, PgParams().Text(instance_id).Int(run_id)));
    constexpr int kMaxDanglingEvents = 100;
    auto report = [&](const std::string& description) {
      constexpr char kInsertDroppedEvent[] = R"sql(
          INSERT INTO events (run_id, time_ms, level, name, description, step_id)
          VALUES ($1, $2, $3, 'relationship_dropped', $4, ''))sql";
      return db_
          ->Query(kInsertDroppedEvent, PgParams()
                                           .Int(run_id)
                                           .Int(now_ms)
                                           .Int(v1::EVENT_LEVEL_WARN)
                                           .Text(description))
          .status();
    };
    std::vector<std::string> dropped;
    for (int row = 0; row < dangling.rows(); ++row) {
      dropped.push_back(dangling.Text(row, 0));
      if (dropped.size() > kMaxDanglingEvents) continue;
      const bool from_exists = dangling.Bool(row, 4);
      GM_RETURN_IF_ERROR(report(absl::StrCat(
          "relationship '", dropped.back(), "' (", dangling.Text(row, 1),
          ") is not stored: its ", from_exists ? "target" : "source",
          " entity '",
          from_exists ? dangling.Text(row, 3) : dangling.Text(row, 2),
          "' is not in the graph")));
    }
    if (dropped.size() > kMaxDanglingEvents) {
      GM_RETURN_IF_ERROR(report(absl::StrCat(
          dropped.size() - kMaxDanglingEvents,
          " more relationships were not stored for the same reason")));
    }
    if (!dropped.empty()) {
      constexpr char kUnstageDropped[] = R"sql(
          DELETE FROM staged_objects
          WHERE run_id = $1 AND object = 1 AND key = ANY ($2))sql";
      GM_RETURN_IF_ERROR(
          db_->Query(kUnstageDropped, PgParams().Int(run_id).TextArray(dropped))
              .status());
    }
    counts.dropped_relationships = static_cast<int64_t>(dropped.size());

    GM_RETURN_IF_ERROR(
        diff(kCreated, diff_params(kRelationshipObject), &counts.created));
    GM_RETURN_IF_ERROR(
        diff(kUpdated, diff_params(kRelationshipObject), &counts.updated));
    GM_RETURN_IF_ERROR(
        diff(kDeleted, deletion_params(kRelationshipObject), &counts.deleted));
    GM_RETURN_IF_ERROR(apply(kApply, kRelationshipObject));
    GM_RETURN_IF_ERROR(apply(kRemove, kRelationshipObject));

    constexpr char kRecordCounts[] = R"sql(
        UPDATE runs SET created_count = $1, updated_count = $2,
          deleted_count = $3
        WHERE id = $4)sql";
    GM_RETURN_IF_ERROR(db_->Query(kRecordCounts, PgParams()
                                                     .Int(counts.created)
                                                     .Int(counts.updated)
                                                     .Int(counts.deleted)
                                                     .Int(run_id))
                           .status());
    // Staged objects of earlier runs are no longer needed; this run's stay for
    // its upload.
    for (const char* table : {"staged_objects", "run_incomplete"}) {
      GM_RETURN_IF_ERROR(
          db_->Query(absl::StrCat("DELETE FROM ", table,
                                  " WHERE run_id IN (SELECT id FROM runs "
                                  "WHERE instance_id = $1 AND id < $2)"),
                     PgParams().Text(instance_id).Int(run_id))
              .status());
    }
    // The run ends in the same transaction (see Store::Finalize).
    PgParams end;
    end.Int(request.status).Text(request.error).Int(now_ms).Int(run_id);
    if (request.upload_pending) end.Bytes(PendingUploadBytes());
    return db_
        ->Query(request.upload_pending
                    ? "UPDATE runs SET status = $1, error = $2, ended_ms = $3, "
                      "upload = $5 WHERE id = $4"
                    : "UPDATE runs SET status = $1, error = $2, ended_ms = $3 "
                      "WHERE id = $4",
                end)
        .status();
  }));
  return counts;
}

// --- Events ---

absl::Status PostgresStore::AddEvent(int64_t run_id, v1::EventLevel level,
                                     const std::string& name,
                                     const std::string& description,
                                     const std::string& step_id,
                                     int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  constexpr char kInsert[] = R"sql(
      INSERT INTO events (run_id, time_ms, level, name, description, step_id)
      VALUES ($1, $2, $3, $4, $5, $6))sql";
  return db_
      ->Query(kInsert, PgParams()
                           .Int(run_id)
                           .Int(now_ms)
                           .Int(level)
                           .Text(name)
                           .Text(description)
                           .Text(step_id))
      .status();
}

absl::StatusOr<std::vector<v1::Event>> PostgresStore::ListEvents(
    int64_t run_id, int64_t after_sequence) {
  absl::MutexLock lock(&mu_);
  constexpr char kSelect[] = R"sql(
      SELECT sequence, time_ms, level, name, description, step_id FROM events
      WHERE run_id = $1 AND sequence > $2 ORDER BY sequence)sql";
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(kSelect, PgParams().Int(run_id).Int(after_sequence)));
  std::vector<v1::Event> events;
  for (int row = 0; row < rows.rows(); ++row) {
    v1::Event& event = events.emplace_back();
    event.set_run_id(run_id);
    event.set_sequence(rows.Int(row, 0));
    event.set_time_ms(rows.Int(row, 1));
    event.set_level(static_cast<v1::EventLevel>(rows.Int(row, 2)));
    event.set_name(rows.Text(row, 3));
    event.set_description(rows.Text(row, 4));
    event.set_step_id(rows.Text(row, 5));
  }
  return events;
}

// --- Graph reads ---

namespace {

// A graph listing: $1 instance, $2 object kind, $3 type, $4 class, $5 after
// key, $6 limit, then per property filter (in name order) its name and, but
// for null, its value. A property matches as SQLite's json_extract comparison
// does: by JSON type and value (numbers numerically).
std::string GraphQuery(const v1::GraphFilter& filter, PgParams& params) {
  std::string sql =
      "SELECT data FROM graph_objects WHERE instance_id = $1 AND object = $2 "
      "AND ($3 = '' OR type = $3) "
      "AND ($4 = '' OR strpos(classes, '|' || $4 || '|') > 0) AND key > $5";
  std::vector<std::string> names;
  for (const auto& [name, value] : filter.properties()) names.push_back(name);
  std::sort(names.begin(), names.end());
  int parameter = 7;
  for (const std::string& name : names) {
    const v1::Value& value = filter.properties().at(name);
    const int name_parameter = parameter++;
    params.Text(name);
    const std::string property = absl::StrCat("props -> $", name_parameter);
    switch (value.kind_case()) {
      case v1::Value::kNullValue:
      case v1::Value::KIND_NOT_SET:
        absl::StrAppend(&sql, " AND jsonb_typeof(", property, ") = 'null'");
        continue;
      case v1::Value::kListValue:
        absl::StrAppend(&sql, " AND ", property, " = $", parameter);
        params.Jsonb(JsonbSafe(ValueToJson(WithoutNonFinite(value))));
        break;
      case v1::Value::kBoolValue:
        absl::StrAppend(&sql, " AND ", property, " = to_jsonb($", parameter,
                        ")");
        params.Bool(value.bool_value());
        break;
      case v1::Value::kIntValue:
        absl::StrAppend(&sql, " AND ", property, " = to_jsonb($", parameter,
                        ")");
        params.Int(value.int_value());
        break;
      case v1::Value::kDoubleValue:
        absl::StrAppend(&sql, " AND ", property, " = to_jsonb($", parameter,
                        ")");
        params.Double(value.double_value());
        break;
      case v1::Value::kStringValue:
        absl::StrAppend(&sql, " AND ", property, " = to_jsonb($", parameter,
                        ")");
        params.Text(value.string_value());
        break;
    }
    ++parameter;
  }
  absl::StrAppend(&sql, " ORDER BY key LIMIT $6");
  return sql;
}

}  // namespace

template <typename Object>
absl::StatusOr<std::vector<Object>> PostgresStore::ListGraphObjects(
    const v1::GraphFilter& filter, int object, const std::string& after_key,
    int limit) {
  PgParams params;
  params.Text(filter.instance_id())
      .Int(object)
      .Text(filter.type())
      .Text(filter.class_name())
      .Text(after_key)
      .Limit(limit);
  const std::string sql = GraphQuery(filter, params);
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(PgResult rows, db_->Query(sql, params));
  std::vector<Object> result;
  for (int row = 0; row < rows.rows(); ++row) {
    GM_ASSIGN_OR_RETURN(Object parsed,
                        Parse<Object>(rows.Text(row, 0), "graph object"));
    result.push_back(std::move(parsed));
  }
  return result;
}

absl::StatusOr<std::vector<v1::Entity>> PostgresStore::ListEntities(
    const v1::GraphFilter& filter, const std::string& after_key, int limit) {
  return ListGraphObjects<v1::Entity>(filter, kEntityObject, after_key, limit);
}

absl::StatusOr<std::vector<v1::Relationship>> PostgresStore::ListRelationships(
    const v1::GraphFilter& filter, const std::string& after_key, int limit) {
  return ListGraphObjects<v1::Relationship>(filter, kRelationshipObject,
                                            after_key, limit);
}

absl::StatusOr<v1::Entity> PostgresStore::GetEntity(
    const std::string& instance_id, const std::string& key) {
  absl::MutexLock lock(&mu_);
  constexpr char kSelect[] = R"sql(
      SELECT data FROM graph_objects
      WHERE instance_id = $1 AND object = 0 AND key = $2)sql";
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(kSelect, PgParams().Text(instance_id).Text(key)));
  if (rows.rows() == 0) {
    return absl::NotFoundError(absl::StrCat(
        "entity '", key, "' not found in instance '", instance_id, "'"));
  }
  return Parse<v1::Entity>(rows.Text(0, 0), "entity");
}

absl::StatusOr<std::vector<NeighborRecord>> PostgresStore::ListNeighbors(
    const std::string& instance_id, const std::string& key, int direction,
    const std::string& class_name, const std::string& after_key, int limit) {
  absl::MutexLock lock(&mu_);
  constexpr char kSelect[] = R"sql(
      SELECT r.data, e.data, r.from_key = $2
      FROM graph_objects r JOIN graph_objects e
        ON e.instance_id = $1 AND e.object = 0
       AND e.key = (CASE WHEN r.from_key = $2 THEN r.to_key ELSE r.from_key END)
      WHERE r.instance_id = $1 AND r.object = 1
        AND (($3 IN (0, 1) AND r.from_key = $2)
             OR ($3 IN (0, 2) AND r.to_key = $2))
        AND ($4 = '' OR r.classes = '|' || $4 || '|') AND r.key > $5
      ORDER BY r.key LIMIT $6)sql";
  GM_ASSIGN_OR_RETURN(PgResult rows, db_->Query(kSelect, PgParams()
                                                             .Text(instance_id)
                                                             .Text(key)
                                                             .Int(direction)
                                                             .Text(class_name)
                                                             .Text(after_key)
                                                             .Limit(limit)));
  std::vector<NeighborRecord> result;
  for (int row = 0; row < rows.rows(); ++row) {
    NeighborRecord& neighbor = result.emplace_back();
    GM_ASSIGN_OR_RETURN(
        neighbor.relationship,
        Parse<v1::Relationship>(rows.Text(row, 0), "relationship"));
    GM_ASSIGN_OR_RETURN(neighbor.entity,
                        Parse<v1::Entity>(rows.Text(row, 1), "entity"));
    neighbor.outgoing = rows.Bool(row, 2);
  }
  return result;
}

namespace {

// The highest sequence the change log has held: what is there, or, once
// retention dropped everything, where it pruned through.
constexpr char kLastSequence[] = R"sql(
    GREATEST(
      COALESCE((SELECT MAX(sequence) FROM changes), 0),
      COALESCE((SELECT value FROM meta WHERE name = 'changes_pruned_through'),
               0)))sql";

}  // namespace

absl::Status PostgresStore::Snapshot(
    const std::string& instance_id, int page_size,
    const std::function<bool(int64_t)>& header,
    const std::function<bool(const std::vector<v1::Entity>&,
                             const std::vector<v1::Relationship>&)>& page) {
  // Its own connection and REPEATABLE READ transaction: a consistent view
  // while finalize goes on, without holding the store's lock.
  GM_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> db,
                      PgConnection::Open(uri_));
  GM_RETURN_IF_ERROR(
      db->Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  absl::Status status = [&]() -> absl::Status {
    GM_ASSIGN_OR_RETURN(PgResult last,
                        db->Query(absl::StrCat("SELECT ", kLastSequence)));
    if (!header(last.Int(0, 0))) {
      return absl::CancelledError("snapshot reader went away");
    }
    for (int object : {kEntityObject, kRelationshipObject}) {
      std::string after;
      while (true) {
        constexpr char kSelectPage[] = R"sql(
            SELECT key, data FROM graph_objects
            WHERE instance_id = $1 AND object = $2 AND key > $3
            ORDER BY key LIMIT $4)sql";
        GM_ASSIGN_OR_RETURN(PgResult rows,
                            db->Query(kSelectPage, PgParams()
                                                       .Text(instance_id)
                                                       .Int(object)
                                                       .Text(after)
                                                       .Limit(page_size)));
        std::vector<v1::Entity> entities;
        std::vector<v1::Relationship> relationships;
        for (int row = 0; row < rows.rows(); ++row) {
          after = rows.Text(row, 0);
          if (object == kEntityObject) {
            GM_ASSIGN_OR_RETURN(entities.emplace_back(),
                                Parse<v1::Entity>(rows.Text(row, 1), "entity"));
          } else {
            GM_ASSIGN_OR_RETURN(
                relationships.emplace_back(),
                Parse<v1::Relationship>(rows.Text(row, 1), "relationship"));
          }
        }
        if (rows.rows() > 0 && !page(entities, relationships)) {
          return absl::CancelledError("snapshot reader went away");
        }
        if (rows.rows() < page_size) break;
      }
    }
    return absl::OkStatus();
  }();
  db->Rollback();  // read-only: nothing to commit
  return status;
}

// --- Change log ---

absl::StatusOr<ChangeLogBounds> PostgresStore::GetChangeLogBounds() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(absl::StrCat("SELECT ", kLastSequence,
                              ", COALESCE((SELECT value FROM meta WHERE name = "
                              "'changes_pruned_through'), 0)")));
  ChangeLogBounds bounds;
  bounds.last_sequence = rows.Int(0, 0);
  bounds.pruned_through = rows.Int(0, 1);
  return bounds;
}

absl::StatusOr<std::vector<ChangeRecord>> PostgresStore::ReadChanges(
    int64_t after_sequence, int limit) {
  absl::MutexLock lock(&mu_);
  constexpr char kSelect[] = R"sql(
      SELECT sequence, instance_id, run_id, change, object, type, data,
             previous, time_ms
      FROM changes WHERE sequence > $1 ORDER BY sequence LIMIT $2)sql";
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(kSelect, PgParams().Int(after_sequence).Limit(limit)));
  std::vector<ChangeRecord> changes;
  for (int row = 0; row < rows.rows(); ++row) {
    ChangeRecord& change = changes.emplace_back();
    change.sequence = rows.Int(row, 0);
    change.instance_id = rows.Text(row, 1);
    change.run_id = rows.Int(row, 2);
    change.kind = static_cast<v1::ChangeKind>(rows.Int(row, 3));
    change.is_relationship = rows.Int(row, 4) == kRelationshipObject;
    change.type = rows.Text(row, 5);
    change.data = rows.Text(row, 6);
    change.previous = rows.Text(row, 7);
    change.time_ms = rows.Int(row, 8);
  }
  return changes;
}

absl::StatusOr<int64_t> PostgresStore::PruneChanges(int64_t max_age_ms,
                                                    int64_t max_count,
                                                    int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  int64_t pruned = 0;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    pruned = 0;
    // The newest change older than the age limit, and the newest beyond the
    // `max_count` newest (counted, not computed from the last sequence: a
    // rolled-back transaction leaves a gap in the sequence).
    constexpr char kSelectBound[] = R"sql(
        SELECT GREATEST(
          CASE WHEN $1 > 0 THEN
            COALESCE((SELECT MAX(sequence) FROM changes
                      WHERE time_ms < $3 - $1), 0)
          ELSE 0 END,
          CASE WHEN $2 > 0 THEN
            COALESCE((SELECT sequence FROM changes
                      ORDER BY sequence DESC OFFSET $2 LIMIT 1), 0)
          ELSE 0 END))sql";
    GM_ASSIGN_OR_RETURN(
        PgResult bound,
        db_->Query(kSelectBound,
                   PgParams().Int(max_age_ms).Int(max_count).Int(now_ms)));
    const int64_t through = bound.Int(0, 0);
    if (through <= 0) return absl::OkStatus();
    GM_ASSIGN_OR_RETURN(PgResult removed,
                        db_->Query("DELETE FROM changes WHERE sequence <= $1",
                                   PgParams().Int(through)));
    pruned = removed.affected();
    constexpr char kMarkPruned[] = R"sql(
        INSERT INTO meta (name, value) VALUES ('changes_pruned_through', $1)
        ON CONFLICT (name) DO UPDATE
          SET value = GREATEST(meta.value, excluded.value))sql";
    return db_->Query(kMarkPruned, PgParams().Int(through)).status();
  }));
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

absl::Status PostgresStore::CreateToken(const std::string& name,
                                        v1::TokenRole role,
                                        const std::string& hash,
                                        int64_t now_ms) {
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
  // One statement: a taken name inserts nothing; a taken hash (never in
  // practice) is a unique violation.
  constexpr char kInsert[] = R"sql(
      INSERT INTO tokens (name, role, hash, created_ms) VALUES ($1, $2, $3, $4)
      ON CONFLICT (name) DO NOTHING)sql";
  absl::StatusOr<PgResult> inserted = db_->Query(
      kInsert, PgParams().Text(name).Text(role_text).Bytes(hash).Int(now_ms));
  if (absl::IsAlreadyExists(inserted.status())) {
    // Never say more about the hash.
    return absl::AlreadyExistsError(absl::StrCat(
        "token '", name, "': an identical token exists; generate another"));
  }
  GM_RETURN_IF_ERROR(inserted.status());
  if (inserted->affected() == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("token '", name, "' already exists"));
  }
  token_generation_.fetch_add(1, std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TokenRecord>> PostgresStore::ListTokens() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query("SELECT name, role, created_ms FROM tokens ORDER BY name"));
  std::vector<TokenRecord> tokens;
  for (int row = 0; row < rows.rows(); ++row) {
    TokenRecord& token = tokens.emplace_back();
    token.name = rows.Text(row, 0);
    token.role = TokenRoleFromText(rows.Text(row, 1));
    token.created_ms = rows.Int(row, 2);
  }
  return tokens;
}

absl::Status PostgresStore::RevokeToken(const std::string& name) {
  absl::MutexLock lock(&mu_);
  absl::Status status = Transaction([&]() -> absl::Status {
    // Every admin row is locked: of two revocations of the last two admin
    // tokens, the second sees one left and refuses.
    constexpr char kLockAdmins[] = R"sql(
        SELECT name FROM tokens WHERE role = 'admin'
        ORDER BY name FOR UPDATE)sql";
    GM_ASSIGN_OR_RETURN(PgResult admins, db_->Query(kLockAdmins));
    GM_ASSIGN_OR_RETURN(
        PgResult token,
        db_->Query("SELECT role FROM tokens WHERE name = $1 FOR UPDATE",
                   PgParams().Text(name)));
    if (token.rows() == 0) {
      return absl::NotFoundError(absl::StrCat("token '", name, "' not found"));
    }
    if (token.Text(0, 0) == "admin" && admins.rows() <= 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "token '", name,
          "' is the last admin token; create another admin token first"));
    }
    return db_
        ->Query("DELETE FROM tokens WHERE name = $1", PgParams().Text(name))
        .status();
  });
  if (status.ok()) token_generation_.fetch_add(1, std::memory_order_release);
  return status;
}

absl::StatusOr<TokenRecord> PostgresStore::FindTokenByHash(
    const std::string& hash) {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query(
          "SELECT name, role, hash, created_ms FROM tokens WHERE hash = $1",
          PgParams().Bytes(hash)));
  if (rows.rows() == 0) return absl::NotFoundError("unknown or revoked token");
  TokenRecord token;
  token.name = rows.Text(0, 0);
  token.role = TokenRoleFromText(rows.Text(0, 1));
  token.hash = rows.Text(0, 2);
  token.created_ms = rows.Int(0, 3);
  return token;
}

absl::StatusOr<bool> PostgresStore::HasAdminToken() {
  absl::MutexLock lock(&mu_);
  GM_ASSIGN_OR_RETURN(
      PgResult rows,
      db_->Query("SELECT EXISTS (SELECT 1 FROM tokens WHERE role = 'admin')"));
  return rows.Bool(0, 0);
}

}  // namespace graphmill::coordinator
