// Conformance: how a task attempt's staged objects join its run (see
// store_fixture.h). These pin what the store must keep however it stores
// attempts: only committed attempts' objects are the run's, a released or
// cancelled attempt's never are, and when tasks stage the same key the first
// committed version (content and scope) is the one the run keeps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "coordinator/store/conformance/store_fixture.h"

namespace graphmill::coordinator::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

// "key=name" of each staged entity of the run, in key order, as the upload
// reads them.
std::vector<std::string> StagedEntities(Store& store, int64_t run) {
  std::vector<std::string> result;
  absl::Status status =
      store.ForEachStagedObject(run, false, 2, [&](const std::string& data) {
        v1::Entity entity;
        EXPECT_TRUE(entity.ParseFromString(data));
        result.push_back(absl::StrCat(
            entity.key(), "=", entity.properties().at("name").string_value()));
        return absl::OkStatus();
      });
  EXPECT_TRUE(status.ok()) << status;
  return result;
}

std::vector<std::string> StagedKeys(Store& store, int64_t run,
                                    const std::string& type) {
  std::vector<std::string> keys;
  EXPECT_TRUE(
      store
          .ForEachStagedKey(
              run, type, [&](const std::string& key) { keys.push_back(key); })
          .ok());
  return keys;
}

v1::ResultBatch Batch(const std::vector<v1::Entity>& entities) {
  v1::ResultBatch batch;
  for (const v1::Entity& entity : entities) *batch.add_entities() = entity;
  return batch;
}

TEST_P(StoreTest, AnAttemptsObjectsJoinTheRunWhenItCommits) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::TaskAttempt attempt =
      StageTask(*store_, *run, "fetch-a",
                Batch({MakeEntity("thing_a:000001", "thing_a", "one")}));
  // Staged, not committed: not the run's yet.
  EXPECT_FALSE(*store_->HasStagedObjects(*run));
  EXPECT_THAT(StagedEntities(*store_, *run), IsEmpty());
  EXPECT_THAT(StagedKeys(*store_, *run, "thing_a"), IsEmpty());
  ASSERT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
  EXPECT_TRUE(*store_->HasStagedObjects(*run));
  EXPECT_THAT(StagedEntities(*store_, *run), ElementsAre("thing_a:000001=one"));
}

TEST_P(StoreTest, AReleasedAttemptsObjectsAreNeverSeenOrFinalized) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  auto task =
      store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
  v1::TaskAttempt first;
  first.set_task_id(*task);
  first.set_attempt(*store_->LeaseTask(*task, "w1", kLease, 10));
  first.set_lease_id(kLease);
  ASSERT_TRUE(
      store_
          ->StageBatch(first,
                       Batch({MakeEntity("thing_a:000001", "thing_a", "lost"),
                              MakeEntity("thing_a:000002", "thing_a", "lost")}),
                       1)
          .ok());
  ASSERT_TRUE(store_->ReleaseTask(*task, 1, 3, "lease lapsed").ok());
  // The next attempt stages one of the keys again, with other content.
  v1::TaskAttempt second;
  second.set_task_id(*task);
  second.set_attempt(*store_->LeaseTask(*task, "w2", "lease-2", 10));
  second.set_lease_id("lease-2");
  ASSERT_TRUE(
      store_
          ->StageBatch(second,
                       Batch({MakeEntity("thing_a:000001", "thing_a", "kept")}),
                       1)
          .ok());
  ASSERT_TRUE(store_->CommitAttempt(second, true, "", {}).ok());

  EXPECT_THAT(StagedEntities(*store_, *run),
              ElementsAre("thing_a:000001=kept"));
  EXPECT_THAT(StagedKeys(*store_, *run, "thing_a"),
              ElementsAre("thing_a:000001"));
  std::vector<std::string> read;
  ASSERT_TRUE(store_
                  ->ForEachStagedEntity(*run, "thing_a", "", "", 10,
                                        [&](const v1::Entity& entity) {
                                          read.push_back(entity.key());
                                          return absl::OkStatus();
                                        })
                  .ok());
  EXPECT_THAT(read, ElementsAre("thing_a:000001"));
  // Neither a conflict with the released copy nor its count.
  EXPECT_THAT(EventsNamed(*store_, *run, "duplicate_key_conflict"), IsEmpty());
  EXPECT_THAT(store_->GetRun(*run)->steps(0).type_counts(),
              ElementsAre(Pair("thing_a", 1)));
  auto counts = store_->Finalize(FinalizeOf(*run, 2));
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 1);
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_a:000001"});
  EXPECT_EQ(store_->GetEntity("inst", "thing_a:000001")
                ->properties()
                .at("name")
                .string_value(),
            "kept");
}

