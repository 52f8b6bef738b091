// Tests of the worker's own metrics (worker/runtime/metrics.h).
#include "worker/runtime/metrics.h"

#include <string>

#include "common/http/provider_metrics.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::worker {
namespace {

namespace v1 = ::graphmill::v1;
using ::testing::HasSubstr;

TEST(WorkerMetricsTest, SlotsConnectionAndTasks) {
  WorkerMetrics& worker = WorkerMetrics::Get();
  worker.SetCapacity(4);
  worker.SetConnected(true);
  v1::TaskAssignment assignment;
  assignment.set_integration("circleci");
  assignment.set_kind(v1::TASK_KIND_STEP);
  assignment.set_step_id("fetch-pipelines");
  v1::TaskOutcome outcome;
  outcome.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  {
    WorkerMetrics::Task task(assignment);
    EXPECT_EQ(http::CurrentProviderLabel(), "circleci");
    const std::string during = metrics::Exposition();
    EXPECT_THAT(during, HasSubstr("# TYPE graphmill_worker_slots gauge"));
    EXPECT_THAT(during, HasSubstr("graphmill_worker_slots{state=\"busy\"} 1"));
    EXPECT_THAT(during, HasSubstr("graphmill_worker_slots{state=\"free\"} 3"));
    task.Finish(outcome, /*cancelled=*/false);
  }
  {
    assignment.set_kind(v1::TASK_KIND_VALIDATE_INVOCATION);
    assignment.clear_step_id();
    WorkerMetrics::Task task(assignment);
    task.Finish(outcome, /*cancelled=*/true);
  }
  const std::string text = metrics::Exposition();
  EXPECT_THAT(text, HasSubstr("graphmill_worker_slots{state=\"busy\"} 0"));
  EXPECT_THAT(text, HasSubstr("graphmill_worker_slots{state=\"free\"} 4"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_worker_connected gauge"));
  EXPECT_THAT(text, HasSubstr("graphmill_worker_connected 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_worker_tasks_total counter"));
  EXPECT_THAT(text, HasSubstr("graphmill_worker_tasks_total{integration="
                              "\"circleci\",outcome=\"succeeded\",step="
                              "\"fetch-pipelines\"} 1"));
  EXPECT_THAT(text, HasSubstr("graphmill_worker_tasks_total{integration="
                              "\"circleci\",outcome=\"cancelled\",step="
                              "\"validate_invocation\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_worker_task_duration_seconds "
                              "histogram"));
}

}  // namespace
}  // namespace graphmill::worker
