// The Store conformance suite. Every TEST_P runs against each implementation:
// SqliteStore (":memory:", or a file where the test reopens it) and
// PostgresStore (a new database of a throwaway PostgreSQL 15 server that the
// binary starts once; testing/postgres_server.h). Tests named Sqlite* and
// Postgres* cover what only one implementation has.
//
// Contract coverage (store.h method: tests):
//   PutIntegration, GetIntegration, ListIntegrations:
//       IntegrationsAreUpsertedAndListedByName
//   CreateInstance, GetInstance, ListInstances, UpdateInstance:
//       InstancesAreCreatedReadUpdatedAndListed, GraphSurvivesReopen
//   DeleteInstance: CancelledRunChangesNothingAndDeleteLogsTheGraphAway,
//       DeleteInstanceWaitsForTheActiveRun
//   GetLastScheduledSlot, SetLastScheduledSlot, CreateRun's schedule slot:
//       ScheduleSlotsAreRecordedEvenWhenTheRunIsRefused
//   CreateRun: OneActiveRunPerInstance, DisabledStepsStartDisabled
//   GetRun, ListRuns, ActiveRunIds, GetRunDefinition, SetRunStatus,
//   SetRunUpload: RunsAreReadListedAndEnded
//   CancelRun: CancelledRunChangesNothingAndDeleteLogsTheGraphAway,
//       DeleteInstanceWaitsForTheActiveRun
//   GetSteps, SetStepStatus, SetStepTaskTotal:
//       StepsRecordStatusTimesTasksAndTypeCounts, the ScopedDeletionTest
//       tests, ConflictingDuplicatesKeepFirstWarnAndMarkPartial
//   CreateTask, CreateValidationTask, GetTask, TasksOfRun, PendingTasks:
//       PendingTasksBelongToActiveRunsOrValidationsOldestFirst
//   LeaseTask, RenewLease, LeasedTasks: LeasesAreRenewedAndFoundWhenExpired
//   ReleaseTask: ReleaseFailsTaskAfterMaxAttempts, StaleAttemptIsFenced
//   StageBatch, CommitAttempt: StaleAttemptIsFenced,
//       ResultsNeedTheLeaseIdNotJustTheAttempt,
//       IdenticalDuplicatesMergeSilently,
//       ConflictingDuplicatesKeepFirstWarnAndMarkPartial,
//       ObjectsRoundTripByteForByte
//   ForEachStagedEntity: StagedEntitiesReadByTypeAndShardRange
//   ForEachStagedObject, HasStagedObjects, ForEachStagedKey:
//       StagedObjectsAreVisitedInKeyOrderUntilALaterRunFinalizes
//   Finalize: FinalizeCreatesUpdatesAndDeletes, KeepAllTypesAreNeverDeleted,
//       RelationshipsWithoutEndpointsAreDroppedWithAnEvent,
//       RelationshipOfProtectedTypeGoesWithItsDeletedEndpoint,
//       FinalizeRecordsCountsAndIncompleteTypesOnTheRun, the ScopedDeletionTest
//       tests
//   AddEvent, ListEvents: EventsAreListedInOrderAfterASequence
//   ListEntities, ListRelationships, GetEntity, ListNeighbors:
//       PropertyFiltersAndNeighbors, PropertyFiltersCompareJsonTypesAndValues,
//       GraphListingsFilterAndPageInByteOrder
//   Snapshot: SnapshotIsAConsistentCopyWithItsSequence
//   GetChangeLogBounds, ReadChanges:
//       ChangeLogRecordsEveryChangeInOrderWithPreviousVersions
//   PruneChanges: RetentionPrunesByCountAndRemembersWhere, RetentionPrunesByAge
//   CreateToken, ListTokens, RevokeToken, FindTokenByHash, HasAdminToken,
//   TokenGeneration: TokensAreCreatedListedFoundAndRevoked,
//       TokenNamesAreUniqueAndRolesRequired, TheLastAdminTokenCannotBeRevoked,
//       TokenGenerationMovesOnEveryChange, TokensSurviveReopening
//   Open: the Sqlite* tests (migration from version 1, the file lock, a
//       version-2 file without tokens) and the Postgres* tests (reconnecting
//       after a server restart, errors without the password, another schema
//       version, text the server refuses).
#include "coordinator/store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "coordinator/store/postgres.h"
#include "coordinator/store/sqlite/database.h"
#include "coordinator/store/testing/postgres_server.h"

namespace graphmill::coordinator {
namespace {

namespace pgtest = ::graphmill::coordinator::testing;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

// The lease id tests lease tasks under (the engine makes random ones).
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
  (*e.mutable_properties())["displayName"] = StringValue(name);
  return e;
}

enum class Backend { kSqlite, kPostgres };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// A new PostgreSQL database on the shared server; its URI. Databases are
// copies of one in which a PostgresStore made the schema (an Open on an empty
// database, once per binary), so each test skips creating it.
absl::StatusOr<std::string> NewPostgresDatabase(
    const std::string& name, std::vector<std::string>* made) {
  absl::StatusOr<pgtest::PostgresServer*> server =
      pgtest::SharedPostgresServer();
  if (!server.ok()) return server.status();
  static const absl::Status* const schema = [&] {
    absl::StatusOr<std::string> uri =
        (*server)->CreateDatabase("store_template");
    if (!uri.ok()) return new absl::Status(uri.status());
    return new absl::Status(Store::Open(*uri).status());  // closed at once
  }();
  if (!schema->ok()) return *schema;
  static int counter = 0;
  const std::string database = absl::StrCat("t", ++counter, "_", name);
  made->push_back(database);
  return (*server)->CreateDatabase(database, "store_template");
}

void DropPostgresDatabases(const std::vector<std::string>& databases) {
  if (databases.empty()) return;
  absl::StatusOr<pgtest::PostgresServer*> server =
      pgtest::SharedPostgresServer();
  ASSERT_TRUE(server.ok()) << server.status();
  for (const std::string& database : databases) {
    EXPECT_TRUE((*server)->DropDatabase(database).ok()) << database;
  }
}

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> spec =
        GetParam() == Backend::kSqlite ? ":memory:" : NewSpec("main");
    ASSERT_TRUE(spec.ok()) << spec.status();
    auto store = Store::Open(*spec);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    v1::Instance instance;
    instance.set_id("inst");
    instance.set_integration("test");
    ASSERT_TRUE(store_->CreateInstance(instance).ok());
  }

  void TearDown() override {
    store_.reset();
    DropPostgresDatabases(databases_);
  }

  // The spec of a new, empty store that outlives Store objects, for tests that
  // reopen one: a SQLite file, or a database of the PostgreSQL server.
  absl::StatusOr<std::string> NewSpec(const std::string& name) {
    if (GetParam() == Backend::kPostgres) {
      return NewPostgresDatabase(name, &databases_);
    }
    const std::string path = ::testing::TempDir() + "/" + name + ".db";
    for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
      std::remove((path + suffix).c_str());
    }
    return path;
  }

  // Runs one step task producing `entities` and finalizes with `rules`.
  FinalizeCounts RunOnce(
      const std::vector<v1::Entity>& entities,
      const std::map<std::string, DeletionRule>& rules = {}) {
    auto run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL,
                                 {}, 1000);
    EXPECT_TRUE(run.ok()) << run.status();
    auto task =
        store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
    auto attempt_number = store_->LeaseTask(*task, "w1", kLease, 5000);
    EXPECT_TRUE(attempt_number.ok());
    v1::TaskAttempt attempt;
    attempt.set_task_id(*task);
    attempt.set_attempt(*attempt_number);
    attempt.set_lease_id(kLease);
    v1::ResultBatch batch;
    for (const v1::Entity& e : entities) *batch.add_entities() = e;
    EXPECT_TRUE(store_->StageBatch(attempt, batch, 1000).ok());
    EXPECT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
    auto counts = store_->Finalize({.run_id = *run,
                                    .instance_id = "inst",
                                    .rules = rules,
                                    .now_ms = 2000});
    EXPECT_TRUE(counts.ok()) << counts.status();
    EXPECT_TRUE(
        store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2000).ok());
    return *counts;
  }

  std::vector<std::string> GraphKeys() {
    v1::GraphFilter filter;
    filter.set_instance_id("inst");
    auto entities = store_->ListEntities(filter, "", 1000);
    std::vector<std::string> keys;
    for (const auto& e : *entities) keys.push_back(e.key());
    return keys;
  }

  std::unique_ptr<Store> store_;
  std::vector<std::string> databases_;  // PostgreSQL databases to drop
};

INSTANTIATE_TEST_SUITE_P(, StoreTest,
                         ::testing::Values(Backend::kSqlite,
                                           Backend::kPostgres),
                         BackendName);

TEST_P(StoreTest, OneActiveRunPerInstance) {
  auto first =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(first.ok());
  auto second =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 2);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("instance 'inst' already has an active run ", *first));
  ASSERT_TRUE(store_->SetRunStatus(*first, v1::RUN_STATUS_FAILED, "x", 3).ok());
  EXPECT_TRUE(
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 4)
          .ok());
}

TEST_P(StoreTest, FinalizeCreatesUpdatesAndDeletes) {
  FinalizeCounts first =
      RunOnce({MakeEntity("thing_a:000001", "thing_a", "one"),
               MakeEntity("thing_a:000002", "thing_a", "two")});
  EXPECT_EQ(first.created, 2);
  EXPECT_EQ(first.updated, 0);
  EXPECT_EQ(first.deleted, 0);
  FinalizeCounts second =
      RunOnce({MakeEntity("thing_a:000001", "thing_a", "one"),
               MakeEntity("thing_a:000002", "thing_a", "renamed"),
               MakeEntity("thing_a:000003", "thing_a", "three")});
  EXPECT_EQ(second.created, 1);
  EXPECT_EQ(second.updated, 1);
  EXPECT_EQ(second.deleted, 0);
  FinalizeCounts third =
      RunOnce({MakeEntity("thing_a:000003", "thing_a", "three")});
  EXPECT_EQ(third.deleted, 2);
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_a:000003"});
}

