// The engine pumping runs through the planner and finalize: sharding, step
// progress, cancelling, completeness, and the pump's timers (schedules,
// change-log retention) on a fake clock.
#include "coordinator/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/testing/engine_fixture.h"

namespace graphmill::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeEntity;

class EngineTest : public testing::EngineFixture {};

TEST_F(EngineTest, ParentStepIsShardedIntoKeyRanges) {
  EngineOptions options;
  options.shard_size = 3;
  Init(options);
  StartAndValidate();
  v1::ResultBatch batch;
  for (int i = 1; i <= 7; ++i) {
    *batch.add_entities() =
        MakeEntity(absl::StrCat("thing_parent:000", i), "thing_parent");
  }
  Finish(worker_.NextAssignment(), batch);
  std::vector<std::pair<std::string, std::string>> ranges;
  for (int i = 0; i < 3; ++i) {
    v1::TaskAssignment shard = worker_.NextAssignment();
    EXPECT_EQ(shard.shard().parent_type(), "thing_parent");
    ranges.emplace_back(shard.shard().first_key(), shard.shard().last_key());
    // A task reads exactly its shard's parents.
    v1::ReadEntitiesRequest read;
    *read.mutable_attempt() = shard.attempt();
    read.set_type("thing_parent");
    int read_count = 0;
    ASSERT_TRUE(engine_
                    ->ReadEntities(read,
                                   [&](const v1::EntityBatch& b) {
                                     read_count += b.entities_size();
                                     return true;
                                   })
                    .ok());
    EXPECT_EQ(read_count, i < 2 ? 3 : 1);
  }
  std::sort(ranges.begin(), ranges.end());
  EXPECT_EQ(ranges, (std::vector<std::pair<std::string, std::string>>{
                        {"thing_parent:0001", "thing_parent:0003"},
                        {"thing_parent:0004", "thing_parent:0006"},
                        {"thing_parent:0007", "thing_parent:0007"}}));
}

TEST_F(EngineTest, StepWithNoParentsStillRunsOneEmptyShard) {
  const int64_t run = StartAndValidate();
  Finish(worker_.NextAssignment(), {});
  v1::TaskAssignment child = worker_.NextAssignment();
  EXPECT_EQ(child.step_id(), "fetch-children");
  EXPECT_TRUE(child.shard().first_key().empty());
  v1::ReadEntitiesRequest read;
  *read.mutable_attempt() = child.attempt();
  read.set_type("thing_parent");
  int read_count = 0;
  ASSERT_TRUE(engine_
                  ->ReadEntities(read,
                                 [&](const v1::EntityBatch& b) {
                                   read_count += b.entities_size();
                                   return true;
                                 })
                  .ok());
  EXPECT_EQ(read_count, 0);
  Finish(child, {});
  EXPECT_EQ(Ended(run).status(), v1::RUN_STATUS_SUCCEEDED);
}

TEST_F(EngineTest, ARunAfterASucceededOneIsIncrementalAndReadsTheGraph) {
  EngineOptions options;
  options.shard_size = 2;
  Init(options);
  // Full: parents 1..3, a child of each listed for it.
  int64_t run = StartAndValidate();
  EXPECT_EQ(store_->GetRun(run)->incremental_since_ms(), 0) << "first run";
  v1::ResultBatch parents;
  for (int i = 1; i <= 3; ++i) {
    *parents.add_entities() =
        MakeEntity(absl::StrCat("thing_parent:000", i), "thing_parent");
  }
  Finish(worker_.NextAssignment(), parents);
  for (int shard = 0; shard < 2; ++shard) {
    v1::TaskAssignment children = worker_.NextAssignment();
    EXPECT_EQ(children.incremental_since_ms(), 0);
    v1::ResultBatch batch;
    const int first =
        children.shard().first_key() == "thing_parent:0001" ? 1 : 3;
    for (int i = first; i <= std::min(first + 1, 3); ++i) {
      *batch.add_entities() =
          MakeEntity(absl::StrCat("thing_child:000", i), "thing_child");
      batch.add_entity_scopes(absl::StrCat("thing_parent:000", i));
    }
    Finish(children, batch);
  }
  ASSERT_EQ(Ended(run).status(), v1::RUN_STATUS_SUCCEEDED);

  // Incremental: tasks are told since when, and read what the graph holds.
  clock_.Advance(absl::Hours(1));
  run = StartAndValidate();
  const int64_t since = clock_.NowMs() - 24 * 3'600'000LL;
  EXPECT_EQ(store_->GetRun(run)->incremental_since_ms(), since);
  auto known = [&](const v1::TaskAssignment& task, const std::string& type) {
    v1::ReadEntitiesRequest read;
    *read.mutable_attempt() = task.attempt();
    read.set_type(type);
    read.set_known(true);
    std::vector<std::string> seen;
    absl::Status status =
        engine_->ReadEntities(read, [&](const v1::EntityBatch& batch) {
          EXPECT_EQ(batch.scopes_size(), batch.entities_size());
          for (int i = 0; i < batch.entities_size(); ++i) {
            seen.push_back(
                absl::StrCat(batch.entities(i).key(), "@", batch.scopes(i)));
          }
          return true;
        });
    EXPECT_TRUE(status.ok()) << status;
    return seen;
  };
  v1::TaskAssignment parents_task = worker_.NextAssignment();
  EXPECT_EQ(parents_task.incremental_since_ms(), since);
  EXPECT_EQ(known(parents_task, "thing_parent").size(), 3u) << "unsharded";
  Finish(parents_task, parents);
  std::vector<std::vector<std::string>> shards;
  for (int shard = 0; shard < 2; ++shard) {
    v1::TaskAssignment children = worker_.NextAssignment();
    EXPECT_EQ(children.incremental_since_ms(), since);
    std::vector<std::string> seen = known(children, "thing_parent");
    for (const std::string& child : known(children, "thing_child"))
      seen.push_back(child);
    shards.push_back(seen);
    Finish(children, {});
  }
  std::sort(shards.begin(), shards.end());
  EXPECT_EQ(shards,
            (std::vector<std::vector<std::string>>{
                {"thing_parent:0001@", "thing_parent:0002@",
                 "thing_child:0001@thing_parent:0001",
                 "thing_child:0002@thing_parent:0002"},
                {"thing_parent:0003@", "thing_child:0003@thing_parent:0003"}}));
  Ended(run);

  // Asked for, the next run is full again.
  auto full = engine_->StartRun("inst", v1::RUN_TRIGGER_MANUAL, true);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->incremental_since_ms(), 0);
}

