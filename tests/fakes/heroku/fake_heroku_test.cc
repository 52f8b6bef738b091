// HTTP tests of the generated-mode fake Heroku: auth forms, scopes, roles,
// Accept, each route's shape and headers, identities, counters, determinism.
#include "tests/fakes/heroku/fake_heroku.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/heroku/test_util.h"

namespace graphmill::fakes {
namespace {

using heroku_test::BasicAuth;
using heroku_test::Get;
using heroku_test::GetWith;
using heroku_test::kAccept;
using heroku_test::Keys;
using heroku_test::MakeClient;
using heroku_test::ParseJson;
using heroku_test::Strings;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::UnorderedElementsAreArray;

constexpr char kUnauthorizedBody[] =
    "{\"id\":\"unauthorized\",\"message\":\"Invalid credentials provided.\"}";
constexpr char kScopeBody[] =
    "{\"id\":\"forbidden\",\"message\":\"The scope of this OAuth "
    "authorization does not allow access to this resource.\"}";

heroku::TokenSpec Token(const std::string& spec) {
  absl::StatusOr<heroku::TokenSpec> token = heroku::ParseTokenSpec(spec);
  EXPECT_TRUE(token.ok()) << token.status();
  return *token;
}

class FakeHerokuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeHerokuOptions options;
    options.tokens = {Token("t-admin:global:admin"), Token("t-read:read:admin"),
                      Token("t-identity:identity:admin"),
                      Token("t-member:global:member"),
                      Token("t-mail:read+identity:admin:nobody@example.org")};
    options.dataset.seed = 3;
    options.dataset.outside_team_members_per_team = 1;
    absl::StatusOr<std::unique_ptr<FakeHeroku>> server =
        FakeHeroku::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = MakeClient(server_->port());
  }

  const heroku::Dataset& data() const { return server_->dataset(); }
  const heroku::Team& team0() const { return data().teams[0]; }
  const heroku::App& app0() const { return data().apps[0]; }

  httplib::Result As(const std::string& token, const std::string& target) {
    return Get(*client_, target, token);
  }

  std::unique_ptr<FakeHeroku> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(FakeHerokuTest, AcceptsBearerAndBothBasicForms) {
  for (const std::string& authorization :
       {std::string("Bearer t-admin"), BasicAuth("", "t-admin"),
        BasicAuth("someone@example.com", "t-admin")}) {
    httplib::Result res =
        GetWith(*client_, "/account",
                {{"Accept", kAccept}, {"Authorization", authorization}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << authorization;
  }
}

TEST_F(FakeHerokuTest, MissingOrBadCredentialsGive401WithoutRateLimitHeaders) {
  const std::vector<httplib::Headers> attempts = {
      {{"Accept", kAccept}},
      {{"Authorization", "Bearer wrong"}},
      {{"Authorization", "Basic !!"}},
      {{"Authorization", BasicAuth("", "")}},
      {{"Authorization", "Token t-admin"}}};
  for (const httplib::Headers& headers : attempts) {
    httplib::Result res = GetWith(*client_, "/enterprise-accounts", headers);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    EXPECT_EQ(res->body, kUnauthorizedBody);
    EXPECT_EQ(res->get_header_value("Content-Type"),
              "application/json; charset=utf-8");
    EXPECT_FALSE(res->has_header("RateLimit-Remaining"));
    EXPECT_FALSE(res->has_header("OAuth-Scope"));
  }
  EXPECT_EQ(server_->StatusCount(401), static_cast<int64_t>(attempts.size()));
  EXPECT_EQ(server_->RateLimit("t-admin").taken, 0);
}

TEST_F(FakeHerokuTest, TeamMembersNeedTheGlobalScope) {
  const std::string target = "/teams/" + team0().id + "/members";
  httplib::Result denied = As("t-read", target);
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(denied->body, kScopeBody);
  EXPECT_EQ(denied->get_header_value("OAuth-Scope"), "read");
  EXPECT_EQ(denied->get_header_value("OAuth-Scope-Accepted"), "global");
  EXPECT_TRUE(denied->has_header("RateLimit-Remaining"));

  httplib::Result allowed = As("t-admin", target);
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(allowed->get_header_value("OAuth-Scope"), "global");
  EXPECT_EQ(allowed->get_header_value("OAuth-Scope-Accepted"), "global");
}

TEST_F(FakeHerokuTest, AccountNeedsGlobalOrIdentity) {
  httplib::Result read = As("t-read", "/account");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, 403);
  EXPECT_EQ(read->body, kScopeBody);
  EXPECT_EQ(read->get_header_value("OAuth-Scope-Accepted"), "global identity");

  httplib::Result identity = As("t-identity", "/account");
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->status, 200);
  EXPECT_EQ(identity->get_header_value("OAuth-Scope"), "identity");

  // identity alone cannot list.
  httplib::Result list = As("t-identity", "/enterprise-accounts");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 403);
  EXPECT_EQ(list->get_header_value("OAuth-Scope-Accepted"),
            "global read read-protected write write-protected");