TEST_P(StoreTest, KeepAllTypesAreNeverDeleted) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "a"),
           MakeEntity("thing_b:000001", "thing_b", "b")});
  FinalizeCounts counts = RunOnce({}, {{"thing_b", DeletionRule::kKeepAll}});
  EXPECT_EQ(counts.deleted, 1);
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_b:000001"});
}

TEST_P(StoreTest, StaleAttemptIsFenced) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  auto task =
      store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
  auto first = store_->LeaseTask(*task, "w1", kLease, 10);
  ASSERT_EQ(*first, 1);
  ASSERT_TRUE(store_->ReleaseTask(*task, 1, 3, "lease lapsed").ok());
  auto second = store_->LeaseTask(*task, "w2", "lease-2", 10);
  ASSERT_EQ(*second, 2);
  v1::TaskAttempt stale;
  stale.set_task_id(*task);
  stale.set_attempt(1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "a");
  EXPECT_EQ(store_->StageBatch(stale, batch, 1).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->CommitAttempt(stale, true, "", {}).code(),
            absl::StatusCode::kFailedPrecondition);
  stale.set_lease_id(kLease);
  EXPECT_EQ(store_->StageBatch(stale, batch, 1).message(),
            absl::StrCat("task ", *task,
                         " attempt 1 is no longer current: attempt 2 holds "
                         "the lease"));
}

TEST_P(StoreTest, ResultsNeedTheLeaseIdNotJustTheAttempt) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  auto task =
      store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
  ASSERT_TRUE(store_->LeaseTask(*task, "w1", kLease, 10).ok());
  // A forger who guessed the task id and attempt 1.
  v1::TaskAttempt forged;
  forged.set_task_id(*task);
  forged.set_attempt(1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "forged");
  for (const char* guess : {"", "lease-2", "lease-1 "}) {
    forged.set_lease_id(guess);
    absl::Status refused = store_->StageBatch(forged, batch, 1);
    EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << guess;
    EXPECT_THAT(refused.message(), HasSubstr("lease id does not match"));
    EXPECT_EQ(store_->CommitAttempt(forged, true, "", {}).code(),
              absl::StatusCode::kFailedPrecondition);
  }
  // The real holder is unaffected.
  forged.set_lease_id(kLease);
  EXPECT_TRUE(store_->CommitAttempt(forged, true, "", {}).ok());
  EXPECT_EQ(store_->GetTask(*task)->state, TaskState::kSucceeded);
}

TEST_P(StoreTest, ReleaseFailsTaskAfterMaxAttempts) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  auto task =
      store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
  ASSERT_TRUE(store_->LeaseTask(*task, "w1", kLease, 10).ok());
  ASSERT_TRUE(store_->ReleaseTask(*task, 1, 1, "lease lapsed on w1").ok());
  auto record = store_->GetTask(*task);
  EXPECT_EQ(record->state, TaskState::kFailed);
  EXPECT_EQ(record->error, "lease lapsed on w1");
}

TEST_P(StoreTest, StagedEntitiesReadByTypeAndShardRange) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  auto task =
      store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
  ASSERT_TRUE(store_->LeaseTask(*task, "w1", kLease, 10).ok());
  v1::TaskAttempt attempt;
  attempt.set_task_id(*task);
  attempt.set_attempt(1);
  attempt.set_lease_id(kLease);
  v1::ResultBatch batch;
  for (int i = 0; i < 25; ++i) {
    *batch.add_entities() =
        MakeEntity(absl::StrCat("thing_a:", 100 + i), "thing_a", "x");
  }
  *batch.add_entities() = MakeEntity("thing_b:000001", "thing_b", "y");
  ASSERT_TRUE(store_->StageBatch(attempt, batch, 1).ok());
  ASSERT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
  std::vector<std::string> keys;
  ASSERT_TRUE(store_
                  ->ForEachStagedEntity(*run, "thing_a", "thing_a:105",
                                        "thing_a:119", 4,
                                        [&](const v1::Entity& e) {
                                          keys.push_back(e.key());
                                          return absl::OkStatus();
                                        })
                  .ok());
  ASSERT_EQ(keys.size(), 15u);
  EXPECT_EQ(keys.front(), "thing_a:105");
  EXPECT_EQ(keys.back(), "thing_a:119");
}

TEST_P(StoreTest, GraphSurvivesReopen) {
  auto spec = NewSpec("reopen");
  ASSERT_TRUE(spec.ok()) << spec.status();
  {
    auto store = Store::Open(*spec);
    ASSERT_TRUE(store.ok()) << store.status();
    v1::Instance instance;
    instance.set_id("persist");
    instance.set_integration("test");
    (*instance.mutable_config())["login"] = "me";
    ASSERT_TRUE((*store)->CreateInstance(instance).ok());
  }
  auto store = Store::Open(*spec);
  ASSERT_TRUE(store.ok()) << store.status();
  auto instance = (*store)->GetInstance("persist");
  ASSERT_TRUE(instance.ok()) << instance.status();
  EXPECT_EQ(instance->config().at("login"), "me");
}

// Stages `batch` as one successful task of `run` and returns its attempt.
v1::TaskAttempt StageTask(Store& store, int64_t run, const std::string& step,
                          const v1::ResultBatch& batch) {
  auto task = store.CreateTask(run, step, v1::TASK_KIND_STEP, v1::Shard());
  auto number = store.LeaseTask(*task, "w1", kLease, 1'000'000);
  v1::TaskAttempt attempt;
  attempt.set_task_id(*task);
  attempt.set_attempt(*number);
  attempt.set_lease_id(kLease);
  EXPECT_TRUE(store.StageBatch(attempt, batch, 1).ok());
  return attempt;
}

std::vector<v1::Event> EventsNamed(Store& store, int64_t run,
                                   const std::string& name) {
  std::vector<v1::Event> result;
  auto events = store.ListEvents(run, 0);
  EXPECT_TRUE(events.ok());
  for (auto& e : *events) {
    if (e.name() == name) result.push_back(e);
  }
  return result;
}

TEST_P(StoreTest, IdenticalDuplicatesMergeSilently) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "same");
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "same");
  v1::TaskAttempt first = StageTask(*store_, *run, "fetch-a", batch);
  ASSERT_TRUE(store_->CommitAttempt(first, true, "", {}).ok());
  v1::TaskAttempt second = StageTask(*store_, *run, "fetch-b", batch);
  ASSERT_TRUE(store_->CommitAttempt(second, true, "", {}).ok());
  EXPECT_TRUE(EventsNamed(*store_, *run, "duplicate_key_conflict").empty());
  auto steps = store_->GetSteps(*run);
  for (const StepRecord& step : *steps) EXPECT_TRUE(step.partial_types.empty());
}

TEST_P(StoreTest, ConflictingDuplicatesKeepFirstWarnAndMarkPartial) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch within;
  *within.add_entities() = MakeEntity("thing_a:000001", "thing_a", "first");
  *within.add_entities() = MakeEntity("thing_a:000001", "thing_a", "second");
  v1::TaskAttempt first = StageTask(*store_, *run, "fetch-a", within);
  ASSERT_TRUE(store_->CommitAttempt(first, true, "", {}).ok());
  v1::ResultBatch across;
  v1::Entity third = MakeEntity("thing_a:000001", "thing_a", "first");
  third.add_classes("Other");
  *across.add_entities() = third;
  v1::TaskAttempt second = StageTask(*store_, *run, "fetch-b", across);
  ASSERT_TRUE(store_->CommitAttempt(second, true, "", {}).ok());

  auto conflicts = EventsNamed(*store_, *run, "duplicate_key_conflict");
  ASSERT_EQ(conflicts.size(), 2u);
  EXPECT_EQ(conflicts[0].level(), v1::EVENT_LEVEL_WARN);
  EXPECT_EQ(conflicts[0].step_id(), "fetch-a");
  EXPECT_NE(conflicts[0].description().find("'thing_a:000001'"),
            std::string::npos);
  EXPECT_NE(
      conflicts[0].description().find("differing fields: displayName, name"),
      std::string::npos)
      << conflicts[0].description();
  EXPECT_NE(conflicts[1].description().find("differing fields: _class"),
            std::string::npos)
      << conflicts[1].description();
  auto steps = store_->GetSteps(*run);
  for (const StepRecord& step : *steps) {
    EXPECT_THAT(step.partial_types,
                ElementsAre(Pair("thing_a", HasSubstr("different content"))))
        << step.step_id;
  }
  ASSERT_TRUE(
      store_->Finalize({.run_id = *run, .instance_id = "inst", .now_ms = 2})
          .ok());
  auto kept = store_->GetEntity("inst", "thing_a:000001");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->properties().at("name").string_value(), "first");
  EXPECT_EQ(kept->classes_size(), 1);
}

