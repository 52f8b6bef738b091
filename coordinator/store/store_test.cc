#include "coordinator/store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "common/graph_objects.h"
#include "coordinator/store/sqlite.h"

namespace graphmill::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
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

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    v1::Instance instance;
    instance.set_id("inst");
    instance.set_integration("test");
    ASSERT_TRUE(store_->CreateInstance(instance).ok());
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
    auto counts = store_->Finalize(*run, "inst", rules, {}, 2000);
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
};

TEST_F(StoreTest, OneActiveRunPerInstance) {
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

TEST_F(StoreTest, FinalizeCreatesUpdatesAndDeletes) {
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

TEST_F(StoreTest, KeepAllTypesAreNeverDeleted) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "a"),
           MakeEntity("thing_b:000001", "thing_b", "b")});
  FinalizeCounts counts = RunOnce({}, {{"thing_b", DeletionRule::kKeepAll}});
  EXPECT_EQ(counts.deleted, 1);
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_b:000001"});
}

TEST_F(StoreTest, StaleAttemptIsFenced) {
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

TEST_F(StoreTest, ResultsNeedTheLeaseIdNotJustTheAttempt) {
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

TEST_F(StoreTest, ReleaseFailsTaskAfterMaxAttempts) {
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

TEST_F(StoreTest, StagedEntitiesReadByTypeAndShardRange) {
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

TEST_F(StoreTest, GraphSurvivesReopen) {
  const std::string path = ::testing::TempDir() + "/reopen.db";
  std::remove(path.c_str());
  {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok());
    v1::Instance instance;
    instance.set_id("persist");
    instance.set_integration("test");
    (*instance.mutable_config())["login"] = "me";
    ASSERT_TRUE((*store)->CreateInstance(instance).ok());
  }
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok());
  auto instance = (*store)->GetInstance("persist");
  ASSERT_TRUE(instance.ok());
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

TEST_F(StoreTest, IdenticalDuplicatesMergeSilently) {
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

TEST_F(StoreTest, ConflictingDuplicatesKeepFirstWarnAndMarkPartial) {
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
  ASSERT_TRUE(store_->Finalize(*run, "inst", {}, {}, 2).ok());
  auto kept = store_->GetEntity("inst", "thing_a:000001");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->properties().at("name").string_value(), "first");
  EXPECT_EQ(kept->classes_size(), 1);
}

TEST_F(StoreTest, RelationshipsWithoutEndpointsAreDroppedWithAnEvent) {
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
  auto counts = store_->Finalize(*run, "inst", {}, {}, 2);
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

TEST_F(StoreTest, RelationshipOfProtectedTypeGoesWithItsDeletedEndpoint) {
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
  ASSERT_TRUE(store_->Finalize(*run, "inst", {}, {}, 2).ok());
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2).ok());
  // Run 2 sees only `a`; the edge's type is protected, but its target is gone.
  run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 3);
  v1::ResultBatch second;
  *second.add_entities() = a;
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-a", second),
                                  true, "", {})
                  .ok());
  auto counts = store_->Finalize(
      *run, "inst", {{edge.type(), DeletionRule::kKeepAll}}, {}, 4);
  EXPECT_EQ(counts->deleted, 2);
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_TRUE(store_->ListRelationships(filter, "", 10)->empty());
}