TEST_P(StoreTest, ATaskThatFailsByReleaseAddsNothing) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::TaskAttempt attempt =
      StageTask(*store_, *run, "fetch-a",
                Batch({MakeEntity("thing_a:000001", "thing_a", "lost")}));
  ASSERT_TRUE(
      store_->ReleaseTask(attempt.task_id(), attempt.attempt(), 1, "gone")
          .ok());
  EXPECT_EQ(store_->GetTask(attempt.task_id())->state, TaskState::kFailed);
  EXPECT_FALSE(*store_->HasStagedObjects(*run));
  auto counts = store_->Finalize(FinalizeOf(*run, 2));
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 0);
  EXPECT_THAT(GraphKeys(), IsEmpty());
}

TEST_P(StoreTest, AKeyStagedByTwoTasksKeepsTheFirstCommittedVersion) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  // Both stage the key before either commits; the one that stages it last
  // commits first, and its version is the run's.
  v1::TaskAttempt early =
      StageTask(*store_, *run, "fetch-a",
                Batch({MakeEntity("thing_a:000001", "thing_a", "early"),
                       MakeEntity("thing_a:000002", "thing_a", "same")}));
  v1::TaskAttempt late =
      StageTask(*store_, *run, "fetch-b",
                Batch({MakeEntity("thing_a:000001", "thing_a", "late"),
                       MakeEntity("thing_a:000002", "thing_a", "same")}));
  ASSERT_TRUE(store_->CommitAttempt(late, true, "", {}).ok());
  ASSERT_TRUE(store_->CommitAttempt(early, true, "", {}).ok());

  EXPECT_THAT(StagedEntities(*store_, *run),
              ElementsAre("thing_a:000001=late", "thing_a:000002=same"));
  // The conflict is the second committer's: its step's event and partial
  // type. The identical copy of thing_a:000002 merges silently.
  auto conflicts = EventsNamed(*store_, *run, "duplicate_key_conflict");
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].step_id(), "fetch-a");
  EXPECT_THAT(conflicts[0].description(), HasSubstr("'thing_a:000001'"));
  EXPECT_THAT(conflicts[0].description(),
              HasSubstr("differing fields: displayName, name"));
  auto steps = store_->GetSteps(*run);
  ASSERT_TRUE(steps.ok()) << steps.status();
  EXPECT_THAT((*steps)[0].partial_types,
              ElementsAre(Pair("thing_a", HasSubstr("different content"))));
  EXPECT_THAT((*steps)[1].partial_types, IsEmpty());
  // Each task's own objects count for its step.
  EXPECT_EQ(store_->GetRun(*run)->steps(0).type_counts().at("thing_a"), 2);
  EXPECT_EQ(store_->GetRun(*run)->steps(1).type_counts().at("thing_a"), 2);

  auto counts = store_->Finalize(FinalizeOf(*run, 2));
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 2);
  EXPECT_EQ(store_->GetEntity("inst", "thing_a:000001")
                ->properties()
                .at("name")
                .string_value(),
            "late");
}

TEST_P(StoreTest, AKeyRepeatedInALaterBatchOfTheAttemptKeepsTheFirst) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::TaskAttempt attempt =
      StageTask(*store_, *run, "fetch-a",
                Batch({MakeEntity("thing_a:000001", "thing_a", "first")}));
  ASSERT_TRUE(store_
                  ->StageBatch(
                      attempt,
                      Batch({MakeEntity("thing_a:000001", "thing_a", "second"),
                             MakeEntity("thing_a:000002", "thing_a", "other")}),
                      1)
                  .ok());
  ASSERT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
  EXPECT_THAT(StagedEntities(*store_, *run),
              ElementsAre("thing_a:000001=first", "thing_a:000002=other"));
  EXPECT_EQ(EventsNamed(*store_, *run, "duplicate_key_conflict").size(), 1u);
  EXPECT_EQ(store_->GetRun(*run)->steps(0).type_counts().at("thing_a"), 2);
}