TEST_P(StoreTest, RelationshipsWithoutEndpointsAreDroppedWithAnEvent) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "a");
  *batch.add_entities() = MakeEntity("thing_a:000002", "thing_a", "b");
  *batch.add_relationships() = DirectRelationship(
      "thing_a:000001", "thing_a", "HAS", "thing_a:000002", "thing_a");
  *batch.add_relationships() = DirectRelationship(
      "thing_a:000001", "thing_a", "HAS", "thing_a:999999", "thing_a");
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-a", batch),
                                  true, "", {})
                  .ok());
  auto counts =
      store_->Finalize({.run_id = *run, .instance_id = "inst", .now_ms = 2});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 3);
  EXPECT_EQ(counts->dropped_relationships, 1);
  auto dropped = EventsNamed(*store_, *run, "relationship_dropped");
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].description(),
            "relationship 'thing_a:000001|has|thing_a:999999' (thing_a_has_a) "
            "is not stored: "
            "its target entity 'thing_a:999999' is not in the graph");
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_EQ(store_->ListRelationships(filter, "", 10)->size(), 1u);
}

TEST_P(StoreTest, RelationshipOfProtectedTypeGoesWithItsDeletedEndpoint) {
  v1::Entity a = MakeEntity("thing_a:000001", "thing_a", "a");
  v1::Entity b = MakeEntity("thing_b:000001", "thing_b", "b");
  v1::Relationship edge = DirectRelationship(a, "HAS", b);
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = a;
  *batch.add_entities() = b;
  *batch.add_relationships() = edge;
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-a", batch),
                                  true, "", {})
                  .ok());
  ASSERT_TRUE(
      store_->Finalize({.run_id = *run, .instance_id = "inst", .now_ms = 2})
          .ok());
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2).ok());
  // Run 2 sees only `a`; the edge's type is protected, but its target is gone.
  run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 3);
  v1::ResultBatch second;
  *second.add_entities() = a;
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-a", second),
                                  true, "", {})
                  .ok());
  auto counts =
      store_->Finalize({.run_id = *run,
                        .instance_id = "inst",
                        .rules = {{edge.type(), DeletionRule::kKeepAll}},
                        .now_ms = 4});
  EXPECT_EQ(counts->deleted, 2);
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_TRUE(store_->ListRelationships(filter, "", 10)->empty());
}

TEST_P(StoreTest, ChangeLogRecordsEveryChangeInOrderWithPreviousVersions) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "one"),
           MakeEntity("thing_a:000002", "thing_a", "two")});
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "uno")});
  auto changes = store_->ReadChanges(0, 100);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 4u);
  EXPECT_EQ((*changes)[0].kind, v1::CHANGE_KIND_CREATED);
  EXPECT_EQ((*changes)[2].kind, v1::CHANGE_KIND_UPDATED);
  EXPECT_EQ((*changes)[3].kind, v1::CHANGE_KIND_DELETED);
  v1::Entity before;
  ASSERT_TRUE(before.ParseFromString((*changes)[2].previous));
  EXPECT_EQ(before.properties().at("name").string_value(), "one");
  for (size_t i = 1; i < changes->size(); ++i) {
    EXPECT_GT((*changes)[i].sequence, (*changes)[i - 1].sequence);
  }
  EXPECT_EQ(store_->GetChangeLogBounds()->last_sequence,
            (*changes)[3].sequence);
}

TEST_P(StoreTest, RetentionPrunesByCountAndRemembersWhere) {
  std::vector<v1::Entity> entities;
  for (int i = 0; i < 10; ++i) {
    entities.push_back(
        MakeEntity(absl::StrCat("thing_a:00000", i), "thing_a", "x"));
  }
  RunOnce(entities);
  auto pruned = store_->PruneChanges(0, 4, 10);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 6);
  auto bounds = store_->GetChangeLogBounds();
  EXPECT_EQ(bounds->pruned_through, 6);
  EXPECT_EQ(bounds->last_sequence, 10);
  EXPECT_EQ(store_->ReadChanges(0, 100)->front().sequence, 7);
  EXPECT_EQ(*store_->PruneChanges(0, 0, 10), 0);  // no limits: nothing more
}

TEST_P(StoreTest, PropertyFiltersAndNeighbors) {
  v1::Entity a = MakeEntity("thing_a:000001", "thing_a", "api");
  (*a.mutable_properties())["active"] = BoolValue(true);
  (*a.mutable_properties())["count"] = IntValue(3);
  v1::Entity b = MakeEntity("thing_a:000002", "thing_a", "web");
  (*b.mutable_properties())["active"] = BoolValue(false);
  v1::Entity c = MakeEntity("thing_c:000001", "thing_c", "db");
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = a;
  *batch.add_entities() = b;
  *batch.add_entities() = c;
  *batch.add_relationships() = DirectRelationship(a, "HAS", c);
  *batch.add_relationships() = DirectRelationship(b, "USES", a);
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-a", batch),
                                  true, "", {})
                  .ok());
  ASSERT_TRUE(
      store_->Finalize({.run_id = *run, .instance_id = "inst", .now_ms = 2})
          .ok());

  auto keys = [&](v1::GraphFilter filter) {
    filter.set_instance_id("inst");
    std::vector<std::string> result;
    auto entities = store_->ListEntities(filter, "", 10);
    EXPECT_TRUE(entities.ok()) << entities.status();
    for (const auto& e : *entities) result.push_back(e.key());
    return result;
  };
  v1::GraphFilter by_name;
  (*by_name.mutable_properties())["name"] = StringValue("web");
  EXPECT_EQ(keys(by_name), std::vector<std::string>{"thing_a:000002"});
  v1::GraphFilter by_bool;
  (*by_bool.mutable_properties())["active"] = BoolValue(true);
  EXPECT_EQ(keys(by_bool), std::vector<std::string>{"thing_a:000001"});
  v1::GraphFilter by_int;
  (*by_int.mutable_properties())["count"] = IntValue(3);
  (*by_int.mutable_properties())["name"] = StringValue("api");
  EXPECT_EQ(keys(by_int), std::vector<std::string>{"thing_a:000001"});
  (*by_int.mutable_properties())["count"] = IntValue(4);
  EXPECT_TRUE(keys(by_int).empty());

  auto both = store_->ListNeighbors("inst", a.key(), 0, "", "", 10);
  ASSERT_EQ(both->size(), 2u);
  auto out = store_->ListNeighbors("inst", a.key(), 1, "", "", 10);
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].entity.key(), c.key());
  EXPECT_TRUE((*out)[0].outgoing);
  auto in = store_->ListNeighbors("inst", a.key(), 2, "USES", "", 10);
  ASSERT_EQ(in->size(), 1u);
  EXPECT_EQ((*in)[0].entity.key(), b.key());
  EXPECT_TRUE(
      store_->ListNeighbors("inst", a.key(), 2, "HAS", "", 10)->empty());
}

TEST_P(StoreTest, CancelledRunChangesNothingAndDeleteLogsTheGraphAway) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "one")});
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 5);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000009", "thing_a", "nine");
  v1::TaskAttempt attempt = StageTask(*store_, *run, "fetch-a", batch);
  auto leased = store_->CancelRun(*run, 6);
  ASSERT_TRUE(leased.ok()) << leased.status();
  EXPECT_EQ(leased->size(), 1u);
  EXPECT_EQ(store_->GetRun(*run)->status(), v1::RUN_STATUS_CANCELLED);
  EXPECT_EQ(store_->CommitAttempt(attempt, true, "", {}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_a:000001"});

  const int64_t last = store_->GetChangeLogBounds()->last_sequence;
  ASSERT_TRUE(store_->DeleteInstance("inst", 7).ok());
  auto changes = store_->ReadChanges(last, 10);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].kind, v1::CHANGE_KIND_DELETED);
  EXPECT_EQ(store_->GetInstance("inst").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreTest, DisabledStepsStartDisabled) {
  auto run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_SCHEDULE,
                               {"fetch-b"}, 1);
  auto steps = store_->GetSteps(*run);
  EXPECT_EQ((*steps)[0].status, v1::STEP_STATUS_PENDING);
  EXPECT_EQ((*steps)[1].status, v1::STEP_STATUS_DISABLED);
  EXPECT_EQ(store_->GetRun(*run)->trigger(), v1::RUN_TRIGGER_SCHEDULE);
}