  httplib::Result read_list = As("t-read", "/teams/" + team0().id + "/apps");
  ASSERT_TRUE(read_list);
  EXPECT_EQ(read_list->status, 200);
}

TEST_F(FakeHerokuTest, MemberRoleIsRefusedAddOnsAndSeesMemberViews) {
  httplib::Result addons = As("t-member", "/apps/" + app0().id + "/addons");
  ASSERT_TRUE(addons);
  EXPECT_EQ(addons->status, 403);
  rapidjson::Document error = ParseJson(addons->body);
  EXPECT_STREQ(error["id"].GetString(), "forbidden");
  EXPECT_STREQ(error["message"].GetString(),
               "You do not have access to the add-ons of this app. An "
               "enterprise admin role is required.");
  EXPECT_THAT(Keys(error), ElementsAre("id", "message"));

  httplib::Result accounts = As("t-member", "/enterprise-accounts");
  ASSERT_TRUE(accounts);
  rapidjson::Document doc = ParseJson(accounts->body);
  ASSERT_TRUE(doc.IsArray());
  ASSERT_GT(doc.Size(), 0u);
  ASSERT_EQ(doc[0]["permissions"].Size(), 1u);
  EXPECT_STREQ(doc[0]["permissions"][0].GetString(), "view");

  httplib::Result teams = As(
      "t-member", "/enterprise-accounts/" + data().accounts[0].id + "/teams");
  ASSERT_TRUE(teams);
  EXPECT_THAT(Strings(ParseJson(teams->body), "role"),
              ::testing::Each(std::string("member")));

  httplib::Result admin_addons =
      As("t-admin", "/apps/" + app0().id + "/addons");
  ASSERT_TRUE(admin_addons);
  EXPECT_EQ(admin_addons->status, 200);
}

