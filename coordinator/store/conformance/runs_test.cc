// Conformance: runs, steps, tasks and leases, events, cancelling and deleting
// (see store_fixture.h).
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

TEST_P(StoreTest, DisabledStepsStartDisabled) {
  auto run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_SCHEDULE,
                               {"fetch-b"}, 1);
  auto steps = store_->GetSteps(*run);
  EXPECT_EQ((*steps)[0].status, v1::STEP_STATUS_PENDING);
  EXPECT_EQ((*steps)[1].status, v1::STEP_STATUS_DISABLED);
  EXPECT_EQ(store_->GetRun(*run)->trigger(), v1::RUN_TRIGGER_SCHEDULE);
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
  EXPECT_EQ(run->incremental_since_ms(), 0) << "a full run";
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
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 300,
                        std::nullopt, /*incremental_since_ms=*/250);
  EXPECT_EQ(store_->GetRun(*second)->incremental_since_ms(), 250);
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

TEST_P(StoreTest, ObjectsOfRunningAttemptsArriveBeforeTheyCount) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(run.ok()) << run.status();
  v1::ResultBatch first;
  *first.add_entities() = MakeEntity("thing_a:000001", "thing_a", "a");
  *first.add_entities() = MakeEntity("thing_b:000001", "thing_b", "b");
  v1::TaskAttempt running = StageTask(*store_, *run, "fetch-a", first);
  auto got = store_->GetRun(*run);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(
      got->steps(0).arriving_type_counts(),
      ::testing::UnorderedElementsAre(Pair("thing_a", 1), Pair("thing_b", 1)));
  EXPECT_TRUE(got->steps(0).type_counts().empty());

  // A second batch adds up; a repeated key does not count twice.
  v1::ResultBatch second;
  *second.add_entities() = MakeEntity("thing_a:000002", "thing_a", "c");
  *second.add_entities() = MakeEntity("thing_a:000001", "thing_a", "a");
  ASSERT_TRUE(store_->StageBatch(running, second, 2).ok());
  // Another task's attempt that is taken back arrives, then is gone.
  v1::ResultBatch lost;
  *lost.add_entities() = MakeEntity("thing_a:000009", "thing_a", "z");
  v1::TaskAttempt released = StageTask(*store_, *run, "fetch-a", lost);
  got = store_->GetRun(*run);
  EXPECT_EQ(got->steps(0).arriving_type_counts().at("thing_a"), 3);
  ASSERT_TRUE(store_
                  ->ReleaseTask(released.task_id(), released.attempt(), 3,
                                "lease lapsed")
                  .ok());
  got = store_->GetRun(*run);
  EXPECT_EQ(got->steps(0).arriving_type_counts().at("thing_a"), 2);

  // Committed, they count, and arrive no longer.
  ASSERT_TRUE(store_->CommitAttempt(running, true, "", {}).ok());
  got = store_->GetRun(*run);
  EXPECT_TRUE(got->steps(0).arriving_type_counts().empty());
  EXPECT_THAT(
      got->steps(0).type_counts(),
      ::testing::UnorderedElementsAre(Pair("thing_a", 2), Pair("thing_b", 1)));
}

TEST_P(StoreTest, AStepStartsOnceWithItsTasks) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(run.ok()) << run.status();
  std::vector<v1::Shard> shards(3);
  for (int i = 0; i < 3; ++i) {
    shards[i].set_parent_type("thing_a");
    shards[i].set_first_key(absl::StrCat("thing_a:", i, "0"));
    shards[i].set_last_key(absl::StrCat("thing_a:", i, "9"));
  }
  absl::StatusOr<int> started = store_->StartStep(*run, "fetch-a", shards, 7);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(*started, 3);
  // A second start (a restarted process, another replica) creates nothing.
  absl::StatusOr<int> again = store_->StartStep(*run, "fetch-a", shards, 8);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("'fetch-a' is not pending"));
  auto tasks = store_->TasksOfRun(*run);
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  std::vector<std::string> first_keys;
  for (const TaskRecord& task : *tasks) {
    if (task.kind != v1::TASK_KIND_STEP) continue;
    EXPECT_EQ(task.step_id, "fetch-a");
    EXPECT_EQ(task.state, TaskState::kPending);
    EXPECT_EQ(task.instance_id, "inst");
    first_keys.push_back(task.shard.first_key());
  }
  EXPECT_THAT(first_keys,
              ElementsAre("thing_a:00", "thing_a:10", "thing_a:20"));
  auto got = store_->GetRun(*run);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->steps(0).status(), v1::STEP_STATUS_RUNNING);
  EXPECT_EQ(got->steps(0).tasks_total(), 3);
  EXPECT_EQ(got->steps(0).started_at_ms(), 7);
  // Only a pending step starts.
  ASSERT_TRUE(
      store_->SetStepStatus(*run, "fetch-b", v1::STEP_STATUS_DISABLED, "", 9)
          .ok());
  EXPECT_EQ(
      store_->StartStep(*run, "fetch-b", {v1::Shard()}, 9).status().code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->TasksOfRun(*run)->size(), tasks->size());
}

TEST_P(StoreTest, StepsRecordStatusTimesTasksAndTypeCounts) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(
      store_->StartStep(*run, "fetch-a", {v1::Shard(), v1::Shard()}, 10).ok());
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "a");
  *batch.add_entities() = MakeEntity("thing_a:000002", "thing_a", "b");
  *batch.add_entities() = MakeEntity("thing_b:000001", "thing_b", "c");
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
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
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", parents).ok());
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

TEST_P(StoreTest, PendingTasksComeUnshardedFirstThenShardsByTurnsOfSteps) {
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
  auto unsharded =
      store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
  ASSERT_TRUE(unsharded.ok()) << unsharded.status();
  // Unsharded before shards, however much older the shards are.
  EXPECT_THAT(ids(store_->PendingTasks(10)),
              ElementsAre(validation.id, *alone, *unsharded, *step));
  EXPECT_THAT(ids(store_->PendingTasks(3)),
              ElementsAre(validation.id, *alone, *unsharded));
  EXPECT_THAT(ids(store_->TasksOfRun(*run)),
              ElementsAre(validation.id, *step, *unsharded));
  // Steps' shards take turns: the one shard of a step planned after two more
  // shards of fetch-b comes second among the shards, not last.
  auto step2 = store_->CreateTask(*run, "fetch-b", v1::TASK_KIND_STEP, shard);
  auto step3 = store_->CreateTask(*run, "fetch-b", v1::TASK_KIND_STEP, shard);
  ASSERT_TRUE(step2.ok() && step3.ok());
  auto later = store_->CreateTask(*run, "fetch-c", v1::TASK_KIND_STEP, shard);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_THAT(ids(store_->PendingTasks(10)),
              ElementsAre(validation.id, *alone, *unsharded, *step, *later,
                          *step2, *step3));
  EXPECT_THAT(ids(store_->PendingTasks(5)),
              ElementsAre(validation.id, *alone, *unsharded, *step, *later));
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

}  // namespace
}  // namespace graphmill::coordinator::conformance
