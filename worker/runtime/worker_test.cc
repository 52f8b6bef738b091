// Tests of worker/runtime/worker.h against a real in-process fake
// WorkerGateway: hello, tasks and their results, reads, secrets, cancellation,
// capacity, reconnection and drain. (Timing on a fake clock:
// worker_timing_test.cc.)
#include "worker/runtime/worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker/runtime/channel.h"
#include "worker/runtime/fake_worker_gateway.h"
#include "worker/runtime/integration.h"
#include "worker/runtime/worker_test_util.h"

namespace graphmill::worker::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(WorkerTest, HelloCarriesIdCapacityAndDefinitions) {
  options_.capacity = 3;
  StartWorker();
  std::vector<v1::WorkerHello> hellos = gateway_->hellos();
  ASSERT_EQ(hellos.size(), 1u);
  EXPECT_EQ(hellos[0].worker_id(), "worker-test-1");
  EXPECT_EQ(hellos[0].capacity(), 3);
  ASSERT_EQ(hellos[0].integrations_size(), 2);
  // In name order.
  EXPECT_EQ(hellos[0].integrations(0).SerializeAsString(),
            other_.definition().SerializeAsString());
  EXPECT_EQ(hellos[0].integrations(1).SerializeAsString(),
            integration_.definition().SerializeAsString());
}

TEST_F(WorkerTest, IdleWorkerHeartbeatsWithNothingRunning) {
  StartWorker();
  ASSERT_TRUE(FakeWorkerGateway::WaitFor(
      [&] { return gateway_->heartbeats().size() >= 3; }));
  EXPECT_EQ(gateway_->heartbeats()[0].running_size(), 0);
}

TEST_F(WorkerTest, ValidationOutcomesFollowTheStatusCode) {
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(ValidateTask(1, "ok")));
  ASSERT_TRUE(gateway_->Assign(ValidateTask(2, "unauthenticated")));
  ASSERT_TRUE(gateway_->Assign(ValidateTask(3, "down")));

  EXPECT_EQ(Completed(1).outcome().status(), v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  FakeWorkerGateway::Submission rejected = Completed(2);
  EXPECT_EQ(rejected.outcome().status(),
            v1::TASK_OUTCOME_STATUS_INVALID_CONFIG);
  EXPECT_EQ(rejected.outcome().error(), "config field 'apiToken' was rejected");
  FakeWorkerGateway::Submission down = Completed(3);
  EXPECT_EQ(down.outcome().status(), v1::TASK_OUTCOME_STATUS_FAILED);
  EXPECT_EQ(down.outcome().error(), "provider unreachable");
  // attempt + outcome, nothing else.
  EXPECT_EQ(down.messages.size(), 2u);
  EXPECT_EQ(down.messages[0].attempt().task_id(), 3);
}

TEST_F(WorkerTest, UnknownIntegrationVersionOrStepFails) {
  StartWorker();
  v1::TaskAssignment unknown_integration = StepTask(1, "generate");
  unknown_integration.set_integration("nope");
  v1::TaskAssignment wrong_version = StepTask(2, "generate");
  wrong_version.set_integration_version("0.9.0");
  v1::TaskAssignment unknown_step = StepTask(3, "fetch-nothing");
  v1::TaskAssignment unknown_kind = StepTask(4, "generate");
  unknown_kind.set_kind(v1::TASK_KIND_UNSPECIFIED);
  for (const auto& task :
       {unknown_integration, wrong_version, unknown_step, unknown_kind}) {
    ASSERT_TRUE(gateway_->Assign(task));
  }

  const v1::TaskOutcome no_integration = Completed(1).outcome();
  EXPECT_EQ(no_integration.status(), v1::TASK_OUTCOME_STATUS_FAILED);
  EXPECT_EQ(no_integration.error(),
            "this worker has no integration 'nope' (it has: other 1.0.0, test "
            "1.0.0)");
  const v1::TaskOutcome version = Completed(2).outcome();
  EXPECT_EQ(version.status(), v1::TASK_OUTCOME_STATUS_FAILED);
  EXPECT_NE(version.error().find("version '0.9.0'"), std::string::npos)
      << version.error();
  const v1::TaskOutcome step = Completed(3).outcome();
  EXPECT_EQ(step.status(), v1::TASK_OUTCOME_STATUS_FAILED);
  EXPECT_EQ(step.error(), "integration 'test' has no step 'fetch-nothing'");
  EXPECT_EQ(Completed(4).outcome().status(), v1::TASK_OUTCOME_STATUS_FAILED);
  EXPECT_EQ(integration_.executed("generate"), 0);
}

