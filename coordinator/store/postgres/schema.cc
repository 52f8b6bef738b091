// PostgresStore: the schema, its migrations, opening and transactions.
#include "coordinator/store/postgres/schema.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "coordinator/store/postgres/internal.h"
#include "coordinator/store/postgres_store.h"

namespace graphmill::coordinator {

using namespace postgres_internal;  // NOLINT(build/namespaces): one module

namespace postgres_internal {

// The schema at version 2, the first PostgreSQL stores had. A new database is
// created at version 2 and migrated like any other, so every database goes
// through the same migrations. Every TEXT column
// compares bytewise (COLLATE "C", as SQLite's BINARY), so key order, keyset
// pagination and shard ranges do not depend on the database's locale.
std::string Version2Schema() {
  return absl::StrCat(R"sql(
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
-- status: a v1.RunStatus.
CREATE TABLE IF NOT EXISTS runs (
  id BIGSERIAL PRIMARY KEY, instance_id TEXT COLLATE "C" NOT NULL,
  status INTEGER NOT NULL, created_ms BIGINT NOT NULL,
  ended_ms BIGINT NOT NULL DEFAULT 0, error TEXT COLLATE "C" NOT NULL DEFAULT '',
  definition BYTEA NOT NULL, created_count BIGINT NOT NULL DEFAULT 0,
  updated_count BIGINT NOT NULL DEFAULT 0, deleted_count BIGINT NOT NULL DEFAULT 0,
  trigger INTEGER NOT NULL DEFAULT 0, started_ms BIGINT NOT NULL DEFAULT 0,
  upload BYTEA NOT NULL DEFAULT '');
-- At most one active run per instance, enforced here.
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_active ON runs (instance_id)
  WHERE status IN )sql",
                      ActiveRunStatuses(), R"sql(;
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
-- The change log (change: a v1.ChangeKind).
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
)sql");
}

}  // namespace postgres_internal

namespace {

// Version 2 -> 3. An object is staged once: StageBatch writes it into
// staged_objects under its task and attempt, and ending the attempt only
// stamps the task with a commit sequence (commit_seq; 0 while the attempt is
// open). Readers of a run's objects see the rows of committed attempts
// (postgres_internal::kCommitted); within a run those have unique keys, because
// CommitAttempt removes the rows of keys an earlier committed attempt holds.
// Existing rows move: a version-2 run's staged objects (from ended attempts)
// go under one ended task of the run, and open attempts' objects stay open.
// Relationship endpoint indexes leave out entities, which have none, and the
// change log loses its by-run index, which only finalize used.
std::string Version2To3() {
  const std::string entity = absl::StrCat(kEntityObject);
  const std::string relationship = absl::StrCat(kRelationshipObject);
  const std::string ended = EndedTaskStates();
  return absl::StrCat(R"sql(
ALTER TABLE tasks ADD COLUMN commit_seq BIGINT NOT NULL DEFAULT 0;
CREATE SEQUENCE attempt_commits;
UPDATE tasks SET commit_seq = nextval('attempt_commits') WHERE state IN )sql",
                      ended, R"sql(;
ALTER TABLE staged_objects RENAME TO staged_objects_v2;
ALTER INDEX staged_objects_pkey RENAME TO staged_objects_v2_pkey;
-- scope: the key of the parent entity whose listing produced the object (''
-- unscoped). props: the properties as JSON, for property filters only.
CREATE TABLE staged_objects (
  run_id BIGINT NOT NULL, task_id BIGINT NOT NULL, attempt INTEGER NOT NULL,
  object INTEGER NOT NULL, key TEXT COLLATE "C" NOT NULL,
  type TEXT COLLATE "C" NOT NULL, classes TEXT COLLATE "C" NOT NULL,
  from_key TEXT COLLATE "C" NOT NULL, to_key TEXT COLLATE "C" NOT NULL,
  data BYTEA NOT NULL, props JSONB NOT NULL,
  scope TEXT COLLATE "C" NOT NULL DEFAULT '',
  PRIMARY KEY (task_id, attempt, object, key));
-- A run's objects in key order: finalize's diff, uploads, scope checks.
CREATE INDEX staged_by_key ON staged_objects (run_id, object, key);
CREATE INDEX staged_entities_by_type ON staged_objects (run_id, type, key)
  WHERE object = )sql",
                      entity, R"sql(;
INSERT INTO staged_objects
SELECT s.run_id, t.id, t.attempt, s.object, s.key, s.type, s.classes,
       s.from_key, s.to_key, s.data, s.props, s.scope
FROM staged_objects_v2 s
  JOIN (SELECT DISTINCT ON (run_id) run_id, id, attempt FROM tasks
        WHERE state IN )sql",
                      ended, R"sql( ORDER BY run_id, id) t
    ON t.run_id = s.run_id;
INSERT INTO staged_objects
SELECT t.run_id, a.task_id, a.attempt, a.object, a.key, a.type, a.classes,
       a.from_key, a.to_key, a.data, a.props, a.scope
FROM attempt_objects a JOIN tasks t ON t.id = a.task_id
ON CONFLICT DO NOTHING;
DROP TABLE staged_objects_v2;
DROP TABLE attempt_objects;
-- Finalize logs what it changes as it changes it: nothing looks changes up
-- by run any more.
DROP INDEX changes_by_run;
-- Room on each page for updated versions of its rows: finalize's updates then
-- touch no index (none covers data, props, classes or scope) and stay on the
-- page (HOT).
ALTER TABLE graph_objects SET (fillfactor = 85);
DROP INDEX graph_by_from;
DROP INDEX graph_by_to;
CREATE INDEX graph_relationships_by_from ON graph_objects (instance_id, from_key)
  WHERE object = )sql",
                      relationship, R"sql(;
