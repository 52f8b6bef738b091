// A worker with its default reconnect settings finds a coordinator that comes
// back on the same port within about a second, however long it was away; and
// connected() (what /readyz reports) follows the Connect stream. These run on
// the real clock on purpose: what they check is the worker together with
// gRPC's own channel back-off and pollers, whose timers are real. (The
// worker's back-off alone is tested on a fake clock in worker_timing_test.)
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "worker/runtime/channel.h"
#include "worker/runtime/fake_worker_gateway.h"
#include "worker/runtime/integration.h"
#include "worker/runtime/worker.h"

namespace graphmill::worker {
namespace {

namespace v1 = ::graphmill::v1;

class NoopIntegration : public Integration {
 public:
  NoopIntegration() {
    definition_.set_name("noop");
    definition_.set_version("1.0.0");
    definition_.set_display_name("Noop");
    definition_.add_steps()->set_id("nothing");
  }
  const v1::IntegrationDefinition& definition() const override {
    return definition_;
  }
  absl::Status ValidateInvocation(const InstanceConfig&) override {
    return absl::OkStatus();
  }
  absl::Status ExecuteStep(absl::string_view, StepContext&) override {
    return absl::OkStatus();
  }

 private:
  v1::IntegrationDefinition definition_;
};

class ReconnectTest : public ::testing::Test {
 protected:
  ~ReconnectTest() override {
    if (worker_ != nullptr) {
      worker_->Shutdown();
      run_.wait();
    }
  }

  void StartWorker(const std::string& address) {
    WorkerOptions options;  // the reconnect defaults under test
    options.worker_id = "reconnect-test";
    options.coordinator = address;
    options.drain_grace = absl::Seconds(1);
    channel_ = CreateCoordinatorChannel(address);
    worker_ = std::make_unique<Worker>(options, channel_, integrations_);
    run_ = std::async(std::launch::async, [this] { return worker_->Run(); });
  }

  NoopIntegration integration_;
  std::vector<Integration*> integrations_{&integration_};
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Worker> worker_;
  std::future<absl::Status> run_;
};

TEST_F(ReconnectTest, FindsARestartedCoordinatorWithinAboutASecond) {
  std::unique_ptr<FakeWorkerGateway> gateway = FakeWorkerGateway::Start();
  ASSERT_NE(gateway, nullptr);
  const int port = gateway->port();
  StartWorker(gateway->address());
  ASSERT_TRUE(FakeWorkerGateway::WaitFor([&] { return worker_->connected(); }));
  ASSERT_TRUE(FakeWorkerGateway::WaitFor(
      [&] { return gateway->hellos().size() == 1; }));

  // Away long enough for any backoff to reach its maximum (the old 5 s ones
  // too), twice.
  for (const absl::Duration outage : {absl::Seconds(6), absl::Seconds(2)}) {
    gateway->Stop();
    ASSERT_TRUE(
        FakeWorkerGateway::WaitFor([&] { return !worker_->connected(); }));
    // Real time: gRPC's channel back-off (and its 5 s backup poller) grow
    // with it, which is what the worker must not be slowed down by.
    absl::SleepFor(outage);
    EXPECT_FALSE(worker_->connected());
    gateway = FakeWorkerGateway::Start(port);
    ASSERT_NE(gateway, nullptr) << "port " << port << " was taken meanwhile";
    const absl::Time back = absl::Now();
    ASSERT_TRUE(FakeWorkerGateway::WaitFor(
        [&] { return !gateway->hellos().empty(); }, absl::Seconds(20)));
    const absl::Duration took = absl::Now() - back;
    std::cout << "after " << outage << " away: hello " << took
              << " after the coordinator came back\n";
    // Expected within ~1 s (the worker's max backoff plus a dial); 3 s leaves
    // room for a loaded machine.
    EXPECT_LT(took, absl::Seconds(3));
    EXPECT_TRUE(
        FakeWorkerGateway::WaitFor([&] { return worker_->connected(); }));
  }
  EXPECT_FALSE(worker_->draining());
  worker_->Shutdown();
  EXPECT_TRUE(worker_->draining());
}

TEST_F(ReconnectTest, NotConnectedWhileTheCoordinatorIsNotUp) {
  int port;
  {
    std::unique_ptr<FakeWorkerGateway> probe = FakeWorkerGateway::Start();
    ASSERT_NE(probe, nullptr);
    port = probe->port();
  }
  StartWorker(absl::StrCat("127.0.0.1:", port));
  // Once a dial has failed, the worker has tried and is not connected.
  ASSERT_TRUE(FakeWorkerGateway::WaitFor([&] {
    return channel_->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE;
  }));
  EXPECT_FALSE(worker_->connected());
  std::unique_ptr<FakeWorkerGateway> gateway = FakeWorkerGateway::Start(port);
  ASSERT_NE(gateway, nullptr);
  EXPECT_TRUE(FakeWorkerGateway::WaitFor([&] { return worker_->connected(); }));
}

}  // namespace
}  // namespace graphmill::worker
