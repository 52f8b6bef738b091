// IncrementalSince: when a run is full and when it is incremental.
#include "coordinator/run/run_mode.h"

#include <gtest/gtest.h>

namespace graphmill::coordinator {
namespace {

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kNow = 1'000 * kHour;

v1::Run Finalized(v1::RunStatus status, int64_t created_ms,
                  int64_t incremental_since_ms) {
  v1::Run run;
  run.set_status(status);
  run.set_created_at_ms(created_ms);
  run.set_finalized_at_ms(created_ms + 1);
  run.set_incremental_since_ms(incremental_since_ms);
  return run;
}

TEST(IncrementalSinceTest, AfterASucceededFullRunTheNextLooksBackADay) {
  const v1::Instance instance;
  EXPECT_EQ(IncrementalSince(instance, false, {}, kNow), 0) << "first run";
  EXPECT_FALSE(HasFinalizedFullRun({}));
  const std::vector<v1::Run> earlier = {
      Finalized(v1::RUN_STATUS_SUCCEEDED, kNow - 2 * kHour, 0)};
  EXPECT_EQ(IncrementalSince(instance, false, earlier, kNow),
            kNow - 24 * kHour);
  EXPECT_EQ(IncrementalSince(instance, true, earlier, kNow), 0) << "--full";
  EXPECT_TRUE(HasFinalizedFullRun(earlier));
}

TEST(IncrementalSinceTest, SettingsChangeTheWindowsOrTurnItOff) {
  v1::Instance instance;
  instance.mutable_incremental()->set_look_back_hours(2);
  instance.mutable_incremental()->set_full_run_every_hours(5);
  std::vector<v1::Run> earlier = {
      Finalized(v1::RUN_STATUS_SUCCEEDED, kNow - 4 * kHour, 0)};
  EXPECT_EQ(IncrementalSince(instance, false, earlier, kNow), kNow - 2 * kHour);
  earlier[0].set_created_at_ms(kNow - 5 * kHour);
  EXPECT_EQ(IncrementalSince(instance, false, earlier, kNow), 0)
      << "the last full run is due again";
  earlier[0].set_created_at_ms(kNow - kHour);
  instance.mutable_incremental()->set_disabled(true);
  EXPECT_EQ(IncrementalSince(instance, false, earlier, kNow), 0);
}

TEST(IncrementalSinceTest, AfterAPartialRunTheTypesItMissedAreNotCarried) {
  const v1::Instance instance;
  v1::Run partial =
      Finalized(v1::RUN_STATUS_PARTIAL, kNow - kHour, kNow - 25 * kHour);
  partial.add_incomplete_types()->set_type("circleci_job");
  partial.add_incomplete_types()->set_type("circleci_workflow_has_job");
  v1::Run older = Finalized(v1::RUN_STATUS_PARTIAL, kNow - 2 * kHour, 0);
  older.add_incomplete_types()->set_type("circleci_pipeline");
  const std::vector<v1::Run> earlier = {partial, older};
  EXPECT_EQ(IncrementalSince(instance, false, earlier, kNow), kNow - 24 * kHour)
      << "a PARTIAL full run counts as the last full run";
  EXPECT_EQ(
      NotCarriedTypes(earlier),
      (std::vector<std::string>{"circleci_job", "circleci_workflow_has_job"}))
      << "the newest finalized run's only";
  EXPECT_TRUE(
      NotCarriedTypes({Finalized(v1::RUN_STATUS_SUCCEEDED, kNow, 0)}).empty());
}

TEST(IncrementalSinceTest, RunsThatWereNotFinalizedDoNotCount) {
  const v1::Instance instance;
  v1::Run cancelled;
  cancelled.set_status(v1::RUN_STATUS_CANCELLED);
  v1::Run failed;
  failed.set_status(v1::RUN_STATUS_FAILED);
  const std::vector<v1::Run> earlier = {
      cancelled, failed,
      Finalized(v1::RUN_STATUS_SUCCEEDED, kNow - kHour, kNow - 25 * kHour),
      Finalized(v1::RUN_STATUS_SUCCEEDED, kNow - 2 * kHour, 0)};
  EXPECT_EQ(IncrementalSince(instance, false, earlier, kNow), kNow - 24 * kHour)
      << "incremental runs after a full one stay incremental";
  EXPECT_TRUE(NotCarriedTypes(earlier).empty());
  EXPECT_EQ(IncrementalSince(instance, false,
                             {earlier[0], earlier[1], earlier[2]}, kNow),
            0)
      << "no full run among the runs read";
}

}  // namespace
}  // namespace graphmill::coordinator
