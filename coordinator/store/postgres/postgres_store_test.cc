// PostgresStore beyond the conformance suite (store_test.cc): the version 2 ->
// 3 migration, the staging design (an object is staged once, under its task
// and attempt; only committed attempts are read; per key the first committed
// version wins), finalize's set-based paths (dangling relationships beyond
// the reported ones, cascading scoped deletions, webhook patch marks). Each
// test gets a new database of one throwaway PostgreSQL 15 server
// (testing/postgres_server.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/graph_objects.h"
#include "coordinator/store/postgres.h"
#include "coordinator/store/postgres/schema.h"
#include "coordinator/store/store.h"
#include "coordinator/store/testing/postgres_server.h"

namespace graphmill::coordinator {
namespace {

namespace pgtest = ::graphmill::coordinator::testing;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kLease[] = "lease-1";

v1::IntegrationDefinition Definition() {
  v1::IntegrationDefinition d;
  d.set_name("test");
  d.set_version("1");
  for (const char* id : {"fetch-a", "fetch-b"}) d.add_steps()->set_id(id);
  return d;
}

v1::Entity MakeEntity(const std::string& key, const std::string& type,
                      const std::string& name) {
  v1::Entity e;
  e.set_key(key);
  e.set_type(type);
  e.add_classes("Thing");
  (*e.mutable_properties())["name"] = StringValue(name);
  return e;
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = pgtest::SharedPostgresServer();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *server;
    static int counter = 0;
    database_ = absl::StrCat("p", ++counter);
    auto uri = server_->CreateDatabase(database_);
    ASSERT_TRUE(uri.ok()) << uri.status();
    uri_ = *uri;
  }

  void TearDown() override {
    store_.reset();
    EXPECT_TRUE(server_->DropDatabase(database_).ok());
  }

