// The planner's decisions as plain functions, and Planner advancing a run in
// an in-memory store.
#include "coordinator/run/planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/fake_clock.h"

namespace graphmill::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::vector<std::pair<std::string, std::string>> Ranges(
    const std::vector<v1::Shard>& shards) {
  std::vector<std::pair<std::string, std::string>> ranges;
  for (const v1::Shard& shard : shards) {
    EXPECT_EQ(shard.parent_type(), "parent");
    ranges.emplace_back(shard.first_key(), shard.last_key());
  }
  return ranges;
}

TEST(ShardBuilderTest, ContiguousRangesOfAtMostShardSizeKeys) {
  ShardBuilder builder("parent", 3);
  for (const char* key : {"k1", "k2", "k3", "k4", "k5", "k6", "k7"})
    builder.Add(key);
  EXPECT_THAT(
      Ranges(std::move(builder).Finish()),
      ElementsAre(Pair("k1", "k3"), Pair("k4", "k6"), Pair("k7", "k7")));
}

TEST(ShardBuilderTest, AnExactMultipleHasNoEmptyTail) {
  ShardBuilder builder("parent", 2);
  for (const char* key : {"k1", "k2", "k3", "k4"}) builder.Add(key);
  EXPECT_THAT(Ranges(std::move(builder).Finish()),
              ElementsAre(Pair("k1", "k2"), Pair("k3", "k4")));
}

TEST(ShardBuilderTest, NoParentsStillOneShardWithoutKeys) {
  EXPECT_THAT(Ranges(ShardBuilder("parent", 3).Finish()),
              ElementsAre(Pair("", "")));
}

TEST(SummarizeDependenciesTest, SettledDisabledFailed) {
  v1::StepDefinition step;
  step.add_depends_on("a");
  step.add_depends_on("b");
  absl::flat_hash_map<std::string, v1::StepStatus> status = {
      {"a", v1::STEP_STATUS_SUCCESS}, {"b", v1::STEP_STATUS_RUNNING}};
  Dependencies d = SummarizeDependencies(step, status);
  EXPECT_FALSE(d.settled);
  EXPECT_FALSE(d.disabled);
  EXPECT_FALSE(d.failed);
  status["b"] = v1::STEP_STATUS_PARTIAL;
  d = SummarizeDependencies(step, status);
  EXPECT_TRUE(d.settled);
  EXPECT_TRUE(d.failed);
  status["a"] = v1::STEP_STATUS_DISABLED;
  EXPECT_TRUE(SummarizeDependencies(step, status).disabled);
  // No dependencies: settled.
  EXPECT_TRUE(SummarizeDependencies(v1::StepDefinition(), status).settled);
}

TaskRecord Task(TaskState state, const std::string& error = "") {
  TaskRecord task;
  task.state = state;
  task.error = error;
  return task;
}

TEST(SettleStepTest, WaitsForEveryTaskThenFailureBeforePartial) {
  const TaskRecord done = Task(TaskState::kSucceeded);
  const TaskRecord leased = Task(TaskState::kLeased);
  const TaskRecord failed = Task(TaskState::kFailed, "HTTP 500");
  const TaskRecord failed_later = Task(TaskState::kFailed, "HTTP 502");
  EXPECT_EQ(SettleStep({&done, &leased}, false), std::nullopt);
  std::optional<StepEnd> end = SettleStep({&done}, false);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->status, v1::STEP_STATUS_SUCCESS);
  end = SettleStep({&done}, /*dependency_failed=*/true);
  EXPECT_EQ(end->status, v1::STEP_STATUS_PARTIAL);
  end = SettleStep({&done, &failed, &failed_later}, true);
  EXPECT_EQ(end->status, v1::STEP_STATUS_FAILURE);
  EXPECT_EQ(end->error, "HTTP 500");
}

TEST(CheckValidationTest, FromTheValidationTask) {
  TaskRecord validation = Task(TaskState::kLeased);
  validation.kind = v1::TASK_KIND_VALIDATE_INVOCATION;
  TaskRecord step = Task(TaskState::kFailed, "not a validation");
  step.kind = v1::TASK_KIND_STEP;
  EXPECT_EQ(CheckValidation({step}).state, Validation::kNone);
  EXPECT_EQ(CheckValidation({step, validation}).state, Validation::kPending);
  validation.state = TaskState::kSucceeded;
  EXPECT_EQ(CheckValidation({step, validation}).state, Validation::kPassed);
  validation.state = TaskState::kFailed;
  validation.error = "HTTP 401";
  const Validation failed = CheckValidation({validation});
  EXPECT_EQ(failed.state, Validation::kFailed);
  EXPECT_EQ(failed.error, "invocation validation failed: HTTP 401");
}

