// HTTP tests of Range pagination on the generated-mode fake Heroku: defaults,
// the 206/Next-Range chain, bounds, order, fields, 416, and a team with more
// than 1,000 apps.
#include <algorithm>
#include <string>
#include <vector>

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
using heroku_test::WalkRange;
using heroku_test::WalkResult;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::Le;

class PaginationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    FakeHerokuOptions options;
    options.dataset.seed = 5;
    options.dataset.accounts = 2;
    options.dataset.teams_per_account = 2;
    options.dataset.members_per_account = 30;
    options.dataset.shared_members = 4;
    options.dataset.team_members_per_team = 25;
    options.dataset.apps_per_team = 23;
    options.dataset.apps_first_team = 1234;
    options.dataset.addons_per_app = 1;
    absl::StatusOr<std::unique_ptr<FakeHeroku>> server =
        FakeHeroku::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { client_ = MakeClient(server_->port()); }

  const heroku::Dataset& data() const { return server_->dataset(); }

  // The apps of team `team`, projected by `field`, sorted.
  std::vector<std::string> AppKeys(int team, const std::string& field) const {
    std::vector<std::string> keys;
    for (const heroku::App& app : data().apps) {
      if (app.team != team) continue;
      keys.push_back(field == "name"         ? app.name
                     : field == "updated_at" ? app.updated_at
                                             : app.id);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  std::string AppsOf(int team) const {
    return "/teams/" + data().teams[team].id + "/apps";
  }

  static FakeHeroku* server_;
  std::unique_ptr<httplib::Client> client_;
};
FakeHeroku* PaginationTest::server_ = nullptr;

TEST_F(PaginationTest, NoRangeMeansIdOrderAndPagesOf200) {
  httplib::Result res = Get(*client_, AppsOf(0));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 206);
  const std::vector<std::string> ids = AppKeys(0, "id");
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_THAT(Strings(doc, "id"),
              ElementsAreArray(ids.begin(), ids.begin() + 200));
  EXPECT_EQ(res->get_header_value("Next-Range"),
            "id ]" + ids[199] + "..; max=200");
  EXPECT_EQ(res->get_header_value("Content-Range"),
            "id " + ids[0] + ".." + ids[199]);
}

TEST_F(PaginationTest, MoreThanAThousandAppsComeInPagesOfAtMostAThousand) {
  WalkResult walk = WalkRange(*client_, AppsOf(0), "id ..; max=1000", "id");
  ASSERT_TRUE(walk.ok);
  EXPECT_THAT(walk.statuses, ElementsAre(206, 200));
  EXPECT_THAT(walk.page_sizes, ElementsAre(1000, 234));
  EXPECT_THAT(walk.ids, ElementsAreArray(AppKeys(0, "id")));

  // max above 1,000 is capped.
  httplib::Result big =
      Get(*client_, AppsOf(0), heroku_test::kToken, "id ..; max=5000");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 206);
  EXPECT_EQ(ParseJson(big->body).Size(), 1000u);
  EXPECT_THAT(big->get_header_value("Next-Range"),
              ::testing::EndsWith("..; max=1000"));
}

TEST_F(PaginationTest, SmallPagesChainToTheEndWithExactItems) {
  WalkResult walk = WalkRange(*client_, AppsOf(1), "id ..; max=7", "id");
  ASSERT_TRUE(walk.ok);
  EXPECT_THAT(walk.ids, ElementsAreArray(AppKeys(1, "id")));
  EXPECT_EQ(walk.statuses.size(), 4u);  // 23 = 7 + 7 + 7 + 2
  EXPECT_THAT(walk.page_sizes, ElementsAre(7, 7, 7, 2));
  EXPECT_THAT(walk.statuses, ElementsAre(206, 206, 206, 200));

  // Exactly a multiple: the last full page still says 206 only if more remain.
  WalkResult exact = WalkRange(*client_, AppsOf(1), "id ..; max=23", "id");
  ASSERT_TRUE(exact.ok);
  EXPECT_THAT(exact.statuses, ElementsAre(200));
}

TEST_F(PaginationTest, ExclusiveAndInclusiveStarts) {
  const std::vector<std::string> ids = AppKeys(1, "id");
  httplib::Result exclusive =
      Get(*client_, AppsOf(1), heroku_test::kToken, "id ]" + ids[4] + "..");
  ASSERT_TRUE(exclusive);
  EXPECT_EQ(exclusive->status, 200);
  EXPECT_THAT(Strings(ParseJson(exclusive->body), "id"),
              ElementsAreArray(ids.begin() + 5, ids.end()));
  httplib::Result inclusive =
      Get(*client_, AppsOf(1), heroku_test::kToken, "id " + ids[4] + "..");
  ASSERT_TRUE(inclusive);
  EXPECT_THAT(Strings(ParseJson(inclusive->body), "id"),
              ElementsAreArray(ids.begin() + 4, ids.end()));
  httplib::Result bounded = Get(*client_, AppsOf(1), heroku_test::kToken,
                                "id " + ids[2] + ".." + ids[5]);
  ASSERT_TRUE(bounded);
  EXPECT_EQ(bounded->get_header_value("Content-Range"),
            "id " + ids[2] + ".." + ids[5]);
  EXPECT_THAT(Strings(ParseJson(bounded->body), "id"),
              ElementsAreArray(ids.begin() + 2, ids.begin() + 6));
}