TEST_F(WorkerTest, StepResultsArriveCompleteInOrderInBatches) {
  StartWorker();
  ASSERT_TRUE(
      gateway_->Assign(StepTask(5, "generate", {{"count", "1200"}}, 2)));
  FakeWorkerGateway::Submission submission = Completed(5);

  ASSERT_FALSE(submission.messages.empty());
  ASSERT_TRUE(submission.messages[0].has_attempt());
  EXPECT_EQ(submission.messages[0].attempt().attempt(), 2);
  EXPECT_EQ(submission.outcome().status(), v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  std::vector<v1::ResultBatch> batches = submission.batches();
  EXPECT_GE(batches.size(), 3u);
  std::vector<std::string> keys;
  int relationships = 0;
  int events = 0;
  for (const v1::ResultBatch& batch : batches) {
    EXPECT_LE(batch.entities_size() + batch.relationships_size() +
                  batch.events_size(),
              500);
    for (const v1::Entity& entity : batch.entities())
      keys.push_back(entity.key());
    relationships += batch.relationships_size();
    for (const v1::Event& event : batch.events()) {
      ++events;
      EXPECT_EQ(event.name(), "warn_test");
      EXPECT_EQ(event.level(), v1::EVENT_LEVEL_WARN);
      EXPECT_EQ(event.step_id(), "generate");
      EXPECT_GT(event.time_ms(), 0);
    }
  }
  ASSERT_EQ(keys.size(), 1200u);
  for (int i = 0; i < 1200; ++i) ASSERT_EQ(keys[i], ThingKey(i));
  EXPECT_EQ(relationships, 12);
  EXPECT_EQ(events, 1);
}

TEST_F(WorkerTest, LargeObjectsAreBatchedByBytes) {
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(
      StepTask(6, "generate", {{"count", "10"}, {"raw_bytes", "300000"}})));
  FakeWorkerGateway::Submission submission = Completed(6);
  EXPECT_EQ(submission.outcome().status(), v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  std::vector<v1::ResultBatch> batches = submission.batches();
  EXPECT_GE(batches.size(),
            4u);  // three 300 kB entities fit under 1 MB, four do not
  int entities = 0;
  for (const v1::ResultBatch& batch : batches) {
    EXPECT_LE(batch.ByteSizeLong(), 1'000'000u);
    entities += batch.entities_size();
  }
  EXPECT_EQ(entities, 10);
}

TEST_F(WorkerTest, AnObjectTooLargeForAMessageFailsTheStepNamingIt) {
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(
      StepTask(7, "generate", {{"count", "1"}, {"raw_bytes", "4100000"}})));
  const v1::TaskOutcome outcome = Completed(7).outcome();
  EXPECT_EQ(outcome.status(), v1::TASK_OUTCOME_STATUS_FAILED);
  EXPECT_NE(outcome.error().find("entity 'test-thing-000000'"),
            std::string::npos)
      << outcome.error();
}

