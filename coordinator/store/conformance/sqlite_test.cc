// What only the SQLite store has: schema migrations of existing files (from
// versions 1 and 2), the file lock, and reads beside the writer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "coordinator/store/conformance/store_fixture.h"
#include "coordinator/store/sqlite/database.h"

namespace graphmill::coordinator::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(SqliteStoreTest, Version1StoreIsUpgradedKeepingGraphAndPartialTypes) {
  const std::string path = ::testing::TempDir() + "/v1.db";
  std::remove(path.c_str());
  {
    auto db = SqliteDatabase::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
    // The tables version 2 changed, as version 1 made them.
    ASSERT_TRUE((*db)
                    ->Execute(R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE steps (
  run_id INTEGER NOT NULL, step_id TEXT NOT NULL, position INTEGER NOT NULL,
  name TEXT NOT NULL, status INTEGER NOT NULL, started_ms INTEGER NOT NULL DEFAULT 0,
  ended_ms INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
  tasks_total INTEGER NOT NULL DEFAULT 0, partial_types TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, step_id)) WITHOUT ROWID;
INSERT INTO steps (run_id, step_id, position, name, status, partial_types)
  VALUES (7, 'fetch-a', 0, 'A', 2, 'thing_a,thing_b');
CREATE TABLE attempt_objects (
  task_id INTEGER NOT NULL, attempt INTEGER NOT NULL, object INTEGER NOT NULL,
  key TEXT NOT NULL, type TEXT NOT NULL, classes TEXT NOT NULL, from_key TEXT NOT NULL,
  to_key TEXT NOT NULL, data BLOB NOT NULL, props TEXT NOT NULL,
  PRIMARY KEY (task_id, attempt, object, key)) WITHOUT ROWID;
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,
  instance_id TEXT NOT NULL, step_id TEXT NOT NULL,
  kind INTEGER NOT NULL, shard BLOB NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT 0, worker_id TEXT NOT NULL DEFAULT '',
  lease_expires_ms INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '');
INSERT INTO tasks (run_id, instance_id, step_id, kind, shard, attempt, state)
  VALUES (7, 'inst', 'fetch-a', 2, x'', 1, 1);
CREATE TABLE attempt_partial_types (
  task_id INTEGER NOT NULL, attempt INTEGER NOT NULL, type TEXT NOT NULL,
  PRIMARY KEY (task_id, attempt, type)) WITHOUT ROWID;
CREATE TABLE staged_objects (
  run_id INTEGER NOT NULL, object INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL,
  classes TEXT NOT NULL, from_key TEXT NOT NULL, to_key TEXT NOT NULL, data BLOB NOT NULL,
  props TEXT NOT NULL, PRIMARY KEY (run_id, object, key)) WITHOUT ROWID;
CREATE TABLE graph_objects (
  instance_id TEXT NOT NULL, object INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL,
  classes TEXT NOT NULL, from_key TEXT NOT NULL, to_key TEXT NOT NULL, data BLOB NOT NULL,
  props TEXT NOT NULL, PRIMARY KEY (instance_id, object, key)) WITHOUT ROWID;
)sql")
                    .ok());
    auto insert = (*db)->Prepare(
        "INSERT INTO graph_objects VALUES ('inst', 0, 'thing_a:000001', "
        "'thing_a', '|Thing|', '', '', ?, '{}')");
    ASSERT_TRUE(insert.ok());
    insert->BindBlob(1, SerializeDeterministic(
                            MakeEntity("thing_a:000001", "thing_a", "a")));
    ASSERT_TRUE(insert->Run().ok());
  }
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto entity = (*store)->GetEntity("inst", "thing_a:000001");
  ASSERT_TRUE(entity.ok()) << entity.status();
  EXPECT_EQ(entity->properties().at("name").string_value(), "a");
  auto steps = (*store)->GetSteps(7);
  ASSERT_TRUE(steps.ok()) << steps.status();
  ASSERT_EQ(steps->size(), 1u);
  EXPECT_THAT((*steps)[0].partial_types,
              ElementsAre(Pair("thing_a", "reported partial"),
                          Pair("thing_b", "reported partial")));
  // A lease held across the upgrade has no id: no result can name it.
  auto task = (*store)->GetTask(1);
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ(task->lease_id, "");
  v1::TaskAttempt old_attempt;
  old_attempt.set_task_id(1);
  old_attempt.set_attempt(1);
  EXPECT_EQ(CheckLease(*task, old_attempt).code(),
            absl::StatusCode::kFailedPrecondition);
  // Opening again finds the current version.
  store->reset();
  EXPECT_TRUE(Store::Open(path).ok());
}

