// Tests of worker/runtime/request_pacer.h.
#include "worker/runtime/request_pacer.h"

#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace graphmill::worker {
namespace {

TEST(RequestPacerTest, UnlimitedNeverWaits) {
  RequestPacer pacer(0);
  const absl::Time start = absl::Now();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(pacer.Wait());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
}

TEST(RequestPacerTest, SpacesRequestsAtTheRateAcrossThreads) {
  RequestPacer pacer(100);  // 10 ms apart
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) EXPECT_TRUE(pacer.Wait());
    });
  }
  for (std::thread& thread : threads) thread.join();
  // 20 requests: the first at once, 19 intervals after it.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(185));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(RequestPacerTest, ARateChangeAppliesToLaterSlots) {
  RequestPacer pacer(1);  // one a second
  ASSERT_TRUE(pacer.Wait());
  pacer.SetRate(0);
  EXPECT_EQ(pacer.rate(), 0);
  const absl::Time start = absl::Now();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(pacer.Wait());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
}

TEST(RequestPacerTest, CancelWakesAWaiterAtOnce) {
  RequestPacer pacer(0.1);  // ten seconds apart
  ASSERT_TRUE(pacer.Wait());
  bool result = true;
  const absl::Time start = absl::Now();
  std::thread waiter([&] { result = pacer.Wait(); });
  absl::SleepFor(absl::Milliseconds(20));
  pacer.Cancel();
  waiter.join();
  EXPECT_FALSE(result);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_FALSE(pacer.Wait());
}

}  // namespace
}  // namespace graphmill::worker
