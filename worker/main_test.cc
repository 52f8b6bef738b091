// Runs the graphmill-worker binary against an in-process fake coordinator:
// flags, hello, and the drain on SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "worker/runtime/fake_worker_gateway.h"

namespace graphmill::worker {
namespace {

using ::graphmill::testing::Process;

// Starts the worker binary with `args`, its output in a log under
// TEST_TMPDIR (shown when a test fails).
std::unique_ptr<Process> StartWorker(const std::vector<std::string>& args) {
  absl::StatusOr<std::unique_ptr<Process>> process = Process::Start(
      ::graphmill::testing::Runfile("worker/graphmill-worker"), args,
      ::graphmill::testing::NewTempDir("worker") + "/worker.log");
  EXPECT_TRUE(process.ok()) << process.status();
  return process.ok() ? *std::move(process) : nullptr;
}

TEST(WorkerMainTest, SaysHelloThenDrainsAndExitsZeroOnSigterm) {
  std::unique_ptr<FakeWorkerGateway> gateway = FakeWorkerGateway::Start();
  ASSERT_NE(gateway, nullptr);
  std::unique_ptr<Process> worker = StartWorker(
      {absl::StrCat("--coordinator=", gateway->address()),
       "--worker_id=main-test", "--capacity=3", "--drain_grace_seconds=5"});
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(FakeWorkerGateway::WaitFor([&] {
    return !gateway->hellos().empty();
  })) << worker->Log();
  const v1::WorkerHello hello = gateway->hellos()[0];
  EXPECT_EQ(hello.worker_id(), "main-test");
  EXPECT_EQ(hello.capacity(), 3);
  ASSERT_GE(hello.integrations_size(), 1);  // whatever the registry lists
  for (const v1::IntegrationDefinition& definition : hello.integrations()) {
    EXPECT_FALSE(definition.name().empty());
    EXPECT_FALSE(definition.version().empty());
  }

  ASSERT_TRUE(worker->Signal(SIGTERM));
  const int code = worker->Wait(absl::Seconds(10));
  ASSERT_NE(code, -1) << "the worker did not exit after SIGTERM";
  EXPECT_EQ(worker->term_signal(), 0);
  EXPECT_EQ(code, 0) << worker->Log();
  EXPECT_EQ(gateway->draining_count(), 1);
}

TEST(WorkerMainTest, DefaultsTheWorkerIdToHostnameAndPid) {
  std::unique_ptr<FakeWorkerGateway> gateway = FakeWorkerGateway::Start();
  ASSERT_NE(gateway, nullptr);
  std::unique_ptr<Process> worker =
      StartWorker({absl::StrCat("--coordinator=", gateway->address())});
  ASSERT_NE(worker, nullptr);
  const pid_t pid = worker->pid();
  ASSERT_TRUE(FakeWorkerGateway::WaitFor([&] {
    return !gateway->hellos().empty();
  })) << worker->Log();
  const v1::WorkerHello hello = gateway->hellos()[0];
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  EXPECT_EQ(hello.worker_id(), absl::StrCat(host, "-", pid));
  EXPECT_EQ(hello.capacity(), 16);
  ASSERT_TRUE(worker->Signal(SIGINT));
  const int code = worker->Wait(absl::Seconds(10));
  ASSERT_NE(code, -1) << "the worker did not exit after SIGINT";
  EXPECT_EQ(worker->term_signal(), 0);
  EXPECT_EQ(code, 0) << worker->Log();
}

TEST(WorkerMainTest, RejectsABadCapacity) {
  std::unique_ptr<Process> worker = StartWorker({"--capacity=0"});
  ASSERT_NE(worker, nullptr);
  const int code = worker->Wait(absl::Seconds(10));
  EXPECT_EQ(worker->term_signal(), 0);
  EXPECT_EQ(code, 2) << worker->Log();
}

}  // namespace
}  // namespace graphmill::worker
