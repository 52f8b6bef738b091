// Tests of the fake_circleci binary as a process: flags, the port file, replay
// from flags, mutations over HTTP, webhooks, bad flags, and a clean exit on
// SIGTERM and SIGINT.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/hmac.h"
#include "gtest/gtest.h"
#include "tests/fakes/circleci/dataset.h"
#include "tests/fakes/circleci/mutations.h"
#include "tests/fakes/circleci/test_util.h"
#include "tests/fakes/common/webhook_receiver.h"
#include "tests/testing/process.h"

namespace graphmill::fakes {
namespace {

using fake_test::Get;
using fake_test::MakeClient;
using fake_test::ParseJson;

using ::graphmill::testing::Process;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

// Starts the binary with `args`; its output goes to a log under TEST_TMPDIR.
std::unique_ptr<Process> Start(const std::vector<std::string>& args) {
  static int started = 0;
  absl::StatusOr<std::unique_ptr<Process>> process = Process::Start(
      ::graphmill::testing::Runfile("tests/fakes/circleci/fake_circleci"), args,
      TempPath(absl::StrCat("fake_circleci-", started++, ".log")));
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

TEST(FakeCircleCiMainTest, ServesGeneratedDataAndExitsOnSigterm) {
  const std::string port_file = TempPath("generated.port");
  std::remove(port_file.c_str());
  std::unique_ptr<Process> process =
      Start({"--port=0", "--port_file=" + port_file, "--token=secret-1",
             "--login=octo", "--orgs=1", "--projects_per_org=3",
             "--pipelines_per_project=7", "--page_size=5", "--seed=42",
             "--fault=me:500:times=1,context:403:times=1", "--fault",
             "collaborations:429:times=1"});
  ASSERT_NE(process, nullptr);
  const int port = ReadPort(port_file);
  ASSERT_GT(port, 0);
  auto client = MakeClient(port);

  httplib::Result failed = Get(*client, "/api/v2/me", "secret-1");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 500);
  httplib::Result me = Get(*client, "/api/v2/me", "secret-1");
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 200);
  EXPECT_STREQ(ParseJson(me->body)["login"].GetString(), "octo");
  httplib::Result limited =
      Get(*client, "/api/v2/me/collaborations", "secret-1");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  httplib::Result forbidden =
      Get(*client, "/api/v2/context?owner-slug=gh%2Fx", "secret-1");
  ASSERT_TRUE(forbidden);
  EXPECT_EQ(forbidden->status, 403);
  httplib::Result wrong = Get(*client, "/api/v2/me", "test-token");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);

  httplib::Result summary = client->Get("/_control/dataset-summary");
  ASSERT_TRUE(summary);
  rapidjson::Document doc = ParseJson(summary->body);
  EXPECT_EQ(doc["pipelines"].GetInt64(), 21);
  EXPECT_EQ(doc["page_size"].GetInt64(), 5);
  EXPECT_EQ(doc["seed"].GetInt64(), 42);

  EXPECT_TRUE(ExitsCleanlyOn(*process, SIGTERM));
}

TEST(FakeCircleCiMainTest, ReplaysRecordingsFromFlagsAndExitsOnSigint) {
  const std::string port_file = TempPath("replay.port");
  std::remove(port_file.c_str());
  std::unique_ptr<Process> process =
      Start({"--mode=replay", "--port_file=" + port_file,
             "--recordings=" + fake_test::TestDataPath("fetch-pipelines.har")});
  ASSERT_NE(process, nullptr);
  const int port = ReadPort(port_file);
  ASSERT_GT(port, 0);
  auto client = MakeClient(port);
  fake_test::WalkResult walk = fake_test::WalkPages(
      *client, "/api/v2/pipeline?org-slug=circleci%2FP41trZB78zFveRJerr7hfw",
      "id");
  EXPECT_TRUE(walk.ok);
  EXPECT_EQ(walk.ids.size(), 21u);

  EXPECT_TRUE(ExitsCleanlyOn(*process, SIGINT));
}

