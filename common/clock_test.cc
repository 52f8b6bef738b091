#include "common/clock.h"

#include <thread>

#include "common/testing/fake_clock.h"
#include "gtest/gtest.h"

namespace graphmill {
namespace {

TEST(RealClockTest, AwaitReturnsAtTheDeadlineWhenTheConditionNeverHolds) {
  absl::Mutex mu;
  bool never = false;
  Clock *clock = Clock::Real();
  const absl::Time start = clock->Now();
  absl::MutexLock lock(&mu);
  EXPECT_FALSE(clock->AwaitWithDeadline(&mu, absl::Condition(&never),
                                        start + absl::Milliseconds(20)));
  EXPECT_GE(clock->Now() - start, absl::Milliseconds(20));
}

TEST(FakeClockTest, SleepMovesTimeAndIsRecorded) {
  FakeClock clock(absl::FromUnixSeconds(100));
  clock.Sleep(absl::Seconds(3));
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(105));
  EXPECT_EQ(clock.NowMs(), 105'000);
  ASSERT_EQ(clock.sleeps().size(), 1u);
  EXPECT_EQ(clock.sleeps()[0], absl::Seconds(3));
}

TEST(FakeClockTest, AwaitWakesWhenFakeTimePassesTheDeadline) {
  FakeClock clock(absl::FromUnixSeconds(100));
  absl::Mutex mu;
  bool never = false;
  std::thread advancer([&] { clock.Advance(absl::Hours(1)); });
  {
    absl::MutexLock lock(&mu);
    EXPECT_FALSE(clock.AwaitWithDeadline(&mu, absl::Condition(&never),
                                         absl::FromUnixSeconds(3700)));
  }
  advancer.join();
}

TEST(FakeClockTest, AwaitWakesWhenTheConditionHolds) {
  FakeClock clock;
  absl::Mutex mu;
  bool ready = false;
  std::thread setter([&] {
    absl::MutexLock lock(&mu);
    ready = true;
  });
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(clock.AwaitWithDeadline(&mu, absl::Condition(&ready),
                                        absl::InfiniteFuture()));
  }
  setter.join();
}

} // namespace
} // namespace graphmill
