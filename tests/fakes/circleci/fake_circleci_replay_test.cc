// Tests of the fake CircleCI server in replay mode, against the 2022 and 2024
// recordings.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/fakes/circleci/fake_circleci.h"
#include "tests/fakes/circleci/test_util.h"

namespace graphmill::fakes {
namespace {

using fake_test::Get;
using fake_test::MakeClient;
using fake_test::ParseJson;
using fake_test::TestDataPath;

constexpr char kOrgQuery[] = "org-slug=circleci%2FP41trZB78zFveRJerr7hfw";

struct HarEntry {
  std::string target;  // path and query, as recorded
  std::string body;
  std::string content_type;
};

// The recording's entries, read independently of the code under test.
std::vector<HarEntry> ReadHar(const std::string& name) {
  std::ifstream in(TestDataPath(name));
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document doc = ParseJson(text.str());
  std::vector<HarEntry> entries;
  for (const rapidjson::Value& entry : doc["log"]["entries"].GetArray()) {
    HarEntry out;
    const std::string url = entry["request"]["url"].GetString();
    out.target = url.substr(std::string("https://circleci.com").size());
    out.body = entry["response"]["content"]["text"].GetString();
    for (const rapidjson::Value& header :
         entry["response"]["headers"].GetArray()) {
      if (std::string(header["name"].GetString()) == "content-type") {
        out.content_type = header["value"].GetString();
      }
    }
    entries.push_back(out);
  }
  return entries;
}

std::unique_ptr<FakeCircleCi> StartReplay(std::vector<std::string> recordings) {
  FakeCircleCiOptions options;
  options.mode = FakeMode::kReplay;
  options.recordings = std::move(recordings);
  absl::StatusOr<std::unique_ptr<FakeCircleCi>> server =
      FakeCircleCi::Start(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

TEST(ReplayTest, FetchProjectsRecordingIsAnsweredExactly) {
  auto server = StartReplay({TestDataPath("fetch-projects.har")});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  const std::vector<HarEntry> entries = ReadHar("fetch-projects.har");
  ASSERT_EQ(entries.size(), 24u);

  int projects = 0;
  for (const HarEntry& entry : entries) {
    httplib::Result res = Get(*client, entry.target);
    ASSERT_TRUE(res) << entry.target;
    EXPECT_EQ(res->status, 200) << entry.target;
    EXPECT_EQ(res->body, entry.body) << entry.target;
    EXPECT_EQ(res->get_header_value("Content-Type"), entry.content_type);
    EXPECT_FALSE(res->get_header_value("x-request-id").empty());
    if (absl::StrContains(entry.target, "/project/")) ++projects;
  }
  EXPECT_EQ(projects, 21);
  EXPECT_EQ(server->RequestCount("project"), 21);
  EXPECT_EQ(server->RequestCount("pipeline"), 2);
  EXPECT_EQ(server->RequestCount("collaborations"), 1);
  EXPECT_EQ(server->RequestCount("unmatched"), 0);
}

TEST(ReplayTest, PipelinePageTwoViaTheRecordedToken) {
  auto server = StartReplay({TestDataPath("fetch-pipelines.har")});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());

  fake_test::WalkResult walk = fake_test::WalkPages(
      *client, absl::StrCat("/api/v2/pipeline?", kOrgQuery), "id");
  EXPECT_TRUE(walk.ok);
  EXPECT_EQ(walk.pages, 2);
  EXPECT_EQ(walk.ids.size(), 21u);
  EXPECT_EQ(walk.ids.back(), "796c0fbe-03ce-41d4-9113-5b1fe91ea56d");

  // The same query decoded differently still matches; another token does not.
  httplib::Result decoded =
      Get(*client, "/api/v2/pipeline?org-slug=circleci/P41trZB78zFveRJerr7hfw");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->status, 200);
  httplib::Result bad_token = Get(
      *client,
      absl::StrCat("/api/v2/pipeline?", kOrgQuery, "&page-token=AO9ui9nope"));
  ASSERT_TRUE(bad_token);
  EXPECT_EQ(bad_token->status, 404);
  EXPECT_EQ(bad_token->body, R"({"message":"Not Found"})");
  EXPECT_EQ(server->RequestCount("unmatched"), 1);
}

TEST(ReplayTest, UnrecordedRequestsAreNotFoundAndCounted) {
  auto server = StartReplay({TestDataPath("fetch-user.har")});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());

