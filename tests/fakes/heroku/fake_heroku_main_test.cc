// Tests of the fake_heroku binary as a process: flags, the port file, replay
// from flags, bad flags, and a clean exit on SIGTERM and SIGINT.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/hmac.h"
#include "gtest/gtest.h"
#include "tests/fakes/common/webhook_receiver.h"
#include "tests/fakes/heroku/dataset.h"
#include "tests/fakes/heroku/test_util.h"
#include "tests/testing/process.h"

namespace graphmill::fakes {
namespace {

using heroku_test::Get;
using heroku_test::MakeClient;
using heroku_test::ParseJson;

using ::graphmill::testing::Process;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

// Starts the binary with `args`; its output goes to a log under TEST_TMPDIR.
std::unique_ptr<Process> Start(const std::vector<std::string>& args) {
  static int started = 0;
  absl::StatusOr<std::unique_ptr<Process>> process = Process::Start(
      ::graphmill::testing::Runfile("tests/fakes/heroku/fake_heroku"), args,
      TempPath(absl::StrCat("fake_heroku-", started++, ".log")));
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

TEST(FakeHerokuMainTest, ServesGeneratedDataAndExitsOnSigterm) {
  const std::string port_file = TempPath("generated.port");
  std::remove(port_file.c_str());
  std::unique_ptr<Process> process = Start(
      {"--port=0", "--port_file=" + port_file,
       "--token=t1:global:admin,t2:read:member", "--token", "t3:identity:admin",
       "--seed=42", "--accounts=2", "--members_per_account=10",
       "--shared_members=3", "--teams_per_account=3", "--apps_per_team=4",
       "--apps_first_team=9", "--addons_per_app=1", "--rate_limit_capacity=100",
       "--rate_limit_refill_per_second=0",
       "--fault=account:500:times=1,enterprise-accounts:403:times=1", "--fault",
       "team-apps:429:times=1"});
  ASSERT_NE(process, nullptr);
  const int port = ReadPort(port_file);
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

  EXPECT_TRUE(ExitsCleanlyOn(*process, SIGTERM));
}

TEST(FakeHerokuMainTest, ReplaysRecordingsFromFlagsAndExitsOnSigint) {
  const std::string port_file = TempPath("replay.port");
  std::remove(port_file.c_str());
  std::unique_ptr<Process> process = Start(
      {"--mode=replay", "--port_file=" + port_file,
       "--recordings=" + heroku_test::TestDataPath("fetch-app-addons.har") +
           "," + heroku_test::TestDataPath("heroku-get-throw.har")});
  ASSERT_NE(process, nullptr);
  const int port = ReadPort(port_file);
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

  EXPECT_TRUE(ExitsCleanlyOn(*process, SIGINT));
}

TEST(FakeHerokuMainTest, MutationsDeliverSignedWebhooks) {
  absl::StatusOr<std::unique_ptr<common::WebhookReceiver>> receiver =
      common::WebhookReceiver::Start();
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  const std::string port_file = TempPath("webhooks.port");
  std::remove(port_file.c_str());
  std::unique_ptr<Process> process = Start({"--port_file=" + port_file});
  ASSERT_NE(process, nullptr);
  const int port = ReadPort(port_file);
  ASSERT_GT(port, 0);
  auto client = MakeClient(port);
  absl::StatusOr<heroku::Dataset> data =
      heroku::GenerateDataset(heroku::DatasetOptions{});
  ASSERT_TRUE(data.ok()) << data.status();
  const heroku::App& app = data->apps[0];

  // Registered through the API, on the app.
  httplib::Result added = client->Post(
      absl::StrCat("/apps/", app.name, "/webhooks"),
      {{"Accept", heroku_test::kAccept},
       {"Authorization", absl::StrCat("Bearer ", heroku_test::kToken)}},
      absl::StrCat(R"({"include":["api:app"],"level":"notify","url":")",
                   (*receiver)->url("/h"), R"(","secret":"process-secret"})"),
      "application/json");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 201) << added->body;
  httplib::Result posted =
      client->Post("/_control/mutations",
                   absl::StrCat(R"({"op":"rename_app","id":")", app.id,
                                R"(","name":"renamed-in-process"})"),
                   "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  EXPECT_EQ(ParseJson(posted->body)["version"].GetInt(), 1);
  const std::vector<common::ReceivedRequest> got = (*receiver)->requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].Header("Heroku-Webhook-Hmac-SHA256"),
            HmacSha256Base64("process-secret", got[0].body));
  rapidjson::Document body = ParseJson(got[0].body);
  EXPECT_EQ(std::string(body["data"]["name"].GetString()),
            "renamed-in-process");
  EXPECT_EQ(Get(*client, "/apps/renamed-in-process/addons")->status, 200);
  EXPECT_TRUE(ExitsCleanlyOn(*process, SIGTERM));
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
    std::unique_ptr<Process> process = Start(args);
    ASSERT_NE(process, nullptr);
    EXPECT_TRUE(ExitsNonZero(*process)) << args[0];
  }
}

}  // namespace
}  // namespace graphmill::fakes
