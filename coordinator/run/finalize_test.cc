// PlanFinalize: how a settled run ends and what it tells the operator, from
// its steps alone (Store::Finalize itself is the store's conformance suite's).
#include "coordinator/run/finalize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace graphmill::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

// "fetch" collects things (and declared-partial extras); "notify" collects
// nothing.
RunInfo Info() {
  RunInfo info;
  info.instance_id = "inst";
  v1::StepDefinition* fetch = info.definition.add_steps();
  fetch->set_id("fetch");
  fetch->add_entities()->set_type("thing");
  v1::StepDefinition* notify = info.definition.add_steps();
  notify->set_id("notify");
  info.order = {"fetch", "notify"};
  return info;
}

std::vector<StepRecord> Steps(v1::StepStatus fetch, v1::StepStatus notify) {
  std::vector<StepRecord> steps(2);
  steps[0].step_id = "fetch";
  steps[0].status = fetch;
  steps[1].step_id = "notify";
  steps[1].status = notify;
  return steps;
}

TEST(PlanFinalizeTest, ACleanRunSucceedsAndDeletesWhatItDidNotSee) {
  const FinalizePlan plan = PlanFinalize(
      7, Info(), Steps(v1::STEP_STATUS_SUCCESS, v1::STEP_STATUS_SUCCESS),
      /*upload_pending=*/true, 1234);
  EXPECT_FALSE(plan.degraded);
  EXPECT_THAT(plan.events, IsEmpty());
  EXPECT_EQ(plan.request.run_id, 7);
  EXPECT_EQ(plan.request.instance_id, "inst");
  EXPECT_EQ(plan.request.status, v1::RUN_STATUS_SUCCEEDED);
  EXPECT_EQ(plan.request.error, "");
  EXPECT_THAT(plan.request.rules, IsEmpty());
  EXPECT_THAT(plan.request.incomplete_types, IsEmpty());
  EXPECT_TRUE(plan.request.upload_pending);
  EXPECT_EQ(plan.request.now_ms, 1234);
}

TEST(PlanFinalizeTest, AFailedStepKeepsItsTypesAndNamesThem) {
  std::vector<StepRecord> steps =
      Steps(v1::STEP_STATUS_FAILURE, v1::STEP_STATUS_SUCCESS);
  steps[0].error = "HTTP 500";
  const FinalizePlan plan = PlanFinalize(7, Info(), steps, false, 1234);
  EXPECT_TRUE(plan.degraded);
  EXPECT_EQ(plan.request.status, v1::RUN_STATUS_PARTIAL);
  EXPECT_EQ(plan.request.error,
            "not looked at completely: thing (see run show)");
  EXPECT_THAT(plan.request.rules,
              ElementsAre(Pair("thing", DeletionRule::kKeepAll)));
  ASSERT_EQ(plan.request.incomplete_types.size(), 1u);
  EXPECT_TRUE(plan.request.incomplete_types[0].error());
  ASSERT_EQ(plan.events.size(), 1u);
  EXPECT_EQ(plan.events[0].level, v1::EVENT_LEVEL_WARN);
  EXPECT_EQ(plan.events[0].name, "type_incomplete");
  EXPECT_THAT(plan.events[0].description, HasSubstr("thing: "));
  EXPECT_THAT(plan.events[0].description, HasSubstr("(nothing of it deleted)"));
  EXPECT_FALSE(plan.request.upload_pending);
}

TEST(PlanFinalizeTest, AFailedStepWithoutTypesStillMakesTheRunPartial) {
  const FinalizePlan plan = PlanFinalize(
      7, Info(), Steps(v1::STEP_STATUS_SUCCESS, v1::STEP_STATUS_FAILURE), false,
      1234);
  EXPECT_EQ(plan.request.status, v1::RUN_STATUS_PARTIAL);
  EXPECT_EQ(plan.request.error, "some steps failed or were partial");
  EXPECT_THAT(plan.events, IsEmpty());
}

TEST(PlanFinalizeTest, ADeclaredPartialTypeIsKeptWithoutDegradingTheRun) {
  RunInfo info = Info();
  info.definition.mutable_steps(0)->mutable_entities(0)->set_partial(true);
  const FinalizePlan plan = PlanFinalize(
      7, info, Steps(v1::STEP_STATUS_SUCCESS, v1::STEP_STATUS_SUCCESS), false,
      1234);
  EXPECT_EQ(plan.request.status, v1::RUN_STATUS_SUCCEEDED);
  EXPECT_THAT(plan.request.rules,
              ElementsAre(Pair("thing", DeletionRule::kKeepAll)));
  ASSERT_EQ(plan.events.size(), 1u);
  EXPECT_EQ(plan.events[0].level, v1::EVENT_LEVEL_INFO);
}

}  // namespace
}  // namespace graphmill::coordinator
