// The credential budget's back-off, recovery and bucket pacing on a fake
// clock, and the credential names.
#include "coordinator/run/rate_budget.h"

#include <gtest/gtest.h>

#include "common/testing/fake_clock.h"

namespace graphmill::coordinator {
namespace {

constexpr CredentialLimits kUnpaced{.rate = 0, .max_in_flight = 32};
constexpr CredentialLimits kRated{.rate = 40, .max_in_flight = 32};
constexpr CredentialLimits kBucket{.rate = 0,
                                   .max_in_flight = 32,
                                   .bucket_refill_per_second = 1.25,
                                   .pace_below_remaining = 450};

class RateBudgetTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  RateBudget budget_{
      &clock_, {.backoff_factor = 0.5, .recovery_interval = absl::Seconds(5)}};
};

TEST_F(RateBudgetTest, ACredentialStartsAtItsLimitsWithNoRateByDefault) {
  Budget budget = budget_.Current("a", kUnpaced);
  EXPECT_DOUBLE_EQ(budget.rate, 0) << "unlimited";
  EXPECT_EQ(budget.max_in_flight, 32);
  budget = budget_.Current("b", kRated);
  EXPECT_DOUBLE_EQ(budget.rate, 40);
  EXPECT_EQ(budget.max_in_flight, 32);
}

TEST_F(RateBudgetTest, A429HalvesRequestsInFlightAndAConfiguredRate) {
  Budget budget = budget_.RateLimited("a", kRated);
  EXPECT_DOUBLE_EQ(budget.rate, 20);
  EXPECT_EQ(budget.max_in_flight, 16);
  budget = budget_.RateLimited("u", kUnpaced);
  EXPECT_DOUBLE_EQ(budget.rate, 0) << "no rate to back off";
  EXPECT_EQ(budget.max_in_flight, 16);
  // Credentials are independent.
  EXPECT_EQ(budget_.Current("b", kUnpaced).max_in_flight, 32);
}

TEST_F(RateBudgetTest, EachRateLimitBacksOffDownToTheFloors) {
  for (int i = 0; i < 12; ++i) budget_.RateLimited("a", kRated);
  const Budget budget = budget_.Current("a", kRated);
  EXPECT_DOUBLE_EQ(budget.rate, 40 * kMinRateFraction);
  EXPECT_EQ(budget.max_in_flight, 1);
}

TEST_F(RateBudgetTest, RecoversOneStepPerIntervalWithoutA429UpToTheLimits) {
  budget_.RateLimited("a", kRated);  // 20/s, 16 in flight
  clock_.Advance(absl::Seconds(5) - absl::Milliseconds(1));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", kRated).rate, 20) << "not yet";
  clock_.Advance(absl::Milliseconds(1));
  Budget budget = budget_.Recover("a", kRated);
  EXPECT_DOUBLE_EQ(budget.rate, 25);
  EXPECT_EQ(budget.max_in_flight, 20);
  // The next step needs another whole interval.
  EXPECT_DOUBLE_EQ(budget_.Recover("a", kRated).rate, 25);
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(5));
    budget = budget_.Recover("a", kRated);
  }
  EXPECT_DOUBLE_EQ(budget.rate, 40) << "capped";
  EXPECT_EQ(budget.max_in_flight, 32) << "capped";
}

TEST_F(RateBudgetTest, RequestsInFlightGrowAtLeastOneAStepFromOne) {
  for (int i = 0; i < 6; ++i) budget_.RateLimited("a", kUnpaced);
  EXPECT_EQ(budget_.Current("a", kUnpaced).max_in_flight, 1);
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(budget_.Recover("a", kUnpaced).max_in_flight, 2);
}

TEST_F(RateBudgetTest, A429RestartsTheRecoveryInterval) {
  budget_.RateLimited("a", kRated);  // 20
  clock_.Advance(absl::Seconds(4));
  budget_.RateLimited("a", kRated);  // 10
  clock_.Advance(absl::Seconds(4));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", kRated).rate, 10);
  clock_.Advance(absl::Seconds(1));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", kRated).rate, 12.5);
}

TEST_F(RateBudgetTest, LoweredLimitsTakeEffectAtOnce) {
  EXPECT_DOUBLE_EQ(budget_.Current("a", kRated).rate, 40);
  const CredentialLimits lower{.rate = 10, .max_in_flight = 4};
  Budget budget = budget_.Current("a", lower);
  EXPECT_DOUBLE_EQ(budget.rate, 10);
  EXPECT_EQ(budget.max_in_flight, 4);
  EXPECT_DOUBLE_EQ(budget_.RateLimited("a", lower).rate, 5);
  // Raised again: recovery climbs to it.
  clock_.Advance(absl::Seconds(5));
  EXPECT_DOUBLE_EQ(budget_.Recover("a", kRated).rate, 6.25);
}