  void OpenStore() {
    auto store = Store::Open(uri_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void OpenStoreWithInstance() {
    OpenStore();
    v1::Instance instance;
    instance.set_id("inst");
    instance.set_integration("test");
    ASSERT_TRUE(store_->CreateInstance(instance).ok());
  }

  // A direct SQL connection to the store's database.
  std::unique_ptr<PgConnection> Sql() {
    auto db = PgConnection::Open(uri_);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  int64_t Count(const std::string& sql) {
    auto db = Sql();
    auto rows = db->Query(sql);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? rows->Int(0, 0) : -1;
  }

  // A new leased task of `run` in `step`; its attempt.
  v1::TaskAttempt Lease(int64_t run, const std::string& step) {
    auto task = store_->CreateTask(run, step, v1::TASK_KIND_STEP, v1::Shard());
    EXPECT_TRUE(task.ok()) << task.status();
    return LeaseAgain(*task);
  }

  v1::TaskAttempt LeaseAgain(int64_t task) {
    auto number = store_->LeaseTask(task, "w1", kLease, 1'000'000);
    EXPECT_TRUE(number.ok()) << number.status();
    v1::TaskAttempt attempt;
    attempt.set_task_id(task);
    attempt.set_attempt(number.ok() ? *number : 0);
    attempt.set_lease_id(kLease);
    return attempt;
  }

  void Stage(const v1::TaskAttempt& attempt,
             const std::vector<v1::Entity>& entities) {
    v1::ResultBatch batch;
    for (const v1::Entity& e : entities) *batch.add_entities() = e;
    ASSERT_TRUE(store_->StageBatch(attempt, batch, 1).ok());
  }

  absl::StatusOr<FinalizeCounts> Finalize(
      int64_t run, const std::map<std::string, DeletionRule>& rules = {}) {
    FinalizeRequest request;
    request.run_id = run;
    request.instance_id = "inst";
    request.rules = rules;
    request.now_ms = 2;
    return store_->Finalize(request);
  }

  std::vector<std::string> StagedKeys(int64_t run) {
    std::vector<std::string> keys;
    EXPECT_TRUE(store_
                    ->ForEachStagedObject(run, false, 2,
                                          [&](const std::string& data) {
                                            v1::Entity e;
                                            e.ParseFromString(data);
                                            keys.push_back(e.key());
                                            return absl::OkStatus();
                                          })
                    .ok());
    return keys;
  }

  std::vector<std::string> GraphKeys(const std::string& type = "") {
    v1::GraphFilter filter;
    filter.set_instance_id("inst");
    filter.set_type(type);
    auto entities = store_->ListEntities(filter, "", 1000);
    EXPECT_TRUE(entities.ok()) << entities.status();
    std::vector<std::string> keys;
    for (const auto& e : *entities) keys.push_back(e.key());
    return keys;
  }

  std::vector<v1::Event> Events(int64_t run, const std::string& name) {
    std::vector<v1::Event> named;
    auto events = store_->ListEvents(run, 0);
    EXPECT_TRUE(events.ok()) << events.status();
    if (!events.ok()) return named;
    for (const v1::Event& e : *events) {
      if (e.name() == name) named.push_back(e);
    }
    return named;
  }

  pgtest::PostgresServer* server_ = nullptr;
  std::string database_;
  std::string uri_;
  std::unique_ptr<Store> store_;
};

TEST_F(PostgresStoreTest, UncommittedObjectsAreNotReadNorFinalized) {
  OpenStoreWithInstance();
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::TaskAttempt committed = Lease(*run, "fetch-a");
  Stage(committed, {MakeEntity("thing_a:1", "thing_a", "one")});
  v1::TaskAttempt open = Lease(*run, "fetch-b");
  Stage(open, {MakeEntity("thing_a:2", "thing_a", "two")});
  EXPECT_FALSE(*store_->HasStagedObjects(*run));
  ASSERT_TRUE(store_->CommitAttempt(committed, true, "", {}).ok());
  EXPECT_TRUE(*store_->HasStagedObjects(*run));
  EXPECT_THAT(StagedKeys(*run), ElementsAre("thing_a:1"));
  std::vector<std::string> keys;
  ASSERT_TRUE(store_
                  ->ForEachStagedKey(
                      *run, "thing_a",
                      [&](const std::string& key) { keys.push_back(key); })
                  .ok());
  EXPECT_THAT(keys, ElementsAre("thing_a:1"));
  auto counts = Finalize(*run);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 1);
  EXPECT_THAT(GraphKeys(), ElementsAre("thing_a:1"));
}

TEST_F(PostgresStoreTest, StagedRowsOfAReleasedAttemptAreNeverFinalized) {
  OpenStoreWithInstance();
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::TaskAttempt first = Lease(*run, "fetch-a");
  Stage(first, {MakeEntity("thing_a:stale", "thing_a", "stale")});
  ASSERT_TRUE(
      store_->ReleaseTask(first.task_id(), first.attempt(), 3, "lost").ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM staged_objects"), 0);
  v1::TaskAttempt second = LeaseAgain(first.task_id());
  ASSERT_EQ(second.attempt(), 2);
  // The stale attempt is fenced: it can neither stage nor commit.
  v1::ResultBatch late;
  *late.add_entities() = MakeEntity("thing_a:late", "thing_a", "late");
  EXPECT_FALSE(store_->StageBatch(first, late, 1).ok());
  Stage(second, {MakeEntity("thing_a:fresh", "thing_a", "fresh")});
  EXPECT_FALSE(store_->CommitAttempt(first, true, "", {}).ok());
  ASSERT_TRUE(store_->CommitAttempt(second, true, "", {}).ok());
  ASSERT_TRUE(Finalize(*run).ok());
  EXPECT_THAT(GraphKeys(), ElementsAre("thing_a:fresh"));
}

TEST_F(PostgresStoreTest, ReleasingACommittedAttemptKeepsItsObjects) {
  OpenStoreWithInstance();
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::TaskAttempt attempt = Lease(*run, "fetch-a");
  Stage(attempt, {MakeEntity("thing_a:1", "thing_a", "one")});
  ASSERT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
  // E.g. a lease sweep racing the commit: the attempt no longer holds a lease.
  ASSERT_TRUE(
      store_->ReleaseTask(attempt.task_id(), attempt.attempt(), 3, "late")
          .ok());
  EXPECT_EQ(store_->GetTask(attempt.task_id())->state, TaskState::kSucceeded);
  EXPECT_THAT(StagedKeys(*run), ElementsAre("thing_a:1"));
}

TEST_F(PostgresStoreTest, AKeyStagedByTwoTasksKeepsTheFirstCommittedVersion) {
  OpenStoreWithInstance();
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::TaskAttempt early = Lease(*run, "fetch-a");
  Stage(early, {MakeEntity("thing_a:1", "thing_a", "staged first")});
  v1::TaskAttempt late = Lease(*run, "fetch-b");
  Stage(late, {MakeEntity("thing_a:1", "thing_a", "committed first"),
               MakeEntity("thing_a:2", "thing_a", "two")});
  ASSERT_TRUE(store_->CommitAttempt(late, true, "", {}).ok());
  ASSERT_TRUE(store_->CommitAttempt(early, true, "", {}).ok());
  // One row per key among committed attempts: the later commit's copy went.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM staged_objects"), 2);
  auto conflicts = Events(*run, "duplicate_key_conflict");
  ASSERT_THAT(conflicts, SizeIs(1));
  EXPECT_EQ(conflicts[0].step_id(), "fetch-a");
  EXPECT_THAT(conflicts[0].description(), HasSubstr("'thing_a:1'"));
  // Both tasks count what they produced.
  auto got = store_->GetRun(*run);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->steps(0).type_counts().at("thing_a"), 1);
  EXPECT_EQ(got->steps(1).type_counts().at("thing_a"), 2);
  ASSERT_TRUE(Finalize(*run).ok());
  auto kept = store_->GetEntity("inst", "thing_a:1");
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->properties().at("name").string_value(), "committed first");
}

TEST_F(PostgresStoreTest, CommittingRewritesNoStagedRow) {
  OpenStoreWithInstance();
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::TaskAttempt attempt = Lease(*run, "fetch-a");
  Stage(attempt, {MakeEntity("thing_a:1", "thing_a", "one"),
                  MakeEntity("thing_a:2", "thing_a", "two")});
  // A row version's physical place and creating transaction change whenever
  // it is written again.
  constexpr char kVersions[] =
      "SELECT string_agg(ctid::text || '/' || xmin::text, ',' ORDER BY key) "
      "FROM staged_objects";
  auto versions = [&] {
    auto rows = Sql()->Query(kVersions);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? rows->Text(0, 0) : "";
  };
  const std::string staged = versions();
  ASSERT_FALSE(staged.empty());
  ASSERT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
  EXPECT_EQ(versions(), staged);
  ASSERT_TRUE(Finalize(*run).ok());
  EXPECT_EQ(versions(), staged);  // finalize reads the staged rows in place
  EXPECT_EQ(Count("SELECT COUNT(*) FROM changes"), 2);
}

TEST_F(PostgresStoreTest, DanglingRelationshipsBeyondTheReportedAreCounted) {
  OpenStoreWithInstance();
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::TaskAttempt attempt = Lease(*run, "fetch-a");
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:1", "thing_a", "one");
  for (int i = 0; i < 103; ++i) {
    *batch.add_relationships() =
        DirectRelationship("thing_a:1", "thing_a", "HAS",
                           absl::StrCat("thing_b:", 1000 + i), "thing_b");
  }
  ASSERT_TRUE(store_->StageBatch(attempt, batch, 1).ok());
  ASSERT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
  auto counts = Finalize(*run);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->dropped_relationships, 103);
  EXPECT_EQ(counts->created, 1);
  auto dropped = Events(*run, "relationship_dropped");
  ASSERT_THAT(dropped, SizeIs(101));
  EXPECT_THAT(dropped[0].description(), HasSubstr("'thing_b:1000'"));
  EXPECT_EQ(dropped[100].description(),
            "3 more relationships were not stored for the same reason");
  std::vector<std::string> uploaded;
  ASSERT_TRUE(store_
                  ->ForEachStagedObject(*run, true, 10,
                                        [&](const std::string& data) {
                                          uploaded.push_back(data);
                                          return absl::OkStatus();
                                        })
                  .ok());
  EXPECT_TRUE(uploaded.empty());
}

TEST_F(PostgresStoreTest, ScopedDeletionsCascadeThroughGenerations) {
  OpenStoreWithInstance();
  // p scopes c, which scopes g; an unscoped bystander stays collected.
  auto run_with = [&](bool with_p) {
    auto run =
        store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
    v1::TaskAttempt attempt = Lease(*run, "fetch-a");
    v1::ResultBatch batch;
    *batch.add_entities() = MakeEntity("thing_x:1", "thing_x", "bystander");
    batch.add_entity_scopes("");
    if (with_p) {
      *batch.add_entities() = MakeEntity("thing_p:1", "thing_p", "p");
      batch.add_entity_scopes("");
      *batch.add_entities() = MakeEntity("thing_c:1", "thing_c", "c");
      batch.add_entity_scopes("thing_p:1");
      *batch.add_entities() = MakeEntity("thing_g:1", "thing_g", "g");
      batch.add_entity_scopes("thing_c:1");
    }
    EXPECT_TRUE(store_->StageBatch(attempt, batch, 1).ok());
    EXPECT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
    auto counts = Finalize(*run);
    EXPECT_TRUE(counts.ok()) << counts.status();
    EXPECT_TRUE(
        store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 3).ok());
    return counts.ok() ? *counts : FinalizeCounts();
  };
  EXPECT_EQ(run_with(true).created, 4);
  FinalizeCounts counts = run_with(false);
  EXPECT_EQ(counts.deleted, 3);
  EXPECT_THAT(GraphKeys(), ElementsAre("thing_x:1"));
}

