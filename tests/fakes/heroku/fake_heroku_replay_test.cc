// HTTP tests of the fake Heroku in replay mode: the recordings are served by
// path and Range, recorded 401s answer bad credentials, and auth, faults,
// counters and the rate limit still apply.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/heroku/fake_heroku.h"
#include "tests/fakes/heroku/test_util.h"

namespace graphmill::fakes {
namespace {

using heroku_test::Get;
using heroku_test::MakeClient;
using heroku_test::ParseJson;
using heroku_test::Strings;
using heroku_test::TestDataPath;
using ::testing::ElementsAre;

constexpr char kClientRange[] = "id ..; max=1000";
constexpr char kTeam[] = "1e2fd576-c276-483d-8440-3c956e0fe015";
constexpr char kUnauthorizedBody[] =
    "{\"id\":\"unauthorized\",\"message\":\"Invalid credentials provided.\"}";

std::unique_ptr<FakeHeroku> StartReplay(
    const std::vector<std::string>& recordings, int capacity = 4500) {
  FakeHerokuOptions options;
  options.mode = FakeHerokuMode::kReplay;
  options.recordings = recordings;
  options.rate_limit.capacity = capacity;
  absl::StatusOr<std::unique_ptr<FakeHeroku>> server =
      FakeHeroku::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

std::string TestDataDir() {
  const std::string path = TestDataPath("x.har");
  return path.substr(0, path.size() - 6);
}

TEST(FakeHerokuReplayTest, FetchTeamAppsServesTheTwoRecordedApps) {
  auto server = StartReplay({TestDataPath("fetch-team-apps.har")});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  httplib::Result res = Get(*client, std::string("/teams/") + kTeam + "/apps",
                            heroku_test::kToken, kClientRange);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_THAT(Strings(doc, "id"),
              ElementsAre("2a089907-da73-49d6-b569-5f4a89c65ba9",
                          "e3af0e11-ea32-475e-a36f-e20f48e83136"));
  EXPECT_THAT(Strings(doc, "owner.email"),
              ElementsAre("ndowmon-lifeomic-test@herokumanager.com",
                          "ndowmon-lifeomic-test@herokumanager.com"));
  EXPECT_EQ(res->get_header_value("Content-Range"),
            "id 2a089907-da73-49d6-b569-5f4a89c65ba9.."
            "e3af0e11-ea32-475e-a36f-e20f48e83136");
  EXPECT_EQ(res->get_header_value("Accept-Ranges"), "id, name, updated_at");
  EXPECT_EQ(res->get_header_value("Content-Expansion"), "region");
  EXPECT_EQ(res->get_header_value("ETag"),
            "\"ab029ad75b2256639dec00481688c689\"");
  // The recorded 4499 is replaced by the live bucket.
  EXPECT_EQ(res->get_header_value("RateLimit-Remaining"), "4499");
  httplib::Result again = Get(*client, std::string("/teams/") + kTeam + "/apps",
                              heroku_test::kToken, kClientRange);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->get_header_value("RateLimit-Remaining"), "4498");
  EXPECT_EQ(server->RequestCount("team-apps"), 2);
}

TEST(FakeHerokuReplayTest, ValidateInvocationFailServesTheRecorded401) {
  auto server = StartReplay({TestDataPath("validate-invocation-fail.har")});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  httplib::Result res =
      Get(*client, "/account", heroku_test::kToken, kClientRange);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->body, kUnauthorizedBody);
  EXPECT_EQ(res->get_header_value("Content-Type"),
            "application/json; charset=utf-8");
  EXPECT_FALSE(res->has_header("RateLimit-Remaining"));
}

TEST(FakeHerokuReplayTest, WholeDirectoryAnswersByCredentials) {
  auto server = StartReplay({TestDataDir()});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  httplib::Result ok =
      Get(*client, "/account", heroku_test::kToken, kClientRange);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_STREQ(ParseJson(ok->body)["email"].GetString(),
               "nick.dowmon@lifeomic.com");
  EXPECT_EQ(ok->get_header_value("OAuth-Scope-Accepted"), "global identity");

  httplib::Result denied = Get(*client, "/account", "wrong", kClientRange);
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(denied->body, kUnauthorizedBody);
  // The recorded 401's own headers.
  EXPECT_EQ(denied->get_header_value("x-runtime"), "0.012175586");

  // No 401 was recorded for the members list: the fake's own.
  httplib::Result members_denied = Get(
      *client, "/teams/" + std::string(kTeam) + "/members", "", kClientRange);
  ASSERT_TRUE(members_denied);
  EXPECT_EQ(members_denied->status, 401);
  EXPECT_EQ(members_denied->body, kUnauthorizedBody);
}

TEST(FakeHerokuReplayTest, HandEditedRecordingsServeTheirWholeBody) {
  auto server = StartReplay({TestDataDir()});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  // add-accounts.har says content-length 2 for a 339-byte body.
  httplib::Result accounts =
      Get(*client, "/enterprise-accounts", heroku_test::kToken, kClientRange);
  ASSERT_TRUE(accounts);
  EXPECT_EQ(accounts->status, 200);
  EXPECT_EQ(accounts->body.size(), 339u);
  EXPECT_THAT(Strings(ParseJson(accounts->body), "id"),
              ElementsAre("01234567-89ab-cdef-0123-456789abcdef"));

  httplib::Result second =
      Get(*client,
          "/enterprise-accounts/76543210-89ab-cdef-0123-456789abcdef/members",
          heroku_test::kToken, kClientRange);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "[]");