// A file store (SQLite) reads through its own connection; so does PostgreSQL.
TEST_P(StoreTest, SnapshotIsAConsistentCopyWithItsSequence) {
  auto spec = NewSpec("snapshot");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto store = Store::Open(*spec);
  ASSERT_TRUE(store.ok()) << store.status();
  v1::Instance instance;
  instance.set_id("snap");
  instance.set_integration("test");
  ASSERT_TRUE((*store)->CreateInstance(instance).ok());
  auto run =
      (*store)->CreateRun("snap", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  for (int i = 0; i < 25; ++i) {
    *batch.add_entities() =
        MakeEntity(absl::StrCat("thing_a:0000", 10 + i), "thing_a", "x");
  }
  *batch.add_relationships() =
      DirectRelationship(batch.entities(0), "HAS", batch.entities(1));
  ASSERT_TRUE((*store)
                  ->CommitAttempt(StageTask(**store, *run, "fetch-a", batch),
                                  true, "", {})
                  .ok());
  ASSERT_TRUE(
      (*store)
          ->Finalize({.run_id = *run, .instance_id = "snap", .now_ms = 2})
          .ok());
  int64_t as_of = -1;
  size_t entities = 0, relationships = 0, pages = 0;
  ASSERT_TRUE((*store)
                  ->Snapshot(
                      "snap", 10,
                      [&](int64_t sequence) {
                        as_of = sequence;
                        return true;
                      },
                      [&](const auto& e, const auto& r) {
                        entities += e.size();
                        relationships += r.size();
                        ++pages;
                        return true;
                      })
                  .ok());
  EXPECT_EQ(as_of, 26);
  EXPECT_EQ(entities, 25u);
  EXPECT_EQ(relationships, 1u);
  EXPECT_EQ(pages, 4u);
}

// A parent type with children scoped by parent: what one scoped run returns.
struct ScopedRun {
  std::vector<std::string> parents;                           // parent keys
  std::vector<std::pair<std::string, std::string>> children;  // key, scope
  std::vector<std::string> incomplete_scopes;
  std::map<std::string, DeletionRule> rules;
};

class ScopedDeletionTest : public StoreTest {
 protected:
  FinalizeCounts Run(const ScopedRun& spec) {
    auto run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL,
                                 {}, 1000);
    EXPECT_TRUE(run.ok()) << run.status();
    v1::ResultBatch parents;
    for (const std::string& key : spec.parents) {
      *parents.add_entities() = MakeEntity(key, "thing_p", key);
    }
    EXPECT_TRUE(
        store_
            ->CommitAttempt(StageTask(*store_, *run, "fetch-a", parents), true,
                            "", {})
            .ok());
    v1::ResultBatch children;
    for (const auto& [key, scope] : spec.children) {
      *children.add_entities() = MakeEntity(key, "thing_c", key);
      children.add_entity_scopes(scope);
      *children.add_relationships() =
          DirectRelationship(scope, "thing_p", "HAS", key, "thing_c");
      children.add_relationship_scopes(scope);
    }
    std::vector<v1::Incompleteness> incomplete;
    for (const std::string& scope : spec.incomplete_scopes) {
      v1::Incompleteness& entry = incomplete.emplace_back();
      entry.set_scope(scope);
      entry.set_reason("HTTP 403 on GET /p/{id}/c");
    }
    EXPECT_TRUE(
        store_
            ->CommitAttempt(StageTask(*store_, *run, "fetch-b", children), true,
                            "", incomplete)
            .ok());
    auto counts = store_->Finalize({.run_id = *run,
                                    .instance_id = "inst",
                                    .rules = spec.rules,
                                    .now_ms = 2000});
    EXPECT_TRUE(counts.ok()) << counts.status();
    EXPECT_TRUE(
        store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2000).ok());
    return *counts;
  }

  std::vector<std::string> Keys(const std::string& type) {
    v1::GraphFilter filter;
    filter.set_instance_id("inst");
    filter.set_type(type);
    auto entities = store_->ListEntities(filter, "", 1000);
    EXPECT_TRUE(entities.ok()) << entities.status();
    std::vector<std::string> keys;
    for (const auto& e : *entities) keys.push_back(e.key());
    return keys;
  }

  int64_t RelationshipCount() {
    v1::GraphFilter filter;
    filter.set_instance_id("inst");
    return static_cast<int64_t>(
        store_->ListRelationships(filter, "", 1000)->size());
  }
};

INSTANTIATE_TEST_SUITE_P(, ScopedDeletionTest,
                         ::testing::Values(Backend::kSqlite,
                                           Backend::kPostgres),
                         BackendName);

TEST_P(ScopedDeletionTest, AnIncompleteScopeKeepsItsChildrenOnlyThere) {
  Run({{"thing_p:1", "thing_p:2"},
       {{"thing_c:1a", "thing_p:1"},
        {"thing_c:1b", "thing_p:1"},
        {"thing_c:2a", "thing_p:2"},
        {"thing_c:2b", "thing_p:2"}},
       {},
       {}});
  // Parent 1 listed completely without 1b; parent 2's listing was forbidden.
  FinalizeCounts counts = Run({{"thing_p:1", "thing_p:2"},
                               {{"thing_c:1a", "thing_p:1"}},
                               {"thing_p:2"},
                               {{"thing_c", DeletionRule::kScopedOnly}}});
  EXPECT_EQ(counts.deleted, 2);  // 1b and its edge
  EXPECT_THAT(Keys("thing_c"),
              ElementsAre("thing_c:1a", "thing_c:2a", "thing_c:2b"));
  EXPECT_EQ(RelationshipCount(), 3);
  auto steps = store_->GetSteps(2);
  ASSERT_TRUE(steps.ok());
  ASSERT_EQ(steps->size(), 2u);
  ASSERT_EQ((*steps)[1].scope_gaps.size(), 1u);
  EXPECT_EQ((*steps)[1].scope_gaps[0].reason, "HTTP 403 on GET /p/{id}/c");
  EXPECT_EQ((*steps)[1].scope_gaps[0].scope_type, "thing_p");
  EXPECT_EQ((*steps)[1].scope_gaps[0].count, 1);
}

TEST_P(ScopedDeletionTest, ChildrenOfAParentNotCollectedAreKept) {
  Run({{"thing_p:1", "thing_p:2"},
       {{"thing_c:1a", "thing_p:1"}, {"thing_c:2a", "thing_p:2"}},
       {},
       {}});
  // Parent 2 was not collected (its own listing failed): it is kept, and so
  // are its children, whose scope was not listed.
  Run({{"thing_p:1"},
       {{"thing_c:1a", "thing_p:1"}},
       {},
       {{"thing_p", DeletionRule::kKeepAll}}});
  EXPECT_THAT(Keys("thing_p"), ElementsAre("thing_p:1", "thing_p:2"));
  EXPECT_THAT(Keys("thing_c"), ElementsAre("thing_c:1a", "thing_c:2a"));
}

TEST_P(ScopedDeletionTest, ChildrenOfADeletedParentGoWithIt) {
  Run({{"thing_p:1", "thing_p:2"},
       {{"thing_c:1a", "thing_p:1"}, {"thing_c:2a", "thing_p:2"}},
       {},
       {}});
  FinalizeCounts counts =
      Run({{"thing_p:1"}, {{"thing_c:1a", "thing_p:1"}}, {}, {}});
  EXPECT_EQ(counts.deleted, 3);  // parent 2, its child and their edge
  EXPECT_THAT(Keys("thing_p"), ElementsAre("thing_p:1"));
  EXPECT_THAT(Keys("thing_c"), ElementsAre("thing_c:1a"));
}

TEST_P(ScopedDeletionTest, ScopedOnlyKeepsUnscopedObjects) {
  RunOnce({MakeEntity("thing_c:loose", "thing_c", "loose")});
  RunOnce({}, {{"thing_c", DeletionRule::kScopedOnly}});
  EXPECT_THAT(Keys("thing_c"), ElementsAre("thing_c:loose"));
  RunOnce({});
  EXPECT_TRUE(Keys("thing_c").empty());
}

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

// --- Tokens ---

TEST_P(StoreTest, TokensAreCreatedListedFoundAndRevoked) {
  const std::string admin_hash(32, 'a');
  const std::string reader_hash(32, 'r');
  ASSERT_TRUE(
      store_->CreateToken("ops", v1::TOKEN_ROLE_ADMIN, admin_hash, 1000).ok());
  ASSERT_TRUE(
      store_->CreateToken("dash", v1::TOKEN_ROLE_READER, reader_hash, 2000)
          .ok());

  auto list = store_->ListTokens();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "dash");
  EXPECT_EQ((*list)[0].role, v1::TOKEN_ROLE_READER);
  EXPECT_EQ((*list)[0].created_ms, 2000);
  EXPECT_EQ((*list)[0].hash, "");  // never listed
  EXPECT_EQ((*list)[1].name, "ops");
  EXPECT_EQ((*list)[1].role, v1::TOKEN_ROLE_ADMIN);

  auto found = store_->FindTokenByHash(reader_hash);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->name, "dash");
  EXPECT_EQ(found->role, v1::TOKEN_ROLE_READER);
  EXPECT_EQ(found->hash, reader_hash);
  EXPECT_EQ(found->created_ms, 2000);

  ASSERT_TRUE(store_->RevokeToken("dash").ok());
  auto gone = store_->FindTokenByHash(reader_hash);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(gone.status().message(), "unknown or revoked token");
  absl::Status again = store_->RevokeToken("dash");
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(again.message(), "token 'dash' not found");
  // A revoked token's name can be used again.
  EXPECT_TRUE(store_
                  ->CreateToken("dash", v1::TOKEN_ROLE_WORKER,
                                std::string(32, 'w'), 3000)
                  .ok());
}