TEST_F(PostgresStoreTest, PatchMarksHoldOnFinalizesFreshPathAndAreCleanedUp) {
  OpenStoreWithInstance();
  auto patch = [&](const std::string& event_id, int64_t as_of_ms,
                   const std::vector<v1::Entity>& entities,
                   const std::vector<std::string>& deleted) {
    GraphPatch p;
    p.instance_id = "inst";
    p.event_id = event_id;
    p.as_of_ms = as_of_ms;
    p.now_ms = as_of_ms;
    p.entity_types = {"thing_a"};
    for (const v1::Entity& e : entities) *p.objects.add_entities() = e;
    p.deleted_entity_keys = deleted;
    auto counts = store_->ApplyPatch(p);
    EXPECT_TRUE(counts.ok()) << counts.status();
    return counts.ok() ? *counts : PatchCounts();
  };
  const v1::Entity gone = MakeEntity("thing_a:1", "thing_a", "gone");
  EXPECT_EQ(patch("create", 10, {gone}, {}).created, 1);
  EXPECT_EQ(patch("destroy", 11, {}, {"thing_a:1"}).deleted, 1);
  // A deletion is logged as finalize logs one: the object as it was, as both
  // data and previous.
  auto changes = store_->ReadChanges(0, 10);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_THAT(*changes, SizeIs(2));
  const ChangeRecord& deletion = (*changes)[1];
  EXPECT_EQ(deletion.kind, v1::CHANGE_KIND_DELETED);
  EXPECT_EQ(deletion.run_id, 0);
  EXPECT_EQ(deletion.data, SerializeDeterministic(gone));
  EXPECT_EQ(deletion.previous, deletion.data);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM patch_marks"), 1);

  // A run that began (5) before the deletion saw the entity: its finalize,
  // into a graph without entities, does not bring it back.
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 5);
  ASSERT_TRUE(run.ok()) << run.status();
  v1::TaskAttempt attempt = Lease(*run, "fetch-a");
  Stage(attempt, {MakeEntity("thing_a:1", "thing_a", "stale"),
                  MakeEntity("thing_a:2", "thing_a", "two")});
  ASSERT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
  auto counts = Finalize(*run);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 1);
  EXPECT_THAT(GraphKeys(), ElementsAre("thing_a:2"));
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 3).ok());
  // The mark is newer than that run: it stays for the next one...
  EXPECT_EQ(Count("SELECT COUNT(*) FROM patch_marks"), 1);
  // ...which began after it, decides again, and drops it.
  run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 20);
  ASSERT_TRUE(run.ok()) << run.status();
  attempt = Lease(*run, "fetch-a");
  Stage(attempt, {MakeEntity("thing_a:1", "thing_a", "back"),
                  MakeEntity("thing_a:2", "thing_a", "two")});
  ASSERT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
  counts = Finalize(*run);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 1);
  EXPECT_THAT(GraphKeys(), ElementsAre("thing_a:1", "thing_a:2"));
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 3).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM patch_marks"), 0);

  // Deleting the instance forgets its webhooks.
  patch("late", 30, {MakeEntity("thing_a:3", "thing_a", "three")}, {});
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM patch_marks"), 1);
  ASSERT_TRUE(store_->DeleteInstance("inst", 40).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM webhook_events"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM patch_marks"), 0);
}