  httplib::Result members =
      Get(*client, "/teams/" + std::string(kTeam) + "/members",
          heroku_test::kToken, kClientRange);
  ASSERT_TRUE(members);
  EXPECT_THAT(Strings(ParseJson(members->body), "role"),
              ElementsAre("member", "admin"));
  EXPECT_EQ(members->get_header_value("oauth-scope-accepted"), "global");

  httplib::Result addons =
      Get(*client, "/apps/e3af0e11-ea32-475e-a36f-e20f48e83136/addons",
          heroku_test::kToken, kClientRange);
  ASSERT_TRUE(addons);
  EXPECT_THAT(Strings(ParseJson(addons->body), "addon_service.name"),
              ElementsAre("papertrail", "heroku-postgresql"));
}

TEST(FakeHerokuReplayTest, UnrecordedRequestsAre404AndUnmatched) {
  auto server = StartReplay({TestDataPath("fetch-team-apps.har")});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  httplib::Result res = Get(*client, "/teams/other/apps");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_STREQ(ParseJson(res->body)["id"].GetString(), "not_found");
  httplib::Result other = Get(*client, "/nowhere");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  EXPECT_EQ(server->RequestCount("team-apps"), 1);
  EXPECT_EQ(server->RequestCount("unmatched"), 2);
  EXPECT_EQ(server->RequestCount("total"), 2);
}

TEST(FakeHerokuReplayTest, FaultsAndTheRateLimitApply) {
  auto server = StartReplay({TestDataPath("fetch-team-apps.har")}, 2);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->AddFault("team-apps:503:times=1").ok());
  auto client = MakeClient(server->port());
  const std::string target = std::string("/teams/") + kTeam + "/apps";
  httplib::Result failed = Get(*client, target);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 503);
  EXPECT_EQ(Get(*client, target)->status, 200);
  EXPECT_EQ(Get(*client, target)->status, 200);
  EXPECT_EQ(Get(*client, target)->status, 429);
}

TEST(FakeHerokuReplayTest, Summary) {
  auto server = StartReplay({TestDataDir()});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  httplib::Result res = client->Get("/_control/dataset-summary");
  ASSERT_TRUE(res);
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_STREQ(doc["mode"].GetString(), "replay");
  EXPECT_EQ(doc["files"].GetInt64(), 11);
  EXPECT_EQ(doc["entries"].GetInt64(), 13);
  EXPECT_EQ(doc["shadowed"].GetInt64(), 3);
  const rapidjson::Value& routes = doc["routes"];
  EXPECT_EQ(routes["account"].GetInt64(), 2);  // the 200 and the 401
  EXPECT_EQ(routes["enterprise-accounts"].GetInt64(), 1);
  EXPECT_EQ(routes["account-members"].GetInt64(), 2);
  EXPECT_EQ(routes["account-teams"].GetInt64(), 2);
  EXPECT_EQ(routes["team-apps"].GetInt64(), 1);
  EXPECT_EQ(routes["team-members"].GetInt64(), 1);
  EXPECT_EQ(routes["app-addons"].GetInt64(), 1);
}

}  // namespace
}  // namespace graphmill::fakes
