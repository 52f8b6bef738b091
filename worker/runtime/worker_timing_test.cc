// Tests of the worker's timing on a fake clock (options.clock): request pacing
// at the coordinator's rate, the drain grace, and the reconnect back-off. Time
// moves only when a test moves it, and only once the worker is blocked on the
// clock, so what must not happen before a deadline is checked without waiting.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "worker/runtime/fake_worker_gateway.h"
#include "worker/runtime/watched_clock.h"
#include "worker/runtime/worker.h"
#include "worker/runtime/worker_test_util.h"

namespace graphmill::worker::testing {
namespace {

class WorkerTimingTest : public WorkerTest {
 protected:
  WorkerTimingTest() {
    options_.clock = &clock_;
    integration_.set_clock(&clock_);
    // Heartbeats far apart (10 s with the tasks' 30 s leases), so the waits a
    // test steps through are the ones it is about.
    options_.idle_heartbeat_interval = absl::Hours(1);
  }
  ~WorkerTimingTest() override { StopWorker(); }

  WatchedClock clock_;
};

TEST_F(WorkerTimingTest, RequestsArePacedAtTheAssignedRate) {
  StartWorker();
  integration_.Release();
  v1::TaskAssignment paced = StepTask(70, "paced", {{"count", "11"}});
  paced.set_rate_limit_per_second(50);  // 20 ms apart
  ASSERT_TRUE(gateway_->Assign(paced));
  // The first request goes at once; each later one waits for its slot, 20 ms
  // after the one before.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(clock_.AwaitWaiter(absl::Milliseconds(20))) << "request " << i;
    clock_.Advance(absl::Milliseconds(20));
  }
  EXPECT_EQ(Completed(70).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  EXPECT_EQ(integration_.paced_time(), absl::Milliseconds(200));
}

TEST_F(WorkerTimingTest, ARateUpdateChangesARunningTasksPace) {
  StartWorker();
  v1::TaskAssignment paced = StepTask(71, "paced", {{"count", "5"}});
  paced.set_rate_limit_per_second(0.2);  // 5 s apart: 20 s for five requests
  ASSERT_TRUE(gateway_->Assign(paced));
  ASSERT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return integration_.running() == 1; }));
  ASSERT_TRUE(gateway_->UpdateRate(Attempt(71), 1000));
  // The worker handles coordinator messages in order: once this task's outcome
  // is in, the update was applied.
  ASSERT_TRUE(gateway_->Assign(ValidateTask(72, "ok")));
  EXPECT_EQ(Completed(72).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  integration_.Release();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(clock_.AwaitWaiter(absl::Milliseconds(1))) << "request " << i;
    clock_.Advance(absl::Milliseconds(1));
  }
  EXPECT_EQ(Completed(71).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  EXPECT_EQ(integration_.paced_time(), absl::Milliseconds(4));
}

TEST_F(WorkerTimingTest, DrainAbandonsTasksWhenTheGraceRunsOut) {
  options_.drain_grace = absl::Seconds(5);
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(60, "block")));
  ASSERT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return integration_.running() == 1; }));
  worker_->Shutdown();
  ASSERT_TRUE(FakeWorkerGateway::WaitFor(
      [&] { return gateway_->draining_count() == 1; }));

  // Blocked until the grace ends, 5 s on; a millisecond short of it the task
  // still runs.
  ASSERT_TRUE(clock_.AwaitWaiter(absl::Seconds(5)));
  clock_.Advance(absl::Seconds(5) - absl::Milliseconds(1));
  ASSERT_TRUE(clock_.AwaitWaiter(absl::Milliseconds(1)));
  EXPECT_FALSE(RunResult(absl::ZeroDuration()).has_value());
  EXPECT_EQ(integration_.ended(), 0);

  clock_.Advance(absl::Milliseconds(1));
  std::optional<absl::Status> result = RunResult();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kDeadlineExceeded) << *result;
  EXPECT_EQ(integration_.ended(), 1);
  EXPECT_FALSE(gateway_->CompletedSubmission(60).has_value());
}

TEST_F(WorkerTimingTest, ReconnectBackoffDoublesWithJitterUpToItsMaximum) {
  options_.initial_reconnect_backoff = absl::Milliseconds(200);
  options_.max_reconnect_backoff = absl::Seconds(1);
  gateway_ = FakeWorkerGateway::Start();
  ASSERT_NE(gateway_, nullptr);
  gateway_->RefuseConnections(true);  // every stream ends after its hello
  StartWorker();

  // Each wait is 50-100% of the back-off, which doubles up to its maximum.
  const std::vector<absl::Duration> backoffs = {
      absl::Milliseconds(200), absl::Milliseconds(400), absl::Milliseconds(800),
      absl::Seconds(1), absl::Seconds(1)};
  for (const absl::Duration backoff : backoffs) {
    SCOPED_TRACE(absl::FormatDuration(backoff));
    const size_t dials = gateway_->hellos().size();
    // Waiting in slices of at most 100 ms.
    ASSERT_TRUE(clock_.AwaitWaiter(absl::Milliseconds(100)));
    clock_.Advance(backoff / 2 - absl::Milliseconds(1));
    ASSERT_TRUE(clock_.AwaitWaiter(absl::Milliseconds(100)));
    EXPECT_EQ(gateway_->hellos().size(), dials) << "dialled too early";

    clock_.Advance(backoff / 2 + absl::Milliseconds(1));
    EXPECT_TRUE(FakeWorkerGateway::WaitFor([&] {
      return gateway_->hellos().size() == dials + 1;
    })) << "no dial once the back-off was over";
  }
  // Each refused stream ends the connection.
  EXPECT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return !worker_->connected(); }));
}

}  // namespace
}  // namespace graphmill::worker::testing