// Identical copies of a child from two parents' listings: the copy committed
// first brings its scope, which decides the child's deletion in a later run.
TEST_P(StoreTest, IdenticalCopiesKeepTheScopeOfTheFirstCommitted) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(
      store_
          ->CommitAttempt(
              StageTask(*store_, *run, "fetch-a",
                        Batch({MakeEntity("thing_p:000001", "thing_p", "p1"),
                               MakeEntity("thing_p:000002", "thing_p", "p2")})),
              true, "", {})
          .ok());
  const v1::Entity child = MakeEntity("thing_c:000001", "thing_c", "c");
  v1::ResultBatch under_first = Batch({child});
  under_first.add_entity_scopes("thing_p:000001");
  v1::ResultBatch under_second = Batch({child});
  under_second.add_entity_scopes("thing_p:000002");
  v1::TaskAttempt staged_first =
      StageTask(*store_, *run, "fetch-b", under_first);
  v1::TaskAttempt committed_first =
      StageTask(*store_, *run, "fetch-b", under_second);
  ASSERT_TRUE(store_->CommitAttempt(committed_first, true, "", {}).ok());
  ASSERT_TRUE(store_->CommitAttempt(staged_first, true, "", {}).ok());
  EXPECT_THAT(EventsNamed(*store_, *run, "duplicate_key_conflict"), IsEmpty());
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*run, 2)).ok());
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2).ok());

  // Next run: both parents again; thing_p:000001's children listed completely
  // (none), thing_p:000002's listing failed. The child's scope is
  // thing_p:000002, so it is kept.
  run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 3);
  ASSERT_TRUE(
      store_
          ->CommitAttempt(
              StageTask(*store_, *run, "fetch-a",
                        Batch({MakeEntity("thing_p:000001", "thing_p", "p1"),
                               MakeEntity("thing_p:000002", "thing_p", "p2")})),
              true, "", {})
          .ok());
  v1::Incompleteness failed;
  failed.set_scope("thing_p:000002");
  failed.set_reason("HTTP 403");
  ASSERT_TRUE(store_
                  ->CommitAttempt(StageTask(*store_, *run, "fetch-b", {}), true,
                                  "", {failed})
                  .ok());
  auto counts = store_->Finalize(
      FinalizeOf(*run, 4, {{"thing_c", DeletionRule::kScopedOnly}}));
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->deleted, 0);
  EXPECT_TRUE(store_->GetEntity("inst", child.key()).ok());
}

TEST_P(StoreTest, CancellingARunDropsEveryAttemptsObjects) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "one")});
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 5);
  ASSERT_TRUE(
      store_
          ->CommitAttempt(StageTask(*store_, *run, "fetch-a",
                                    Batch({MakeEntity("thing_a:000002",
                                                      "thing_a", "two")})),
                          true, "", {})
          .ok());
  StageTask(*store_, *run, "fetch-b",
            Batch({MakeEntity("thing_a:000003", "thing_a", "three")}));
  ASSERT_TRUE(store_->CancelRun(*run, 6).ok());
  EXPECT_FALSE(*store_->HasStagedObjects(*run));
  EXPECT_THAT(StagedEntities(*store_, *run), IsEmpty());
  // The graph is the previous run's, and the next run starts from it.
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_a:000001"});
  FinalizeCounts next = RunOnce({MakeEntity("thing_a:000001", "thing_a", "one"),
                                 MakeEntity("thing_a:000004", "thing_a", "4")});
  EXPECT_EQ(next.created, 1);
  EXPECT_EQ(next.updated, 0);
  EXPECT_EQ(next.deleted, 0);
}

// Many tasks, several batches each, overlapping keys: each key is staged once
// for the run and created once.
TEST_P(StoreTest, ManyTasksAndBatchesStageEachKeyOnce) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  constexpr int kTasks = 4, kBatches = 3, kPerBatch = 50;
  std::vector<v1::TaskAttempt> attempts;
  for (int t = 0; t < kTasks; ++t) {
    const std::string step = t % 2 == 0 ? "fetch-a" : "fetch-b";
    v1::TaskAttempt attempt = StageTask(*store_, *run, step, {});
    for (int b = 0; b < kBatches; ++b) {
      v1::ResultBatch batch;
      for (int i = 0; i < kPerBatch; ++i) {
        // Task t covers keys [100 t, 100 t + 150): half overlaps task t+1.
        const int key = 100 * t + b * kPerBatch + i;
        *batch.add_entities() =
            MakeEntity(absl::StrCat("thing_a:", 100000 + key), "thing_a", "x");
      }
      ASSERT_TRUE(store_->StageBatch(attempt, batch, 1).ok());
    }
    attempts.push_back(attempt);
  }
  for (const v1::TaskAttempt& attempt : attempts) {
    ASSERT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
  }
  const int distinct = 100 * (kTasks - 1) + kBatches * kPerBatch;
  EXPECT_EQ(StagedKeys(*store_, *run, "thing_a").size(),
            static_cast<size_t>(distinct));
  EXPECT_THAT(EventsNamed(*store_, *run, "duplicate_key_conflict"), IsEmpty());
  auto counts = store_->Finalize(FinalizeOf(*run, 2));
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, distinct);
  EXPECT_EQ(GraphKeys().size(), static_cast<size_t>(distinct));
}

}  // namespace
}  // namespace graphmill::coordinator::conformance
