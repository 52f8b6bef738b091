// The rate budget's back-off and recovery on a fake clock.
#include "coordinator/run/rate_budget.h"

#include <gtest/gtest.h>

#include "common/testing/fake_clock.h"

namespace graphmill::coordinator {
namespace {

class RateBudgetTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  RateBudget budget_{
      &clock_, {.backoff_factor = 0.5, .recovery_interval = absl::Seconds(5)}};
};

TEST_F(RateBudgetTest, AnInstanceStartsAtItsConfiguredRate) {
  EXPECT_DOUBLE_EQ(budget_.Current("a", 40), 40);
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 40), 40);
  // Instances are independent.
  EXPECT_DOUBLE_EQ(budget_.RateLimited("a", 40), 20);
  EXPECT_DOUBLE_EQ(budget_.Current("b", 10), 10);
}

TEST_F(RateBudgetTest, EachRateLimitBacksOffDownToTheFloor) {
  EXPECT_DOUBLE_EQ(budget_.RateLimited("a", 40), 20);
  EXPECT_DOUBLE_EQ(budget_.RateLimited("a", 40), 10);
  for (int i = 0; i < 10; ++i) budget_.RateLimited("a", 40);
  EXPECT_DOUBLE_EQ(budget_.Current("a", 40), 40 * kMinRateFraction);
}

TEST_F(RateBudgetTest, RecoversOneStepPerIntervalWithoutA429UpToConfigured) {
  budget_.RateLimited("a", 40);  // 20
  clock_.Advance(absl::Seconds(5) - absl::Milliseconds(1));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 40), 20) << "not yet";
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 40), 25);
  // The next step needs another whole interval.
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 40), 25);
  clock_.Advance(absl::Seconds(5));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 40), 31.25);
  clock_.Advance(absl::Seconds(5));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 40), 39.0625);
  clock_.Advance(absl::Seconds(5));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 40), 40) << "capped";
  clock_.Advance(absl::Seconds(5));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 40), 40);
}

TEST_F(RateBudgetTest, A429RestartsTheRecoveryInterval) {
  budget_.RateLimited("a", 40);  // 20
  clock_.Advance(absl::Seconds(4));
  budget_.RateLimited("a", 40);  // 10
  clock_.Advance(absl::Seconds(4));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 40), 10);
  clock_.Advance(absl::Seconds(1));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 40), 12.5);
}

TEST_F(RateBudgetTest, ALoweredConfiguredRateTakesEffectAtOnce) {
  EXPECT_DOUBLE_EQ(budget_.Current("a", 40), 40);
  EXPECT_DOUBLE_EQ(budget_.Current("a", 10), 10);
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 8), 8);
  EXPECT_DOUBLE_EQ(budget_.RateLimited("a", 8), 4);
  // Raised again: recovery climbs to it.
  clock_.Advance(absl::Seconds(5));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", 40), 5);
}

TEST(ConfiguredRateTest, TheInstanceSettingElseTheDefault) {
  v1::Instance instance;
  EXPECT_DOUBLE_EQ(ConfiguredRate(instance, 20), 20);
  instance.set_rate_limit_per_second(3);
  EXPECT_DOUBLE_EQ(ConfiguredRate(instance, 20), 3);
}

TEST(ShareMovedTest, OnlyFirstSharesAndMovesOverFivePercent) {
  EXPECT_TRUE(ShareMoved(0, 10));
  EXPECT_FALSE(ShareMoved(10, 10));
  EXPECT_FALSE(ShareMoved(10.4, 10));
  EXPECT_FALSE(ShareMoved(9.6, 10));
  EXPECT_TRUE(ShareMoved(10.6, 10));
  EXPECT_TRUE(ShareMoved(5, 10));
}

}  // namespace
}  // namespace graphmill::coordinator