TEST_F(WorkerTest, StepReadsEntitiesOfItsAttemptAndType) {
  gateway_ = FakeWorkerGateway::Start();
  std::vector<v1::Entity> sources;
  for (int i = 0; i < 250; ++i)
    sources.push_back(MakeEntity(ThingKey(i), "source_thing"));
  gateway_->SetEntities("source_thing", sources);
  gateway_->SetEntityBatchSize(100);
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(8, "copy", {}, 3)));
  FakeWorkerGateway::Submission submission = Completed(8);

  EXPECT_EQ(submission.outcome().status(), v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  std::vector<v1::ReadEntitiesRequest> reads = gateway_->reads();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].attempt().task_id(), 8);
  EXPECT_EQ(reads[0].attempt().attempt(), 3);
  EXPECT_EQ(reads[0].type(), "source_thing");
  std::vector<std::string> copies;
  int relationships = 0;
  for (const v1::ResultBatch& batch : submission.batches()) {
    for (const v1::Entity& entity : batch.entities())
      copies.push_back(entity.key());
    relationships += batch.relationships_size();
  }
  ASSERT_EQ(copies.size(), 250u);
  for (int i = 0; i < 250; ++i) EXPECT_EQ(copies[i], ThingKey(i) + "-copy");
  EXPECT_EQ(relationships, 250);
}

TEST_F(WorkerTest, AVisitorErrorStopsTheReadAndFailsTheStep) {
  gateway_ = FakeWorkerGateway::Start();
  std::vector<v1::Entity> sources;
  for (int i = 0; i < 1000; ++i)
    sources.push_back(MakeEntity(ThingKey(i), "source_thing"));
  gateway_->SetEntities("source_thing", sources);
  gateway_->SetEntityBatchSize(10);
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(9, "stop-early")));
  const v1::TaskOutcome outcome = Completed(9).outcome();
  EXPECT_EQ(outcome.status(), v1::TASK_OUTCOME_STATUS_FAILED);
  EXPECT_EQ(outcome.error(), "enough after 3");
  EXPECT_EQ(integration_.visited(), 3);
}

TEST_F(WorkerTest, AReadRefusedByTheCoordinatorFailsTheStepWithTheType) {
  StartWorker();
  gateway_->RejectTask(10);
  ASSERT_TRUE(gateway_->Assign(StepTask(10, "copy")));
  // SubmitResults is refused too, so the worker drops the outcome; the read
  // says why.
  ASSERT_TRUE(FakeWorkerGateway::WaitFor([&] {
    std::vector<FakeWorkerGateway::Submission> submissions =
        gateway_->SubmissionsOf(10);
    return !submissions.empty() && submissions[0].ended;
  }));
  ASSERT_EQ(gateway_->reads().size(), 1u);
  // The worker goes on with the next task.
  ASSERT_TRUE(gateway_->Assign(StepTask(11, "generate", {{"count", "3"}})));
  EXPECT_EQ(Completed(11).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
}

TEST_F(WorkerTest, FailedStepKeepsWhatItSentAndReportsTheMessage) {
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(12, "fail")));
  FakeWorkerGateway::Submission submission = Completed(12);
  EXPECT_EQ(submission.outcome().status(), v1::TASK_OUTCOME_STATUS_FAILED);
  EXPECT_EQ(submission.outcome().error(),
            "provider answered 503 for /projects");
  std::vector<v1::ResultBatch> batches = submission.batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].entities_size(), 1);
}

TEST_F(WorkerTest, PartialTypesAreReported) {
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(13, "partial")));
  const v1::TaskOutcome outcome = Completed(13).outcome();
  EXPECT_EQ(outcome.status(), v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  // One entry per type or scope, the first reason kept, sorted.
  ASSERT_EQ(outcome.incomplete_size(), 3);
  EXPECT_EQ(outcome.incomplete(0).type(), "");
  EXPECT_EQ(outcome.incomplete(0).scope(), ThingKey(1));
  EXPECT_EQ(outcome.incomplete(0).reason(), "HTTP 403 on GET /things/{id}");
  EXPECT_EQ(outcome.incomplete(1).type(), "test_other");
  EXPECT_EQ(outcome.incomplete(1).reason(), "HTTP 403 on GET /others");
  EXPECT_EQ(outcome.incomplete(2).type(), "test_secret");
  EXPECT_EQ(outcome.incomplete(2).reason(), "HTTP 403 on GET /secrets");
}

