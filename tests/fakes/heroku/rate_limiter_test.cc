// Tests of rate_limiter.h with a fake clock.
#include "tests/fakes/heroku/rate_limiter.h"

#include "gtest/gtest.h"

namespace graphmill::fakes::heroku {
namespace {

RateLimitOptions Limits(int capacity, double refill_per_second) {
  RateLimitOptions options;
  options.capacity = capacity;
  options.refill_per_second = refill_per_second;
  return options;
}

class RateLimiterTest : public ::testing::Test {
 protected:
  RateLimiter::Clock clock() {
    return [this] { return now_; };
  }
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
};

TEST_F(RateLimiterTest, EmptiesThenRefusesThenRefills) {
  RateLimiter limiter(Limits(3, 2.0), 1, clock());
  EXPECT_EQ(limiter.Peek(0), 3);
  for (int expected : {2, 1, 0}) {
    const RateLimiter::Outcome outcome = limiter.Take(0);
    EXPECT_TRUE(outcome.allowed);
    EXPECT_EQ(outcome.remaining, expected);
  }
  const RateLimiter::Outcome refused = limiter.Take(0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);

  now_ += absl::Milliseconds(499);  // 0.998 tokens: still nothing whole
  EXPECT_FALSE(limiter.Take(0).allowed);
  now_ += absl::Milliseconds(2);
  const RateLimiter::Outcome refilled = limiter.Take(0);
  EXPECT_TRUE(refilled.allowed);
  EXPECT_EQ(refilled.remaining, 0);

  BucketState state = limiter.State(0);
  EXPECT_EQ(state.taken, 4);
  EXPECT_EQ(state.rate_limited, 2);
  EXPECT_TRUE(state.exceeded());
  EXPECT_EQ(state.min_remaining, 0);
}

TEST_F(RateLimiterTest, RefillStopsAtCapacity) {
  RateLimiter limiter(Limits(5, 1.0), 1, clock());
  limiter.Take(0);
  now_ += absl::Hours(1);
  EXPECT_EQ(limiter.Peek(0), 5);
}

TEST_F(RateLimiterTest, PeekIsFreeAndBucketsAreIndependent) {
  RateLimiter limiter(Limits(2, 0.0), 2, clock());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.Peek(0), 2);
  EXPECT_TRUE(limiter.Take(0).allowed);
  EXPECT_TRUE(limiter.Take(0).allowed);
  EXPECT_FALSE(limiter.Take(0).allowed);
  EXPECT_EQ(limiter.Peek(1), 2);
  EXPECT_FALSE(limiter.State(1).exceeded());
  EXPECT_EQ(limiter.State(1).min_remaining, 2);
}

TEST_F(RateLimiterTest, ResetAndSetRemaining) {
  RateLimiter limiter(Limits(10, 0.0), 1, clock());
  limiter.SetRemaining(0, 1);
  EXPECT_TRUE(limiter.Take(0).allowed);
  EXPECT_FALSE(limiter.Take(0).allowed);
  EXPECT_EQ(limiter.State(0).min_remaining, 0);

  limiter.Reset();
  BucketState state = limiter.State(0);
  EXPECT_EQ(state.remaining, 10);
  EXPECT_EQ(state.min_remaining, 10);
  EXPECT_EQ(state.rate_limited, 0);
  EXPECT_EQ(state.taken, 0);

  limiter.SetRemaining(0, 1000);
  EXPECT_EQ(limiter.Peek(0), 10);
  limiter.SetRemaining(0, -4);
  EXPECT_EQ(limiter.Peek(0), 0);
}

TEST_F(RateLimiterTest, UnknownBucketsChangeNothing) {
  RateLimiter limiter(Limits(1, 0.0), 1, clock());
  EXPECT_FALSE(limiter.Take(-1).allowed);
  EXPECT_FALSE(limiter.Take(1).allowed);
  EXPECT_EQ(limiter.Peek(7), 0);
  limiter.SetRemaining(3, 0);
  EXPECT_EQ(limiter.State(5).taken, 0);
  EXPECT_EQ(limiter.Peek(0), 1);
}

}  // namespace
}  // namespace graphmill::fakes::heroku