TEST_F(FakeHerokuTest, AcceptHeaderVersion) {
  httplib::Result wrong =
      GetWith(*client_, "/account",
              {{"Accept", "application/vnd.heroku+json; version=2"},
               {"Authorization", "Bearer t-admin"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 406);
  EXPECT_STREQ(ParseJson(wrong->body)["id"].GetString(), "not_acceptable");

  for (const char* accept : {"", "application/json", "*/*",
                             "application/vnd.heroku+json; version=3.sdk",
                             "application/vnd.heroku+json"}) {
    httplib::Headers headers{{"Authorization", "Bearer t-admin"}};
    if (*accept != '\0') headers.emplace("Accept", accept);
    httplib::Result res = GetWith(*client_, "/account", headers);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << accept;
  }
}

TEST_F(FakeHerokuTest, AccountShapeAndUsers) {
  httplib::Result res = As("t-admin", "/account");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_THAT(
      Keys(doc),
      ElementsAre("allow_tracking", "beta", "email", "federated", "id",
                  "identity_provider", "last_login", "name", "sms_number",
                  "two_factor_authentication", "verified", "created_at",
                  "updated_at", "suspended_at", "default_organization",
                  "default_team", "delinquent_at"));
  EXPECT_EQ(doc["email"].GetString(), data().users[0].email);
  EXPECT_EQ(doc["id"].GetString(), data().users[0].id);
  EXPECT_EQ(res->get_header_value("OAuth-Scope-Accepted"), "global identity");
  EXPECT_TRUE(res->has_header("ETag"));
  EXPECT_FALSE(res->has_header("Accept-Ranges"));

  // A token bound to an e-mail outside the dataset gets a synthesized account.
  httplib::Result other = As("t-mail", "/account");
  ASSERT_TRUE(other);
  EXPECT_STREQ(ParseJson(other->body)["email"].GetString(),
               "nobody@example.org");

  // /users/{id|email}.
  const heroku::User& user = data().users[1];
  for (const std::string& identity : {user.id, user.email}) {
    httplib::Result by = As("t-admin", "/users/" + identity);
    ASSERT_TRUE(by);
    ASSERT_EQ(by->status, 200);
    EXPECT_EQ(ParseJson(by->body)["id"].GetString(), user.id);
  }
}

TEST_F(FakeHerokuTest, RateLimitsRouteAnswersRemaining) {
  httplib::Result res = As("t-read", "/account/rate-limits");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_THAT(Keys(doc), ElementsAre("remaining"));
  EXPECT_EQ(doc["remaining"].GetInt(), 4500);
  EXPECT_EQ(res->get_header_value("RateLimit-Remaining"), "4500");
}

TEST_F(FakeHerokuTest, EnterpriseAccountsShape) {
  httplib::Result res = As("t-admin", "/enterprise-accounts");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  ASSERT_EQ(doc.Size(), data().accounts.size());
  EXPECT_THAT(Keys(doc[0]),
              ElementsAre("id", "created_at", "name", "updated_at",
                          "permissions", "trial", "identity_provider"));
  std::vector<std::string> ids;
  for (const auto& account : data().accounts) ids.push_back(account.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_THAT(Strings(doc, "id"), ElementsAreArray(ids));
  EXPECT_EQ(res->get_header_value("Accept-Ranges"), "id, name, updated_at");
  EXPECT_EQ(res->get_header_value("Content-Range"),
            "id " + ids.front() + ".." + ids.back());
  EXPECT_EQ(res->get_header_value("OAuth-Scope-Accepted"),
            "global read read-protected write write-protected");
  EXPECT_EQ(res->get_header_value("RateLimit-Multiplier"), "1");
  EXPECT_EQ(res->get_header_value("Cache-Control"), "private, no-cache");
  EXPECT_EQ(res->get_header_value("Vary"), "Authorization,Accept-Encoding");
  EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(res->get_header_value("Request-Id").size(), 36u);
  EXPECT_EQ(res->get_header_value("ETag").size(), 34u);
}

TEST_F(FakeHerokuTest, AccountMembersShapeHasNoTimestamps) {
  const heroku::EnterpriseAccount& account = data().accounts[0];
  httplib::Result res =
      As("t-admin", "/enterprise-accounts/" + account.id + "/members");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  ASSERT_GT(doc.Size(), 0u);
  for (const auto& item : doc.GetArray()) {
    EXPECT_THAT(Keys(item),
                ElementsAre("enterprise_account", "id", "permissions", "user",
                            "two_factor_authentication", "identity_provider"));
    EXPECT_FALSE(item.HasMember("created_at"));
    EXPECT_EQ(item["enterprise_account"]["id"].GetString(), account.id);
    EXPECT_THAT(Keys(item["user"]), ElementsAre("email", "id"));
    EXPECT_THAT(Keys(item["permissions"][0]),
                ElementsAre("description", "name"));
  }
  std::vector<std::string> expected_users;
  for (const auto& member : data().account_members) {
    if (member.account == 0) {
      expected_users.push_back(data().users[member.user].id);
    }
  }
  EXPECT_THAT(Strings(doc, "user.id"),
              UnorderedElementsAreArray(expected_users));
  EXPECT_EQ(res->get_header_value("Accept-Ranges"), "id");

  // Shared members appear in both accounts with the same user id.
  httplib::Result other = As(
      "t-admin", "/enterprise-accounts/" + data().accounts[1].id + "/members");
  ASSERT_TRUE(other);
  const std::vector<std::string> first = Strings(doc, "user.id");
  const std::vector<std::string> second =
      Strings(ParseJson(other->body), "user.id");
  const std::set<std::string> in_first(first.begin(), first.end());
  int shared = 0;
  for (const std::string& id : second) shared += in_first.count(id);
  EXPECT_EQ(shared, data().options.shared_members);
}

TEST_F(FakeHerokuTest, TeamsShapeAndNames) {
  const heroku::EnterpriseAccount& account = data().accounts[0];
  for (const std::string& identity : {account.id, account.name}) {
    httplib::Result res =
        As("t-admin", "/enterprise-accounts/" + identity + "/teams");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    rapidjson::Document doc = ParseJson(res->body);
    ASSERT_EQ(doc.Size(), 2u);
    EXPECT_THAT(
        Keys(doc[0]),
        ElementsAre("id", "created_at", "credit_card_collections", "default",
                    "enterprise_account", "identity_provider",
                    "membership_limit", "name", "provisioned_licenses", "role",
                    "type", "updated_at"));
    EXPECT_EQ(doc[0]["enterprise_account"]["name"].GetString(), account.name);
    EXPECT_STREQ(doc[0]["role"].GetString(), "admin");
  }
}

TEST_F(FakeHerokuTest, TeamMembersShapeIncludesOutsiders) {
  httplib::Result res = As("t-admin", "/teams/" + team0().name + "/members");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  ASSERT_EQ(doc.Size(), 4u);  // 3 account members + 1 outsider
  EXPECT_THAT(Keys(doc[0]),
              ElementsAre("id", "created_at", "email", "federated",
                          "identity_provider", "role", "updated_at", "user"));
  EXPECT_THAT(Keys(doc[0]["user"]), ElementsAre("id", "email", "name"));
  std::vector<std::string> expected;
  for (const auto& member : data().team_members) {
    if (member.team == 0) expected.push_back(data().users[member.user].id);
  }
  EXPECT_THAT(Strings(doc, "user.id"), UnorderedElementsAreArray(expected));
  for (const std::string& role : Strings(doc, "role")) {
    EXPECT_THAT(role,
                ::testing::AnyOf("admin", "member", "collaborator", "owner"));
  }
  EXPECT_EQ(res->get_header_value("Accept-Ranges"), "email, id");
}

TEST_F(FakeHerokuTest, TeamAppsShapeOwnedByTheTeamPseudoUser) {
  httplib::Result res = As("t-admin", "/teams/" + team0().id + "/apps");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  ASSERT_EQ(doc.Size(), 3u);
  EXPECT_THAT(
      Keys(doc[0]),
      ElementsAre("acm", "archived_at", "buildpack_provided_description",
                  "build_stack", "created_at", "id", "git_url", "maintenance",
                  "name", "owner", "region", "organization", "team", "space",
                  "internal_routing", "released_at", "repo_size", "slug_size",
                  "stack", "updated_at", "web_url", "joined", "legacy_id",
                  "locked"));
  for (const auto& app : doc.GetArray()) {
    EXPECT_EQ(app["owner"]["email"].GetString(),
              team0().name + "@herokumanager.com");
    EXPECT_EQ(app["owner"]["id"].GetString(), team0().id);
    EXPECT_EQ(app["team"]["id"].GetString(), team0().id);
    EXPECT_EQ(app["team"]["name"].GetString(), team0().name);
    EXPECT_EQ(app["organization"]["id"].GetString(), team0().id);
  }
  EXPECT_EQ(res->get_header_value("Content-Expansion"), "region");
  EXPECT_EQ(res->get_header_value("Accept-Ranges"), "id, name, updated_at");
}

TEST_F(FakeHerokuTest, AppAddonsShapeByIdAndName) {
  for (const std::string& identity : {app0().id, app0().name}) {
    httplib::Result res = As("t-admin", "/apps/" + identity + "/addons");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    rapidjson::Document doc = ParseJson(res->body);
    ASSERT_EQ(doc.Size(), 2u);
    EXPECT_THAT(
        Keys(doc[0]),
        ElementsAre("actions", "app", "config_vars", "created_at", "id", "name",
                    "addon_service", "plan", "billing_entity", "provider_id",
                    "state", "updated_at", "web_url", "billed_price"));
    for (const auto& addon : doc.GetArray()) {
      EXPECT_EQ(addon["app"]["id"].GetString(), app0().id);
      EXPECT_EQ(addon["app"]["name"].GetString(), app0().name);
      EXPECT_THAT(Keys(addon["addon_service"]), ElementsAre("id", "name"));
      EXPECT_THAT(Keys(addon["plan"]), ElementsAre("id", "name"));
      EXPECT_EQ(addon["web_url"].GetString(),
                "https://addons-sso.heroku.com/apps/" + app0().id + "/addons/" +
                    addon["id"].GetString());
    }
    EXPECT_EQ(res->get_header_value("Content-Expansion"),
              "addon_service, plan");
    EXPECT_EQ(res->get_header_value("Accept-Ranges"), "id, name");
  }
}

TEST_F(FakeHerokuTest, UnknownIdentitiesAndRoutesAre404) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/enterprise-accounts/nope/members",
       "Couldn't find that enterprise account."},
      {"/enterprise-accounts/nope/teams",
       "Couldn't find that enterprise account."},
      {"/teams/nope/members", "Couldn't find that team."},
      {"/teams/nope/apps", "Couldn't find that team."},
      {"/apps/nope/addons", "Couldn't find that app."},
      {"/users/nope", "Couldn't find that user."}};
  for (const auto& [target, message] : cases) {
    httplib::Result res = As("t-admin", target);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << target;
    rapidjson::Document doc = ParseJson(res->body);
    EXPECT_STREQ(doc["id"].GetString(), "not_found");
    EXPECT_EQ(doc["message"].GetString(), message);
  }
  httplib::Result route = As("t-admin", "/apps");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->status, 404);
  EXPECT_STREQ(ParseJson(route->body)["id"].GetString(), "not_found");
  httplib::Result post =
      client_->Post("/account", {{"Authorization", "Bearer t-admin"}}, "",
                    "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 404);
  EXPECT_EQ(server_->RequestCount("unmatched"), 2);
}

