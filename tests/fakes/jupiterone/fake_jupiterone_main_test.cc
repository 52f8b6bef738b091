// Tests of the fake_jupiterone binary as a process: flags, the port file, the
// size limit and faults from flags, bad flags, and a clean exit on SIGTERM and
// SIGINT.
#include <httplib.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"

namespace graphmill::fakes {
namespace {

constexpr char kJobs[] = "/persister/synchronization/jobs";

using ::graphmill::testing::Process;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

// Starts the binary with `args`; its output goes to a log under TEST_TMPDIR.
std::unique_ptr<Process> Start(const std::vector<std::string>& args) {
  static int started = 0;
  absl::StatusOr<std::unique_ptr<Process>> process = Process::Start(
      ::graphmill::testing::Runfile("tests/fakes/jupiterone/fake_jupiterone"),
      args, TempPath(absl::StrCat("fake_jupiterone-", started++, ".log")));
  EXPECT_TRUE(process.ok()) << process.status();
  return process.ok() ? *std::move(process) : nullptr;
}

// The port the binary writes to `path` once listening, or -1.
int ReadPort(const std::string& path) {
  absl::StatusOr<int> port =
      ::graphmill::testing::WaitForPortFile(path, absl::Seconds(10));
  return port.ok() ? *port : -1;
}

// Waits for the process to exit after `signal`; true if it exited with 0 of
// its own accord (not killed) within 10 s.
::testing::AssertionResult ExitsCleanlyOn(Process& process, int signal) {
  if (!process.Signal(signal)) {
    return ::testing::AssertionFailure() << "cannot send signal " << signal;
  }
  const int code = process.Wait(absl::Seconds(10));
  if (code == -1) {
    return ::testing::AssertionFailure()
           << "did not exit within 10 s of signal " << signal;
  }
  if (code != 0 || process.term_signal() != 0) {
    return ::testing::AssertionFailure() << "exit code " << code << ", signal "
                                         << process.term_signal() << "; log:\n"
                                         << process.Log();
  }
  return ::testing::AssertionSuccess();
}

// Waits for the process to exit on its own; true if it exited (not killed)
// with a non-zero code within 10 s.
::testing::AssertionResult ExitsNonZero(Process& process) {
  const int code = process.Wait(absl::Seconds(10));
  if (code == -1) return ::testing::AssertionFailure() << "still running";
  if (process.term_signal() != 0) {
    return ::testing::AssertionFailure()
           << "killed by signal " << process.term_signal();
  }
  if (code == 0) return ::testing::AssertionFailure() << "exit code 0";
  return ::testing::AssertionSuccess();
}

TEST(FakeJupiterOneMainTest, ServesWithFlagsAndExitsOnSigterm) {
  const std::string port_file = TempPath("j1.port");
  std::remove(port_file.c_str());
  std::unique_ptr<Process> process =
      Start({"--port=0", "--port_file=" + port_file, "--token=secret-1",
             "--account=acct-7", "--max_body_bytes=300",
             "--fault=create-job:500:times=1", "--fault",
             "finalize:429:times=1:retry_after=2"});
  ASSERT_NE(process, nullptr);
  const int port = ReadPort(port_file);
  ASSERT_GT(port, 0);
  httplib::Client client("127.0.0.1", port);
  const httplib::Headers auth = {{"Authorization", "Bearer secret-1"},
                                 {"JupiterOne-Account", "acct-7"}};
  const std::string create =
      R"({"source":"integration-external","integrationInstanceId":"i"})";

  httplib::Result failed = client.Post(kJobs, auth, create, "application/json");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 500);
  httplib::Result created =
      client.Post(kJobs, auth, create, "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  const size_t id_start = created->body.find(R"("id":")") + 6;
  const std::string id = created->body.substr(
      id_start, created->body.find('"', id_start) - id_start);
  const std::string job = absl::StrCat(kJobs, "/", id);

  httplib::Result too_big = client.Post(
      (job + "/entities").c_str(), auth,
      absl::StrCat(R"({"entities":[{"_key":"entity-0001","_type":"t",)",
                   R"("_class":"A","pad":")", std::string(300, 'x'), "\"}]}"),
      "application/json");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  httplib::Result limited =
      client.Post((job + "/finalize").c_str(), auth, "{}", "application/json");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "2");
  httplib::Result wrong_account = client.Post(
      kJobs,
      {{"Authorization", "Bearer secret-1"}, {"JupiterOne-Account", "x"}},
      create, "application/json");
  ASSERT_TRUE(wrong_account);
  EXPECT_EQ(wrong_account->status, 401);

  httplib::Result control = client.Get(("/_control/jobs/" + id).c_str());
  ASSERT_TRUE(control);
  EXPECT_EQ(control->status, 200);
  EXPECT_NE(control->body.find(R"("rejectedRequests":2)"), std::string::npos)
      << control->body;

  EXPECT_TRUE(ExitsCleanlyOn(*process, SIGTERM));
}

TEST(FakeJupiterOneMainTest, ExitsCleanlyOnSigint) {
  const std::string port_file = TempPath("j1-sigint.port");
  std::remove(port_file.c_str());
  std::unique_ptr<Process> process = Start({"--port_file=" + port_file});
  ASSERT_NE(process, nullptr);
  const int port = ReadPort(port_file);
  ASSERT_GT(port, 0);
  httplib::Client client("127.0.0.1", port);
  httplib::Result health = client.Get("/_control/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  EXPECT_TRUE(ExitsCleanlyOn(*process, SIGINT));
}

TEST(FakeJupiterOneMainTest, BadFlagsExitNonZero) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--fault=nonsense"},
        std::vector<std::string>{"--max_body_bytes=0"},
        std::vector<std::string>{"--token="},
        std::vector<std::string>{"--finalize_delay_ms=-5"}}) {
    std::unique_ptr<Process> process = Start(args);
    ASSERT_NE(process, nullptr);
    EXPECT_TRUE(ExitsNonZero(*process)) << args[0];
  }
}

}  // namespace
}  // namespace graphmill::fakes
