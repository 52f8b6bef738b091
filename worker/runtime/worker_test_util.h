// What the worker's tests share (worker_test.cc, worker_timing_test.cc): an
// integration whose steps do what the tests need, assignments, and a fixture
// running a Worker against a FakeWorkerGateway. For tests only.
#ifndef GRAPHMILL_WORKER_RUNTIME_WORKER_TEST_UTIL_H_
#define GRAPHMILL_WORKER_RUNTIME_WORKER_TEST_UTIL_H_

#include <algorithm>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "graphmill/v1/worker.pb.h"
#include "gtest/gtest.h"
#include "worker/runtime/channel.h"
#include "worker/runtime/fake_worker_gateway.h"
#include "worker/runtime/integration.h"
#include "worker/runtime/worker.h"

namespace graphmill::worker::testing {

namespace v1 = ::graphmill::v1;

// "test-thing-000042".
std::string ThingKey(int i);
v1::Entity MakeEntity(const std::string& key, const std::string& type);
// The config value `name` as an int (0 when absent or not a number).
int ConfigInt(const InstanceConfig& config, const std::string& name);

// An integration whose steps do what the tests need, and record what happened.
class TestIntegration : public Integration {
 public:
  // `clock` times the "paced" step (the worker's clock in tests that fake it).
  explicit TestIntegration(std::string name = "test",
                           Clock* clock = Clock::Real())
      : clock_(clock) {
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
      context.OnProviderRemaining(4000);
      context.OnProviderRemaining(3999);  // within the interval: not sent
      context.OnProviderRemaining(42);    // nearly empty: always sent
      context.AddEvent(v1::EVENT_LEVEL_INFO, "in_flight",
                       absl::StrCat(context.max_requests_in_flight()));
      return absl::OkStatus();
    }
    return absl::InternalError("unreachable");
  }

  // The clock the "paced" step measures with.
  void set_clock(Clock* clock) {
    absl::MutexLock lock(&mu_);
    clock_ = clock;
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
    WaitUntil([&] { return context.cancelled(); });
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
    Clock* clock;
    {
      absl::MutexLock lock(&mu_);
      clock = clock_;
    }
    const absl::Time start = clock->Now();
    for (int i = 0; i < ConfigInt(context.config(), "count"); ++i) {
      context.AwaitRequestSlot();
    }
    absl::MutexLock lock(&mu_);
    paced_time_ = clock->Now() - start;
    --running_;
    ++ended_;
    return absl::OkStatus();
  }

  void WaitForRelease(StepContext& context) {
    WaitUntil([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return released_ || context.cancelled();
    });
  }

  // Waits until `done()` (evaluated under mu_) holds. A cancellation does not
  // signal mu_ (a handler can only poll StepContext::cancelled()), so the wait
  // re-evaluates every few milliseconds.
  void WaitUntil(const std::function<bool()>& done) {
    absl::MutexLock lock(&mu_);
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
  Clock* clock_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> executed_ ABSL_GUARDED_BY(mu_);
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  int max_running_ ABSL_GUARDED_BY(mu_) = 0;
  int ended_ ABSL_GUARDED_BY(mu_) = 0;
  int visited_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration paced_time_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Status> add_after_cancel_ ABSL_GUARDED_BY(mu_);
};

v1::TaskAttempt Attempt(int64_t task_id, int32_t attempt = 1);
// A step task of integration "test" 1.0.0 (config apiToken=secret-token plus
// `config`), lease 30 s.
v1::TaskAssignment StepTask(int64_t task_id, const std::string& step_id,
                            std::map<std::string, std::string> config = {},
                            int32_t attempt = 1);
// A validation task; `mode` picks the outcome ("ok", "unauthenticated", other).
v1::TaskAssignment ValidateTask(int64_t task_id, const std::string& mode);
// Whether `heartbeat` lists an attempt of `task_id`.
bool Lists(const v1::Heartbeat& heartbeat, int64_t task_id);

// A worker against a FakeWorkerGateway, with fast heartbeats and reconnects on
// the real clock; tests of timing set options_.clock (and the integrations'
// clock) to a fake one.
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

  ~WorkerTest() override { StopWorker(); }

  // Drains and destroys the worker, if any. Fixtures that own what the worker
  // uses (a clock) call it from their own destructor, before that goes.
  void StopWorker() {
    integration_.Release();
    if (worker_ != nullptr) {
      worker_->Shutdown();
      if (run_.valid()) run_.wait();
      worker_.reset();
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
    channel_ = CreateCoordinatorChannel(address, channel_options_);
    worker_ = std::make_unique<Worker>(options_, channel_, integrations_);
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
  // The worker's channel, whose state tells whether it has dialled.
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Worker> worker_;
  std::future<absl::Status> run_;
};

}  // namespace graphmill::worker::testing

#endif  // GRAPHMILL_WORKER_RUNTIME_WORKER_TEST_UTIL_H_
