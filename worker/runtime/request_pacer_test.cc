// Tests of worker/runtime/request_pacer.h on a fake clock: time moves only when
// the test moves it, once the pacer is blocked on it.
#include "worker/runtime/request_pacer.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "worker/runtime/watched_clock.h"

namespace graphmill::worker {
namespace {

TEST(RequestPacerTest, UnlimitedNeverWaits) {
  WatchedClock clock;
  const absl::Time start = clock.Now();
  RequestPacer pacer(0, &clock);
  // Time never moves here: a Wait() that blocked would never return.
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(pacer.Wait());
  EXPECT_EQ(clock.Now(), start);
}

TEST(RequestPacerTest, SpacesRequestsAtTheRateAcrossThreads) {
  WatchedClock clock;
  const absl::Time start = clock.Now();
  RequestPacer pacer(100, &clock);  // 10 ms apart
  absl::Mutex mu;
  std::vector<absl::Time> sent;  // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(pacer.Wait());
        absl::MutexLock lock(&mu);
        sent.push_back(clock.Now());
      }
    });
  }
  const auto sent_count = [&] {
    absl::MutexLock lock(&mu);
    return sent.size();
  };
  // At start + 10 ms * k exactly k + 1 of the 20 requests may go: the rest
  // hold reserved later slots.
  for (size_t k = 0; k < 20; ++k) {
    if (k > 0) {
      // Moved only while a waiter is blocked, 10 ms at a time.
      ASSERT_TRUE(clock.AwaitWaiter());
      clock.Advance(absl::Milliseconds(10));
    }
    absl::MutexLock lock(&mu);
    const auto gone = [&] { return sent.size() >= k + 1; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&gone), absl::Seconds(10)))
        << "request " << k << " did not go at its slot";
    EXPECT_EQ(sent.size(), k + 1);
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(sent_count(), 20u);
  for (size_t k = 0; k < 20; ++k) {
    EXPECT_EQ(sent[k], start + absl::Milliseconds(10) * k) << k;
  }
}

TEST(RequestPacerTest, ARateChangeAppliesToLaterSlots) {
  WatchedClock clock;
  RequestPacer pacer(1, &clock);  // one a second
  ASSERT_TRUE(pacer.Wait());
  pacer.SetRate(0);
  EXPECT_EQ(pacer.rate(), 0);
  // The clock stands still: at one a second the next Wait() would block.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(pacer.Wait());
}

TEST(RequestPacerTest, CancelWakesAWaiterAndLaterWaitsReturnAtOnce) {
  WatchedClock clock;
  RequestPacer pacer(0.1, &clock);  // ten seconds apart
  ASSERT_TRUE(pacer.Wait());
  std::atomic<bool> result{true};
  std::thread waiter([&] { result = pacer.Wait(); });
  // Blocked for its slot ten seconds on, which the clock never reaches.
  ASSERT_TRUE(clock.AwaitWaiter());
  pacer.Cancel();
  waiter.join();
  EXPECT_FALSE(result);
  EXPECT_FALSE(pacer.Wait());
}

}  // namespace
}  // namespace graphmill::worker
