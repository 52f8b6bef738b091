// The coordinator's metrics after the engine ran a run (a real in-memory
// store and a scripted worker session), and the hooks the uploader and the
// Graph service call.
#include "coordinator/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/graph_objects.h"
#include "common/metrics.h"
#include "common/testing/fake_clock.h"
#include "coordinator/engine.h"
#include "coordinator/secrets/secret_box.h"
#include "coordinator/testing/recording_worker.h"

namespace graphmill::coordinator {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

v1::IntegrationDefinition Definition() {
  v1::IntegrationDefinition d;
  d.set_name("metered");
  d.set_version("1");
  v1::StepDefinition* step = d.add_steps();
  step->set_id("fetch-things");
  v1::DeclaredEntityType* type = step->add_entities();
  type->set_type("metered_thing");
  type->add_classes("Thing");
  return d;
}

v1::Entity Thing(const std::string& key) {
  v1::Entity e;
  e.set_key(key);
  e.set_type("metered_thing");
  e.add_classes("Thing");
  (*e.mutable_properties())["name"] = StringValue(key);
  (*e.mutable_properties())["displayName"] = StringValue(key);
  return e;
}

using testing::RecordingWorker;

TEST(CoordinatorMetricsTest, ARunShowsUpInEveryFamily) {
  InstanceSecrets secrets(*SecretBox::FromKeyMaterial(std::string(32, 'k')));
  std::unique_ptr<Store> store = *Store::Open(":memory:");
  // Gauges are published by each pump; the test pumps after each step, and
  // moves the clock to let a lease lapse.
  FakeClock clock;
  EngineOptions options;
  options.clock = &clock;
  options.lease = absl::Seconds(30);
  // Declared before the engine: the engine's session thread writes to it
  // until the engine is destroyed.
  RecordingWorker worker;
  Engine engine(store.get(), &secrets, options);
  engine.Start();
  v1::WorkerHello hello;
  hello.set_worker_id("w1");
  hello.set_capacity(4);
  *hello.add_integrations() = Definition();
  const int64_t session = *engine.ConnectWorker(hello, worker.Send());
  v1::Instance instance;
  instance.set_id("inst-metered");
  instance.set_integration("metered");
  instance.set_rate_limit_per_second(10);
  ASSERT_TRUE(store->CreateInstance(instance).ok());

  absl::StatusOr<v1::Run> run = engine.StartRun("inst-metered");
  ASSERT_TRUE(run.ok()) << run.status();
  v1::TaskOutcome succeeded;
  succeeded.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  const v1::TaskAssignment validation = worker.NextAssignment();
  ASSERT_TRUE(engine.FinishAttempt(validation.attempt(), succeeded).ok());

  // The step's first lease lapses (no heartbeat): the task is offered again.
  const v1::TaskAssignment lost = worker.NextAssignment();
  engine.RateLimited(session, lost.attempt());  // while it runs
  engine.Pump();
  const std::string leased = metrics::Exposition();
  EXPECT_THAT(leased, ContainsRegex(R"(graphmill_tasks\{integration=)"
                                    R"("metered",state="leased"\} 1)"));
  EXPECT_THAT(leased, HasSubstr("graphmill_runs_active{integration="
                                "\"metered\"} 1"));
  EXPECT_THAT(leased, HasSubstr("graphmill_connected_workers 1"));
  EXPECT_THAT(leased,
              HasSubstr("graphmill_connected_worker_slots{state=\"busy\"} 1"));
  EXPECT_THAT(leased,
              HasSubstr("graphmill_connected_worker_slots{state=\"free\"} 3"));
  EXPECT_THAT(metrics::Exposition(),
              HasSubstr("graphmill_credential_rate_budget_requests_per_second{"
                        "credential=\"instance:inst-metered\"} 5"));
  EXPECT_THAT(metrics::Exposition(),
              HasSubstr("graphmill_credential_requests_in_flight_budget{"
                        "credential=\"instance:inst-metered\"} 16"));
  clock.Advance(absl::Seconds(30) + absl::Milliseconds(1));
  engine.Pump();
  const v1::TaskAssignment retry = worker.NextAssignment();
  EXPECT_EQ(retry.attempt().task_id(), lost.attempt().task_id());
  v1::ResultBatch batch;
  *batch.add_entities() = Thing("metered_thing:0001");
  *batch.add_entities() = Thing("metered_thing:0002");
  ASSERT_TRUE(engine.AcceptBatch(retry.attempt(), batch).ok());
  ASSERT_TRUE(engine.FinishAttempt(retry.attempt(), succeeded).ok());

  // The run ended in the pump that took the outcome.
  const std::string text = metrics::Exposition();
  EXPECT_THAT(text, HasSubstr("graphmill_runs_total{integration=\"metered\","
                              "status=\"succeeded\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_runs_started_total counter"));
  EXPECT_THAT(text, HasSubstr("graphmill_runs_started_total{integration="
                              "\"metered\",trigger=\"manual\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_runs_total counter"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_run_duration_seconds "
                              "histogram"));
  EXPECT_THAT(text, HasSubstr("graphmill_run_duration_seconds_count{"
                              "integration=\"metered\",status=\"succeeded\"} "
                              "1"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_finalize_duration_seconds "
                              "histogram"));
  EXPECT_THAT(text, HasSubstr("graphmill_finalize_duration_seconds_count{"
                              "integration=\"metered\"} 1"));
  EXPECT_THAT(text, HasSubstr("graphmill_graph_changes_total{integration="
                              "\"metered\",kind=\"created\"} 2"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_change_log_sequence gauge"));
  EXPECT_THAT(text, HasSubstr("graphmill_change_log_sequence 2"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_lease_expiries_total counter"));
  EXPECT_THAT(text, HasSubstr("graphmill_lease_expiries_total 1"));
  EXPECT_THAT(text, HasSubstr("graphmill_task_retries_total 1"));
  EXPECT_THAT(text,
              HasSubstr("graphmill_task_attempts_total{outcome=\"lost\"} 1"));
  EXPECT_THAT(text, HasSubstr("graphmill_task_attempts_total{outcome="
                              "\"succeeded\"} 2"));
  EXPECT_THAT(text, HasSubstr("graphmill_rate_limited_reports_total 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_tasks gauge"));
  // After the run: nothing active, no task pending or leased.
  engine.Pump();
  const std::string idle = metrics::Exposition();
  EXPECT_THAT(idle, HasSubstr("graphmill_runs_active{integration=\"metered\"} "
                              "0"));
  EXPECT_THAT(idle, ContainsRegex(R"(graphmill_tasks\{integration="metered",)"
                                  R"(state="pending"\} 0)"));
  EXPECT_THAT(idle, ContainsRegex(R"(graphmill_tasks\{integration="metered",)"
                                  R"(state="leased"\} 0)"));
  engine.Stop();
}

TEST(CoordinatorMetricsTest, SubscribersAndTheirLag) {
  CoordinatorMetrics& coordinator = CoordinatorMetrics::Get();
  ChangeLogBounds bounds;
  bounds.last_sequence = 100;
  bounds.pruned_through = 10;
  coordinator.ChangeLog(bounds);
  {
    CoordinatorMetrics::Subscriber behind(40);
    CoordinatorMetrics::Subscriber current(100);
    behind.Sent();
    const std::string text = metrics::Exposition();
    EXPECT_THAT(text, HasSubstr("# TYPE graphmill_subscribers gauge"));
    EXPECT_THAT(text, HasSubstr("graphmill_subscribers 2"));
    EXPECT_THAT(text, HasSubstr("graphmill_subscriber_max_lag_changes 60"));
    EXPECT_THAT(text, HasSubstr("graphmill_change_log_pruned_sequence 10"));
    EXPECT_THAT(text, HasSubstr("# TYPE graphmill_subscriber_changes_sent_"
                                "total counter"));
    behind.At(95);
    EXPECT_THAT(metrics::Exposition(),
                HasSubstr("graphmill_subscriber_max_lag_changes 5"));
  }
  const std::string text = metrics::Exposition();
  EXPECT_THAT(text, HasSubstr("graphmill_subscribers 0"));
  EXPECT_THAT(text, HasSubstr("graphmill_subscriber_max_lag_changes 0"));
}

TEST(CoordinatorMetricsTest, Uploads) {
  CoordinatorMetrics& coordinator = CoordinatorMetrics::Get();
  coordinator.UploadsQueued(3);
  v1::UploadStatus done;
  done.set_state(v1::UPLOAD_STATE_SUCCEEDED);
  done.set_entities_uploaded(7);
  done.set_relationships_uploaded(4);
  coordinator.UploadEnded(done, absl::Seconds(2));
  v1::UploadStatus failed;
  failed.set_state(v1::UPLOAD_STATE_FAILED);
  failed.set_entities_uploaded(100);
  coordinator.UploadEnded(failed, absl::Seconds(1));
  const std::string text = metrics::Exposition();
  EXPECT_THAT(text, HasSubstr("graphmill_uploads_queued 3"));
  coordinator.Leading(true);
  EXPECT_THAT(metrics::Exposition(), HasSubstr("graphmill_leader 1"));
  coordinator.Leading(false);
  EXPECT_THAT(metrics::Exposition(), HasSubstr("graphmill_leader 0"));
  EXPECT_THAT(text, HasSubstr("graphmill_uploads_total{outcome=\"succeeded\"} "
                              "1"));
  EXPECT_THAT(text, HasSubstr("graphmill_uploads_total{outcome=\"failed\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_upload_duration_seconds "
                              "histogram"));
  EXPECT_THAT(text, HasSubstr("graphmill_upload_objects_total{kind=\"entity\"} "
                              "7"));
  EXPECT_THAT(text, HasSubstr("graphmill_upload_objects_total{kind="
                              "\"relationship\"} 4"));
}

TEST(CoordinatorMetricsTest, ServeIsOptional) {
  absl::StatusOr<std::unique_ptr<metrics::Server>> none =
      ServeCoordinatorMetrics("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  absl::StatusOr<std::unique_ptr<metrics::Server>> served =
      ServeCoordinatorMetrics("127.0.0.1:0");
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_GT((*served)->port(), 0);
}

}  // namespace
}  // namespace graphmill::coordinator
