// Tests of worker/runtime/thread_pool.h.
#include "worker/runtime/thread_pool.h"

#include <atomic>
#include <stdexcept>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace graphmill::worker {
namespace {

TEST(ThreadPoolTest, RunsEveryPieceOfWorkWithAtMostItsThreadCountAtOnce) {
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  std::atomic<int> done{0};
  {
    ThreadPool pool(3);
    for (int i = 0; i < 30; ++i) {
      pool.Schedule([&] {
        const int now = ++running;
        int seen = max_running.load();
        while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
        }
        absl::SleepFor(absl::Milliseconds(1));
        --running;
        ++done;
      });
    }
  }  // the destructor runs what is queued
  EXPECT_EQ(done.load(), 30);
  EXPECT_LE(max_running.load(), 3);
  EXPECT_GE(max_running.load(), 2);  // the threads did run in parallel
}

TEST(ThreadPoolTest, WorkThatThrowsDoesNotStopThePool) {
  std::atomic<int> done{0};
  {
    ThreadPool pool(1);
    pool.Schedule([] { throw std::runtime_error("boom"); });
    pool.Schedule([] { throw 42; });
    pool.Schedule([&] { ++done; });
  }
  EXPECT_EQ(done.load(), 1);
}

TEST(ThreadPoolTest, ZeroThreadsStillRuns) {
  absl::Notification ran;
  ThreadPool pool(0);
  pool.Schedule([&] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

}  // namespace
}  // namespace graphmill::worker