TEST_F(FakeHerokuTest, CountsRequestsPerRouteAndStatus) {
  As("t-admin", "/account");
  As("t-admin", "/account");
  As("t-read", "/account");
  As("", "/enterprise-accounts");
  As("t-admin", "/teams/" + team0().id + "/apps");
  As("t-admin", "/nowhere");
  EXPECT_EQ(server_->RequestCount("account"), 3);
  EXPECT_EQ(server_->RequestCount("enterprise-accounts"), 1);
  EXPECT_EQ(server_->RequestCount("team-apps"), 1);
  EXPECT_EQ(server_->RequestCount("unmatched"), 1);
  EXPECT_EQ(server_->RequestCount("total"), 6);
  EXPECT_EQ(server_->RequestCount("no-such-counter"), 0);
  EXPECT_EQ(server_->StatusCount(200), 3);
  EXPECT_EQ(server_->StatusCount(403), 1);
  EXPECT_EQ(server_->StatusCount(401), 1);
  EXPECT_EQ(server_->StatusCount(404), 1);

  httplib::Result counters = client_->Get("/_control/counters");
  ASSERT_TRUE(counters);
  rapidjson::Document doc = ParseJson(counters->body);
  EXPECT_EQ(doc["account"].GetInt64(), 3);
  EXPECT_EQ(doc["total"].GetInt64(), 6);
  EXPECT_EQ(doc["statuses"]["200"].GetInt64(), 3);

  httplib::Result reset = client_->Delete("/_control/counters");
  ASSERT_TRUE(reset);
  EXPECT_EQ(server_->RequestCount("total"), 0);
  EXPECT_EQ(server_->StatusCount(200), 0);
  // Control requests are not counted.
  client_->Get("/_control/health");
  EXPECT_EQ(server_->RequestCount("total"), 0);
}

