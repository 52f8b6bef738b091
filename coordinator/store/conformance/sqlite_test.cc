// What only the SQLite store has: schema migrations of existing files and the
// file lock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
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

}  // namespace
}  // namespace graphmill::coordinator::conformance
