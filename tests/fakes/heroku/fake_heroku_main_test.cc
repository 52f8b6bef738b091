// Tests of the fake_heroku binary as a process: flags, the port file, replay
// from flags, bad flags, and a clean exit on SIGTERM and SIGINT.
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
#include "tests/fakes/heroku/test_util.h"

extern char** environ;

namespace graphmill::fakes {
namespace {

using heroku_test::Get;
using heroku_test::MakeClient;
using heroku_test::ParseJson;

std::string BinaryPath() {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                      std::getenv("TEST_WORKSPACE"),
                      "/tests/fakes/heroku/fake_heroku");
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

TEST(FakeHerokuMainTest, ServesGeneratedDataAndExitsOnSigterm) {
  const std::string port_file = TempPath("generated.port");
  std::remove(port_file.c_str());
  const pid_t pid = Spawn(
      {"--port=0", "--port_file=" + port_file,
       "--token=t1:global:admin,t2:read:member", "--token", "t3:identity:admin",
       "--seed=42", "--accounts=2", "--members_per_account=10",
       "--shared_members=3", "--teams_per_account=3", "--apps_per_team=4",
       "--apps_first_team=9", "--addons_per_app=1", "--rate_limit_capacity=100",
       "--rate_limit_refill_per_second=0",
       "--fault=account:500:times=1,enterprise-accounts:403:times=1", "--fault",
       "team-apps:429:times=1"});
  ASSERT_GT(pid, 0);
  const int port = ReadPort(port_file, std::chrono::seconds(10));
  ASSERT_GT(port, 0);
  auto client = MakeClient(port);

  EXPECT_EQ(Get(*client, "/account", "t1")->status, 500);
  EXPECT_EQ(Get(*client, "/account", "t1")->status, 200);
  EXPECT_EQ(Get(*client, "/account", "t3")->status, 200);
  EXPECT_EQ(Get(*client, "/account", "t2")->status, 403);  // read only
  EXPECT_EQ(Get(*client, "/account", "test-token")->status, 401);
  EXPECT_EQ(Get(*client, "/enterprise-accounts", "t1")->status, 403);
  httplib::Result accounts = Get(*client, "/enterprise-accounts", "t2");
  ASSERT_TRUE(accounts);
  EXPECT_EQ(accounts->status, 200);
  // t2's denied /account cost one request too; no refill.
  EXPECT_EQ(accounts->get_header_value("RateLimit-Remaining"), "98");
  rapidjson::Document doc = ParseJson(accounts->body);
  ASSERT_EQ(doc.Size(), 2u);

  httplib::Result summary = client->Get("/_control/dataset-summary");
  ASSERT_TRUE(summary);
  rapidjson::Document counts = ParseJson(summary->body);
  EXPECT_EQ(counts["seed"].GetInt64(), 42);
  EXPECT_EQ(counts["users"].GetInt64(), 17);
  EXPECT_EQ(counts["shared_users"].GetInt64(), 3);
  EXPECT_EQ(counts["teams"].GetInt64(), 6);
  EXPECT_EQ(counts["apps"].GetInt64(), 29);
  EXPECT_EQ(counts["max_apps_per_team"].GetInt64(), 9);
  EXPECT_EQ(counts["addons"].GetInt64(), 29);
  EXPECT_EQ(counts["tokens"].GetInt64(), 3);
  httplib::Result limits = client->Get("/_control/rate-limit");
  ASSERT_TRUE(limits);
  EXPECT_EQ(ParseJson(limits->body)["capacity"].GetInt(), 100);

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  const int status = WaitFor(pid, std::chrono::seconds(10));
  ASSERT_NE(status, -1) << "did not exit on SIGTERM";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(FakeHerokuMainTest, ReplaysRecordingsFromFlagsAndExitsOnSigint) {
  const std::string port_file = TempPath("replay.port");
  std::remove(port_file.c_str());
  const pid_t pid = Spawn(
      {"--mode=replay", "--port_file=" + port_file,
       "--recordings=" + heroku_test::TestDataPath("fetch-app-addons.har") +
           "," + heroku_test::TestDataPath("heroku-get-throw.har")});
  ASSERT_GT(pid, 0);
  const int port = ReadPort(port_file, std::chrono::seconds(10));
  ASSERT_GT(port, 0);
  auto client = MakeClient(port);
  httplib::Result addons =
      Get(*client, "/apps/e3af0e11-ea32-475e-a36f-e20f48e83136/addons");
  ASSERT_TRUE(addons);
  EXPECT_EQ(addons->status, 200);
  EXPECT_EQ(ParseJson(addons->body).Size(), 2u);
  httplib::Result account = Get(*client, "/account");
  ASSERT_TRUE(account);
  EXPECT_EQ(account->status, 401);

  ASSERT_EQ(kill(pid, SIGINT), 0);
  const int status = WaitFor(pid, std::chrono::seconds(10));
  ASSERT_NE(status, -1) << "did not exit on SIGINT";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(FakeHerokuMainTest, BadFlagsExitNonZero) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--fault=nonsense"},
        std::vector<std::string>{"--token=t1:root:admin"},
        std::vector<std::string>{"--token=t1:global:admin,t1:read:admin"},
        std::vector<std::string>{"--mode=live"},
        std::vector<std::string>{"--mode=replay",
                                 "--recordings_dir=/nonexistent"},
        std::vector<std::string>{"--accounts=-3"},
        std::vector<std::string>{"--rate_limit_capacity=0"}}) {
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
