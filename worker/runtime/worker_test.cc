// Tests of worker/runtime/worker.h against a real in-process fake
// WorkerGateway.
#include "worker/runtime/worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker/runtime/channel.h"
#include "worker/runtime/fake_worker_gateway.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker {
namespace {

namespace v1 = ::graphmill::v1;

using ::testing::HasSubstr;
using ::testing::Not;

std::string ThingKey(int i) { return absl::StrFormat("test-thing-%06d", i); }

v1::Entity MakeEntity(const std::string& key, const std::string& type) {
  v1::Entity entity;
  entity.set_key(key);
  entity.set_type(type);
  entity.add_classes("Record");
  (*entity.mutable_properties())["name"].set_string_value(key);
  return entity;
}

int ConfigInt(const InstanceConfig& config, const std::string& name) {
  auto it = config.find(name);
  int value = 0;
  if (it != config.end() && !absl::SimpleAtoi(it->second, &value)) value = 0;
  return value;
}

// An integration whose steps do what the tests need, and record what happened.
class TestIntegration : public Integration {
 public:
  explicit TestIntegration(std::string name = "test") {
    definition_.set_name(name);
    definition_.set_version("1.0.0");
    definition_.set_display_name("Test");
    v1::ConfigField* field = definition_.add_config_fields();
    field->set_name("apiToken");
    field->set_type(v1::CONFIG_FIELD_TYPE_STRING);
    field->set_secret(true);
    for (const char* id :
         {"generate", "copy", "stop-early", "fail", "partial", "block", "hold",
          "throw", "paced", "rate-limited", "echo-secret"}) {
      v1::StepDefinition* step = definition_.add_steps();
      step->set_id(id);
      step->set_name(absl::StrCat("Step ", id));
    }
  }

  const v1::IntegrationDefinition& definition() const override {
    return definition_;
  }

  absl::Status ValidateInvocation(const InstanceConfig& config) override {
    const std::string mode = config.count("mode") ? config.at("mode") : "";
    if (mode == "ok") return absl::OkStatus();
    if (mode == "unauthenticated") {
      return absl::UnauthenticatedError("config field 'apiToken' was rejected");
    }
    return absl::UnavailableError("provider unreachable");
  }

  absl::Status ExecuteStep(absl::string_view step_id,
                           StepContext& context) override {
    {
      absl::MutexLock lock(&mu_);
      executed_.push_back(std::string(step_id));
    }
    if (step_id == "generate") return Generate(context);
    if (step_id == "copy") return Copy(context);
    if (step_id == "stop-early") return StopEarly(context);
    if (step_id == "fail") {
      absl::Status status =
          context.AddEntity(MakeEntity(ThingKey(1), "test_thing"), "");
      if (!status.ok()) return status;
      return absl::UnavailableError("provider answered 503 for /projects");
    }
    if (step_id == "partial") {
      context.MarkPartial("test_secret", "HTTP 403 on GET /secrets");
      context.MarkPartial("test_secret", "HTTP 404 on GET /secrets");
      context.MarkPartial("test_other", "HTTP 403 on GET /others");
      context.MarkScopeIncomplete(ThingKey(1), "HTTP 403 on GET /things/{id}");
      return context.AddEntity(MakeEntity(ThingKey(2), "test_thing"),
                               ThingKey(1));
    }
    if (step_id == "block") return Block(context);
    if (step_id == "echo-secret") {
      // A provider that echoes the token, in the forms redaction must catch.
      const std::string token = context.config().at("apiToken");
      context.AddEvent(v1::EVENT_LEVEL_WARN, "warn_echo",
                       absl::StrCat("body {\"token\": \"",
                                    absl::Base64Escape(token), "\"}"));
      context.MarkScopeIncomplete(ThingKey(1),
                                  absl::StrCat("HTTP 403 on ", token));
      return absl::InvalidArgumentError(
          absl::StrCat("item {\"id\": 5, \"token\": \"",
                       absl::AsciiStrToUpper(token), "\"} has no 'name'"));
    }
    if (step_id == "hold") return Hold(context);
    if (step_id == "throw") throw std::runtime_error("boom");
    if (step_id == "paced") return Paced(context);
    if (step_id == "rate-limited") {
      context.OnProviderResponse(200);
      context.OnProviderResponse(429);
      context.OnProviderResponse(429);
      return absl::OkStatus();
    }
    return absl::InternalError("unreachable");
  }