TEST(SqliteStoreTest, AVersion2StoreWithoutTokensGetsTheTable) {
  const std::string path = ::testing::TempDir() + "/v2-no-tokens.db";
  std::remove(path.c_str());
  {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
  }
  {
    // As a version-2 store made before tokens existed.
    auto db = SqliteDatabase::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Execute("DROP TABLE tokens").ok());
  }
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto has_admin = (*store)->HasAdminToken();
  ASSERT_TRUE(has_admin.ok()) << has_admin.status();
  EXPECT_FALSE(*has_admin);
  EXPECT_TRUE(
      (*store)
          ->CreateToken("ops", v1::TOKEN_ROLE_ADMIN, std::string(32, 'h'), 5)
          .ok());
}

// Version 2 as it was: every table and index (codes as the enums' numbers).
constexpr char kVersion2Schema[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS integrations (
  name TEXT PRIMARY KEY, version TEXT NOT NULL, definition BLOB NOT NULL);
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
CREATE TABLE IF NOT EXISTS attempt_objects (
  task_id INTEGER NOT NULL, attempt INTEGER NOT NULL, object INTEGER NOT NULL,
  key TEXT NOT NULL, type TEXT NOT NULL, classes TEXT NOT NULL, from_key TEXT NOT NULL,
  to_key TEXT NOT NULL, data BLOB NOT NULL, props TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (task_id, attempt, object, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempt_incomplete (
  task_id INTEGER NOT NULL, attempt INTEGER NOT NULL, type TEXT NOT NULL,
  scope TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (task_id, attempt, type, scope)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run_incomplete (
  run_id INTEGER NOT NULL, step_id TEXT NOT NULL, type TEXT NOT NULL,
  scope TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (run_id, step_id, type, scope)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_incomplete_by_scope ON run_incomplete(run_id, scope);
CREATE TABLE IF NOT EXISTS run_incomplete_types (
  run_id INTEGER NOT NULL, type TEXT NOT NULL, reason TEXT NOT NULL,
  error INTEGER NOT NULL, all_kept INTEGER NOT NULL,
  PRIMARY KEY (run_id, type)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempt_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, task_id INTEGER NOT NULL, attempt INTEGER NOT NULL,
  time_ms INTEGER NOT NULL, level INTEGER NOT NULL, name TEXT NOT NULL,
  description TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS attempt_events_by_task ON attempt_events(task_id, attempt);
CREATE TABLE IF NOT EXISTS staged_objects (
  run_id INTEGER NOT NULL, object INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL,
  classes TEXT NOT NULL, from_key TEXT NOT NULL, to_key TEXT NOT NULL, data BLOB NOT NULL,
  props TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, object, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS staged_by_type ON staged_objects(run_id, object, type, key);
CREATE TABLE IF NOT EXISTS graph_objects (
  instance_id TEXT NOT NULL, object INTEGER NOT NULL, key TEXT NOT NULL, type TEXT NOT NULL,
  classes TEXT NOT NULL, from_key TEXT NOT NULL, to_key TEXT NOT NULL, data BLOB NOT NULL,
  props TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (instance_id, object, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS graph_by_type ON graph_objects(instance_id, object, type, key);
CREATE INDEX IF NOT EXISTS graph_by_from ON graph_objects(instance_id, object, from_key);
CREATE INDEX IF NOT EXISTS graph_by_to ON graph_objects(instance_id, object, to_key);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
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
CREATE TABLE IF NOT EXISTS tokens (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('admin', 'reader', 'worker')),
  hash BLOB NOT NULL UNIQUE, created_ms INTEGER NOT NULL);
INSERT INTO schema_version VALUES (2);
)sql";

// A row of an object table of version 2 (graph, staged or attempt objects):
// `owner` is the instance, run or "task, attempt" columns' values.
void InsertObject(SqliteDatabase& db, const std::string& table,
                  const std::string& owner, bool relationship,
                  const google::protobuf::Message& object,
                  const std::string& key, const std::string& type,
                  const std::string& props) {
  auto insert =
      db.Prepare(absl::StrCat("INSERT INTO ", table, " VALUES (", owner,
                              ", ?, ?, ?, ?, ?, ?, ?, ?, '')"));
  ASSERT_TRUE(insert.ok()) << insert.status();
  const v1::Relationship* edge = dynamic_cast<const v1::Relationship*>(&object);
  insert->Bind(1, int64_t{relationship}).Bind(2, key).Bind(3, type);
  insert->Bind(4, relationship ? "|HAS|" : "|Thing|");
  insert->Bind(5, edge != nullptr ? edge->from_entity_key() : "");
  insert->Bind(6, edge != nullptr ? edge->to_entity_key() : "");
  insert->BindBlob(7, SerializeDeterministic(object)).Bind(8, props);
  ASSERT_TRUE(insert->Run().ok()) << table << " " << key;
}

std::vector<std::string> StagedNames(Store& store, int64_t run) {
  std::vector<std::string> names;
  EXPECT_TRUE(store
                  .ForEachStagedObject(
                      run, false, 10,
                      [&](const std::string& data) {
                        v1::Entity entity;
                        EXPECT_TRUE(entity.ParseFromString(data));
                        names.push_back(
                            entity.properties().at("name").string_value());
                        return absl::OkStatus();
                      })
                  .ok());
  return names;
}

// A version-2 file as a coordinator left it: run 1 finalized (its graph, its
// change log, its staged objects kept for its upload), run 2 running with one
// task committed and one attempt in progress. The upgrade keeps all of it:
// the graph reads the same, each run stages what it had, and the attempt in
// progress can still commit and be finalized.
TEST(SqliteStoreTest, AVersion2StoreIsUpgradedKeepingItsGraphAndStagedRun) {
  const std::string path = ::testing::TempDir() + "/v2.db";
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
    std::remove((path + suffix).c_str());
  }
  const v1::Entity one = MakeEntity("thing_a:000001", "thing_a", "one");
  const v1::Entity two = MakeEntity("thing_a:000002", "thing_a", "two");
  const v1::Relationship edge = DirectRelationship(one, "HAS", two);
  const v1::Entity uno = MakeEntity("thing_a:000001", "thing_a", "uno");
  const v1::Entity three = MakeEntity("thing_a:000003", "thing_a", "three");
  const v1::Entity tres = MakeEntity("thing_a:000003", "thing_a", "tres");
  const v1::Entity four = MakeEntity("thing_a:000004", "thing_a", "four");
  {
    // Version 2 made 4 KiB pages; the file keeps them.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(raw, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL;",
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(raw);
    auto db = SqliteDatabase::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Execute(kVersion2Schema).ok());
    auto run = (*db)->Prepare(
        "INSERT INTO runs (id, instance_id, status, created_ms, definition) "
        "VALUES (?, 'inst', ?, 1, ?)");
    ASSERT_TRUE(run.ok()) << run.status();
    for (auto [id, status] : {std::pair{1, v1::RUN_STATUS_SUCCEEDED},
                              std::pair{2, v1::RUN_STATUS_RUNNING}}) {
      run->Reset();
      run->Bind(1, int64_t{id}).Bind(2, int64_t{status});
      run->BindBlob(3, SerializeDeterministic(Definition()));
      ASSERT_TRUE(run->Run().ok());
    }
    auto task = (*db)->Prepare(
        "INSERT INTO tasks (id, run_id, instance_id, step_id, kind, shard, "
        "attempt, state, worker_id, lease_expires_ms, lease_id) VALUES (?, ?, "
        "'inst', ?, ?, x'', 1, ?, ?, ?, ?)");
    ASSERT_TRUE(task.ok()) << task.status();
    struct Task {
      int64_t id, run;
      const char* step;
      v1::TaskKind kind;
      TaskState state;
    };
    for (const Task& t :
         {Task{1, 1, "", v1::TASK_KIND_VALIDATE_INVOCATION,
               TaskState::kSucceeded},
          Task{2, 1, "fetch-a", v1::TASK_KIND_STEP, TaskState::kSucceeded},
          Task{3, 2, "", v1::TASK_KIND_VALIDATE_INVOCATION,
               TaskState::kSucceeded},
          Task{4, 2, "fetch-a", v1::TASK_KIND_STEP, TaskState::kSucceeded},
          Task{5, 2, "fetch-b", v1::TASK_KIND_STEP, TaskState::kLeased}}) {
      const bool leased = t.state == TaskState::kLeased;
      task->Reset();
      task->Bind(1, t.id).Bind(2, t.run).Bind(3, t.step);
      task->Bind(4, int64_t{t.kind}).Bind(5, static_cast<int64_t>(t.state));
      task->Bind(6, leased ? "w1" : "").Bind(7, int64_t{leased ? 1 << 30 : 0});
      task->Bind(8, leased ? kLease : "");
      ASSERT_TRUE(task->Run().ok());
    }
    ASSERT_TRUE(
        (*db)
            ->Execute(absl::StrCat(
                "INSERT INTO instances (id, integration, settings, "
                "created_ms, updated_ms) VALUES ('inst', 'test', x'', 1, 1);"
                "INSERT INTO steps (run_id, step_id, position, name, status) "
                "VALUES (2, 'fetch-a', 0, 'A', ",
                int{v1::STEP_STATUS_RUNNING}, "), (2, 'fetch-b', 1, 'B', ",
                int{v1::STEP_STATUS_RUNNING}, ")"))
            .ok());
    SqliteDatabase& v2 = **db;
    const std::string props_one = R"({"displayName":"one","name":"one"})";
    for (const char* table : {"graph_objects", "staged_objects"}) {
      const std::string owner =
          std::string(table) == "graph_objects" ? "'inst'" : "1";
      InsertObject(v2, table, owner, false, one, one.key(), "thing_a",
                   props_one);
      InsertObject(v2, table, owner, false, two, two.key(), "thing_a", "{}");
      InsertObject(v2, table, owner, true, edge, edge.key(), edge.type(), "{}");
    }
    InsertObject(v2, "staged_objects", "2", false, uno, uno.key(), "thing_a",
                 "{}");
    InsertObject(v2, "staged_objects", "2", false, three, three.key(),
                 "thing_a", "{}");
    InsertObject(v2, "attempt_objects", "5, 1", false, tres, tres.key(),
                 "thing_a", "{}");
    InsertObject(v2, "attempt_objects", "5, 1", false, four, four.key(),
                 "thing_a", "{}");
    auto change = v2.Prepare(
        "INSERT INTO changes (instance_id, run_id, change, object, key, type, "
        "data, previous, time_ms) VALUES ('inst', 1, ?, ?, ?, ?, ?, NULL, 5)");
    ASSERT_TRUE(change.ok()) << change.status();
    for (const google::protobuf::Message* object :
         std::initializer_list<const google::protobuf::Message*>{&one, &two,
                                                                 &edge}) {
      const bool relationship = object == &edge;
      change->Reset();
      change->Bind(1, int64_t{v1::CHANGE_KIND_CREATED})
          .Bind(2, int64_t{relationship});
      change->Bind(3, relationship
                          ? edge.key()
                          : static_cast<const v1::Entity*>(object)->key());
      change->Bind(4, "thing_a").BindBlob(5, SerializeDeterministic(*object));
      ASSERT_TRUE(change->Run().ok());
    }
  }

  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  // The finalized graph reads as before, property filters included.
  auto entity = (*store)->GetEntity("inst", one.key());
  ASSERT_TRUE(entity.ok()) << entity.status();
  EXPECT_EQ(SerializeDeterministic(*entity), SerializeDeterministic(one));
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_EQ((*store)->ListEntities(filter, "", 10)->size(), 2u);
  EXPECT_EQ((*store)->ListRelationships(filter, "", 10)->size(), 1u);
  EXPECT_EQ((*store)->ListNeighbors("inst", one.key(), 0, "", "", 10)->size(),
            1u);
  (*filter.mutable_properties())["name"] = StringValue("one");
  EXPECT_EQ((*store)->ListEntities(filter, "", 10)->size(), 1u);
  EXPECT_EQ((*store)->ReadChanges(0, 10)->size(), 3u);
  // Each run stages what it had: run 1 for its upload, run 2 what its
  // committed task staged, not the attempt in progress.
  EXPECT_THAT(StagedNames(**store, 1), ElementsAre("one", "two"));
  EXPECT_THAT(StagedNames(**store, 2), ElementsAre("uno", "three"));

  // The attempt in progress commits; its copy of thing_a:000003 comes second.
  v1::TaskAttempt attempt;
  attempt.set_task_id(5);
  attempt.set_attempt(1);
  attempt.set_lease_id(kLease);
  ASSERT_TRUE((*store)->CommitAttempt(attempt, true, "", {}).ok());
  EXPECT_THAT(StagedNames(**store, 2), ElementsAre("uno", "three", "four"));
  EXPECT_EQ(EventsNamed(**store, 2, "duplicate_key_conflict").size(), 1u);
  EXPECT_EQ((*store)->GetRun(2)->steps(1).type_counts().at("thing_a"), 2);
  auto counts = (*store)->Finalize(FinalizeOf(2, 9));
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 2);  // three, four
  EXPECT_EQ(counts->updated, 1);  // one -> uno
  EXPECT_EQ(counts->deleted, 2);  // two, and the edge to it
  filter.clear_properties();
  auto graph = (*store)->ListEntities(filter, "", 10);
  ASSERT_TRUE(graph.ok()) << graph.status();
  std::vector<std::string> keys;
  for (const v1::Entity& e : *graph) keys.push_back(e.key());
  EXPECT_THAT(keys, ElementsAre(one.key(), three.key(), four.key()));
  auto changes = (*store)->ReadChanges(3, 10);
  ASSERT_EQ(changes->size(), 5u);
  EXPECT_FALSE(*(*store)->HasStagedObjects(1));  // pruned by run 2

  store->reset();
  {
    auto db = SqliteDatabase::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
    auto version = (*db)->Prepare("SELECT version FROM schema_version");
    ASSERT_TRUE(version.ok() && *version->Step());
    EXPECT_EQ(version->ColumnInt(0), 6);
    auto page_size = (*db)->Prepare("PRAGMA page_size");
    ASSERT_TRUE(page_size.ok() && *page_size->Step());
    EXPECT_EQ(page_size->ColumnInt(0), 4096);
  }
  // Opening again finds the current version.
  EXPECT_TRUE(Store::Open(path).ok());
}

TEST(SqliteStoreTest, ASecondStoreOnTheSameFileStopsAtOpen) {
  const std::string path = ::testing::TempDir() + "/locked.db";
  std::remove(path.c_str());
  auto first = Store::Open(path);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Store::Open(path);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr(absl::StrCat("the store is in use by another "
                                     "coordinator (pid ",
                                     getpid(), " holds '", path, ".lock')")));
  // Released with the first store: the next coordinator may open it.
  first->reset();
  EXPECT_TRUE(Store::Open(path).ok());
}

// A file store reads on connections of its own: a write made while a read is
// still visiting rows completes (under one lock it would wait forever), and
// the read keeps the view it began with.
TEST(SqliteStoreTest, AFileStoreWritesWhileAReadIsInProgress) {
  const std::string path = ::testing::TempDir() + "/concurrent.db";
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
    std::remove((path + suffix).c_str());
  }
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  for (const char* id : {"a", "b"}) {
    v1::Instance instance;
    instance.set_id(id);
    instance.set_integration("test");
    ASSERT_TRUE((*store)->CreateInstance(instance).ok());
  }
  auto run =
      (*store)->CreateRun("a", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1000);
  ASSERT_TRUE(run.ok()) << run.status();
  v1::ResultBatch batch;
  for (int i = 0; i < 3; ++i) {
    *batch.add_entities() =
        MakeEntity(absl::StrCat("thing_a:", i), "thing_a", "x");
  }
  ASSERT_TRUE(CommitTask(**store, *run, "fetch-a", batch).ok());

  std::vector<std::string> visited;
  absl::Status read =
      (*store)->ForEachStagedKey(*run, "thing_a", [&](const std::string& key) {
        visited.push_back(key);
        if (visited.size() == 1) {
          v1::Instance instance;
          instance.set_id("c");
          instance.set_integration("test");
          EXPECT_TRUE((*store)->CreateInstance(instance).ok());
          EXPECT_TRUE((*store)->DeleteInstance("b", 2000).ok());
        }
      });
  ASSERT_TRUE(read.ok()) << read;
  EXPECT_EQ(visited.size(), 3u);
  auto instances = (*store)->ListInstances();
  ASSERT_TRUE(instances.ok()) << instances.status();
  std::vector<std::string> ids;
  for (const v1::Instance& instance : *instances) ids.push_back(instance.id());
  EXPECT_THAT(ids, ElementsAre("a", "c"));
}

}  // namespace
}  // namespace graphmill::coordinator::conformance