TEST_F(WorkerTest, SecretsNeverLeaveInOutcomesEventsOrReasons) {
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(15, "echo-secret")));
  const auto submission = Completed(15);
  const v1::TaskOutcome& outcome = submission.outcome();
  EXPECT_EQ(outcome.status(), v1::TASK_OUTCOME_STATUS_FAILED);
  EXPECT_THAT(outcome.error(), HasSubstr("***"));
  ASSERT_EQ(outcome.incomplete_size(), 1);
  EXPECT_EQ(outcome.incomplete(0).reason(), "HTTP 403 on ***");
  std::string everything = outcome.DebugString();
  for (const v1::ResultBatch& batch : submission.batches()) {
    everything += batch.DebugString();
  }
  EXPECT_THAT(everything, HasSubstr("warn_echo"));
  for (const std::string& form :
       {std::string("secret-token"), std::string("SECRET-TOKEN"),
        absl::Base64Escape("secret-token")}) {
    EXPECT_THAT(everything, Not(HasSubstr(form))) << form;
  }
}

TEST_F(WorkerTest, ScopesTravelWithTheirObjects) {
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(13, "partial")));
  const std::vector<v1::ResultBatch> batches = Completed(13).batches();
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].entities_size(), 1);
  ASSERT_EQ(batches[0].entity_scopes_size(), 1);
  EXPECT_EQ(batches[0].entity_scopes(0), ThingKey(1));
}

TEST_F(WorkerTest, AThrowingStepFailsAndTheWorkerGoesOn) {
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(14, "throw")));
  const v1::TaskOutcome outcome = Completed(14).outcome();
  EXPECT_EQ(outcome.status(), v1::TASK_OUTCOME_STATUS_FAILED);
  EXPECT_EQ(outcome.error(), "step 'throw' of test threw: boom");
  ASSERT_TRUE(gateway_->Assign(StepTask(15, "generate", {{"count", "1"}})));
  EXPECT_EQ(Completed(15).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
}

TEST_F(WorkerTest, AStaleAttemptIsDroppedAndTheWorkerGoesOn) {
  StartWorker();
  gateway_->RejectTask(16);
  ASSERT_TRUE(gateway_->Assign(StepTask(16, "generate", {{"count", "5"}})));
  ASSERT_TRUE(gateway_->Assign(StepTask(17, "generate", {{"count", "5"}})));
  EXPECT_EQ(Completed(17).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  ASSERT_TRUE(FakeWorkerGateway::WaitFor([&] {
    std::vector<FakeWorkerGateway::Submission> submissions =
        gateway_->SubmissionsOf(16);
    return !submissions.empty() && submissions[0].ended;
  }));
  EXPECT_FALSE(gateway_->CompletedSubmission(16).has_value());
}

TEST_F(WorkerTest, HeartbeatsListRunningAttemptsAndCancelStopsThem) {
  StartWorker();
  v1::TaskAssignment block = StepTask(20, "block", {}, 4);
  block.set_lease_ms(300);  // heartbeats every 100 ms
  ASSERT_TRUE(gateway_->Assign(block));
  ASSERT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return integration_.running() == 1; }));
  ASSERT_TRUE(FakeWorkerGateway::WaitFor([&] {
    std::vector<v1::Heartbeat> heartbeats = gateway_->heartbeats();
    return !heartbeats.empty() && Lists(heartbeats.back(), 20);
  }));
  const v1::Heartbeat listing = gateway_->heartbeats().back();
  ASSERT_EQ(listing.running_size(), 1);
  EXPECT_EQ(listing.running(0).attempt(), 4);

  ASSERT_TRUE(gateway_->Cancel(Attempt(20, 4)));
  ASSERT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return integration_.ended() == 1; }));
  ASSERT_EQ(integration_.add_after_cancel().size(), 1u);
  EXPECT_EQ(integration_.add_after_cancel()[0].code(),
            absl::StatusCode::kCancelled);
  // Heartbeats sent from now on no longer list it.
  const size_t seen = gateway_->heartbeats().size();
  ASSERT_TRUE(FakeWorkerGateway::WaitFor(
      [&] { return gateway_->heartbeats().size() >= seen + 2; }));
  EXPECT_FALSE(Lists(gateway_->heartbeats().back(), 20));
  EXPECT_FALSE(gateway_->CompletedSubmission(20).has_value());
}