TEST_P(StoreTest, TokenNamesAreUniqueAndRolesRequired) {
  ASSERT_TRUE(
      store_
          ->CreateToken("ci", v1::TOKEN_ROLE_WORKER, std::string(32, '1'), 1000)
          .ok());
  absl::Status taken = store_->CreateToken("ci", v1::TOKEN_ROLE_READER,
                                           std::string(32, '2'), 1000);
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(), "token 'ci' already exists");
  absl::Status same_hash = store_->CreateToken("ci-2", v1::TOKEN_ROLE_READER,
                                               std::string(32, '1'), 1000);
  EXPECT_EQ(same_hash.code(), absl::StatusCode::kAlreadyExists);
  absl::Status no_role = store_->CreateToken("x", v1::TOKEN_ROLE_UNSPECIFIED,
                                             std::string(32, '3'), 1000);
  EXPECT_EQ(no_role.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(no_role.message(), "token 'x': role is required");
  auto list = store_->ListTokens();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_P(StoreTest, TheLastAdminTokenCannotBeRevoked) {
  auto has_admin = store_->HasAdminToken();
  ASSERT_TRUE(has_admin.ok());
  EXPECT_FALSE(*has_admin);
  ASSERT_TRUE(store_
                  ->CreateToken("reader", v1::TOKEN_ROLE_READER,
                                std::string(32, 'r'), 1)
                  .ok());
  EXPECT_FALSE(*store_->HasAdminToken());
  ASSERT_TRUE(
      store_->CreateToken("old", v1::TOKEN_ROLE_ADMIN, std::string(32, 'o'), 1)
          .ok());
  EXPECT_TRUE(*store_->HasAdminToken());
  absl::Status last = store_->RevokeToken("old");
  EXPECT_EQ(last.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(last.message(),
            "token 'old' is the last admin token; create another admin token "
            "first");
  // Rotation: create the new one, then revoke the old one.
  ASSERT_TRUE(
      store_->CreateToken("new", v1::TOKEN_ROLE_ADMIN, std::string(32, 'n'), 2)
          .ok());
  EXPECT_TRUE(store_->RevokeToken("old").ok());
  EXPECT_TRUE(*store_->HasAdminToken());
  EXPECT_TRUE(store_->RevokeToken("reader").ok());
}

TEST_P(StoreTest, TokenGenerationMovesOnEveryChange) {
  const int64_t start = store_->TokenGeneration();
  ASSERT_TRUE(
      store_->CreateToken("a", v1::TOKEN_ROLE_ADMIN, std::string(32, 'a'), 1)
          .ok());
  const int64_t created = store_->TokenGeneration();
  EXPECT_NE(created, start);
  ASSERT_TRUE(
      store_->CreateToken("b", v1::TOKEN_ROLE_READER, std::string(32, 'b'), 1)
          .ok());
  const int64_t second = store_->TokenGeneration();
  EXPECT_NE(second, created);
  ASSERT_TRUE(store_->RevokeToken("b").ok());
  const int64_t revoked = store_->TokenGeneration();
  EXPECT_NE(revoked, second);
  // Failures change nothing.
  EXPECT_FALSE(store_->RevokeToken("b").ok());
  EXPECT_FALSE(
      store_->CreateToken("a", v1::TOKEN_ROLE_ADMIN, std::string(32, 'c'), 1)
          .ok());
  EXPECT_EQ(store_->TokenGeneration(), revoked);
  // Reads change nothing.
  ASSERT_TRUE(store_->ListTokens().ok());
  EXPECT_EQ(store_->TokenGeneration(), revoked);
}

TEST_P(StoreTest, TokensSurviveReopening) {
  auto spec = NewSpec("tokens");
  ASSERT_TRUE(spec.ok()) << spec.status();
  {
    auto store = Store::Open(*spec);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE(
        (*store)
            ->CreateToken("ops", v1::TOKEN_ROLE_ADMIN, std::string(32, 'h'), 5)
            .ok());
  }
  auto store = Store::Open(*spec);
  ASSERT_TRUE(store.ok()) << store.status();
  auto found = (*store)->FindTokenByHash(std::string(32, 'h'));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->name, "ops");
  EXPECT_TRUE(*(*store)->HasAdminToken());
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

// --- Contracts the tests above leave out ---

TEST_P(StoreTest, IntegrationsAreUpsertedAndListedByName) {
  v1::IntegrationDefinition b = Definition();
  b.set_name("b-integration");
  v1::IntegrationDefinition a = Definition();
  a.set_name("a-integration");
  ASSERT_TRUE(store_->PutIntegration(b).ok());
  ASSERT_TRUE(store_->PutIntegration(a).ok());
  a.set_version("2");
  ASSERT_TRUE(store_->PutIntegration(a).ok());  // replaces
  auto got = store_->GetIntegration("a-integration");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->version(), "2");
  EXPECT_EQ(got->steps_size(), 2);
  auto list = store_->ListIntegrations();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name(), "a-integration");
  EXPECT_EQ((*list)[1].name(), "b-integration");
  auto missing = store_->GetIntegration("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "unknown integration 'nope' (no connected worker has advertised "
            "it)");
}

TEST_P(StoreTest, InstancesAreCreatedReadUpdatedAndListed) {
  v1::Instance b;
  b.set_id("b-inst");
  b.set_integration("test");
  (*b.mutable_config())["login"] = "me";
  b.set_created_at_ms(10);
  b.set_updated_at_ms(10);
  b.set_next_run_at_ms(99);  // output only: not stored
  ASSERT_TRUE(store_->CreateInstance(b).ok());
  absl::Status again = store_->CreateInstance(b);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "instance 'b-inst' already exists");

  auto list = store_->ListInstances();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id(), "b-inst");
  EXPECT_EQ((*list)[1].id(), "inst");
  auto got = store_->GetInstance("b-inst");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->integration(), "test");
  EXPECT_EQ(got->config().at("login"), "me");
  EXPECT_EQ(got->created_at_ms(), 10);
  EXPECT_EQ(got->next_run_at_ms(), 0);

  (*b.mutable_config())["login"] = "you";
  b.add_disabled_steps("fetch-b");
  b.set_updated_at_ms(20);
  b.set_created_at_ms(999);  // not an update's to change
  ASSERT_TRUE(store_->UpdateInstance(b).ok());
  got = store_->GetInstance("b-inst");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->config().at("login"), "you");
  EXPECT_THAT(got->disabled_steps(), ElementsAre("fetch-b"));
  EXPECT_EQ(got->updated_at_ms(), 20);
  EXPECT_EQ(got->created_at_ms(), 10);

  v1::Instance ghost;
  ghost.set_id("ghost");
  absl::Status update = store_->UpdateInstance(ghost);
  EXPECT_EQ(update.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(update.message(), "instance 'ghost' not found");
  EXPECT_EQ(store_->GetInstance("ghost").status().message(),
            "instance 'ghost' not found");
}

TEST_P(StoreTest, ScheduleSlotsAreRecordedEvenWhenTheRunIsRefused) {
  EXPECT_EQ(*store_->GetLastScheduledSlot("inst"), 0);
  ASSERT_TRUE(store_->SetLastScheduledSlot("inst", 100).ok());
  EXPECT_EQ(*store_->GetLastScheduledSlot("inst"), 100);
  auto first = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_SCHEDULE,
                                 {}, 1, 200);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*store_->GetLastScheduledSlot("inst"), 200);
  auto refused = store_->CreateRun("inst", Definition(),
                                   v1::RUN_TRIGGER_SCHEDULE, {}, 2, 300);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*store_->GetLastScheduledSlot("inst"), 300);
  EXPECT_EQ(store_->GetLastScheduledSlot("ghost").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreTest, RunsAreReadListedAndEnded) {
  auto first =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 100);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(*store_->ActiveRunIds(), ElementsAre(*first));
  auto run = store_->GetRun(*first);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->instance_id(), "inst");
  EXPECT_EQ(run->status(), v1::RUN_STATUS_VALIDATING);
  EXPECT_EQ(run->trigger(), v1::RUN_TRIGGER_MANUAL);
  EXPECT_EQ(run->created_at_ms(), 100);
  EXPECT_EQ(run->started_at_ms(), 0);
  EXPECT_FALSE(run->has_upload());
  ASSERT_EQ(run->steps_size(), 2);
  EXPECT_EQ(run->steps(0).step_id(), "fetch-a");
  EXPECT_EQ(run->steps(1).status(), v1::STEP_STATUS_PENDING);
  auto definition = store_->GetRunDefinition(*first);
  ASSERT_TRUE(definition.ok()) << definition.status();
  EXPECT_EQ(definition->name(), "test");
  EXPECT_EQ(definition->steps_size(), 2);

  ASSERT_TRUE(
      store_->SetRunStatus(*first, v1::RUN_STATUS_RUNNING, "", 150).ok());
  ASSERT_TRUE(
      store_->SetRunStatus(*first, v1::RUN_STATUS_RUNNING, "", 160).ok());
  EXPECT_EQ(store_->GetRun(*first)->started_at_ms(), 150);
  EXPECT_EQ(store_->GetRun(*first)->ended_at_ms(), 0);
  v1::UploadStatus upload;
  upload.set_state(v1::UPLOAD_STATE_UPLOADING);
  upload.set_job_id("job-1");
  upload.set_entities_uploaded(7);
  ASSERT_TRUE(store_->SetRunUpload(*first, upload).ok());
  EXPECT_EQ(store_->GetRun(*first)->upload().job_id(), "job-1");
  EXPECT_EQ(store_->GetRun(*first)->upload().entities_uploaded(), 7);
  ASSERT_TRUE(
      store_->SetRunStatus(*first, v1::RUN_STATUS_FAILED, "boom", 200).ok());
  run = store_->GetRun(*first);
  EXPECT_EQ(run->status(), v1::RUN_STATUS_FAILED);
  EXPECT_EQ(run->error(), "boom");
  EXPECT_EQ(run->ended_at_ms(), 200);
  EXPECT_TRUE(store_->ActiveRunIds()->empty());

  auto second =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 300);
  v1::Instance other;
  other.set_id("other");
  other.set_integration("test");
  ASSERT_TRUE(store_->CreateInstance(other).ok());
  auto third =
      store_->CreateRun("other", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 400);
  ASSERT_TRUE(third.ok()) << third.status();
  auto ids = [](const absl::StatusOr<std::vector<v1::Run>>& runs) {
    std::vector<int64_t> result;
    EXPECT_TRUE(runs.ok()) << runs.status();
    for (const v1::Run& run : *runs) result.push_back(run.id());
    return result;
  };
  EXPECT_THAT(ids(store_->ListRuns("inst", 10)), ElementsAre(*second, *first));
  EXPECT_THAT(ids(store_->ListRuns("", 10)),
              ElementsAre(*third, *second, *first));
  EXPECT_THAT(ids(store_->ListRuns("", 1)), ElementsAre(*third));
  EXPECT_THAT(*store_->ActiveRunIds(), ElementsAre(*second, *third));

  EXPECT_EQ(store_->GetRun(9999).status().message(), "run 9999 not found");
  EXPECT_EQ(store_->GetRunDefinition(9999).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreTest, StepsRecordStatusTimesTasksAndTypeCounts) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(
      store_->SetStepStatus(*run, "fetch-a", v1::STEP_STATUS_RUNNING, "", 10)
          .ok());
  ASSERT_TRUE(store_->SetStepTaskTotal(*run, "fetch-a", 2).ok());
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "a");
  *batch.add_entities() = MakeEntity("thing_a:000002", "thing_a", "b");
  *batch.add_entities() = MakeEntity("thing_b:000001", "thing_b", "c");
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-a", batch),
                                  true, "", {})
                  .ok());
  auto got = store_->GetRun(*run);
  ASSERT_TRUE(got.ok()) << got.status();
  const v1::StepRun& step = got->steps(0);
  EXPECT_EQ(step.status(), v1::STEP_STATUS_RUNNING);
  EXPECT_EQ(step.started_at_ms(), 10);
  EXPECT_EQ(step.ended_at_ms(), 0);
  EXPECT_EQ(step.tasks_total(), 2);
  EXPECT_EQ(step.tasks_done(), 1);
  EXPECT_THAT(step.type_counts(), ::testing::UnorderedElementsAre(
                                      Pair("thing_a", 2), Pair("thing_b", 1)));
  v1::ResultBatch more;
  *more.add_entities() = MakeEntity("thing_a:000003", "thing_a", "d");
  v1::TaskAttempt failed = StageTask(*store_, *run, "fetch-a", more);
  ASSERT_TRUE(store_->CommitAttempt(failed, false, "HTTP 500", {}).ok());
  EXPECT_EQ(store_->GetTask(failed.task_id())->state, TaskState::kFailed);
  EXPECT_EQ(store_->GetTask(failed.task_id())->error, "HTTP 500");
  ASSERT_TRUE(
      store_->SetStepStatus(*run, "fetch-a", v1::STEP_STATUS_SUCCESS, "", 20)
          .ok());
  ASSERT_TRUE(
      store_
          ->SetStepStatus(*run, "fetch-b", v1::STEP_STATUS_FAILURE, "broke", 30)
          .ok());
  got = store_->GetRun(*run);
  EXPECT_EQ(got->steps(0).tasks_done(), 2);
  EXPECT_EQ(got->steps(0).type_counts().at("thing_a"), 3);
  EXPECT_EQ(got->steps(0).started_at_ms(), 10);
  EXPECT_EQ(got->steps(0).ended_at_ms(), 20);
  EXPECT_EQ(got->steps(1).started_at_ms(), 30);
  EXPECT_EQ(got->steps(1).ended_at_ms(), 30);
  auto steps = store_->GetSteps(*run);
  ASSERT_TRUE(steps.ok()) << steps.status();
  ASSERT_EQ(steps->size(), 2u);
  EXPECT_EQ((*steps)[0].status, v1::STEP_STATUS_SUCCESS);
  EXPECT_EQ((*steps)[1].status, v1::STEP_STATUS_FAILURE);
  EXPECT_EQ((*steps)[1].error, "broke");
}