TEST_F(FakeHerokuTest, DatasetSummary) {
  httplib::Result res = client_->Get("/_control/dataset-summary");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_STREQ(doc["mode"].GetString(), "generated");
  EXPECT_EQ(doc["seed"].GetInt64(), 3);
  EXPECT_EQ(doc["accounts"].GetInt64(), 2);
  EXPECT_EQ(doc["users"].GetInt64(), 14);  // 10 members + 4 outsiders
  EXPECT_EQ(doc["enterprise_users"].GetInt64(), 10);
  EXPECT_EQ(doc["shared_users"].GetInt64(), 2);
  EXPECT_EQ(doc["account_members"].GetInt64(), 12);
  EXPECT_EQ(doc["teams"].GetInt64(), 4);
  EXPECT_EQ(doc["team_members"].GetInt64(), 16);
  EXPECT_EQ(doc["outside_team_members"].GetInt64(), 4);
  EXPECT_EQ(doc["apps"].GetInt64(), 12);
  EXPECT_EQ(doc["max_apps_per_team"].GetInt64(), 3);
  EXPECT_EQ(doc["addons"].GetInt64(), 24);
  EXPECT_EQ(doc["tokens"].GetInt64(), 5);
}

TEST(FakeHerokuStartTest, SameSeedServesTheSameBytes) {
  FakeHerokuOptions options;
  options.dataset.seed = 11;
  auto a = FakeHeroku::Start(options);
  auto b = FakeHeroku::Start(options);
  options.dataset.seed = 12;
  auto c = FakeHeroku::Start(options);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto client_a = MakeClient((*a)->port());
  auto client_b = MakeClient((*b)->port());
  const std::string target = "/teams/" + (*a)->dataset().teams[1].id + "/apps";
  httplib::Result from_a = Get(*client_a, target);
  httplib::Result from_b = Get(*client_b, target);
  ASSERT_TRUE(from_a && from_b);
  EXPECT_EQ(from_a->status, 200);
  EXPECT_EQ(from_a->body, from_b->body);
  EXPECT_NE((*c)->dataset().teams[1].id, (*a)->dataset().teams[1].id);
}