TEST_F(PostgresStoreTest, AVersion2DatabaseIsMigratedWithItsData) {
  {
    auto db = Sql();
    ASSERT_TRUE(db->Execute(postgres_internal::Version2Schema()).ok());
    // Instance `inst`: run 1 finalized one entity; run 2 is running, task 1
    // committed one object (staged_objects) and task 2 holds a lease with one
    // object staged (attempt_objects). The numbers are version 2's codes.
    constexpr char kData[] = R"sql(
INSERT INTO schema_version VALUES (2);
INSERT INTO instances (id, integration, settings, created_ms, updated_ms)
  VALUES ('inst', 'test', '', 1, 1);
INSERT INTO runs (id, instance_id, status, created_ms, definition)
  VALUES (1, 'inst', 3, 1, ''), (2, 'inst', 2, 2, '');
SELECT setval('runs_id_seq', 2);
INSERT INTO graph_objects (instance_id, object, key, type, classes, from_key,
  to_key, data, props)
  VALUES ('inst', 0, 'thing_a:old', 'thing_a', '|Thing|', '', '', $DATA_OLD, '{}');
INSERT INTO tasks (id, run_id, instance_id, step_id, kind, shard, attempt,
  state, worker_id, lease_expires_ms, lease_id)
  VALUES (1, 2, 'inst', 'fetch-a', 2, '', 1, 2, '', 0, 'l'),
         (2, 2, 'inst', 'fetch-b', 2, '', 1, 1, 'w1', 1000000, 'lease-1');
SELECT setval('tasks_id_seq', 2);
INSERT INTO staged_objects (run_id, object, key, type, classes, from_key,
  to_key, data, props)
  VALUES (2, 0, 'thing_a:committed', 'thing_a', '|Thing|', '', '',
          $DATA_COMMITTED, '{}');
INSERT INTO attempt_objects (task_id, attempt, object, key, type, classes,
  from_key, to_key, data, props)
  VALUES (2, 1, 0, 'thing_a:open', 'thing_a', '|Thing|', '', '', $DATA_OPEN,
          '{}');
)sql";
    auto bytes = [](const v1::Entity& e) {
      return absl::StrCat("'\\x",
                          absl::BytesToHexString(SerializeDeterministic(e)),
                          "'::bytea");
    };
    std::string data = kData;
    for (const auto& [name, entity] :
         std::vector<std::pair<std::string, v1::Entity>>{
             {"$DATA_OLD", MakeEntity("thing_a:old", "thing_a", "old")},
             {"$DATA_COMMITTED",
              MakeEntity("thing_a:committed", "thing_a", "committed")},
             {"$DATA_OPEN", MakeEntity("thing_a:open", "thing_a", "open")}}) {
      data.replace(data.find(name), name.size(), bytes(entity));
    }
    ASSERT_TRUE(db->Execute(data).ok());
  }
  OpenStore();
  EXPECT_EQ(Count("SELECT version FROM schema_version"), 7);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM pg_tables WHERE tablename IN "
                  "('webhook_events', 'patch_marks')"),
            2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM pg_indexes WHERE indexname = "
                  "'graph_entities_by_scope'"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM information_schema.columns WHERE "
                  "table_name = 'runs' AND column_name = "
                  "'incremental_since_ms'"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM pg_tables WHERE tablename IN "
                  "('attempt_objects', 'staged_objects_v2')"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM pg_tables WHERE tablename = "
                  "'attempt_type_counts'"),
            1);
  EXPECT_TRUE(store_->GetEntity("inst", "thing_a:old").ok());
  // The committed object is the run's; the open attempt's is not, yet.
  EXPECT_THAT(StagedKeys(2), ElementsAre("thing_a:committed"));
  v1::TaskAttempt open;
  open.set_task_id(2);
  open.set_attempt(1);
  open.set_lease_id(kLease);
  ASSERT_TRUE(store_->CommitAttempt(open, true, "", {}).ok());
  EXPECT_THAT(StagedKeys(2), ElementsAre("thing_a:committed", "thing_a:open"));
  auto counts = Finalize(2);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 2);
  EXPECT_EQ(counts->deleted, 1);
  EXPECT_THAT(GraphKeys(), ElementsAre("thing_a:committed", "thing_a:open"));
  // New rows get ids after the migrated ones.
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 3);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(*run, 3);
}