TEST_P(StoreTest, IncompleteReportsBecomeTheStepsPartialTypesAndScopeGaps) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch parents;
  *parents.add_entities() = MakeEntity("thing_p:000001", "thing_p", "p1");
  *parents.add_entities() = MakeEntity("thing_p:000002", "thing_p", "p2");
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-a", parents),
                                  true, "", {})
                  .ok());
  std::vector<v1::Incompleteness> incomplete(4);
  incomplete[0].set_type("thing_c");
  incomplete[0].set_reason("b: rate limited");
  incomplete[1].set_type("thing_c");
  incomplete[1].set_reason("a: HTTP 500");
  incomplete[2].set_scope("thing_p:000001");
  incomplete[2].set_reason("HTTP 403");
  incomplete[3].set_scope("thing_p:000002");
  incomplete[3].set_reason("HTTP 403");
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-b", {}), true,
                                  "", incomplete)
                  .ok());
  auto steps = store_->GetSteps(*run);
  ASSERT_TRUE(steps.ok()) << steps.status();
  EXPECT_TRUE((*steps)[0].partial_types.empty());
  // A type reported twice by one attempt keeps its first reason.
  EXPECT_THAT((*steps)[1].partial_types,
              ElementsAre(Pair("thing_c", "b: rate limited")));
  ASSERT_EQ((*steps)[1].scope_gaps.size(), 1u);
  EXPECT_EQ((*steps)[1].scope_gaps[0].reason, "HTTP 403");
  EXPECT_EQ((*steps)[1].scope_gaps[0].scope_type, "thing_p");
  EXPECT_EQ((*steps)[1].scope_gaps[0].count, 2);
}

TEST_P(StoreTest, PendingTasksBelongToActiveRunsOrValidationsOldestFirst) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  auto tasks = store_->TasksOfRun(*run);
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ASSERT_EQ(tasks->size(), 1u);  // the run's validation
  const TaskRecord validation = (*tasks)[0];
  EXPECT_EQ(validation.kind, v1::TASK_KIND_VALIDATE_INVOCATION);
  EXPECT_EQ(validation.state, TaskState::kPending);
  EXPECT_EQ(validation.attempt, 0);
  EXPECT_EQ(validation.instance_id, "inst");
  EXPECT_EQ(validation.step_id, "");
  v1::Shard shard;
  shard.set_parent_type("thing_p");
  shard.set_first_key("thing_p:000001");
  shard.set_last_key("thing_p:000009");
  auto step = store_->CreateTask(*run, "fetch-b", v1::TASK_KIND_STEP, shard);
  ASSERT_TRUE(step.ok()) << step.status();
  auto alone = store_->CreateValidationTask("inst");
  ASSERT_TRUE(alone.ok()) << alone.status();

  auto ids = [](const absl::StatusOr<std::vector<TaskRecord>>& records) {
    std::vector<int64_t> result;
    EXPECT_TRUE(records.ok()) << records.status();
    for (const TaskRecord& record : *records) result.push_back(record.id);
    return result;
  };
  EXPECT_THAT(ids(store_->PendingTasks(10)),
              ElementsAre(validation.id, *step, *alone));
  EXPECT_THAT(ids(store_->PendingTasks(2)), ElementsAre(validation.id, *step));
  EXPECT_THAT(ids(store_->TasksOfRun(*run)), ElementsAre(validation.id, *step));
  auto record = store_->GetTask(*step);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->run_id, *run);
  EXPECT_EQ(record->step_id, "fetch-b");
  EXPECT_EQ(record->kind, v1::TASK_KIND_STEP);
  EXPECT_EQ(record->shard.first_key(), "thing_p:000001");
  EXPECT_EQ(record->shard.last_key(), "thing_p:000009");
  EXPECT_EQ(store_->GetTask(*alone)->run_id, 0);

  // Tasks of an ended run are no longer offered; stand-alone ones are.
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_FAILED, "x", 2).ok());
  EXPECT_THAT(ids(store_->PendingTasks(10)), ElementsAre(*alone));

  EXPECT_EQ(store_->CreateTask(9999, "fetch-a", v1::TASK_KIND_STEP, shard)
                .status()
                .message(),
            "run 9999 not found");
  EXPECT_EQ(store_->GetTask(9999).status().message(), "task 9999 not found");
}

TEST_P(StoreTest, LeasesAreRenewedAndFoundWhenExpired) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  auto a = store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, {});
  auto b = store_->CreateTask(*run, "fetch-b", v1::TASK_KIND_STEP, {});
  EXPECT_EQ(*store_->LeaseTask(*a, "w1", "lease-a", 100), 1);
  auto taken = store_->LeaseTask(*a, "w2", "lease-x", 100);
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(taken.status().message(),
            absl::StrCat("task ", *a, " is not pending"));
  EXPECT_EQ(*store_->LeaseTask(*b, "w2", "lease-b", 300), 1);
  auto record = store_->GetTask(*a);
  EXPECT_EQ(record->state, TaskState::kLeased);
  EXPECT_EQ(record->worker_id, "w1");
  EXPECT_EQ(record->lease_id, "lease-a");
  EXPECT_EQ(record->lease_expires_ms, 100);

  auto ids = [](const absl::StatusOr<std::vector<TaskRecord>>& records) {
    std::vector<int64_t> result;
    EXPECT_TRUE(records.ok()) << records.status();
    for (const TaskRecord& record : *records) result.push_back(record.id);
    return result;
  };
  EXPECT_THAT(ids(store_->LeasedTasks(150, "")), ElementsAre(*a));
  EXPECT_THAT(ids(store_->LeasedTasks(50, "w2")), ElementsAre(*b));
  EXPECT_THAT(ids(store_->LeasedTasks(400, "")), ElementsAre(*a, *b));
  ASSERT_TRUE(store_->RenewLease(*a, 1, "w1", 500).ok());
  EXPECT_TRUE(store_->LeasedTasks(150, "")->empty());
  // Another worker or another attempt renews nothing.
  ASSERT_TRUE(store_->RenewLease(*a, 1, "w2", 900).ok());
  ASSERT_TRUE(store_->RenewLease(*a, 2, "w1", 900).ok());
  EXPECT_EQ(store_->GetTask(*a)->lease_expires_ms, 500);
}

