// Uploads to the fake JupiterOne synchronization API across real processes:
// what the fake received equals the run's graph, batches stay under the limit,
// finalize carries the partial types; 413 shrinking, 500 retries, and a 401
// fixed and retried with `graphmill run upload`.
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "tests/e2e/expected_graph.h"

namespace graphmill::testing {
namespace {

constexpr char kToken[] = "j1-token-7d0c2b9e";
constexpr char kAccount[] = "j1-account-42";
constexpr char kLogin[] = "upload-org";
// Small body limit on both sides of the wire, so a run takes several batches.
constexpr int kMaxBodyBytes = 60'000;

class UploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    generator_.seed = 5;
    generator_.login = kLogin;
    generator_.orgs = 2;
    generator_.projects_per_org = 3;
    generator_.pipelines_per_project = 4;
    ClusterOptions options;
    options.workers = 2;
    options.fakes["circleci"] = CircleCiFake(FakeCircleCiFlags(generator_, 20));
    options.fakes["heroku"] = Fake(
        "heroku", {"--token=heroku-upload-key:global:admin", "--accounts=2",
                   "--teams_per_account=3", "--apps_per_team=5"});
    options.fakes["jupiterone"] =
        Fake("jupiterone", {absl::StrCat("--token=", kToken),
                            absl::StrCat("--account=", kAccount),
                            absl::StrCat("--max_body_bytes=", kMaxBodyBytes)});
    cluster_ = std::make_unique<Cluster>(options);
    ASSERT_TRUE(cluster_->Start().ok());
    setenv("E2E_J1_TOKEN", kToken, 1);
    setenv("E2E_J1_WRONG_TOKEN", "not-the-token", 1);
  }

  CommandResult Create(const std::string& id, const std::string& token_env) {
    return CreateCircleCiInstance(
        *cluster_, id, kLogin, kCircleCiToken,
        {"--j1-base-url", cluster_->fake_url("jupiterone"), "--j1-account",
         kAccount, "--j1-token-env", token_env, "--j1-integration-instance",
         "j1-" + id});
  }

  // A JSON document from the fake JupiterOne's control API.
  rapidjson::Document Control(const std::string& path) {
    httplib::Client client(cluster_->fake_url("jupiterone"));
    auto response = client.Get(path.c_str());
    rapidjson::Document document;
    if (!response || response->status != 200) {
      ADD_FAILURE() << path << " failed";
      document.SetObject();
      return document;
    }
    document.Parse(response->body.c_str());
    return document;
  }

  void AddFault(const std::string& spec) {
    httplib::Client client(cluster_->fake_url("jupiterone"));
    auto response = client.Post("/_control/faults",
                                absl::StrCat(R"({"faults":[")", spec, R"("]})"),
                                "application/json");
    ASSERT_TRUE(response && response->status == 200);
  }

  // The last job the fake received, with its objects.
  rapidjson::Document LastJob() {
    rapidjson::Document jobs = Control("/_control/jobs");
    EXPECT_TRUE(jobs.HasMember("jobs") && jobs["jobs"].Size() > 0);
    const std::string id =
        jobs["jobs"][jobs["jobs"].Size() - 1]["job"]["id"].GetString();
    return Control("/_control/jobs/" + id);
  }

  static std::set<std::string> Keys(const rapidjson::Value& array) {
    std::set<std::string> keys;
    for (const auto& key : array.GetArray()) keys.insert(key.GetString());
    return keys;
  }

  static std::set<std::string> GraphKeys(const GraphByType& graph,
                                         bool relationships) {
    std::set<std::string> keys;
    for (const auto& [type, objects] : graph) {
      const bool is_relationship =
          absl::StrContains(type, "_has_") || absl::StrContains(type, "_uses_");
      if (is_relationship != relationships) continue;
      for (const auto& [key, json] : objects) keys.insert(key);
    }
    return keys;
  }