  // Lets every "hold" step return.
  void Release() {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }

  int executed(const std::string& step_id) const {
    absl::MutexLock lock(&mu_);
    return std::count(executed_.begin(), executed_.end(), step_id);
  }
  int running() const {
    absl::MutexLock lock(&mu_);
    return running_;
  }
  int max_running() const {
    absl::MutexLock lock(&mu_);
    return max_running_;
  }
  int ended() const {
    absl::MutexLock lock(&mu_);
    return ended_;
  }
  std::vector<absl::Status> add_after_cancel() const {
    absl::MutexLock lock(&mu_);
    return add_after_cancel_;
  }
  int visited() const {
    absl::MutexLock lock(&mu_);
    return visited_;
  }
  // How long the last "paced" step took for its requests.
  absl::Duration paced_time() const {
    absl::MutexLock lock(&mu_);
    return paced_time_;
  }

 private:
  absl::Status Generate(StepContext& context) {
    const int count = ConfigInt(context.config(), "count");
    const int raw_bytes = ConfigInt(context.config(), "raw_bytes");
    for (int i = 0; i < count; ++i) {
      v1::Entity entity = MakeEntity(ThingKey(i), "test_thing");
      if (raw_bytes > 0) {
        v1::RawData* raw = entity.add_raw_data();
        raw->set_name("default");
        raw->set_json(std::string(raw_bytes, 'x'));
      }
      absl::Status status = context.AddEntity(std::move(entity), "");
      if (!status.ok()) return status;
    }
    for (int i = 0; i + 1 < count; i += 100) {
      v1::Relationship relationship;
      relationship.set_key(absl::StrCat(ThingKey(i), "|has|", ThingKey(i + 1)));
      relationship.set_type("test_thing_has_thing");
      relationship.set_class_name("HAS");
      relationship.set_from_entity_key(ThingKey(i));
      relationship.set_to_entity_key(ThingKey(i + 1));
      absl::Status status =
          context.AddRelationship(std::move(relationship), "");
      if (!status.ok()) return status;
    }
    context.AddEvent(v1::EVENT_LEVEL_WARN, "warn_test",
                     absl::StrCat("generated ", count));
    return absl::OkStatus();
  }

  absl::Status Copy(StepContext& context) {
    return context.ForEachEntity("source_thing", [&](const v1::Entity& source) {
      absl::Status status = context.AddEntity(
          MakeEntity(source.key() + "-copy", "copy_thing"), "");
      if (!status.ok()) return status;
      v1::Relationship relationship;
      relationship.set_key(source.key() + "|has|" + source.key() + "-copy");
      relationship.set_type("source_thing_has_copy");
      relationship.set_class_name("HAS");
      relationship.set_from_entity_key(source.key());
      relationship.set_to_entity_key(source.key() + "-copy");
      return context.AddRelationship(std::move(relationship), "");
    });
  }

  absl::Status StopEarly(StepContext& context) {
    int seen = 0;
    absl::Status status =
        context.ForEachEntity("source_thing", [&](const v1::Entity&) {
          if (++seen == 3) return absl::AbortedError("enough after 3");
          return absl::OkStatus();
        });
    absl::MutexLock lock(&mu_);
    visited_ = seen;
    return status;
  }

  absl::Status Block(StepContext& context) {
    Enter();
    while (!context.cancelled()) absl::SleepFor(absl::Milliseconds(2));
    absl::Status status =
        context.AddEntity(MakeEntity(ThingKey(1), "test_thing"), "");
    absl::MutexLock lock(&mu_);
    add_after_cancel_.push_back(status);
    --running_;
    ++ended_;
    return status;
  }