TEST(FakeHerokuStartTest, EmptyListHasAcceptRangesButNoContentRange) {
  FakeHerokuOptions options;
  options.dataset.addons_per_app = 0;
  auto server = FakeHeroku::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = MakeClient((*server)->port());
  httplib::Result res =
      Get(*client, "/apps/" + (*server)->dataset().apps[0].id + "/addons");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "[]");
  EXPECT_EQ(res->get_header_value("Accept-Ranges"), "id, name");
  EXPECT_FALSE(res->has_header("Content-Range"));
  EXPECT_FALSE(res->has_header("Next-Range"));
}

TEST(FakeHerokuStartTest, RejectsBadOptionsWithoutShowingTokens) {
  FakeHerokuOptions duplicate;
  duplicate.tokens = {Token("same-secret:global:admin"),
                      Token("same-secret:read:member")};
  absl::StatusOr<std::unique_ptr<FakeHeroku>> server =
      FakeHeroku::Start(duplicate);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()),
              ::testing::Not(::testing::HasSubstr("same-secret")));

  FakeHerokuOptions capacity;
  capacity.rate_limit.capacity = 0;
  EXPECT_FALSE(FakeHeroku::Start(capacity).ok());

  FakeHerokuOptions dataset;
  dataset.dataset.accounts = -1;
  EXPECT_FALSE(FakeHeroku::Start(dataset).ok());

  FakeHerokuOptions replay;
  replay.mode = FakeHerokuMode::kReplay;
  EXPECT_FALSE(FakeHeroku::Start(replay).ok());
}

TEST(FakeHerokuStartTest, DefaultTokenIsTestToken) {
  auto server = FakeHeroku::Start(FakeHerokuOptions());
  ASSERT_TRUE(server.ok());
  auto client = MakeClient((*server)->port());
  httplib::Result res = Get(*client, "/account", "test-token");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("OAuth-Scope"), "global");
  EXPECT_EQ((*server)->base_url(),
            "http://127.0.0.1:" + std::to_string((*server)->port()));
}

}  // namespace
}  // namespace graphmill::fakes