// The change-tracking use: a test in another process computes the data from
// the flags, changes it over HTTP, and reads back exactly what it expects.
TEST(FakeCircleCiMainTest, MutatedOverHttpAsComputedInAnotherProcess) {
  GeneratorOptions generator;  // the binary's defaults, plus the flags below
  generator.seed = 7;
  generator.login = "octo";
  generator.orgs = 2;
  generator.projects_per_org = 3;
  generator.pipelines_per_project = 4;
  absl::StatusOr<Dataset> generated = GenerateDataset(generator);
  ASSERT_TRUE(generated.ok()) << generated.status();

  const std::string port_file = TempPath("mutations.port");
  std::remove(port_file.c_str());
  std::unique_ptr<Process> process =
      Start({"--port_file=" + port_file, "--seed=7", "--login=octo", "--orgs=2",
             "--projects_per_org=3", "--pipelines_per_project=4"});
  ASSERT_NE(process, nullptr);
  const int port = ReadPort(port_file);
  ASSERT_GT(port, 0);
  auto client = MakeClient(port);

  absl::StatusOr<VersionedDataset> served = fake_test::FetchDataset(*client);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->version, 0);
  EXPECT_EQ(served->data, fake_test::WithoutSecrets(*generated));

  // A pipeline gone, a project renamed, a user added (the token owner joins
  // an org), a relationship removed, an entity updated.
  const Dataset& d = *generated;
  const ContextRestriction& restriction = d.restrictions[1];
  ASSERT_EQ(restriction.restriction_type, "project");
  const std::vector<Mutation> mutations = {
      Mutation::RemovePipeline(d.pipelines[2].id),
      Mutation::RenameProject(d.projects[4].slug, "renamed"),
      Mutation::AddOrg("joined-team"),
      Mutation::RemoveRestriction(restriction.context_id,
                                  restriction.project_id),
      Mutation::SetWorkflowStatus(d.workflows[9].id, "failed"),
  };
  std::string body = "[";
  for (const Mutation& m : mutations) {
    absl::StrAppend(&body, body.size() > 1 ? "," : "", MutationToJson(m));
  }
  body += "]";
  httplib::Result posted = fake_test::PostMutations(*client, body);
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  EXPECT_EQ(ParseJson(posted->body)["version"].GetInt64(), 1);

  absl::StatusOr<Dataset> expected = ApplyMutations(*generated, mutations);
  ASSERT_TRUE(expected.ok()) << expected.status();
  served = fake_test::FetchDataset(*client);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->version, 1);
  EXPECT_EQ(served->data, fake_test::WithoutSecrets(*expected));
  httplib::Result collaborations = Get(*client, "/api/v2/me/collaborations");
  ASSERT_TRUE(collaborations);
  EXPECT_EQ(ParseJson(collaborations->body).Size(), 3u);
  // An unknown id is a 404 naming it, and changes nothing.
  httplib::Result unknown = fake_test::PostMutations(
      *client, R"({"op":"remove_pipeline","id":"not-there"})");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(fake_test::Message(unknown->body),
            "mutation #0 (remove_pipeline): pipeline 'not-there' not found");

  EXPECT_TRUE(ExitsCleanlyOn(*process, SIGTERM));
}

TEST(FakeCircleCiMainTest, MutationsDeliverSignedWebhooks) {
  absl::StatusOr<std::unique_ptr<common::WebhookReceiver>> receiver =
      common::WebhookReceiver::Start();
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  const std::string port_file = TempPath("webhooks.port");
  std::unique_ptr<Process> process =
      Start({absl::StrCat("--port_file=", port_file), "--orgs=1",
             "--projects_per_org=2", "--pipelines_per_project=2"});
  ASSERT_NE(process, nullptr);
  const int port = ReadPort(port_file);
  ASSERT_GT(port, 0);
  auto client = MakeClient(port);
  httplib::Result added =
      client->Post("/_control/webhooks",
                   absl::StrCat(R"({"url":")", (*receiver)->url("/ci"),
                                R"(","secret":"process-secret"})"),
                   "application/json");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 201) << added->body;
  absl::StatusOr<VersionedDataset> served = fake_test::FetchDataset(*client);
  ASSERT_TRUE(served.ok()) << served.status();
  const Job& job = served->data.jobs[1];

  httplib::Result posted = fake_test::PostMutations(
      *client, MutationToJson(Mutation::SetJobStatus(job.id, "failed")));
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  const std::vector<common::ReceivedRequest> got = (*receiver)->requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].Header("circleci-event-type"), "job-completed");
  EXPECT_EQ(got[0].Header("circleci-signature"),
            absl::StrCat("v1=", HmacSha256Hex("process-secret", got[0].body)));
  rapidjson::Document body = ParseJson(got[0].body);
  EXPECT_EQ(std::string(body["job"]["id"].GetString()), job.id);
  httplib::Result listed = client->Get("/_control/webhooks");
  ASSERT_TRUE(listed);
  EXPECT_EQ(ParseJson(listed->body)["targets"][0]["last_status"].GetInt(), 200);
  EXPECT_TRUE(ExitsCleanlyOn(*process, SIGTERM));
}

TEST(FakeCircleCiMainTest, BadFlagsExitNonZero) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--fault=nonsense"},
        std::vector<std::string>{"--mode=live"},
        std::vector<std::string>{"--mode=replay",
                                 "--recordings_dir=/nonexistent"},
        std::vector<std::string>{"--orgs=-3"}}) {
    std::unique_ptr<Process> process = Start(args);
    ASSERT_NE(process, nullptr);
    EXPECT_TRUE(ExitsNonZero(*process)) << args[0];
  }
}

}  // namespace
}  // namespace graphmill::fakes