  absl::Status Hold(StepContext& context) {
    Enter();
    WaitForRelease(context);
    absl::Status status =
        context.AddEntity(MakeEntity(ThingKey(1), "test_thing"), "");
    absl::MutexLock lock(&mu_);
    --running_;
    ++ended_;
    return status;
  }

  // After Release(), makes config "count" requests' worth of AwaitRequestSlot.
  absl::Status Paced(StepContext& context) {
    Enter();
    WaitForRelease(context);
    const absl::Time start = absl::Now();
    for (int i = 0; i < ConfigInt(context.config(), "count"); ++i) {
      context.AwaitRequestSlot();
    }
    absl::MutexLock lock(&mu_);
    paced_time_ = absl::Now() - start;
    --running_;
    ++ended_;
    return absl::OkStatus();
  }

  void WaitForRelease(StepContext& context) {
    absl::MutexLock lock(&mu_);
    const auto done = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return released_ || context.cancelled();
    };
    // The timeout lets a cancellation (which does not signal mu_) be noticed.
    while (
        !mu_.AwaitWithTimeout(absl::Condition(&done), absl::Milliseconds(5))) {
    }
  }

  void Enter() {
    absl::MutexLock lock(&mu_);
    ++running_;
    max_running_ = std::max(max_running_, running_);
  }

  v1::IntegrationDefinition definition_;
  mutable absl::Mutex mu_;
  std::vector<std::string> executed_ ABSL_GUARDED_BY(mu_);
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  int max_running_ ABSL_GUARDED_BY(mu_) = 0;
  int ended_ ABSL_GUARDED_BY(mu_) = 0;
  int visited_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration paced_time_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Status> add_after_cancel_ ABSL_GUARDED_BY(mu_);
};

v1::TaskAttempt Attempt(int64_t task_id, int32_t attempt = 1) {
  v1::TaskAttempt result;
  result.set_task_id(task_id);
  result.set_attempt(attempt);
  return result;
}

