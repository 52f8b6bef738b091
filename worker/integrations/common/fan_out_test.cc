// Tests of bounded concurrent fan-out.
#include "worker/integrations/common/fan_out.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace graphmill::worker {
namespace {

TEST(FanOutTest, RunsEveryIndexOnceWithinTheBound) {
  constexpr size_t kCount = 200;
  constexpr int kBound = 4;
  absl::Mutex mu;
  std::vector<int> runs(kCount);  // guarded by mu
  int in_flight = 0;              // guarded by mu
  int peak = 0;                   // guarded by mu
  absl::Status status = RunConcurrently(
      kCount, kBound,
      [&](size_t i) {
        absl::MutexLock lock(&mu);
        peak = std::max(peak, ++in_flight);
        if (i < static_cast<size_t>(kBound)) {
          // The first tasks hold until the bound is reached, so the fan-out
          // must run them at once. Bounded, so running them one at a time
          // fails the test instead of hanging it.
          const auto full = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return peak >= kBound;
          };
          mu.AwaitWithTimeout(absl::Condition(&full), absl::Seconds(10));
        }
        ++runs[i];
        --in_flight;
        return absl::OkStatus();
      },
      nullptr);
  EXPECT_TRUE(status.ok()) << status;
  absl::MutexLock lock(&mu);
  for (size_t i = 0; i < kCount; ++i) EXPECT_EQ(runs[i], 1) << i;
  EXPECT_EQ(peak, kBound);  // concurrent, and never more than the bound
}

TEST(FanOutTest, FirstErrorStopsNewTasksAndIsReturned) {
  std::atomic<int> started{0};
  absl::Status status = RunConcurrently(
      1000, 2,
      [&](size_t i) {
        ++started;
        if (i == 3) return absl::NotFoundError("index 3");
        return absl::OkStatus();
      },
      nullptr);
  EXPECT_EQ(status, absl::NotFoundError("index 3"));
  EXPECT_LT(started.load(), 1000);
}

TEST(FanOutTest, StopsWhenAskedAndReportsCancelled) {
  std::atomic<int> started{0};
  absl::Status status = RunConcurrently(
      100, 3,
      [&](size_t) {
        ++started;
        return absl::OkStatus();
      },
      [&] { return started.load() >= 10; });
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_LT(started.load(), 100);
}

TEST(FanOutTest, ExceptionsBecomeInternalErrors) {
  absl::Status status = RunConcurrently(
      5, 2,
      [](size_t i) -> absl::Status {
        if (i == 1) throw std::runtime_error("boom");
        return absl::OkStatus();
      },
      nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("boom"), absl::string_view::npos);
}

TEST(FanOutTest, ALoweredLimitRetiresSurplusThreadsWithinTheFanOut) {
  std::atomic<int> limit{8};
  std::atomic<int> running{0};
  std::atomic<int> done{0};
  std::atomic<int> late_peak{0};
  ASSERT_TRUE(RunConcurrently(
                  80, 8,
                  [&](size_t i) {
                    const int now = ++running;
                    if (i >= 50) {
                      int seen = late_peak.load();
                      while (now > seen &&
                             !late_peak.compare_exchange_weak(seen, now)) {
                      }
                    }
                    // Overlap, so surplus threads would show.
                    absl::SleepFor(absl::Milliseconds(5));
                    --running;
                    if (++done == 20) limit = 2;
                    return absl::OkStatus();
                  },
                  nullptr, [&] { return limit.load(); })
                  .ok());
  EXPECT_EQ(done.load(), 80);
  EXPECT_LE(late_peak.load(), 2);
  EXPECT_GE(late_peak.load(), 1);
}

TEST(FanOutTest, ARaisedLimitStartsMoreThreadsWithinTheFanOut) {
  std::atomic<int> limit{1};
  std::atomic<int> running{0};
  std::atomic<int> done{0};
  std::atomic<int> early_peak{0};
  std::atomic<int> late_peak{0};
  auto record = [](std::atomic<int>& peak, int now) {
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
  };
  ASSERT_TRUE(RunConcurrently(
                  120, 1,
                  [&](size_t i) {
                    const int now = ++running;
                    record(i < 10 ? early_peak : late_peak, now);
                    absl::SleepFor(absl::Milliseconds(5));
                    --running;
                    if (++done == 10) limit = 4;
                    return absl::OkStatus();
                  },
                  nullptr, [&] { return limit.load(); })
                  .ok());
  EXPECT_EQ(done.load(), 120);
  EXPECT_EQ(early_peak.load(), 1) << "one thread while the limit is 1";
  EXPECT_GE(late_peak.load(), 2) << "more threads once it rose";
  EXPECT_LE(late_peak.load(), 4);
}

TEST(FanOutTest, ZeroTasksIsOk) {
  EXPECT_TRUE(RunConcurrently(
                  0, 8, [](size_t) { return absl::OkStatus(); }, nullptr)
                  .ok());
}

}  // namespace
}  // namespace graphmill::worker