// fetch -> enrich (parent type "thing"), fetch -> extra.
v1::IntegrationDefinition Definition() {
  v1::IntegrationDefinition d;
  d.set_name("planned");
  d.set_version("1");
  v1::StepDefinition* fetch = d.add_steps();
  fetch->set_id("fetch");
  fetch->add_entities()->set_type("thing");
  v1::StepDefinition* enrich = d.add_steps();
  enrich->set_id("enrich");
  enrich->add_depends_on("fetch");
  enrich->set_parent_type("thing");
  v1::StepDefinition* extra = d.add_steps();
  extra->set_id("extra");
  extra->add_depends_on("fetch");
  return d;
}

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v1::Instance instance;
    instance.set_id("inst");
    instance.set_integration("planned");
    ASSERT_TRUE(store_->PutIntegration(Definition()).ok());
    ASSERT_TRUE(store_->CreateInstance(instance).ok());
  }

  int64_t CreateRun(const std::vector<std::string>& disabled) {
    absl::StatusOr<int64_t> run = store_->CreateRun(
        "inst", Definition(), v1::RUN_TRIGGER_MANUAL, disabled, clock_.NowMs());
    EXPECT_TRUE(run.ok()) << run.status();
    return *run;
  }

  // Leases and ends every pending task of the run.
  void FinishPending(int64_t run_id, bool succeeded) {
    const std::vector<TaskRecord> tasks = *store_->TasksOfRun(run_id);
    for (const TaskRecord& task : tasks) {
      if (task.state != TaskState::kPending) continue;
      absl::StatusOr<int32_t> attempt =
          store_->LeaseTask(task.id, "w", "lease", clock_.NowMs() + 1000);
      ASSERT_TRUE(attempt.ok()) << attempt.status();
      v1::TaskAttempt leased;
      leased.set_task_id(task.id);
      leased.set_attempt(*attempt);
      leased.set_lease_id("lease");
      ASSERT_TRUE(store_
                      ->CommitAttempt(leased, succeeded,
                                      succeeded ? "" : "HTTP 500", {})
                      .ok());
    }
  }

  std::map<std::string, v1::StepStatus> Steps(int64_t run_id) {
    std::map<std::string, v1::StepStatus> steps;
    const v1::Run run = *store_->GetRun(run_id);
    for (const v1::StepRun& step : run.steps())
      steps[step.step_id()] = step.status();
    return steps;
  }

  FakeClock clock_;
  std::unique_ptr<Store> store_ = *Store::Open(":memory:");
  RunEvents events_{store_.get(), &clock_};
  Planner planner_{store_.get(), &clock_, &events_, /*shard_size=*/2};
};

TEST_F(PlannerTest, StepsStartAfterValidationAndTheirDependencies) {
  const int64_t run = CreateRun({});
  EXPECT_EQ(*planner_.Advance(run), RunProgress::kActive);
  EXPECT_EQ(store_->GetRun(run)->status(), v1::RUN_STATUS_VALIDATING);
  FinishPending(run, true);  // the validation task
  EXPECT_EQ(*planner_.Advance(run), RunProgress::kActive);
  EXPECT_EQ(store_->GetRun(run)->status(), v1::RUN_STATUS_RUNNING);
  EXPECT_THAT(Steps(run), ElementsAre(Pair("enrich", v1::STEP_STATUS_PENDING),
                                      Pair("extra", v1::STEP_STATUS_PENDING),
                                      Pair("fetch", v1::STEP_STATUS_RUNNING)));
  FinishPending(run, true);  // fetch: no things staged
  EXPECT_EQ(*planner_.Advance(run), RunProgress::kActive);
  EXPECT_THAT(Steps(run), ElementsAre(Pair("enrich", v1::STEP_STATUS_RUNNING),
                                      Pair("extra", v1::STEP_STATUS_RUNNING),
                                      Pair("fetch", v1::STEP_STATUS_SUCCESS)));
  // enrich still gets one task, with an empty shard.
  int enrich_tasks = 0;
  const std::vector<TaskRecord> tasks = *store_->TasksOfRun(run);
  for (const TaskRecord& task : tasks) {
    if (task.step_id != "enrich") continue;
    ++enrich_tasks;
    EXPECT_EQ(task.shard.parent_type(), "thing");
    EXPECT_TRUE(task.shard.first_key().empty());
  }
  EXPECT_EQ(enrich_tasks, 1);
  FinishPending(run, true);
  EXPECT_EQ(*planner_.Advance(run), RunProgress::kSettled);
}

TEST_F(PlannerTest, AFailedStepMakesItsDependentsPartial) {
  const int64_t run = CreateRun({});
  FinishPending(run, true);
  ASSERT_TRUE(planner_.Advance(run).ok());
  FinishPending(run, false);  // fetch fails
  ASSERT_TRUE(planner_.Advance(run).ok());
  FinishPending(run, true);
  EXPECT_EQ(*planner_.Advance(run), RunProgress::kSettled);
  EXPECT_THAT(Steps(run), ElementsAre(Pair("enrich", v1::STEP_STATUS_PARTIAL),
                                      Pair("extra", v1::STEP_STATUS_PARTIAL),
                                      Pair("fetch", v1::STEP_STATUS_FAILURE)));
  EXPECT_EQ((*store_->GetSteps(run))[0].error, "HTTP 500");
}

TEST_F(PlannerTest, ADisabledStepDisablesItsDependents) {
  const int64_t run = CreateRun({"fetch"});
  FinishPending(run, true);
  EXPECT_EQ(*planner_.Advance(run), RunProgress::kSettled);
  EXPECT_THAT(Steps(run), ElementsAre(Pair("enrich", v1::STEP_STATUS_DISABLED),
                                      Pair("extra", v1::STEP_STATUS_DISABLED),
                                      Pair("fetch", v1::STEP_STATUS_DISABLED)));
}

TEST_F(PlannerTest, AFailedValidationEndsTheRun) {
  const int64_t run = CreateRun({});
  FinishPending(run, false);
  EXPECT_EQ(*planner_.Advance(run), RunProgress::kEnded);
  const v1::Run ended = *store_->GetRun(run);
  EXPECT_EQ(ended.status(), v1::RUN_STATUS_FAILED);
  EXPECT_EQ(ended.error(), "invocation validation failed: HTTP 500");
  EXPECT_EQ(ended.ended_at_ms(), clock_.NowMs());
}

}  // namespace
}  // namespace graphmill::coordinator
