// Conformance: staging task results and reading a run's staged objects (see
// store_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "coordinator/store/conformance/store_fixture.h"

namespace graphmill::coordinator::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

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
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*run, 2)).ok());
  auto kept = store_->GetEntity("inst", "thing_a:000001");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->properties().at("name").string_value(), "first");
  EXPECT_EQ(kept->classes_size(), 1);
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
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
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
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*run, 2)).ok());
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

}  // namespace
}  // namespace graphmill::coordinator::conformance