TEST_F(EngineTest, CancelStopsRunningTasksAndChangesNothing) {
  const int64_t run = StartAndValidate();
  v1::TaskAssignment task = worker_.NextAssignment();
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_parent:0001", "thing_parent");
  ASSERT_TRUE(engine_->AcceptBatch(task.attempt(), batch).ok());
  auto cancelled = engine_->CancelRun(run);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->status(), v1::RUN_STATUS_CANCELLED);
  EXPECT_EQ(cancelled->ended_at_ms(), clock_.NowMs());
  bool told = false;
  for (const v1::CoordinatorMessage& m : worker_.WaitFor(
           [](const v1::CoordinatorMessage& m) { return m.has_cancel(); })) {
    told |= m.has_cancel() &&
            m.cancel().attempt().task_id() == task.attempt().task_id();
  }
  EXPECT_TRUE(told);
  v1::TaskOutcome outcome;
  outcome.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  EXPECT_EQ(engine_->FinishAttempt(task.attempt(), outcome).code(),
            absl::StatusCode::kFailedPrecondition);
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_TRUE(store_->ListEntities(filter, "", 10)->empty());
}

TEST_F(EngineTest, AScopeNotListedEndsTheRunPartialAndKeepsItsChildren) {
  v1::TaskAssignment children;  // of the last run
  auto run_once = [&](bool forbid_second_parent) {
    const int64_t run = StartAndValidate();
    v1::ResultBatch parents;
    *parents.add_entities() = MakeEntity("thing_parent:0001", "thing_parent");
    *parents.add_entities() = MakeEntity("thing_parent:0002", "thing_parent");
    Finish(worker_.NextAssignment(), parents);
    children = worker_.NextAssignment();
    v1::ResultBatch batch;
    *batch.add_entities() = MakeEntity("thing_child:0001", "thing_child");
    batch.add_entity_scopes("thing_parent:0001");
    if (!forbid_second_parent) {
      *batch.add_entities() = MakeEntity("thing_child:0002", "thing_child");
      batch.add_entity_scopes("thing_parent:0002");
    }
    EXPECT_TRUE(engine_->AcceptBatch(children.attempt(), batch).ok());
    v1::TaskOutcome outcome;
    outcome.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
    if (forbid_second_parent) {
      v1::Incompleteness* gap = outcome.add_incomplete();
      gap->set_scope("thing_parent:0002");
      gap->set_reason("HTTP 403 on GET /parents/{id}/children");
    }
    EXPECT_TRUE(engine_->FinishAttempt(children.attempt(), outcome).ok());
    return Ended(run);
  };
  EXPECT_EQ(run_once(false).status(), v1::RUN_STATUS_SUCCEEDED);
  v1::Run partial = run_once(true);
  EXPECT_EQ(partial.status(), v1::RUN_STATUS_PARTIAL);
  EXPECT_THAT(partial.error(), HasSubstr("thing_child"));
  ASSERT_EQ(partial.incomplete_types_size(), 1);
  EXPECT_EQ(partial.incomplete_types(0).type(), "thing_child");
  EXPECT_EQ(partial.incomplete_types(0).reason(),
            "HTTP 403 on GET /parents/{id}/children for 1 thing_parent");
  EXPECT_TRUE(partial.incomplete_types(0).error());
  EXPECT_FALSE(partial.incomplete_types(0).all_kept());
  EXPECT_EQ(partial.deleted_count(), 0);
  EXPECT_TRUE(store_->GetEntity("inst", "thing_child:0002").ok());
  EXPECT_GT(partial.incremental_since_ms(), 0);
  EXPECT_TRUE(children.not_carried_types().empty());
  // The next run is incremental too, but its tasks may not carry what the
  // PARTIAL run could not list: the graph may hold stale objects of it.
  EXPECT_EQ(run_once(false).status(), v1::RUN_STATUS_SUCCEEDED);
  EXPECT_GT(children.incremental_since_ms(), 0);
  EXPECT_THAT(children.not_carried_types(), ElementsAre("thing_child"));
}