CREATE INDEX graph_relationships_by_to ON graph_objects (instance_id, to_key)
  WHERE object = )sql",
                      relationship, R"sql(;
UPDATE schema_version SET version = 3;
)sql");
}

// Version 3 -> 4: when finalize began (Run.finalize_started_at_ms).
constexpr char kVersion3To4[] = R"sql(
ALTER TABLE runs ADD COLUMN finalize_started_ms BIGINT NOT NULL DEFAULT 0;
UPDATE schema_version SET version = 4;
)sql";

// Version 4 -> 5: objects by type of each attempt in progress, for progress
// before its task ends (StepRun.arriving_type_counts).
constexpr char kVersion4To5[] = R"sql(
CREATE TABLE attempt_type_counts (
  task_id BIGINT NOT NULL, attempt INTEGER NOT NULL,
  type TEXT COLLATE "C" NOT NULL, count BIGINT NOT NULL,
  PRIMARY KEY (task_id, attempt, type));
UPDATE schema_version SET version = 5;
)sql";

// Version 5 -> 6: whether a run is incremental (Run.incremental_since_ms),
// and graph entities by the scope they were listed for, which an incremental
// run's tasks read (Store::ForEachGraphEntity).
std::string Version5To6() {
  return absl::StrCat(R"sql(
ALTER TABLE runs ADD COLUMN incremental_since_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX graph_entities_by_scope ON graph_objects (instance_id, type, scope, key)
  WHERE scope <> '' AND object = )sql",
                      kEntityObject, R"sql(;
UPDATE schema_version SET version = 6;
)sql");
}

// Version 6 -> 7: webhooks (Store::ApplyPatch). The event ids applied, so a
// provider's retry is recognised (forgotten by age, received_ms), and the
// provider time (as_of_ms) of the last patch that wrote or deleted each
// object: a run that began before it leaves the object alone at finalize.
constexpr char kVersion6To7[] = R"sql(
CREATE TABLE webhook_events (
  instance_id TEXT COLLATE "C" NOT NULL, event_id TEXT COLLATE "C" NOT NULL,
  received_ms BIGINT NOT NULL,
  PRIMARY KEY (instance_id, event_id));
CREATE INDEX webhook_events_by_time ON webhook_events (received_ms);
CREATE TABLE patch_marks (
  instance_id TEXT COLLATE "C" NOT NULL, object INTEGER NOT NULL,
  key TEXT COLLATE "C" NOT NULL, as_of_ms BIGINT NOT NULL,
  PRIMARY KEY (instance_id, object, key));
