// HTTP tests of mutations on a running fake Heroku: each operation seen
// through the API (team apps, add-ons, identities, Range by name), dataset(),
// the summary; bad requests change nothing; replay mode refuses.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/heroku/fake_heroku.h"
#include "tests/fakes/heroku/mutations.h"
#include "tests/fakes/heroku/payloads.h"
#include "tests/fakes/heroku/test_util.h"

namespace graphmill::fakes {
namespace {

using heroku::Mutation;
using heroku_test::Get;
using heroku_test::MakeClient;
using heroku_test::ParseJson;
using heroku_test::Strings;
using heroku_test::TestDataPath;
using heroku_test::WalkRange;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'714'557'600);
constexpr char kNowText[] = "2024-05-01T10:00:00Z";

class FakeHerokuMutationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeHerokuOptions options;
    options.dataset.accounts = 1;
    options.dataset.shared_members = 0;
    options.dataset.teams_per_account = 2;
    options.dataset.apps_per_team = 4;
    options.dataset.addons_per_app = 2;
    options.clock = [] { return kNow; };
    absl::StatusOr<std::unique_ptr<FakeHeroku>> server =
        FakeHeroku::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = MakeClient(server_->port());
  }

  httplib::Result PostMutations(const std::string& body) {
    return client_->Post("/_control/mutations", body, "application/json");
  }

  // The body of a 200 GET.
  std::string Body(const std::string& target) {
    httplib::Result res = Get(*client_, target);
    EXPECT_TRUE(res);
    if (!res) return "";
    EXPECT_EQ(res->status, 200) << target << " " << res->body;
    return res->body;
  }

  int Status(const std::string& target) {
    httplib::Result res = Get(*client_, target);
    EXPECT_TRUE(res);
    return res ? res->status : -1;
  }

  std::string TeamAppsPath(int team) const {
    return absl::StrCat("/teams/", server_->dataset().teams[team].id, "/apps");
  }

  std::unique_ptr<FakeHeroku> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(FakeHerokuMutationsTest, RenameAppShowsEverywhere) {
  const heroku::Dataset& before = server_->dataset();
  const heroku::App app = before.apps[1];
  httplib::Result res = PostMutations(absl::StrCat(
      R"({"op":"rename_app","id":")", app.id, R"(","name":"zz-renamed"})"));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  rapidjson::Document summary = ParseJson(res->body);
  EXPECT_EQ(summary["version"].GetInt(), 1);
  EXPECT_EQ(summary["apps"].GetInt(), static_cast<int>(before.apps.size()));
  EXPECT_EQ(server_->data_version(), 1);

  const heroku::Dataset& after = server_->dataset();
  EXPECT_EQ(before.apps[1].name, app.name) << "old versions stay valid";
  EXPECT_EQ(after.apps[1].name, "zz-renamed");
  EXPECT_EQ(after.apps[1].updated_at, kNowText);

  // The team's apps list serves exactly what AppJson renders.
  const std::string apps = Body(TeamAppsPath(after.apps[1].team));
  EXPECT_THAT(apps, HasSubstr(heroku::AppJson(after, after.apps[1])));
  EXPECT_THAT(apps, Not(HasSubstr(absl::StrCat("\"", app.name, "\""))));
  // The new name is an identity; the old one is gone.
  EXPECT_EQ(Status("/apps/zz-renamed/addons"), 200);
  EXPECT_EQ(Status(absl::StrCat("/apps/", app.name, "/addons")), 404);
  EXPECT_THAT(Body(absl::StrCat("/apps/", app.id, "/addons")),
              HasSubstr(R"("name":"zz-renamed")"));
  // Range by name sorts it last; by updated_at it is the newest.
  heroku_test::WalkResult by_name =
      WalkRange(*client_, TeamAppsPath(after.apps[1].team), "name ..", "name");
  ASSERT_TRUE(by_name.ok);
  ASSERT_FALSE(by_name.ids.empty());
  EXPECT_EQ(by_name.ids.back(), "zz-renamed");
  heroku_test::WalkResult by_time = WalkRange(
      *client_, TeamAppsPath(after.apps[1].team), "updated_at ..", "name");
  ASSERT_TRUE(by_time.ok);
  EXPECT_EQ(by_time.ids.back(), "zz-renamed");
}

TEST_F(FakeHerokuMutationsTest, RemoveAppTakesItsAddonsFromTheApi) {
  const heroku::Dataset& before = server_->dataset();
  const heroku::App app = before.apps[5];
  const size_t apps = before.apps.size();
  const size_t addons = before.addons.size();
  ASSERT_TRUE(server_->Mutate(Mutation::RemoveApp(app.name)).ok());
  EXPECT_EQ(Status(absl::StrCat("/apps/", app.id, "/addons")), 404);
  rapidjson::Document list = ParseJson(Body(TeamAppsPath(app.team)));
  EXPECT_THAT(Strings(list, "id"), Not(Contains(app.id)));
  EXPECT_EQ(list.Size(), 3u);
  rapidjson::Document summary =
      ParseJson(client_->Get("/_control/dataset-summary")->body);
  EXPECT_EQ(summary["apps"].GetUint64(), apps - 1);
  EXPECT_EQ(summary["addons"].GetUint64(), addons - 2);
  EXPECT_EQ(summary["version"].GetInt(), 1);
  // The other apps' add-ons are still served under the right app.
  for (const heroku::App& other : server_->dataset().apps) {
    rapidjson::Document items =
        ParseJson(Body(absl::StrCat("/apps/", other.id, "/addons")));
    ASSERT_EQ(items.Size(), 2u) << other.name;
    for (const auto& item : items.GetArray()) {
      EXPECT_EQ(std::string(item["app"]["id"].GetString()), other.id);
    }
  }
}

TEST_F(FakeHerokuMutationsTest, AddonRenameAndRemove) {
  const heroku::Dataset& before = server_->dataset();
  const heroku::Addon first = before.addons[2];
  const heroku::Addon second = before.addons[3];
  ASSERT_EQ(first.app, second.app);
  const std::string app_id = before.apps[first.app].id;
  httplib::Result res = PostMutations(
      absl::StrCat(R"({"mutations":[{"op":"rename_addon","id":")", first.name,
                   R"(","name":"logs-main"},{"op":"remove_addon","id":")",
                   second.id, R"("}]})"));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  rapidjson::Document items =
      ParseJson(Body(absl::StrCat("/apps/", app_id, "/addons")));
  ASSERT_EQ(items.Size(), 1u);
  EXPECT_EQ(std::string(items[0]["id"].GetString()), first.id);
  EXPECT_EQ(std::string(items[0]["name"].GetString()), "logs-main");
  EXPECT_EQ(std::string(items[0]["updated_at"].GetString()), kNowText);
  EXPECT_EQ(server_->data_version(), 1) << "one request, one version";
}