TEST_F(StoreTest, ChangeLogRecordsEveryChangeInOrderWithPreviousVersions) {
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

TEST_F(StoreTest, RetentionPrunesByCountAndRemembersWhere) {
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

TEST_F(StoreTest, PropertyFiltersAndNeighbors) {
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
  ASSERT_TRUE(store_->Finalize(*run, "inst", {}, {}, 2).ok());

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

TEST_F(StoreTest, CancelledRunChangesNothingAndDeleteLogsTheGraphAway) {
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

TEST_F(StoreTest, DisabledStepsStartDisabled) {
  auto run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_SCHEDULE,
                               {"fetch-b"}, 1);
  auto steps = store_->GetSteps(*run);
  EXPECT_EQ((*steps)[0].status, v1::STEP_STATUS_PENDING);
  EXPECT_EQ((*steps)[1].status, v1::STEP_STATUS_DISABLED);
  EXPECT_EQ(store_->GetRun(*run)->trigger(), v1::RUN_TRIGGER_SCHEDULE);
}

TEST(StoreSnapshot, ConsistentCopyWithSequence) {
  const std::string path = ::testing::TempDir() + "/snapshot.db";
  std::remove(path.c_str());
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok());
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
  ASSERT_TRUE((*store)->Finalize(*run, "snap", {}, {}, 2).ok());
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
    auto counts = store_->Finalize(*run, "inst", spec.rules, {}, 2000);
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

TEST_F(ScopedDeletionTest, AnIncompleteScopeKeepsItsChildrenOnlyThere) {
  Run({{"thing_p:1", "thing_p:2"},
       {{"thing_c:1a", "thing_p:1"},
        {"thing_c:1b", "thing_p:1"},
        {"thing_c:2a", "thing_p:2"},
        {"thing_c:2b", "thing_p:2"}}});
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

TEST_F(ScopedDeletionTest, ChildrenOfAParentNotCollectedAreKept) {
  Run({{"thing_p:1", "thing_p:2"},
       {{"thing_c:1a", "thing_p:1"}, {"thing_c:2a", "thing_p:2"}}});
  // Parent 2 was not collected (its own listing failed): it is kept, and so
  // are its children, whose scope was not listed.
  Run({{"thing_p:1"},
       {{"thing_c:1a", "thing_p:1"}},
       {},
       {{"thing_p", DeletionRule::kKeepAll}}});
  EXPECT_THAT(Keys("thing_p"), ElementsAre("thing_p:1", "thing_p:2"));
  EXPECT_THAT(Keys("thing_c"), ElementsAre("thing_c:1a", "thing_c:2a"));
}

TEST_F(ScopedDeletionTest, ChildrenOfADeletedParentGoWithIt) {
  Run({{"thing_p:1", "thing_p:2"},
       {{"thing_c:1a", "thing_p:1"}, {"thing_c:2a", "thing_p:2"}}});
  FinalizeCounts counts = Run({{"thing_p:1"}, {{"thing_c:1a", "thing_p:1"}}});
  EXPECT_EQ(counts.deleted, 3);  // parent 2, its child and their edge
  EXPECT_THAT(Keys("thing_p"), ElementsAre("thing_p:1"));
  EXPECT_THAT(Keys("thing_c"), ElementsAre("thing_c:1a"));
}

TEST_F(ScopedDeletionTest, ScopedOnlyKeepsUnscopedObjects) {
  RunOnce({MakeEntity("thing_c:loose", "thing_c", "loose")});
  RunOnce({}, {{"thing_c", DeletionRule::kScopedOnly}});
  EXPECT_THAT(Keys("thing_c"), ElementsAre("thing_c:loose"));
  RunOnce({});
  EXPECT_TRUE(Keys("thing_c").empty());
}

TEST(StoreMigrationTest, Version1StoreIsUpgradedKeepingGraphAndPartialTypes) {
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

TEST(StoreLockTest, ASecondStoreOnTheSameFileStopsAtOpen) {
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

TEST_F(StoreTest, TokensAreCreatedListedFoundAndRevoked) {
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

TEST_F(StoreTest, TokenNamesAreUniqueAndRolesRequired) {
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

TEST_F(StoreTest, TheLastAdminTokenCannotBeRevoked) {
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

TEST_F(StoreTest, TokenGenerationMovesOnEveryChange) {
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

TEST(StoreTokensTest, TokensSurviveReopening) {
  const std::string path = ::testing::TempDir() + "/tokens.db";
  std::remove(path.c_str());
  {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE(
        (*store)
            ->CreateToken("ops", v1::TOKEN_ROLE_ADMIN, std::string(32, 'h'), 5)
            .ok());
  }
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto found = (*store)->FindTokenByHash(std::string(32, 'h'));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->name, "ops");
  EXPECT_TRUE(*(*store)->HasAdminToken());
}

TEST(StoreTokensTest, AVersion2StoreWithoutTokensGetsTheTable) {
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

}  // namespace
}  // namespace graphmill::coordinator
