// The engine with its workers (the dispatcher and rate budget layers): leases
// lapsing and renewed on a fake clock, the tick, 429 back-off and recovery,
// definitions a worker may not change, tasks no worker can run, and a
// stalled stream.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/synchronization/notification.h"
#include "coordinator/engine.h"
#include "coordinator/testing/engine_fixture.h"

namespace graphmill::coordinator {
namespace {

using ::testing::HasSubstr;
using testing::MakeEntity;
using testing::RecordingWorker;
using testing::TestDefinition;

class EngineWorkerTest : public testing::EngineFixture {};

TEST_F(EngineWorkerTest, LapsedLeaseIsOfferedAgainAndTheOldAttemptIsFenced) {
  StartAndValidate();
  v1::TaskAssignment first = worker_.NextAssignment();  // never heartbeated
  clock_.Advance(absl::Seconds(30));
  engine_->Pump();
  EXPECT_EQ(store_->GetTask(first.attempt().task_id())->attempt,
            first.attempt().attempt())
      << "lapsed only after the lease";
  clock_.Advance(absl::Milliseconds(1));
  engine_->Pump();
  v1::TaskAssignment second = worker_.NextAssignment();
  EXPECT_EQ(second.attempt().task_id(), first.attempt().task_id());
  EXPECT_EQ(second.attempt().attempt(), first.attempt().attempt() + 1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_parent:0001", "thing_parent");
  EXPECT_EQ(engine_->AcceptBatch(first.attempt(), batch).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(engine_->AcceptBatch(second.attempt(), batch).ok());
}

TEST_F(EngineWorkerTest, TheTickPumpsWhenTheClockPassesIt) {
  StartAndValidate();
  v1::TaskAssignment first = worker_.NextAssignment();
  // No call into the engine: its own tick notices the lapsed lease.
  clock_.Advance(absl::Seconds(31));
  v1::TaskAssignment second = worker_.NextAssignment();
  EXPECT_EQ(second.attempt().task_id(), first.attempt().task_id());
  EXPECT_EQ(second.attempt().attempt(), first.attempt().attempt() + 1);
}

TEST_F(EngineWorkerTest, HeartbeatsKeepTheLease) {
  StartAndValidate();
  v1::TaskAssignment task = worker_.NextAssignment();
  for (int i = 0; i < 10; ++i) {
    v1::Heartbeat heartbeat;
    *heartbeat.add_running() = task.attempt();
    engine_->Heartbeat("w1", heartbeat);
    clock_.Advance(absl::Seconds(20));
    engine_->Pump();
  }
  // 200 s, over six leases, and still the first attempt.
  EXPECT_EQ(store_->GetTask(task.attempt().task_id())->attempt,
            task.attempt().attempt());
  Finish(task, {});
}

TEST_F(EngineWorkerTest, ByDefaultATaskHasNoRateBoundButRequestsInFlight) {
  Init(EngineOptions{});
  StartAndValidate();
  const v1::TaskAssignment task = worker_.NextAssignment();
  EXPECT_DOUBLE_EQ(task.rate_limit_per_second(), 0);
  EXPECT_EQ(task.max_requests_in_flight(), 32)
      << "the coordinator's default: the test integration states none";
  Finish(task, {});
}

TEST_F(EngineWorkerTest, A429HalvesTheCredentialsBudgetWhichThenRecovers) {
  EngineOptions options;
  options.default_rate_per_second = 40;
  options.rate_recovery_interval = absl::Seconds(5);
  Init(options);
  StartAndValidate();
  v1::TaskAssignment task = worker_.NextAssignment();
  EXPECT_DOUBLE_EQ(task.rate_limit_per_second(), 40);
  EXPECT_EQ(task.max_requests_in_flight(), 32);
  engine_->RateLimited(session_, task.attempt());
  auto latest_rate = [&](double want) {
    double latest = 0;
    for (const v1::CoordinatorMessage& m :
         worker_.WaitFor([&](const v1::CoordinatorMessage& m) {
           return m.has_rate_update() &&
                  m.rate_update().rate_limit_per_second() == want;
         })) {
      if (m.has_rate_update()) latest = m.rate_update().rate_limit_per_second();
    }
    return latest;
  };
  EXPECT_DOUBLE_EQ(latest_rate(20), 20);
  int in_flight = 0;
  for (const v1::CoordinatorMessage& m : worker_.messages()) {
    if (m.has_rate_update())
      in_flight = m.rate_update().max_requests_in_flight();
  }
  EXPECT_EQ(in_flight, 16) << "32 halved";
  // No recovery before the interval.
  clock_.Advance(absl::Seconds(4));
  engine_->Pump();
  clock_.Advance(absl::Seconds(1));
  engine_->Pump();
  EXPECT_DOUBLE_EQ(latest_rate(25), 25);
  for (const v1::CoordinatorMessage& m : worker_.messages()) {
    if (m.has_rate_update()) {
      EXPECT_THAT(m.rate_update().rate_limit_per_second(),
                  ::testing::AnyOf(20.0, 25.0))
          << "nothing before the recovery interval";
    }
  }
}

TEST_F(EngineWorkerTest, AWorkerCannotRedefineARegisteredVersion) {
  // Same name and version, apiKey no longer secret: new instances would store
  // the key in clear and read it back.
  v1::WorkerHello hello;
  hello.set_worker_id("rogue");
  hello.set_capacity(1);
  v1::IntegrationDefinition redefined = TestDefinition();
  redefined.mutable_config_fields(0)->set_secret(false);
  *hello.add_integrations() = redefined;
  RecordingWorker rogue;
  absl::StatusOr<int64_t> refused = engine_->ConnectWorker(hello, rogue.Send());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("already registered with a different"));
  EXPECT_TRUE(store_->GetIntegration("test")->config_fields(0).secret());
  // Nor with a new version.
  redefined.set_version("2");
  *hello.mutable_integrations(0) = redefined;
  EXPECT_EQ(engine_->ConnectWorker(hello, rogue.Send()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->GetIntegration("test")->config_fields(0).secret());
}

TEST_F(EngineWorkerTest, AHelloWithoutIdOrCapacityIsInvalid) {
  RecordingWorker other;
  v1::WorkerHello hello;
  hello.set_capacity(1);
  EXPECT_EQ(engine_->ConnectWorker(hello, other.Send()).status().code(),
            absl::StatusCode::kInvalidArgument);
  hello.set_worker_id("w2");
  hello.set_capacity(0);
  EXPECT_EQ(engine_->ConnectWorker(hello, other.Send()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineWorkerTest,
       ATaskWhoseSecretsDoNotOpenFailsItsRunInsteadOfWaiting) {
  // Sealed under another key, as after a restart with the wrong key file.
  InstanceSecrets other(*SecretBox::FromKeyMaterial(std::string(32, 'z')));
  v1::Instance instance = *store_->GetInstance("inst");
  (*instance.mutable_config())["apiKey"] = "engine-test-api-key-77";
  ASSERT_TRUE(other.Seal(TestDefinition(), &instance).ok());
  ASSERT_TRUE(store_->UpdateInstance(instance).ok());
  auto run = engine_->StartRun("inst");
  ASSERT_TRUE(run.ok()) << run.status();
  v1::Run ended = Ended(run->id());
  EXPECT_EQ(ended.status(), v1::RUN_STATUS_FAILED);
  EXPECT_THAT(ended.error(), HasSubstr("cannot decrypt"));
  for (const v1::CoordinatorMessage& m : worker_.messages()) {
    EXPECT_FALSE(m.has_assignment()) << "no worker gets a task it cannot run";
  }
}

TEST_F(EngineWorkerTest, ADisconnectedWorkersTasksAreOfferedAgain) {
  StartAndValidate();
  v1::TaskAssignment task = worker_.NextAssignment();
  RecordingWorker next;
  v1::WorkerHello hello;
  hello.set_worker_id("w2");
  hello.set_capacity(1);
  *hello.add_integrations() = TestDefinition();
  ASSERT_TRUE(engine_->ConnectWorker(hello, next.Send()).ok());
  engine_->DisconnectWorker(session_);
  v1::TaskAssignment again = next.NextAssignment();
  EXPECT_EQ(again.attempt().task_id(), task.attempt().task_id());
  EXPECT_EQ(again.attempt().attempt(), task.attempt().attempt() + 1);
}

TEST_F(EngineWorkerTest, AStalledWorkerStreamDelaysOnlyItself) {
  // A worker whose stream accepts nothing (its writes block until released),
  // with more free slots than the healthy one, so it is offered work first.
  absl::Notification writing;
  absl::Notification release;
  v1::WorkerHello hello;
  hello.set_worker_id("stalled");
  hello.set_capacity(8);
  *hello.add_integrations() = TestDefinition();
  auto stalled =
      engine_->ConnectWorker(hello, [&](const v1::CoordinatorMessage&) {
        if (!writing.HasBeenNotified()) writing.Notify();
        release.WaitForNotification();
        return false;
      });
  ASSERT_TRUE(stalled.ok()) << stalled.status();
  auto run = engine_->StartRun("inst");
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(writing.WaitForNotificationWithTimeout(absl::Seconds(10)))
      << "the stalled worker was never written to";
  // The engine stays responsive while that write is blocked: another
  // instance's run starts (it needs the engine's lock).
  v1::Instance other;
  other.set_id("other");
  other.set_integration("test");
  ASSERT_TRUE(store_->CreateInstance(other).ok());
  absl::Notification started;
  std::thread starter([&] {
    EXPECT_TRUE(engine_->StartRun("other").ok());
    started.Notify();
  });
  const bool responsive =
      started.WaitForNotificationWithTimeout(absl::Seconds(5));
  release.Notify();
  starter.join();
  EXPECT_TRUE(responsive) << "a blocked write held the engine";
  engine_->DisconnectWorker(*stalled);
}

}  // namespace
}  // namespace graphmill::coordinator