TEST_F(RateBudgetTest, ANearlyEmptyBucketIsPacedToItsRefillUntilItRefills) {
  EXPECT_DOUBLE_EQ(budget_.Current("h", kBucket).rate, 0) << "burst first";
  budget_.ProviderRemaining("h", 2000);
  EXPECT_DOUBLE_EQ(budget_.Current("h", kBucket).rate, 0);
  budget_.ProviderRemaining("h", 449);
  EXPECT_DOUBLE_EQ(budget_.Current("h", kBucket).rate, 1.25);
  EXPECT_EQ(budget_.Current("h", kBucket).max_in_flight, 32);
  budget_.ProviderRemaining("h", 450);
  EXPECT_DOUBLE_EQ(budget_.Current("h", kBucket).rate, 0) << "refilled";
  // An operator's lower rate still bounds it.
  const CredentialLimits slow_bucket{.rate = 0.5,
                                     .max_in_flight = 32,
                                     .bucket_refill_per_second = 1.25,
                                     .pace_below_remaining = 450};
  budget_.ProviderRemaining("h", 10);
  EXPECT_DOUBLE_EQ(budget_.Current("h", slow_bucket).rate, 0.5);
  // Not a bucket provider: the header is ignored.
  budget_.Current("c", kUnpaced);
  budget_.ProviderRemaining("c", 0);
  EXPECT_DOUBLE_EQ(budget_.Current("c", kUnpaced).rate, 0);
}

TEST(LimitsOfTest, TheInstanceRateElseTheDefaultAndTheProvidersInFlight) {
  v1::IntegrationDefinition definition;
  v1::Instance instance;
  CredentialLimits limits = LimitsOf(definition, instance, 0, 32);
  EXPECT_DOUBLE_EQ(limits.rate, 0);
  EXPECT_EQ(limits.max_in_flight, 32);
  definition.mutable_provider_limits()->set_max_requests_in_flight(96);
  definition.mutable_provider_limits()->set_bucket_refill_per_second(1.25);
  definition.mutable_provider_limits()->set_pace_below_remaining(450);
  instance.set_rate_limit_per_second(3);
  limits = LimitsOf(definition, instance, 20, 32);
  EXPECT_DOUBLE_EQ(limits.rate, 3);
  EXPECT_EQ(limits.max_in_flight, 96);
  EXPECT_DOUBLE_EQ(limits.bucket_refill_per_second, 1.25);
  EXPECT_EQ(limits.pace_below_remaining, 450);
  instance.set_rate_limit_per_second(0);
  EXPECT_DOUBLE_EQ(LimitsOf(definition, instance, 20, 32).rate, 20);
}

TEST(StrictestOfTest, TheLowestRateSetAndTheFewestRequestsInFlight) {
  CredentialLimits strictest = StrictestOf({kUnpaced, kRated});
  EXPECT_DOUBLE_EQ(strictest.rate, 40) << "a rate set beats none";
  EXPECT_EQ(strictest.max_in_flight, 32);
  strictest = StrictestOf({kRated,
                           {.rate = 10, .max_in_flight = 64},
                           {.rate = 0, .max_in_flight = 8}});
  EXPECT_DOUBLE_EQ(strictest.rate, 10);
  EXPECT_EQ(strictest.max_in_flight, 8);
  EXPECT_DOUBLE_EQ(StrictestOf({kUnpaced}).rate, 0);
}

v1::IntegrationDefinition TokenDefinition() {
  v1::IntegrationDefinition definition;
  definition.set_name("circleci");
  v1::ConfigField* token = definition.add_config_fields();
  token->set_name("apiToken");
  token->set_secret(true);
  definition.add_config_fields()->set_name("login");
  return definition;
}

v1::Instance WithToken(const std::string& id, const std::string& token,
                       const std::string& login) {
  v1::Instance instance;
  instance.set_id(id);
  (*instance.mutable_config())["apiToken"] = token;
  (*instance.mutable_config())["login"] = login;
  return instance;
}

TEST(CredentialKeyTest, InstancesWithOneTokenShareANameThatHidesIt) {
  const v1::IntegrationDefinition definition = TokenDefinition();
  const std::string a =
      CredentialKey("key", definition, WithToken("a", "tok-123", "x"));
  EXPECT_EQ(a, CredentialKey("key", definition, WithToken("b", "tok-123", "y")))
      << "plain config fields do not matter";
  EXPECT_NE(a,
            CredentialKey("key", definition, WithToken("a", "tok-124", "x")));
  EXPECT_NE(a, CredentialKey("other-key", definition,
                             WithToken("a", "tok-123", "x")));
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find("tok"), std::string::npos);
  v1::IntegrationDefinition heroku = definition;
  heroku.set_name("heroku");
  EXPECT_NE(a, CredentialKey("key", heroku, WithToken("a", "tok-123", "x")))
      << "one token, two providers";
  EXPECT_EQ(CredentialKey("key", definition, WithToken("c", "", "x")),
            "instance:c");
}

TEST(ShareMovedTest, OnlyMovesOverFivePercentOrToAndFromUnlimited) {
  EXPECT_FALSE(ShareMoved(0, 0));
  EXPECT_TRUE(ShareMoved(0, 10));
  EXPECT_TRUE(ShareMoved(10, 0));
  EXPECT_FALSE(ShareMoved(10, 10));
  EXPECT_FALSE(ShareMoved(10.4, 10));
  EXPECT_FALSE(ShareMoved(9.6, 10));
  EXPECT_TRUE(ShareMoved(10.6, 10));
  EXPECT_TRUE(ShareMoved(5, 10));
}

}  // namespace
}  // namespace graphmill::coordinator