TEST_F(WorkerTest, A429IsReportedToTheCoordinator) {
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(73, "rate-limited", {}, 2)));
  EXPECT_EQ(Completed(73).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  ASSERT_TRUE(FakeWorkerGateway::WaitFor(
      [&] { return !gateway_->rate_limited().empty(); }));
  // Two 429s in a row: one report, or two if the first was already sent.
  std::vector<v1::TaskAttempt> reports = gateway_->rate_limited();
  EXPECT_LE(reports.size(), 2u);
  for (const v1::TaskAttempt& attempt : reports) {
    EXPECT_EQ(attempt.task_id(), 73);
    EXPECT_EQ(attempt.attempt(), 2);
  }
}

TEST_F(WorkerTest, ProviderRemainingIsReportedAndTheInFlightShareApplies) {
  StartWorker();
  v1::TaskAssignment task = StepTask(74, "rate-limited", {}, 1);
  task.set_max_requests_in_flight(7);
  ASSERT_TRUE(gateway_->Assign(task));
  FakeWorkerGateway::Submission done = Completed(74);
  EXPECT_EQ(done.outcome().status(), v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  bool saw_share = false;
  for (const v1::ResultBatch& batch : done.batches()) {
    for (const v1::Event& event : batch.events()) {
      if (event.name() == "in_flight") saw_share = event.description() == "7";
    }
  }
  EXPECT_TRUE(saw_share) << "the step saw the assignment's share";
  ASSERT_TRUE(FakeWorkerGateway::WaitFor([&] {
    const auto reports = gateway_->provider_reports();
    return !reports.empty() && reports.back().remaining() == 42;
  }));
  for (const v1::ProviderReport& report : gateway_->provider_reports()) {
    EXPECT_EQ(report.attempt().task_id(), 74);
    EXPECT_NE(report.remaining(), 3999) << "within the report interval";
  }
}

TEST_F(WorkerTest, NeverRunsMoreThanCapacityAtOnce) {
  options_.capacity = 2;
  StartWorker();
  for (int64_t id = 30; id < 35; ++id)
    ASSERT_TRUE(gateway_->Assign(StepTask(id, "hold")));
  ASSERT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return integration_.running() == 2; }));
  // Queued attempts are held too, so their leases are renewed.
  ASSERT_TRUE(FakeWorkerGateway::WaitFor([&] {
    std::vector<v1::Heartbeat> heartbeats = gateway_->heartbeats();
    return !heartbeats.empty() && heartbeats.back().running_size() == 5;
  }));
  EXPECT_EQ(integration_.running(), 2);
  integration_.Release();
  for (int64_t id = 30; id < 35; ++id) {
    EXPECT_EQ(Completed(id).outcome().status(),
              v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  }
  EXPECT_EQ(integration_.max_running(), 2);
  EXPECT_EQ(integration_.executed("hold"), 5);
}

TEST_F(WorkerTest, ReconnectsToARestartedCoordinatorAndAbandonsRunningTasks) {
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(40, "block")));
  ASSERT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return integration_.running() == 1; }));
  const int port = gateway_->port();
  gateway_->Stop();
  // The lost stream abandons the task: the coordinator will offer it again.
  ASSERT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return integration_.ended() == 1; }));
  EXPECT_FALSE(gateway_->CompletedSubmission(40).has_value());

  gateway_ = FakeWorkerGateway::Start(port);
  ASSERT_NE(gateway_, nullptr);
  ASSERT_TRUE(FakeWorkerGateway::WaitFor(
      [&] { return gateway_->hellos().size() == 1; }));
  EXPECT_EQ(gateway_->hellos()[0].worker_id(), "worker-test-1");
  ASSERT_TRUE(gateway_->Assign(StepTask(41, "generate", {{"count", "20"}})));
  EXPECT_EQ(Completed(41).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  EXPECT_FALSE(gateway_->CompletedSubmission(40).has_value());
}

