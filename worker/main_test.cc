// Runs the graphmill-worker binary against an in-process fake coordinator:
// flags, hello, and the drain on SIGTERM.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "worker/runtime/fake_worker_gateway.h"

extern char** environ;

namespace graphmill::worker {
namespace {

// Starts the worker binary with `args`; returns its pid (or -1).
pid_t StartWorker(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  const std::string binary =
      "worker/graphmill-worker";  // in the test's runfiles
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& arg : args)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(),
                  environ) != 0) {
    return -1;
  }
  return pid;
}

// Waits up to `timeout` for `pid` to exit; returns its wait status, or -1 on
// timeout.
int WaitForExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    absl::SleepFor(absl::Milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

TEST(WorkerMainTest, SaysHelloThenDrainsAndExitsZeroOnSigterm) {
  std::unique_ptr<FakeWorkerGateway> gateway = FakeWorkerGateway::Start();
  ASSERT_NE(gateway, nullptr);
  const pid_t pid = StartWorker(
      {absl::StrCat("--coordinator=", gateway->address()),
       "--worker_id=main-test", "--capacity=3", "--drain_grace_seconds=5"});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return !gateway->hellos().empty(); }));
  const v1::WorkerHello hello = gateway->hellos()[0];
  EXPECT_EQ(hello.worker_id(), "main-test");
  EXPECT_EQ(hello.capacity(), 3);
  ASSERT_GE(hello.integrations_size(), 1);  // whatever the registry lists
  for (const v1::IntegrationDefinition& definition : hello.integrations()) {
    EXPECT_FALSE(definition.name().empty());
    EXPECT_FALSE(definition.version().empty());
  }

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  const int status = WaitForExit(pid, absl::Seconds(10));
  ASSERT_NE(status, -1) << "the worker did not exit after SIGTERM";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(gateway->draining_count(), 1);
}

TEST(WorkerMainTest, DefaultsTheWorkerIdToHostnameAndPid) {
  std::unique_ptr<FakeWorkerGateway> gateway = FakeWorkerGateway::Start();
  ASSERT_NE(gateway, nullptr);
  const pid_t pid =
      StartWorker({absl::StrCat("--coordinator=", gateway->address())});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(
      FakeWorkerGateway::WaitFor([&] { return !gateway->hellos().empty(); }));
  const v1::WorkerHello hello = gateway->hellos()[0];
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  EXPECT_EQ(hello.worker_id(), absl::StrCat(host, "-", pid));
  EXPECT_EQ(hello.capacity(), 4);
  kill(pid, SIGINT);
  const int status = WaitForExit(pid, absl::Seconds(10));
  ASSERT_TRUE(status != -1 && WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(WorkerMainTest, RejectsABadCapacity) {
  const pid_t pid = StartWorker({"--capacity=0"});
  ASSERT_GT(pid, 0);
  const int status = WaitForExit(pid, absl::Seconds(10));
  ASSERT_TRUE(status != -1 && WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
}  // namespace graphmill::worker
