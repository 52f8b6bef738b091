// Tests of worker/runtime/thread_pool.h.
#include "worker/runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace graphmill::worker {
namespace {

TEST(ThreadPoolTest, RunsEveryPieceOfWorkWithAtMostItsThreadCountAtOnce) {
  constexpr int kThreads = 3;
  absl::Mutex mu;
  int running = 0;      // guarded by mu
  int max_running = 0;  // guarded by mu
  int done = 0;         // guarded by mu
  {
    ThreadPool pool(kThreads);
    for (int i = 0; i < 30; ++i) {
      pool.Schedule([&, i] {
        absl::MutexLock lock(&mu);
        max_running = std::max(max_running, ++running);
        if (i < kThreads) {
          // The first pieces hold until every thread runs one, so the pool
          // must run them in parallel. Bounded, so a pool that runs them one
          // at a time fails the test instead of hanging it.
          const auto all_busy = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return max_running >= kThreads;
          };
          mu.AwaitWithTimeout(absl::Condition(&all_busy), absl::Seconds(10));
        }
        --running;
        ++done;
      });
    }
  }  // the destructor runs what is queued
  absl::MutexLock lock(&mu);
  EXPECT_EQ(done, 30);
  EXPECT_EQ(max_running, kThreads);  // in parallel, never more than its threads
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