// AnotherSchemaVersionIsRefused: conformance/postgres_test.cc.

TEST_F(PostgresStoreTest, TwoStoresOpeningANewDatabaseAtOnceBothSucceed) {
  // The schema is created and migrated under an advisory lock.
  absl::StatusOr<std::unique_ptr<Store>> a, b;
  std::thread other([&] { a = Store::Open(uri_); });
  b = Store::Open(uri_);
  other.join();
  EXPECT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM schema_version"), 1);
}

// --- Replicas: several stores (coordinator processes) on one database.

TEST_F(PostgresStoreTest, OneReplicaLeadsAndAnotherTakesOverWhenItGoes) {
  OpenStore();
  absl::StatusOr<std::unique_ptr<Store>> other = Store::Open(uri_);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_TRUE(store_->Shared());
  absl::StatusOr<bool> first = store_->HoldLeadership();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  // Held, not taken twice: the leader keeps it and the other cannot take it.
  EXPECT_TRUE(*store_->HoldLeadership());
  EXPECT_FALSE(*(*other)->HoldLeadership());
  EXPECT_FALSE(*(*other)->HoldLeadership());
  // The leader's process ends (its connections close): the other takes over.
  store_.reset();
  bool taken = false;
  for (int i = 0; i < 100 && !taken; ++i) {
    taken = *(*other)->HoldLeadership();
    if (!taken) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(taken);
  OpenStore();
  EXPECT_FALSE(*store_->HoldLeadership());
}

TEST_F(PostgresStoreTest, ALeaderWhoseSessionEndsLosesLeadership) {
  OpenStore();
  absl::StatusOr<std::unique_ptr<Store>> other = Store::Open(uri_);
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(*store_->HoldLeadership());
  // The server ends the session holding the lock (as when it restarts or an
  // operator terminates it): the lock is gone, and the old leader must not
  // think it still has it once another has taken it.
  ASSERT_TRUE(Sql()
                  ->Query(R"sql(SELECT pg_terminate_backend(pid) FROM pg_locks
                              WHERE locktype = 'advisory' AND granted)sql")
                  .ok());
  bool taken = false;
  for (int i = 0; i < 100 && !taken; ++i) {
    taken = *(*other)->HoldLeadership();
    if (!taken) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(taken);
  absl::StatusOr<bool> old = store_->HoldLeadership();
  EXPECT_FALSE(old.ok() && *old);
}

TEST_F(PostgresStoreTest, ReplicasHearOfEachOthersCommits) {
  OpenStoreWithInstance();
  absl::StatusOr<std::unique_ptr<Store>> other = Store::Open(uri_);
  ASSERT_TRUE(other.ok()) << other.status();
  absl::Mutex mu;
  int heard = 0;
  (*other)->WatchOtherReplicas([&] {
    absl::MutexLock lock(&mu);
    ++heard;
  });
  int own = 0;
  store_->WatchOtherReplicas([&] {
    absl::MutexLock lock(&mu);
    ++own;
  });
  auto wait_for_news = [&](int before) {
    absl::MutexLock lock(&mu);
    auto more = [&] { return heard > before; };
    return mu.AwaitWithTimeout(absl::Condition(&more), absl::Seconds(5));
  };
  // The listener reports once when it starts listening; let that pass.
  absl::SleepFor(absl::Milliseconds(300));
  int before;
  {
    absl::MutexLock lock(&mu);
    before = heard;
    own = 0;
  }
  absl::StatusOr<int64_t> run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(wait_for_news(before)) << "the other replica heard nothing";
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(own, 0) << "a replica hears its own commits";
  }
  // Token changes move the other replica's token generation, so its
  // verifiers drop a revoked token.
  const int64_t generation = (*other)->TokenGeneration();
  ASSERT_TRUE(
      store_->CreateToken("t", v1::TOKEN_ROLE_READER, "0123456789abcdef", 1)
          .ok());
  bool moved = false;
  for (int i = 0; i < 250 && !moved; ++i) {
    moved = (*other)->TokenGeneration() != generation;
    if (!moved) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(moved);
  // So does a webhook's patch of the graph (subscribers read its changes).
  {
    absl::MutexLock lock(&mu);
    before = heard;
  }
  GraphPatch patch;
  patch.instance_id = "inst";
  patch.event_id = "event-1";
  patch.as_of_ms = 1;
  patch.now_ms = 1;
  *patch.objects.add_entities() = MakeEntity("thing_a:1", "thing_a", "one");
  auto applied = store_->ApplyPatch(patch);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->created, 1);
  EXPECT_TRUE(wait_for_news(before)) << "the other replica heard no patch";
  // Unwatched: no more calls (WatchOtherReplicas waits for one in progress).
  (*other)->WatchOtherReplicas(nullptr);
  {
    absl::MutexLock lock(&mu);
    before = heard;
  }
  ASSERT_TRUE(store_->StartStep(*run, "fetch-a", {v1::Shard()}, 2).ok());
  EXPECT_FALSE(wait_for_news(before));
  store_->WatchOtherReplicas(nullptr);
}

}  // namespace
}  // namespace graphmill::coordinator
