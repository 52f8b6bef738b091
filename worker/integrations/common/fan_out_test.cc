// Tests of bounded concurrent fan-out.
#include "worker/integrations/common/fan_out.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace graphmill::worker {
namespace {

TEST(FanOutTest, RunsEveryIndexOnceWithinTheBound) {
  constexpr size_t kCount = 200;
  std::vector<std::atomic<int>> runs(kCount);
  std::atomic<int> in_flight{0};
  std::atomic<int> peak{0};
  absl::Status status = RunConcurrently(
      kCount, 4,
      [&](size_t i) {
        const int now = ++in_flight;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        ++runs[i];
        --in_flight;
        return absl::OkStatus();
      },
      nullptr);
  EXPECT_TRUE(status.ok()) << status;
  for (size_t i = 0; i < kCount; ++i) EXPECT_EQ(runs[i], 1) << i;
  EXPECT_LE(peak.load(), 4);
  EXPECT_GE(peak.load(), 2);  // it did run concurrently
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

TEST(FanOutTest, ZeroTasksIsOk) {
  EXPECT_TRUE(RunConcurrently(
                  0, 8, [](size_t) { return absl::OkStatus(); }, nullptr)
                  .ok());
}

}  // namespace
}  // namespace graphmill::worker