TEST_P(StoreTest, StagedObjectsAreVisitedInKeyOrderUntilALaterRunFinalizes) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  EXPECT_FALSE(*store_->HasStagedObjects(*run));
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_b:000001", "thing_b", "c");
  *batch.add_entities() = MakeEntity("thing_a:000002", "thing_a", "b");
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "a");
  *batch.add_relationships() =
      DirectRelationship(batch.entities(2), "HAS", batch.entities(1));
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-a", batch),
                                  true, "", {})
                  .ok());
  EXPECT_TRUE(*store_->HasStagedObjects(*run));
  std::vector<std::string> keys;
  ASSERT_TRUE(store_
                  ->ForEachStagedKey(
                      *run, "thing_a",
                      [&](const std::string& key) { keys.push_back(key); })
                  .ok());
  EXPECT_THAT(keys, ElementsAre("thing_a:000001", "thing_a:000002"));
  keys.clear();
  ASSERT_TRUE(store_
                  ->ForEachStagedObject(*run, false, 2,
                                        [&](const std::string& data) {
                                          v1::Entity entity;
                                          EXPECT_TRUE(
                                              entity.ParseFromString(data));
                                          keys.push_back(entity.key());
                                          return absl::OkStatus();
                                        })
                  .ok());
  EXPECT_THAT(
      keys, ElementsAre("thing_a:000001", "thing_a:000002", "thing_b:000001"));
  int relationships = 0;
  ASSERT_TRUE(store_
                  ->ForEachStagedObject(
                      *run, true, 2,
                      [&](const std::string& data) {
                        v1::Relationship relationship;
                        EXPECT_TRUE(relationship.ParseFromString(data));
                        ++relationships;
                        return absl::OkStatus();
                      })
                  .ok());
  EXPECT_EQ(relationships, 1);
  // The first failed visit stops the walk and is returned.
  int visits = 0;
  absl::Status stopped =
      store_->ForEachStagedObject(*run, false, 1, [&](const std::string&) {
        ++visits;
        return absl::CancelledError("enough");
      });
  EXPECT_EQ(stopped.message(), "enough");
  EXPECT_EQ(visits, 1);

  // Kept through the run's own finalize (for its upload), pruned by the next.
  ASSERT_TRUE(
      store_->Finalize({.run_id = *run, .instance_id = "inst", .now_ms = 2})
          .ok());
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2).ok());
  EXPECT_TRUE(*store_->HasStagedObjects(*run));
  RunOnce({});
  EXPECT_FALSE(*store_->HasStagedObjects(*run));
}

TEST_P(StoreTest, ObjectsRoundTripByteForByte) {
  // Text with a NUL, control characters and multi-byte UTF-8 in property
  // values and raw data; the stored bytes come back unchanged.
  const std::string text("nul\0 tab\t bell\a \xc3\xa9 \xe6\x97\xa5", 16);
  v1::Entity entity = MakeEntity("thing_a:000001", "thing_a", text);
  (*entity.mutable_properties())["big"] =
      IntValue(int64_t{9'007'199'254'740'993});
  v1::RawData* raw = entity.add_raw_data();
  raw->set_name("default");
  raw->set_json(std::string("{\"a\":\"\0\"}", 10));
  RunOnce({entity});
  auto stored = store_->GetEntity("inst", entity.key());
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(SerializeDeterministic(*stored), SerializeDeterministic(entity));
  auto changes = store_->ReadChanges(0, 10);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].data, SerializeDeterministic(entity));
  // Property filters still work on the object.
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  (*filter.mutable_properties())["big"] =
      IntValue(int64_t{9'007'199'254'740'993});
  EXPECT_EQ(store_->ListEntities(filter, "", 10)->size(), 1u);
  (*filter.mutable_properties())["big"] =
      IntValue(int64_t{9'007'199'254'740'992});
  EXPECT_TRUE(store_->ListEntities(filter, "", 10)->empty());
}

TEST_P(StoreTest, EventsAreListedInOrderAfterASequence) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::Instance other;
  other.set_id("other");
  other.set_integration("test");
  ASSERT_TRUE(store_->CreateInstance(other).ok());
  auto other_run =
      store_->CreateRun("other", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(store_
                  ->AddEvent(*run, v1::EVENT_LEVEL_INFO, "started",
                             "the run started", "", 5)
                  .ok());
  ASSERT_TRUE(store_
                  ->AddEvent(*other_run, v1::EVENT_LEVEL_INFO, "elsewhere",
                             "another run's", "", 5)
                  .ok());
  ASSERT_TRUE(store_
                  ->AddEvent(*run, v1::EVENT_LEVEL_WARN, "slow",
                             "fetch-a is slow", "fetch-a", 6)
                  .ok());
  auto events = store_->ListEvents(*run, 0);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].name(), "started");
  EXPECT_EQ((*events)[0].run_id(), *run);
  EXPECT_EQ((*events)[0].time_ms(), 5);
  EXPECT_EQ((*events)[0].level(), v1::EVENT_LEVEL_INFO);
  EXPECT_EQ((*events)[1].name(), "slow");
  EXPECT_EQ((*events)[1].description(), "fetch-a is slow");
  EXPECT_EQ((*events)[1].step_id(), "fetch-a");
  EXPECT_GT((*events)[1].sequence(), (*events)[0].sequence());
  auto after = store_->ListEvents(*run, (*events)[0].sequence());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].name(), "slow");
}

TEST_P(StoreTest, FinalizeRecordsCountsAndIncompleteTypesOnTheRun) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "one"),
           MakeEntity("thing_a:000002", "thing_a", "two")});
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "uno");
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-a", batch),
                                  true, "", {})
                  .ok());
  std::vector<v1::IncompleteType> incomplete(2);
  incomplete[0].set_type("thing_z");
  incomplete[0].set_reason("step fetch-b disabled");
  incomplete[0].set_all_kept(true);
  incomplete[1].set_type("thing_b");
  incomplete[1].set_reason("HTTP 500");
  incomplete[1].set_error(true);
  auto counts = store_->Finalize({.run_id = *run,
                                  .instance_id = "inst",
                                  .incomplete_types = incomplete,
                                  .now_ms = 2});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->updated, 1);
  EXPECT_EQ(counts->deleted, 1);
  auto got = store_->GetRun(*run);
  EXPECT_EQ(got->created_count(), 0);
  EXPECT_EQ(got->updated_count(), 1);
  EXPECT_EQ(got->deleted_count(), 1);
  ASSERT_EQ(got->incomplete_types_size(), 2);
  EXPECT_EQ(got->incomplete_types(0).type(), "thing_b");  // by type
  EXPECT_TRUE(got->incomplete_types(0).error());
  EXPECT_FALSE(got->incomplete_types(0).all_kept());
  EXPECT_EQ(got->incomplete_types(1).reason(), "step fetch-b disabled");
  EXPECT_TRUE(got->incomplete_types(1).all_kept());
}

TEST_P(StoreTest, FinalizeEndsTheRunAndHandsOffItsUploadAtOnce) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "one");
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-a", batch),
                                  true, "", {})
                  .ok());
  auto counts = store_->Finalize({.run_id = *run,
                                  .instance_id = "inst",
                                  .status = v1::RUN_STATUS_PARTIAL,
                                  .error = "not looked at completely: thing_b",
                                  .upload_pending = true,
                                  .now_ms = 7});
  ASSERT_TRUE(counts.ok()) << counts.status();
  auto got = store_->GetRun(*run);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status(), v1::RUN_STATUS_PARTIAL);
  EXPECT_EQ(got->error(), "not looked at completely: thing_b");
  EXPECT_EQ(got->upload().state(), v1::UPLOAD_STATE_PENDING);
  EXPECT_THAT(*store_->ActiveRunIds(), ::testing::IsEmpty());

  // An ended run cannot be finalized again, and nothing changes.
  const int64_t before = store_->GetChangeLogBounds()->last_sequence;
  auto again = store_->Finalize({.run_id = *run,
                                 .instance_id = "inst",
                                 .status = v1::RUN_STATUS_SUCCEEDED,
                                 .now_ms = 9});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition)
      << again.status();
  EXPECT_EQ(store_->GetChangeLogBounds()->last_sequence, before);
  EXPECT_EQ(store_->GetRun(*run)->status(), v1::RUN_STATUS_PARTIAL);
}

TEST_P(StoreTest, FinalizeWithoutAnUploadTargetLeavesNoUpload) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "one")});
  auto runs = store_->ListRuns("inst", 1);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].status(), v1::RUN_STATUS_SUCCEEDED);
  EXPECT_EQ((*runs)[0].upload().state(), v1::UPLOAD_STATE_UNSPECIFIED);
}

TEST_P(StoreTest, PropertyFiltersCompareJsonTypesAndValues) {
  v1::Entity a = MakeEntity("thing_a:000001", "thing_a", "a");
  (*a.mutable_properties())["score"] = DoubleValue(2.5);
  (*a.mutable_properties())["count"] = IntValue(3);
  (*a.mutable_properties())["tags"] = StringListValue({"x", "y"});
  (*a.mutable_properties())["owner"] = NullValue();
  v1::Entity b = MakeEntity("thing_a:000002", "thing_a", "b");
  (*b.mutable_properties())["count"] = DoubleValue(3.0);
  (*b.mutable_properties())["tags"] = StringListValue({"y", "x"});
  (*b.mutable_properties())["owner"] = StringValue("me");
  v1::Entity c = MakeEntity("thing_a:000003", "thing_a", "c");
  (*c.mutable_properties())["count"] = StringValue("3");
  RunOnce({a, b, c});
  auto keys = [&](const std::string& name, const v1::Value& value) {
    v1::GraphFilter filter;
    filter.set_instance_id("inst");
    (*filter.mutable_properties())[name] = value;
    std::vector<std::string> result;
    auto entities = store_->ListEntities(filter, "", 10);
    EXPECT_TRUE(entities.ok()) << entities.status();
    for (const auto& e : *entities) result.push_back(e.key());
    return result;
  };
  EXPECT_THAT(keys("score", DoubleValue(2.5)), ElementsAre(a.key()));
  // Numbers compare numerically, across integer and double.
  EXPECT_THAT(keys("count", IntValue(3)), ElementsAre(a.key(), b.key()));
  EXPECT_THAT(keys("count", DoubleValue(3)), ElementsAre(a.key(), b.key()));
  EXPECT_THAT(keys("count", StringValue("3")), ElementsAre(c.key()));
  EXPECT_THAT(keys("tags", StringListValue({"x", "y"})), ElementsAre(a.key()));
  EXPECT_THAT(keys("owner", NullValue()), ElementsAre(a.key()));  // not absent
  EXPECT_THAT(keys("owner", StringValue("me")), ElementsAre(b.key()));
  EXPECT_TRUE(keys("missing", StringValue("x")).empty());
}