TEST_F(PaginationTest, DescendingOrderByName) {
  std::vector<std::string> names = AppKeys(1, "name");
  std::reverse(names.begin(), names.end());
  WalkResult walk =
      WalkRange(*client_, AppsOf(1), "name ..; max=10, order=desc", "name");
  ASSERT_TRUE(walk.ok);
  EXPECT_THAT(walk.ids, ElementsAreArray(names));
  EXPECT_EQ(walk.statuses.size(), 3u);
}

TEST_F(PaginationTest, UpdatedAtField) {
  WalkResult walk =
      WalkRange(*client_, AppsOf(2), "updated_at ..; max=5", "updated_at");
  ASSERT_TRUE(walk.ok);
  EXPECT_THAT(walk.ids, ElementsAreArray(AppKeys(2, "updated_at")));
}

TEST_F(PaginationTest, TeamMembersByEmail) {
  std::vector<std::string> emails;
  for (const heroku::TeamMember& member : data().team_members) {
    if (member.team == 3) emails.push_back(data().users[member.user].email);
  }
  std::sort(emails.begin(), emails.end());
  const std::string target = "/teams/" + data().teams[3].id + "/members";
  WalkResult walk = WalkRange(*client_, target, "email ..; max=4", "email");
  ASSERT_TRUE(walk.ok);
  EXPECT_THAT(walk.ids, ElementsAreArray(emails));
  EXPECT_THAT(walk.page_sizes, Each(Le(4u)));
}

TEST_F(PaginationTest, EveryListFollowsTheChain) {
  const std::string account = data().accounts[0].id;
  const std::string app = data().apps[0].id;
  struct Case {
    std::string target;
    std::string field;
    size_t expected;
  };
  const std::vector<Case> cases = {
      {"/enterprise-accounts", "id", 2},
      {"/enterprise-accounts/" + account + "/members", "id", 30},
      {"/enterprise-accounts/" + account + "/teams", "id", 2},
      {"/teams/" + data().teams[0].id + "/members", "id", 25},
      {"/apps/" + app + "/addons", "id", 1}};
  for (const Case& c : cases) {
    WalkResult walk =
        WalkRange(*client_, c.target, c.field + " ..; max=1", c.field);
    ASSERT_TRUE(walk.ok) << c.target;
    EXPECT_EQ(walk.ids.size(), c.expected) << c.target;
    EXPECT_EQ(walk.statuses.size(), c.expected) << c.target;
    std::vector<std::string> sorted = walk.ids;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(walk.ids, sorted) << c.target;
  }
}

TEST_F(PaginationTest, BadRangesAre416) {
  const std::string members =
      "/enterprise-accounts/" + data().accounts[0].id + "/members";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {AppsOf(1), "email ..; max=10"},
      {members, "name .."},
      {AppsOf(1), "id"},
      {AppsOf(1), "id ..; max=0"},
      {AppsOf(1), "id ..; order=up"},
      {AppsOf(1), "id ..; page=2"}};
  for (const auto& [target, range] : cases) {
    httplib::Result res = Get(*client_, target, heroku_test::kToken, range);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 416) << range;
    rapidjson::Document doc = ParseJson(res->body);
    EXPECT_STREQ(doc["id"].GetString(), "requested_range_not_satisfiable")
        << range;
    EXPECT_TRUE(res->has_header("Accept-Ranges"));
  }
}

TEST_F(PaginationTest, RangeIsIgnoredOnSingleObjects) {
  httplib::Result res =
      Get(*client_, "/account", heroku_test::kToken, "nonsense");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  httplib::Result user = Get(*client_, "/users/" + data().users[0].id,
                             heroku_test::kToken, "id ..; max=1000");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->status, 200);
}

TEST_F(PaginationTest, ClientsRangeOnASmallListIs200WithoutNextRange) {
  httplib::Result res =
      Get(*client_, AppsOf(1), heroku_test::kToken, "id ..; max=1000");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_FALSE(res->has_header("Next-Range"));
  EXPECT_EQ(ParseJson(res->body).Size(), 23u);
}

}  // namespace
}  // namespace graphmill::fakes