UPDATE schema_version SET version = 7;
)sql";

// Held (transaction-scoped) while the schema is created or migrated, so
// coordinators starting together do not race on it.
constexpr int64_t kSchemaLockKey = 0x67726170686d696c;  // "graphmil"

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const std::string& uri) {
  GM_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> db,
                      PgConnection::Open(uri));
  std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(db), uri));
  GM_RETURN_IF_ERROR(store->Migrate());
  PostgresStore* const listening = store.get();
  store->listener_ = std::make_unique<PgChangeListener>(
      uri, store->replica_id_, [listening](ReplicaChange change) {
        listening->OtherReplicaChanged(change);
      });
  return store;
}

namespace {

// 16 random hex digits.
std::string NewReplicaId() {
  absl::BitGen random;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(random));
}

}  // namespace

PostgresStore::PostgresStore(std::unique_ptr<PgConnection> db, std::string uri)
    : uri_(std::move(uri)),
      db_(std::move(db)),
      replica_id_(NewReplicaId()),
      leadership_(uri_) {}

void PostgresStore::WatchOtherReplicas(std::function<void()> changed) {
  absl::MutexLock lock(&watch_mu_);
  watcher_ = std::move(changed);
}

void PostgresStore::OtherReplicaChanged(ReplicaChange change) {
  if (change == ReplicaChange::kTokens) {
    token_generation_.fetch_add(1, std::memory_order_release);
    return;
  }
  // Held during the call, so WatchOtherReplicas returns only once no call of
  // the callback it replaces is in progress.
  absl::MutexLock lock(&watch_mu_);
  if (watcher_) watcher_();
}

absl::Status PostgresStore::NotifyReplicas(ReplicaChange change) {
  return db_
      ->Query("SELECT pg_notify($1, $2)",
              PgParams()
                  .Text(kReplicaChannel)
                  .Text(ReplicaPayload(replica_id_, change)))
      .status();
}

void PostgresStore::WakeReplicas(ReplicaChange change) {
  if (absl::Status sent = NotifyReplicas(change); !sent.ok()) {
    LogWarn("cannot notify other replicas: ", sent.message());
  }
}

absl::Status PostgresStore::Migrate() {
  absl::MutexLock lock(&mu_);
  int64_t version = 0;
  GM_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    GM_RETURN_IF_ERROR(db_->Query("SELECT pg_advisory_xact_lock($1)",
                                  PgParams().Int(kSchemaLockKey))
                           .status());
    GM_ASSIGN_OR_RETURN(
        PgResult exists,
        db_->Query("SELECT to_regclass('schema_version') IS NOT NULL"));
    version = 0;
    if (exists.Bool(0, 0)) {
      GM_ASSIGN_OR_RETURN(PgResult rows,
                          db_->Query("SELECT version FROM schema_version"));
      if (rows.rows() > 0) version = rows.Int(0, 0);
    }
    if (version == 0) {
      // A new database (or one whose first creation did not finish).
      GM_RETURN_IF_ERROR(db_->Execute(Version2Schema()));
      GM_RETURN_IF_ERROR(
          db_->Execute("DELETE FROM schema_version; "
                       "INSERT INTO schema_version (version) VALUES (2)"));
      version = 2;
    }
    if (version == 2) {
      GM_RETURN_IF_ERROR(db_->Execute(Version2To3()));
      version = 3;
    }
    if (version == 3) {
      GM_RETURN_IF_ERROR(db_->Execute(kVersion3To4));
      version = 4;
    }
    if (version == 4) {
      GM_RETURN_IF_ERROR(db_->Execute(kVersion4To5));
      version = 5;
    }
    if (version == 5) {
      GM_RETURN_IF_ERROR(db_->Execute(Version5To6()));
      version = 6;
    }
    if (version == 6) {
      GM_RETURN_IF_ERROR(db_->Execute(kVersion6To7));
      version = 7;
    }
    return absl::OkStatus();
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

}  // namespace graphmill::coordinator