  httplib::Result me = Get(*client, "/api/v2/me");
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 200);
  EXPECT_STREQ(ParseJson(me->body)["login"].GetString(), "kjb-test");

  for (const char* target :
       {"/api/v2/me/", "/api/v2/pipeline?org-slug=gh%2Fkjb-test",
        "/api/v2/unknown"}) {
    httplib::Result res = Get(*client, target);
    ASSERT_TRUE(res) << target;
    EXPECT_EQ(res->status, 404) << target;
    EXPECT_EQ(res->body, R"({"message":"Not Found"})");
  }
  EXPECT_EQ(server->RequestCount("unmatched"), 3);
  EXPECT_EQ(server->RequestCount("me"), 2);  // "/me" and "/me/"

  httplib::Result unauthorized = Get(*client, "/api/v2/me", "[REDACTED]");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
}

TEST(ReplayTest, ContextsRecordingKeepsRecordedContentTypes) {
  auto server = StartReplay({TestDataPath("fetch-contexts.har")});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  httplib::Result restrictions =
      Get(*client,
          "/api/v2/context/09f7476e-43f5-4096-8df6-393ec474da7c/restrictions");
  ASSERT_TRUE(restrictions);
  EXPECT_EQ(restrictions->status, 200);
  EXPECT_EQ(restrictions->get_header_value("Content-Type"),
            "application/json; charset=utf-8");
  rapidjson::Document doc = ParseJson(restrictions->body);
  ASSERT_EQ(doc["items"].Size(), 3u);
  EXPECT_STREQ(doc["items"][0]["restriction_type"].GetString(), "expression");
  EXPECT_EQ(server->RequestCount("restrictions"), 1);
}

TEST(ReplayTest, WholeDirectorySummaryAndFaults) {
  auto server = StartReplay({TestDataPath("")});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());

  httplib::Result summary_res = client->Get("/_control/dataset-summary");
  ASSERT_TRUE(summary_res);
  rapidjson::Document summary = ParseJson(summary_res->body);
  EXPECT_STREQ(summary["mode"].GetString(), "replay");
  EXPECT_EQ(summary["files"].GetInt64(), 10);
  EXPECT_EQ(summary["entries"].GetInt64(), 175);
  // Distinct recorded requests per route across all ten files.
  EXPECT_EQ(summary["routes"]["project"].GetInt64(), 21);
  EXPECT_EQ(summary["routes"]["envvar"].GetInt64(), 21);
  EXPECT_EQ(summary["routes"]["workflow-jobs"].GetInt64(), 22);
  EXPECT_EQ(summary["routes"]["restrictions"].GetInt64(), 1);
  EXPECT_TRUE(server->dataset().pipelines.empty());

  // Faults apply in replay mode too; repeat_token works on recorded pages.
  ASSERT_TRUE(server->AddFault("pipeline:repeat_token:times=2").ok());
  const std::string target = absl::StrCat("/api/v2/pipeline?", kOrgQuery);
  rapidjson::Document first = ParseJson(Get(*client, target)->body);
  const std::string token = first["next_page_token"].GetString();
  rapidjson::Document again =
      ParseJson(Get(*client, target + "&page-token=" + token)->body);
  EXPECT_EQ(again["next_page_token"].GetString(), token);
  EXPECT_EQ(again["items"].Size(), 20u);
  // The fault is used up: a walk from page 1 reaches the recorded page 2.
  fake_test::WalkResult walk = fake_test::WalkPages(*client, target, "id");
  EXPECT_TRUE(walk.ok);
  EXPECT_EQ(walk.pages, 2);
  EXPECT_EQ(walk.ids.size(), 21u);

  ASSERT_TRUE(server->AddFault("project:500:times=1").ok());
  const std::string project =
      "/api/v2/project/"
      "circleci%2FP41trZB78zFveRJerr7hfw%2F4MnekCoaAa1jaMKrdxNTDg";
  httplib::Result failed = Get(*client, project);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 500);
  httplib::Result served = Get(*client, project);
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
}

TEST(ReplayTest, MissingRecordingsFailToStart) {
  FakeCircleCiOptions options;
  options.mode = FakeMode::kReplay;
  options.recordings = {TestDataPath("no-such.har")};
  absl::StatusOr<std::unique_ptr<FakeCircleCi>> server =
      FakeCircleCi::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_TRUE(absl::StrContains(server.status().message(), "no-such.har"));
}

}  // namespace
}  // namespace graphmill::fakes
