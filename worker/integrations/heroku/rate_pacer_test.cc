// Tests of the RateLimit-Remaining pacing policy, with a fake clock (no real
// sleeps).
#include "worker/integrations/heroku/rate_pacer.h"

#include <string>
#include <thread>
#include <vector>

#include "common/testing/fake_clock.h"
#include "gtest/gtest.h"

namespace graphmill::worker::heroku {
namespace {

// The time BeforeRequest slept on `clock`, in all.
absl::Duration Slept(FakeClock& clock) {
  absl::Duration total;
  for (const absl::Duration sleep : clock.sleeps()) total += sleep;
  return total;
}

http::HttpResponse WithRemaining(int remaining, int status = 200) {
  http::HttpResponse response;
  response.status = status;
  response.headers.emplace_back("RateLimit-Remaining",
                                std::to_string(remaining));
  return response;
}

RateLimitPolicy SmallPolicy() {
  RateLimitPolicy policy;
  policy.refill_interval = absl::Milliseconds(100);
  policy.pace_below_remaining = 20;
  policy.reserve_remaining = 5;
  return policy;
}

TEST(RatePacerTest, DefaultsFollowHerokusDocumentedBucket) {
  RateLimitPolicy policy;
  // 75 tokens a minute: one per 800 ms.
  EXPECT_EQ(policy.refill_interval,
            absl::Minutes(1) / kHerokuRefillRequestsPerMinute);
  EXPECT_EQ(policy.pace_below_remaining, 450);
  EXPECT_LT(policy.reserve_remaining, policy.pace_below_remaining);
}

TEST(RatePacerTest, NoDelayBeforeAnyResponseOrWithAFullBucket) {
  FakeClock clock;
  RatePacer pacer(SmallPolicy(), &clock);
  for (int i = 0; i < 10; ++i) pacer.BeforeRequest();
  pacer.OnResponse(WithRemaining(4499));
  for (int i = 0; i < 10; ++i) pacer.BeforeRequest();
  EXPECT_EQ(Slept(clock), absl::ZeroDuration());
  EXPECT_EQ(pacer.remaining(), 4499);
}

TEST(RatePacerTest, BelowThresholdRequestsAreSpacedByTheRefillInterval) {
  FakeClock clock;
  RatePacer pacer(SmallPolicy(), &clock);
  pacer.OnResponse(WithRemaining(19));
  pacer.BeforeRequest();  // the first goes at once
  EXPECT_EQ(Slept(clock), absl::ZeroDuration());
  for (int i = 0; i < 4; ++i) pacer.BeforeRequest();
  EXPECT_EQ(Slept(clock), absl::Milliseconds(400));
  // Time spent elsewhere counts: no extra wait once the slot has passed.
  clock.Advance(absl::Seconds(1));
  pacer.BeforeRequest();
  EXPECT_EQ(Slept(clock), absl::Milliseconds(400));
  EXPECT_EQ(pacer.total_wait(), absl::Milliseconds(400));
}

TEST(RatePacerTest, BelowTheReserveWaitsForTheBucketToRefill) {
  FakeClock clock;
  RatePacer pacer(SmallPolicy(), &clock);
  pacer.OnResponse(WithRemaining(2));
  pacer.BeforeRequest();  // 3 tokens short of the reserve of 5
  EXPECT_EQ(Slept(clock), absl::Milliseconds(300));
  pacer.BeforeRequest();  // then one per interval
  EXPECT_EQ(Slept(clock), absl::Milliseconds(400));
}

TEST(RatePacerTest, A429CountsAsAnEmptyBucket) {
  FakeClock clock;
  RatePacer pacer(SmallPolicy(), &clock);
  http::HttpResponse too_many;
  too_many.status = 429;
  pacer.OnResponse(too_many);
  EXPECT_EQ(pacer.remaining(), 0);
  pacer.BeforeRequest();
  EXPECT_EQ(Slept(clock), absl::Milliseconds(500));  // refill to 5
}

TEST(RatePacerTest, ResponsesWithoutTheHeaderChangeNothing) {
  FakeClock clock;
  RatePacer pacer(SmallPolicy(), &clock);
  pacer.OnResponse(WithRemaining(10));
  http::HttpResponse not_found;
  not_found.status = 404;
  pacer.OnResponse(not_found);
  http::HttpResponse garbage;
  garbage.status = 200;
  garbage.headers.emplace_back("ratelimit-remaining", "lots");
  pacer.OnResponse(garbage);
  EXPECT_EQ(pacer.remaining(), 10);
  // The header name is case-insensitive.
  http::HttpResponse lower;
  lower.status = 200;
  lower.headers.emplace_back("ratelimit-remaining", " 4000 ");
  pacer.OnResponse(lower);
  EXPECT_EQ(pacer.remaining(), 4000);
}

TEST(RatePacerTest, CancellationCutsALongWaitShort) {
  FakeClock clock;
  RateLimitPolicy policy = SmallPolicy();
  policy.refill_interval = absl::Seconds(10);
  policy.max_sleep_slice = absl::Seconds(1);
  bool cancelled = false;
  RatePacer pacer(policy, &clock, [&] { return cancelled; });
  pacer.OnResponse(WithRemaining(0));  // would wait 50 s
  cancelled = true;
  pacer.BeforeRequest();
  EXPECT_EQ(Slept(clock), absl::ZeroDuration());
}

// Time stands still, so concurrent sleepers do not move each other's clock.
class FrozenClock : public FakeClock {
 public:
  void Sleep(absl::Duration) override {}
};

TEST(RatePacerTest, ConcurrentCallersShareOneSchedule) {
  FrozenClock clock;
  RatePacer pacer(SmallPolicy(), &clock);
  pacer.OnResponse(WithRemaining(10));
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { pacer.BeforeRequest(); });
  }
  for (std::thread& thread : threads) thread.join();
  // Each caller gets its own slot, 0, 100, ..., 700 ms from now, whatever the
  // order: the waits add up to 0+100+...+700 ms.
  EXPECT_EQ(pacer.total_wait(), absl::Milliseconds(2800));
}

}  // namespace
}  // namespace graphmill::worker::heroku