TEST_F(FakeHerokuMutationsTest, BadRequestsChangeNothing) {
  const heroku::Dataset& data = server_->dataset();
  const std::string apps_before = Body(TeamAppsPath(0));
  struct Case {
    std::string body;
    int status;
    std::string id;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"not json", 400, "bad_request", "not JSON"},
      {R"({"op":"explode","id":"x"})", 400, "bad_request",
       "unknown op 'explode'"},
      {R"({"op":"rename_app","id":"x"})", 400, "bad_request",
       "field 'name' is required"},
      {R"({"op":"remove_app","id":"no-such-app"})", 404, "not_found",
       "mutation #0 (remove_app): app 'no-such-app' not found"},
      {absl::StrCat(R"({"op":"rename_app","id":")", data.apps[0].id,
                    R"(","name":")", data.apps[1].name, R"("})"),
       409, "conflict", "already taken"},
      // All or nothing: the first would have worked.
      {absl::StrCat(R"([{"op":"rename_app","id":")", data.apps[0].id,
                    R"(","name":"good-name"},)",
                    R"({"op":"remove_addon","id":"nope"}])"),
       404, "not_found", "mutation #1 (remove_addon): add-on 'nope'"},
  };
  for (const Case& c : cases) {
    httplib::Result res = PostMutations(c.body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status) << c.body;
    rapidjson::Document doc = ParseJson(res->body);
    EXPECT_EQ(std::string(doc["id"].GetString()), c.id) << c.body;
    EXPECT_THAT(doc["message"].GetString(), HasSubstr(c.message)) << c.body;
  }
  EXPECT_EQ(server_->data_version(), 0);
  EXPECT_EQ(&server_->dataset(), &data);
  EXPECT_EQ(Body(TeamAppsPath(0)), apps_before);
  EXPECT_FALSE(server_->Mutate(std::vector<Mutation>{}).ok());
}

TEST(FakeHerokuReplayMutationsTest, ReplayModeRefusesMutations) {
  FakeHerokuOptions options;
  options.mode = FakeHerokuMode::kReplay;
  options.recordings = {TestDataPath("fetch-team-apps.har")};
  absl::StatusOr<std::unique_ptr<FakeHeroku>> server =
      FakeHeroku::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = MakeClient((*server)->port());
  httplib::Result res =
      client->Post("/_control/mutations", R"({"op":"remove_app","id":"x"})",
                   "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409);
  EXPECT_THAT(res->body, HasSubstr("replay"));
  EXPECT_EQ((*server)->Mutate(Mutation::RemoveApp("x")).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace graphmill::fakes