v1::TaskAssignment StepTask(int64_t task_id, const std::string& step_id,
                            std::map<std::string, std::string> config = {},
                            int32_t attempt = 1) {
  v1::TaskAssignment assignment;
  *assignment.mutable_attempt() = Attempt(task_id, attempt);
  assignment.set_kind(v1::TASK_KIND_STEP);
  assignment.set_run_id(77);
  assignment.set_instance_id("test-instance");
  assignment.set_integration("test");
  assignment.set_integration_version("1.0.0");
  assignment.set_step_id(step_id);
  config["apiToken"] = "secret-token";
  for (const auto& [name, value] : config)
    (*assignment.mutable_config())[name] = value;
  assignment.set_lease_ms(30'000);
  return assignment;
}

v1::TaskAssignment ValidateTask(int64_t task_id, const std::string& mode) {
  v1::TaskAssignment assignment = StepTask(task_id, "", {{"mode", mode}});
  assignment.set_kind(v1::TASK_KIND_VALIDATE_INVOCATION);
  return assignment;
}

bool Lists(const v1::Heartbeat& heartbeat, int64_t task_id) {
  for (const v1::TaskAttempt& attempt : heartbeat.running()) {
    if (attempt.task_id() == task_id) return true;
  }
  return false;
}

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest() {
    options_.worker_id = "worker-test-1";
    options_.capacity = 4;
    options_.idle_heartbeat_interval = absl::Milliseconds(50);
    options_.min_heartbeat_interval = absl::Milliseconds(10);
    options_.initial_reconnect_backoff = absl::Milliseconds(20);
    options_.max_reconnect_backoff = absl::Milliseconds(200);
    options_.drain_grace = absl::Seconds(10);
    channel_options_.initial_reconnect_backoff = absl::Milliseconds(20);
    channel_options_.max_reconnect_backoff = absl::Milliseconds(200);
  }

  ~WorkerTest() override {
    integration_.Release();
    if (worker_ != nullptr) {
      worker_->Shutdown();
      if (run_.valid()) run_.wait();
    }
  }

  // Starts the gateway (unless started) and a worker connected to it; waits for
  // its hello.
  void StartWorker() {
    if (gateway_ == nullptr) gateway_ = FakeWorkerGateway::Start();
    ASSERT_NE(gateway_, nullptr);
    StartWorkerAt(gateway_->address());
    ASSERT_TRUE(FakeWorkerGateway::WaitFor(
        [&] { return !gateway_->hellos().empty(); }));
  }

  void StartWorkerAt(const std::string& address) {
    options_.coordinator = address;
    worker_ = std::make_unique<Worker>(
        options_, CreateCoordinatorChannel(address, channel_options_),
        integrations_);
    run_ = std::async(std::launch::async, [this] { return worker_->Run(); });
  }

  // Waits for the outcome of `task_id` and returns its submission.
  FakeWorkerGateway::Submission Completed(int64_t task_id) {
    std::optional<FakeWorkerGateway::Submission> submission;
    FakeWorkerGateway::WaitFor([&] {
      submission = gateway_->CompletedSubmission(task_id);
      return submission.has_value();
    });
    EXPECT_TRUE(submission.has_value()) << "no outcome for task " << task_id;
    return submission.value_or(FakeWorkerGateway::Submission{});
  }

  // Waits for Run() to return, up to `timeout`.
  std::optional<absl::Status> RunResult(
      absl::Duration timeout = absl::Seconds(10)) {
    if (run_.wait_for(absl::ToChronoSeconds(timeout)) !=
        std::future_status::ready) {
      return std::nullopt;
    }
    return run_.get();
  }

  WorkerOptions options_;
  CoordinatorChannelOptions channel_options_;
  TestIntegration integration_;
  TestIntegration other_{"other"};
  std::vector<Integration*> integrations_{&integration_, &other_};
  std::unique_ptr<FakeWorkerGateway> gateway_;
  std::unique_ptr<Worker> worker_;
  std::future<absl::Status> run_;
};

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

TEST_F(WorkerTest, RequestsArePacedAtTheAssignedRate) {
  StartWorker();
  integration_.Release();
  v1::TaskAssignment paced = StepTask(70, "paced", {{"count", "11"}});
  paced.set_rate_limit_per_second(50);  // 20 ms apart
  ASSERT_TRUE(gateway_->Assign(paced));
  EXPECT_EQ(Completed(70).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  EXPECT_GE(integration_.paced_time(), absl::Milliseconds(195));
  EXPECT_LT(integration_.paced_time(), absl::Seconds(3));
}

TEST_F(WorkerTest, ARateUpdateChangesARunningTasksPace) {
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
  EXPECT_EQ(Completed(71).outcome().status(),
            v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  EXPECT_LT(integration_.paced_time(), absl::Seconds(1));
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
  absl::SleepFor(absl::Milliseconds(300));  // a few failed attempts
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
  ASSERT_TRUE(gateway_->Assign(StepTask(51, "generate", {{"count", "5"}})));
  absl::SleepFor(absl::Milliseconds(100));
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

TEST_F(WorkerTest, DrainAbandonsTasksWhenTheGraceRunsOut) {
  options_.drain_grace = absl::Milliseconds(200);
  StartWorker();
  ASSERT_TRUE(gateway_->Assign(StepTask(60, "block")));
  ASSERT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return integration_.running() == 1; }));
  const absl::Time start = absl::Now();
  worker_->Shutdown();
  std::optional<absl::Status> result = RunResult();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kDeadlineExceeded) << *result;
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(integration_.ended(), 1);
  EXPECT_FALSE(gateway_->CompletedSubmission(60).has_value());
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
  absl::SleepFor(absl::Milliseconds(200));
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
}  // namespace graphmill::worker