  fakes::GeneratorOptions generator_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(UploadTest, FakeReceivesExactlyTheRunsGraphInBatchesUnderTheLimit) {
  ASSERT_EQ(Create("ci", "E2E_J1_TOKEN").exit_code, 0);
  CommandResult run = cluster_->Cli({"run", "start", "ci", "--watch"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster_->AllLogs();
  CommandResult shown = cluster_->Cli({"run", "show", "1"});
  EXPECT_TRUE(absl::StrContains(shown.out, "SUCCEEDED")) << shown.out;

  rapidjson::Document job = LastJob();
  EXPECT_STREQ(job["job"]["status"].GetString(), "FINISHED");
  EXPECT_STREQ(job["job"]["integrationInstanceId"].GetString(), "j1-ci");
  EXPECT_TRUE(absl::StrContains(shown.out, job["job"]["id"].GetString()))
      << shown.out;
  const GraphByType graph = ReadGraph(*cluster_, "ci");
  EXPECT_EQ(Keys(job["entityKeys"]), GraphKeys(graph, false));
  EXPECT_EQ(Keys(job["relationshipKeys"]), GraphKeys(graph, true));
  int uploads = 0;
  for (const auto& upload : job["uploads"].GetArray()) {
    EXPECT_LE(upload["bodyBytes"].GetInt64(), kMaxBodyBytes);
    ++uploads;
  }
  EXPECT_GT(uploads, 2);
  // circleci_project is declared partial: finalize must say so.
  EXPECT_TRUE(Keys(job["partialTypes"]).contains("circleci_project"));
}

TEST_F(UploadTest, HerokuRunIsUploadedExactly) {
  CommandResult created =
      cluster_->Cli({"instance",
                     "create",
                     "hk",
                     "--integration",
                     "heroku",
                     "--config",
                     "apiKey=heroku-upload-key",
                     "--config",
                     "baseUrl=" + cluster_->fake_url("heroku"),
                     "--rate-limit",
                     "1000",
                     "--j1-base-url",
                     cluster_->fake_url("jupiterone"),
                     "--j1-account",
                     kAccount,
                     "--j1-token-env",
                     "E2E_J1_TOKEN",
                     "--j1-integration-instance",
                     "j1-hk",
                     "--j1-compress"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  CommandResult run = cluster_->Cli({"run", "start", "hk", "--watch"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  rapidjson::Document job = LastJob();
  EXPECT_STREQ(job["job"]["status"].GetString(), "FINISHED");
  EXPECT_STREQ(job["job"]["integrationInstanceId"].GetString(), "j1-hk");
  std::set<std::string> entities, relationships;
  for (const char* kind : {"entities", "relationships"}) {
    for (const std::string& line :
         cluster_->CliJsonLines({"graph", kind, "--instance", "hk"})) {
      rapidjson::Document object;
      object.Parse(line.c_str());
      (kind[0] == 'e' ? entities : relationships)
          .insert(object["_key"].GetString());
    }
  }
  EXPECT_FALSE(entities.empty());
  EXPECT_EQ(Keys(job["entityKeys"]), entities);
  EXPECT_EQ(Keys(job["relationshipKeys"]), relationships);
  for (const auto& upload : job["uploads"].GetArray()) {
    EXPECT_TRUE(upload["gzip"].GetBool());
  }
}

TEST_F(UploadTest, TooLargeAndServerErrorsAreHandledWithoutLosingObjects) {
  AddFault("entities:413:times=1");
  AddFault("relationships:500:times=2");
  ASSERT_EQ(Create("ci", "E2E_J1_TOKEN").exit_code, 0);
  CommandResult run = cluster_->Cli({"run", "start", "ci", "--watch"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  rapidjson::Document job = LastJob();
  EXPECT_STREQ(job["job"]["status"].GetString(), "FINISHED");
  const GraphByType graph = ReadGraph(*cluster_, "ci");
  EXPECT_EQ(Keys(job["entityKeys"]), GraphKeys(graph, false));
  EXPECT_EQ(Keys(job["relationshipKeys"]), GraphKeys(graph, true));
  EXPECT_GE(job["rejectedRequests"].GetInt(), 3);
}

TEST_F(UploadTest, RejectedTokenFailsClearlyAndRetryWorksAfterTheFix) {
  ASSERT_EQ(Create("ci", "E2E_J1_WRONG_TOKEN").exit_code, 0);
  CommandResult run = cluster_->Cli({"run", "start", "ci", "--watch"});
  EXPECT_NE(run.exit_code, 2);
  CommandResult shown = cluster_->Cli({"run", "show", "1"});
  EXPECT_TRUE(absl::StrContains(shown.out, "FAILED")) << shown.out;
  EXPECT_TRUE(absl::StrContains(shown.out, "JupiterOne rejected the API token"))
      << shown.out;
  EXPECT_FALSE(
      absl::StrContains(shown.out + cluster_->AllLogs(), "not-the-token"));
  // The graph in graphmill is committed regardless.
  const GraphByType graph = ReadGraph(*cluster_, "ci");
  EXPECT_FALSE(graph.empty());

  CommandResult fixed = cluster_->Cli(
      {"instance", "update", "ci", "--j1-token-env", "E2E_J1_TOKEN"});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  CommandResult retried = cluster_->Cli({"run", "upload", "1"});
  ASSERT_EQ(retried.exit_code, 0) << retried.err;
  CommandResult watched = cluster_->Cli({"run", "watch", "1"});
  EXPECT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  shown = cluster_->Cli({"run", "show", "1"});
  rapidjson::Document job = LastJob();
  EXPECT_STREQ(job["job"]["status"].GetString(), "FINISHED");
  EXPECT_EQ(Keys(job["entityKeys"]), GraphKeys(graph, false));
  EXPECT_TRUE(absl::StrContains(shown.out, job["job"]["id"].GetString()))
      << shown.out;
}

}  // namespace
}  // namespace graphmill::testing