TEST_F(EngineTest, FinalizeHandsTheRunToOnFinalizedAfterItEnded) {
  absl::Mutex mu;
  std::vector<int64_t> finalized;
  EngineOptions options;
  options.on_finalized = [&](int64_t run_id) {
    // Called without the engine's lock: the engine answers.
    EXPECT_GE(engine_->ChangeVersion(), 0);
    EXPECT_FALSE(IsActiveRunStatus(store_->GetRun(run_id)->status()));
    absl::MutexLock lock(&mu);
    finalized.push_back(run_id);
  };
  Init(options);
  const int64_t run = StartAndValidate();
  Finish(worker_.NextAssignment(), {});
  Finish(worker_.NextAssignment(), {});
  const v1::Run ended = Ended(run);
  EXPECT_EQ(ended.ended_at_ms(), clock_.NowMs());
  // Finalize began and committed on the engine's clock (the store's test
  // checks that the end is read at commit).
  EXPECT_EQ(ended.finalize_started_at_ms(), clock_.NowMs());
  EXPECT_EQ(ended.finalized_at_ms(), ended.ended_at_ms());
  // From whichever pump finalized it: the report's or the tick's.
  absl::MutexLock lock(&mu);
  auto called = [&] { return !finalized.empty(); };
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&called), absl::Seconds(10)));
  EXPECT_EQ(finalized, std::vector<int64_t>{run});
}

TEST_F(EngineTest, AScheduledRunStartsWhenItsSlotIsDueOnTheEnginesClock) {
  // Every 30 minutes, with at most a second of jitter.
  v1::Instance instance = *store_->GetInstance("inst");
  instance.mutable_schedule()->set_interval(
      v1::POLLING_INTERVAL_THIRTY_MINUTES);
  instance.mutable_schedule()->set_jitter_seconds(1);
  ASSERT_TRUE(store_->UpdateInstance(instance).ok());
  const int64_t now_s = absl::ToUnixSeconds(clock_.Now());
  const absl::Time slot = absl::FromUnixSeconds((now_s / 1800 + 1) * 1800);

  clock_.Set(slot - absl::Seconds(5));
  engine_->Pump();
  EXPECT_TRUE(store_->ListRuns("inst", 10)->empty());

  clock_.Set(slot + absl::Seconds(1));
  engine_->Pump();
  const std::vector<v1::Run> runs = *store_->ListRuns("inst", 10);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].trigger(), v1::RUN_TRIGGER_SCHEDULE);
  EXPECT_EQ(runs[0].created_at_ms(), clock_.NowMs());
  EXPECT_EQ(*store_->GetLastScheduledSlot("inst"), absl::ToUnixMillis(slot));

  // The slot fires once; the next is 30 minutes later.
  clock_.Advance(absl::Minutes(10));
  engine_->Pump();
  EXPECT_EQ(store_->ListRuns("inst", 10)->size(), 1u);
}

TEST_F(EngineTest, ChangeLogRetentionDropsChangesOlderThanTheMaximumAge) {
  EngineOptions options;
  options.change_log_max_age = absl::Hours(1);
  options.retention_interval = absl::Minutes(10);
  Init(options);
  const int64_t run = StartAndValidate();
  v1::ResultBatch parents;
  *parents.add_entities() = MakeEntity("thing_parent:0001", "thing_parent");
  Finish(worker_.NextAssignment(), parents);
  Finish(worker_.NextAssignment(), {});
  ASSERT_EQ(Ended(run).status(), v1::RUN_STATUS_SUCCEEDED);
  ASSERT_EQ(store_->GetChangeLogBounds()->last_sequence, 1);

  clock_.Advance(absl::Minutes(59));
  engine_->Pump();  // applied: nothing is an hour old
  EXPECT_EQ(store_->GetChangeLogBounds()->pruned_through, 0);
  clock_.Advance(absl::Minutes(2));
  engine_->Pump();  // old enough, but retention ran 2 minutes ago
  EXPECT_EQ(store_->GetChangeLogBounds()->pruned_through, 0);
  clock_.Advance(absl::Minutes(8));
  engine_->Pump();
  EXPECT_EQ(store_->GetChangeLogBounds()->pruned_through, 1);
}

}  // namespace
}  // namespace graphmill::coordinator