TEST_F(WorkerTest, WaitsForACoordinatorThatIsNotUpYet) {
  // Find a free port, then leave it closed.
  int port;
  {
    std::unique_ptr<FakeWorkerGateway> probe = FakeWorkerGateway::Start();
    ASSERT_NE(probe, nullptr);
    port = probe->port();
  }
  StartWorkerAt(absl::StrCat("127.0.0.1:", port));
  // The worker has dialled and failed before the coordinator comes up.
  ASSERT_TRUE(FakeWorkerGateway::WaitFor([&] {
    return channel_->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE;
  }));
  EXPECT_FALSE(worker_->connected());
  gateway_ = FakeWorkerGateway::Start(port);
  ASSERT_NE(gateway_, nullptr);
  ASSERT_TRUE(FakeWorkerGateway::WaitFor(
      [&] { return gateway_->hellos().size() == 1; }));
  ASSERT_TRUE(gateway_->Assign(ValidateTask(42, "ok")));
  EXPECT_EQ(Completed(42).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
}

TEST_F(WorkerTest, DrainLetsRunningTasksFinishAndStartsNoNewOne) {
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(50, "hold")));
  ASSERT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return integration_.running() == 1; }));
  worker_->Shutdown();
  ASSERT_TRUE(FakeWorkerGateway::WaitFor(
      [&] { return gateway_->draining_count() == 1; }));
  // Offered after the worker said it drains: never started.
  // The worker reads it before its stream ends, whenever that is: the gateway
  // writes it before it sees the worker's end of the stream.
  ASSERT_TRUE(gateway_->Assign(StepTask(51, "generate", {{"count", "5"}})));
  EXPECT_FALSE(RunResult(absl::ZeroDuration()).has_value());  // still draining
  integration_.Release();

  std::optional<absl::Status> result = RunResult();
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << *result;
  EXPECT_EQ(Completed(50).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  EXPECT_EQ(integration_.executed("generate"), 0);
  EXPECT_TRUE(gateway_->SubmissionsOf(51).empty());
  EXPECT_EQ(gateway_->draining_count(), 1);
  // The worker closed its stream.
  EXPECT_TRUE(FakeWorkerGateway::WaitFor(
      [&] { return gateway_->ended_connections() == 1; }));
}

TEST_F(WorkerTest, ShutdownBeforeAnyConnectionReturnsAtOnce) {
  StartWorkerAt("127.0.0.1:1");  // nothing listens there
  worker_->Shutdown();
  std::optional<absl::Status> result = RunResult();
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << *result;
}

TEST_F(WorkerTest, ShutdownInterruptsAConnectionAttemptThatHangs) {
  // A port that accepts TCP connections (the kernel's backlog) but never speaks
  // HTTP/2, like a hung coordinator: the hello waits for gRPC's connect timeout
  // unless interrupted.
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(
      bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
      0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  StartWorkerAt(absl::StrCat("127.0.0.1:", ntohs(address.sin_port)));
  // The worker's TCP connection is in the listener's backlog: its hello is
  // waiting for an HTTP/2 handshake that never comes.
  pollfd pending = {listener, POLLIN, 0};
  ASSERT_EQ(poll(&pending, 1, /*timeout_ms=*/10'000), 1);
  const absl::Time start = absl::Now();
  worker_->Shutdown();
  std::optional<absl::Status> result = RunResult(absl::Seconds(5));
  close(listener);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << *result;
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST(WorkerSetupTest, RejectsDuplicateIntegrationsAndBadCapacity) {
  TestIntegration first;
  TestIntegration second;
  WorkerOptions options;
  options.worker_id = "w";
  Worker duplicate(options, CreateCoordinatorChannel("127.0.0.1:1"),
                   {&first, &second});
  EXPECT_EQ(duplicate.Run().code(), absl::StatusCode::kInvalidArgument);

  options.capacity = 0;
  Worker no_capacity(options, CreateCoordinatorChannel("127.0.0.1:1"),
                     {&first});
  EXPECT_EQ(no_capacity.Run().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphmill::worker::testing