TEST_P(StoreTest, GraphListingsFilterAndPageInByteOrder) {
  // Keys compare bytewise, whatever the database's locale: 'B' < '_' < 'a' <
  // 0xC3 (é).
  v1::Entity upper = MakeEntity("thing_a:B-000001", "thing_a", "upper");
  v1::Entity underscore = MakeEntity("thing_a:_-000001", "thing_a", "under");
  v1::Entity lower = MakeEntity("thing_a:a-000001", "thing_a", "lower");
  v1::Entity accent = MakeEntity("thing_a:\xc3\xa9-00001", "thing_a", "acc");
  v1::Entity other = MakeEntity("thing_b:000001", "thing_b", "other");
  other.clear_classes();
  other.add_classes("Other");
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  for (const v1::Entity* e : {&lower, &accent, &upper, &other, &underscore}) {
    *batch.add_entities() = *e;
  }
  *batch.add_relationships() = DirectRelationship(lower, "HAS", upper);
  *batch.add_relationships() = DirectRelationship(upper, "HAS", lower);
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-a", batch),
                                  true, "", {})
                  .ok());
  ASSERT_TRUE(
      store_->Finalize({.run_id = *run, .instance_id = "inst", .now_ms = 2})
          .ok());

  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  filter.set_type("thing_a");
  auto first = store_->ListEntities(filter, "", 2);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].key(), upper.key());
  EXPECT_EQ((*first)[1].key(), underscore.key());
  auto second = store_->ListEntities(filter, (*first)[1].key(), 2);
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*second)[0].key(), lower.key());
  EXPECT_EQ((*second)[1].key(), accent.key());
  EXPECT_TRUE(store_->ListEntities(filter, accent.key(), 2)->empty());

  v1::GraphFilter by_class;
  by_class.set_instance_id("inst");
  by_class.set_class_name("Other");
  auto classed = store_->ListEntities(by_class, "", 10);
  ASSERT_EQ(classed->size(), 1u);
  EXPECT_EQ((*classed)[0].key(), other.key());
  v1::GraphFilter elsewhere;
  elsewhere.set_instance_id("ghost");
  EXPECT_TRUE(store_->ListEntities(elsewhere, "", 10)->empty());

  v1::GraphFilter relationships;
  relationships.set_instance_id("inst");
  auto edges = store_->ListRelationships(relationships, "", 1);
  ASSERT_EQ(edges->size(), 1u);
  auto rest = store_->ListRelationships(relationships, (*edges)[0].key(), 10);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_LT((*edges)[0].key(), (*rest)[0].key());
  auto neighbors = store_->ListNeighbors("inst", upper.key(), 0, "", "", 1);
  ASSERT_EQ(neighbors->size(), 1u);
  auto more = store_->ListNeighbors("inst", upper.key(), 0, "",
                                    (*neighbors)[0].relationship.key(), 10);
  ASSERT_EQ(more->size(), 1u);
  EXPECT_NE((*neighbors)[0].outgoing, (*more)[0].outgoing);

  auto missing = store_->GetEntity("inst", "thing_a:nothing");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "entity 'thing_a:nothing' not found in instance 'inst'");
}

TEST_P(StoreTest, RetentionPrunesByAge) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "a"),
           MakeEntity("thing_a:000002", "thing_a", "b")});  // logged at 2000
  EXPECT_EQ(*store_->PruneChanges(1000, 0, 2500), 0);
  EXPECT_EQ(*store_->PruneChanges(1000, 0, 3001), 2);
  auto bounds = store_->GetChangeLogBounds();
  ASSERT_TRUE(bounds.ok()) << bounds.status();
  EXPECT_EQ(bounds->pruned_through, 2);
  EXPECT_EQ(bounds->last_sequence, 2);  // still the last ever appended
  EXPECT_TRUE(store_->ReadChanges(0, 10)->empty());
  RunOnce({});  // deletes both
  EXPECT_EQ(store_->GetChangeLogBounds()->last_sequence, 4);
  EXPECT_EQ(store_->ReadChanges(0, 10)->front().sequence, 3);
}

TEST_P(StoreTest, DeleteInstanceWaitsForTheActiveRun) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  absl::Status busy = store_->DeleteInstance("inst", 2);
  EXPECT_EQ(busy.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      busy.message(),
      absl::StrCat("instance 'inst' has an active run ", *run,
                   "; cancel it first (graphmill run cancel ", *run, ")"));
  ASSERT_TRUE(store_->CancelRun(*run, 3).ok());
  auto again = store_->CancelRun(*run, 4);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(),
            absl::StrCat("run ", *run, " is not active"));
  EXPECT_EQ(store_->GetRun(*run)->error(), "cancelled by an operator");
  EXPECT_EQ(store_->TasksOfRun(*run)->front().error, "run cancelled");
  ASSERT_TRUE(store_->DeleteInstance("inst", 5).ok());
  EXPECT_EQ(store_->GetRun(*run).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->TasksOfRun(*run)->empty());
  absl::Status gone = store_->DeleteInstance("inst", 6);
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(gone.message(), "instance 'inst' not found");
}

// --- PostgreSQL only ---

class PostgresStoreTest : public ::testing::Test {
 protected:
  void TearDown() override { DropPostgresDatabases(databases_); }

  absl::StatusOr<std::string> NewDatabase(const std::string& name) {
    return NewPostgresDatabase(name, &databases_);
  }

  std::vector<std::string> databases_;
};

TEST_F(PostgresStoreTest, ReconnectsAfterTheServerRestarts) {
  auto uri = NewDatabase("restart");
  ASSERT_TRUE(uri.ok()) << uri.status();
  auto store = Store::Open(*uri);
  ASSERT_TRUE(store.ok()) << store.status();
  v1::Instance instance;
  instance.set_id("inst");
  instance.set_integration("test");
  ASSERT_TRUE((*store)->CreateInstance(instance).ok());
  ASSERT_TRUE((*pgtest::SharedPostgresServer())->Restart().ok());
  auto got = (*store)->GetInstance("inst");
  EXPECT_TRUE(got.ok()) << got.status();
  auto run =
      (*store)->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  EXPECT_TRUE(run.ok()) << run.status();
}

TEST_F(PostgresStoreTest, OpenErrorsNameTheStoreWithoutItsPassword) {
  auto server = pgtest::SharedPostgresServer();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string host = (*server)->directory();
  for (const std::string& uri :
       {absl::StrCat("postgresql://graphmill:s3cret@/no_such_db?host=", host),
        absl::StrCat("postgres:///no_such_db?host=", host,
                     "&user=graphmill&password=s3cret")}) {
    auto store = Store::Open(uri);
    EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
    const std::string message(store.status().message());
    EXPECT_THAT(message, HasSubstr("cannot connect to the PostgreSQL store"));
    EXPECT_THAT(message, HasSubstr("no_such_db"));
    EXPECT_THAT(message, HasSubstr("***"));
    EXPECT_THAT(message, Not(HasSubstr("s3cret")));
  }
}

TEST(PostgresStoreUnitTest, RedactConnectionUriHidesPasswords) {
  EXPECT_EQ(RedactConnectionUri("postgresql://u:p%40ss@db.example:5432/g"),
            "postgresql://u:***@db.example:5432/g");
  EXPECT_EQ(RedactConnectionUri("postgres://u@db/g?password=x&sslmode=require"),
            "postgres://u@db/g?password=***&sslmode=require");
  EXPECT_EQ(RedactConnectionUri("postgresql:///g?sslpassword=k&host=/tmp"),
            "postgresql:///g?sslpassword=***&host=/tmp");
  EXPECT_EQ(RedactConnectionUri("host=db password='a b' dbname=g"),
            "host=db password=*** dbname=g");
  EXPECT_EQ(RedactConnectionUri("postgresql:///g?host=/tmp/x"),
            "postgresql:///g?host=/tmp/x");
}

TEST_F(PostgresStoreTest, AnotherSchemaVersionIsRefused) {
  auto uri = NewDatabase("version");
  ASSERT_TRUE(uri.ok()) << uri.status();
  ASSERT_TRUE(Store::Open(*uri).ok());
  {
    auto db = PgConnection::Open(*uri);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Execute("UPDATE schema_version SET version = 3").ok());
  }
  auto store = Store::Open(*uri);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            "store schema version 3 is not supported (want 2)");
}

TEST_F(PostgresStoreTest, TextTheServerRefusesIsAnErrorNotATruncation) {
  // PostgreSQL text cannot hold U+0000 (SQLite's can): refused, not cut.
  auto uri = NewDatabase("nul");
  ASSERT_TRUE(uri.ok()) << uri.status();
  auto store = Store::Open(*uri);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::Status refused = (*store)->AddEvent(1, v1::EVENT_LEVEL_INFO,
                                            std::string("a\0b", 3), "", "", 1);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
  EXPECT_TRUE((*store)->ListEvents(1, 0)->empty());
}

}  // namespace
}  // namespace graphmill::coordinator
