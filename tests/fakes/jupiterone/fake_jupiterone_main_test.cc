// Tests of the fake_jupiterone binary as a process: flags, the port file, the
// size limit and faults from flags, bad flags, and a clean exit on SIGTERM and
// SIGINT.
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

extern char** environ;

namespace graphmill::fakes {
namespace {

constexpr char kJobs[] = "/persister/synchronization/jobs";

std::string BinaryPath() {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"),
                      "/tests/fakes/jupiterone/fake_jupiterone");
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  const std::string binary = BinaryPath();
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(),
                  environ) != 0) {
    return -1;
  }
  return pid;
}

// Waits up to `timeout` for the process to exit; returns its wait status or -1
// (after killing it).
int WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

// Polls the port file the binary writes once listening.
int ReadPort(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    int port = 0;
    if (in >> port && port > 0) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

TEST(FakeJupiterOneMainTest, ServesWithFlagsAndExitsOnSigterm) {
  const std::string port_file = TempPath("j1.port");
  std::remove(port_file.c_str());
  const pid_t pid =
      Spawn({"--port=0", "--port_file=" + port_file, "--token=secret-1",
             "--account=acct-7", "--max_body_bytes=300",
             "--fault=create-job:500:times=1", "--fault",
             "finalize:429:times=1:retry_after=2"});
  ASSERT_GT(pid, 0);
  const int port = ReadPort(port_file, std::chrono::seconds(10));
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

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  const int status = WaitFor(pid, std::chrono::seconds(10));
  ASSERT_NE(status, -1) << "did not exit on SIGTERM";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(FakeJupiterOneMainTest, ExitsCleanlyOnSigint) {
  const std::string port_file = TempPath("j1-sigint.port");
  std::remove(port_file.c_str());
  const pid_t pid = Spawn({"--port_file=" + port_file});
  ASSERT_GT(pid, 0);
  const int port = ReadPort(port_file, std::chrono::seconds(10));
  ASSERT_GT(port, 0);
  httplib::Client client("127.0.0.1", port);
  httplib::Result health = client.Get("/_control/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  ASSERT_EQ(kill(pid, SIGINT), 0);
  const int status = WaitFor(pid, std::chrono::seconds(10));
  ASSERT_NE(status, -1) << "did not exit on SIGINT";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(FakeJupiterOneMainTest, BadFlagsExitNonZero) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--fault=nonsense"},
        std::vector<std::string>{"--max_body_bytes=0"},
        std::vector<std::string>{"--token="},
        std::vector<std::string>{"--finalize_delay_ms=-5"}}) {
    const pid_t pid = Spawn(args);
    ASSERT_GT(pid, 0);
    const int status = WaitFor(pid, std::chrono::seconds(10));
    ASSERT_NE(status, -1) << args[0];
    EXPECT_TRUE(WIFEXITED(status)) << args[0];
    EXPECT_NE(WEXITSTATUS(status), 0) << args[0];
  }
}

}  // namespace
}  // namespace graphmill::fakes
