// Tests of dataset.h: sizes, sharing rules, uniqueness and determinism.
#include "tests/fakes/heroku/dataset.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace graphmill::fakes::heroku {
namespace {

// The scenario: 2 accounts, 20 teams, 1,500 apps (one team over
// 1,000), 3,000 add-ons, 300 members, some in both accounts and several teams.
DatasetOptions Scenario() {
  DatasetOptions options;
  options.seed = 7;
  options.accounts = 2;
  options.members_per_account = 160;
  options.shared_members = 20;
  options.teams_per_account = 10;
  options.team_members_per_team = 40;
  options.outside_team_members_per_team = 1;
  options.apps_per_team = 20;
  options.apps_first_team = 1120;
  options.addons_per_app = 2;
  return options;
}

TEST(GenerateDatasetTest, DefaultSizes) {
  absl::StatusOr<Dataset> data = GenerateDataset(DatasetOptions());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->accounts.size(), 2u);
  EXPECT_EQ(data->account_members.size(), 12u);
  EXPECT_EQ(data->users.size(), 10u);  // 2 * 6 - 2 shared
  EXPECT_EQ(data->teams.size(), 4u);
  EXPECT_EQ(data->team_members.size(), 12u);
  EXPECT_EQ(data->apps.size(), 12u);
  EXPECT_EQ(data->addons.size(), 24u);
}

TEST(GenerateDatasetTest, ScenarioSizesAndSharing) {
  absl::StatusOr<Dataset> data = GenerateDataset(Scenario());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->accounts.size(), 2u);
  EXPECT_EQ(data->teams.size(), 20u);
  EXPECT_EQ(data->apps.size(), 1500u);
  EXPECT_EQ(data->addons.size(), 3000u);

  std::map<int, std::set<int>> accounts_of_user;
  for (const AccountMember& member : data->account_members) {
    accounts_of_user[member.user].insert(member.account);
  }
  EXPECT_EQ(accounts_of_user.size(), 300u);
  int shared = 0;
  for (const auto& [user, accounts] : accounts_of_user) {
    if (accounts.size() == 2) ++shared;
  }
  EXPECT_EQ(shared, 20);

  std::map<int, int> apps_of_team;
  for (const App& app : data->apps) ++apps_of_team[app.team];
  EXPECT_EQ(apps_of_team[0], 1120);
  EXPECT_EQ(apps_of_team[19], 20);

  // Team members come from the team's account (or are outsiders), are
  // distinct within a team, and many users are in several teams.
  std::map<int, std::set<int>> teams_of_user;
  std::map<int, std::set<int>> users_of_team;
  int outsiders = 0;
  for (const TeamMember& member : data->team_members) {
    const User& user = data->users[member.user];
    EXPECT_TRUE(users_of_team[member.team].insert(member.user).second);
    if (!user.enterprise_member) {
      ++outsiders;
      EXPECT_EQ(accounts_of_user.count(member.user), 0u);
      continue;
    }
    EXPECT_EQ(
        accounts_of_user[member.user].count(data->teams[member.team].account),
        1u);
    teams_of_user[member.user].insert(member.team);
  }
  EXPECT_EQ(outsiders, 20);
  EXPECT_EQ(data->team_members.size(), 20u * 41u);
  const int in_several = static_cast<int>(std::count_if(
      teams_of_user.begin(), teams_of_user.end(),
      [](const auto& entry) { return entry.second.size() >= 2; }));
  EXPECT_GT(in_several, 100);
  // Each team's first member is an admin.
  std::set<int> seen_teams;
  for (const TeamMember& member : data->team_members) {
    if (seen_teams.insert(member.team).second) {
      EXPECT_EQ(member.role, "admin");
    }
  }
  EXPECT_EQ(seen_teams.size(), 20u);
}

TEST(GenerateDatasetTest, IdsNamesAndUpdatedAtAreUnique) {
  absl::StatusOr<Dataset> data = GenerateDataset(Scenario());
  ASSERT_TRUE(data.ok());
  std::set<std::string> ids;
  std::set<std::string> updated;
  size_t count = 0;
  auto add = [&](const std::string& id, const std::string& updated_at) {
    ++count;
    ids.insert(id);
    updated.insert(updated_at);
    EXPECT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(updated_at.size(), 20u) << updated_at;
  };
  for (const auto& x : data->accounts) add(x.id, x.updated_at);
  for (const auto& x : data->teams) add(x.id, x.updated_at);
  for (const auto& x : data->apps) add(x.id, x.updated_at);
  for (const auto& x : data->addons) add(x.id, x.updated_at);
  for (const auto& x : data->team_members) add(x.id, x.updated_at);
  for (const auto& x : data->users) add(x.id, x.updated_at);
  EXPECT_EQ(ids.size(), count);
  EXPECT_EQ(updated.size(), count);

  std::set<std::string> names;
  for (const auto& x : data->accounts) names.insert(x.name);
  for (const auto& x : data->teams) names.insert(x.name);
  for (const auto& x : data->apps) names.insert(x.name);
  for (const auto& x : data->addons) names.insert(x.name);
  EXPECT_EQ(names.size(), 2u + 20u + 1500u + 3000u);
  std::set<std::string> emails;
  for (const auto& x : data->users) emails.insert(x.email);
  EXPECT_EQ(emails.size(), data->users.size());
}

TEST(GenerateDatasetTest, AnAppNeverHasTheSameServiceTwice) {
  absl::StatusOr<Dataset> data = GenerateDataset(Scenario());
  ASSERT_TRUE(data.ok());
  std::map<int, std::set<int>> services_of_app;
  for (const Addon& addon : data->addons) {
    EXPECT_TRUE(services_of_app[addon.app].insert(addon.service).second);
    EXPECT_EQ(addon.name.rfind(kAddonServices[addon.service].name_prefix, 0),
              0u)
        << addon.name;
  }
}

TEST(GenerateDatasetTest, SameSeedSameDataOtherSeedOtherData) {
  DatasetOptions options = Scenario();
  absl::StatusOr<Dataset> a = GenerateDataset(options);
  absl::StatusOr<Dataset> b = GenerateDataset(options);
  options.seed = 8;
  absl::StatusOr<Dataset> c = GenerateDataset(options);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_EQ(a->apps.size(), b->apps.size());
  for (size_t i = 0; i < a->apps.size(); ++i) {
    EXPECT_EQ(a->apps[i].id, b->apps[i].id);
    EXPECT_EQ(a->apps[i].name, b->apps[i].name);
  }
  for (size_t i = 0; i < a->team_members.size(); ++i) {
    EXPECT_EQ(a->team_members[i].user, b->team_members[i].user);
    EXPECT_EQ(a->team_members[i].role, b->team_members[i].role);
  }
  EXPECT_NE(a->apps[0].id, c->apps[0].id);
  EXPECT_NE(a->users[0].email + a->users[1].email,
            c->users[0].email + c->users[1].email);
}

TEST(GenerateDatasetTest, FirstUserIsAnAdminMemberOfTheFirstAccount) {
  absl::StatusOr<Dataset> data = GenerateDataset(DatasetOptions());
  ASSERT_TRUE(data.ok());
  const AccountMember& first = data->account_members[0];
  EXPECT_EQ(first.user, 0);
  EXPECT_EQ(first.account, 0);
  EXPECT_EQ(first.permissions.size(), 4u);
}

TEST(GenerateDatasetTest, TeamOwnerEmailUsesHerokuManager) {
  Team team;
  team.name = "acme-payments-0";
  EXPECT_EQ(TeamOwnerEmail(team), "acme-payments-0@herokumanager.com");
}

TEST(GenerateDatasetTest, RejectsBadOptions) {
  auto with = [](auto change) {
    DatasetOptions options;
    change(options);
    return GenerateDataset(options).status();
  };
  EXPECT_FALSE(with([](DatasetOptions& o) { o.accounts = -1; }).ok());
  EXPECT_FALSE(with([](DatasetOptions& o) { o.apps_first_team = -2; }).ok());
  EXPECT_FALSE(with([](DatasetOptions& o) {
                 o.accounts = 1;
                 o.shared_members = 1;
               }).ok());
  EXPECT_FALSE(with([](DatasetOptions& o) {
                 o.members_per_account = 3;
                 o.shared_members = 4;
               }).ok());
  EXPECT_FALSE(with([](DatasetOptions& o) {
                 o.apps_per_team = 100000;
                 o.addons_per_app = 100;
               }).ok());
  absl::Status empty = with([](DatasetOptions& o) {
    o.accounts = 0;
    o.shared_members = 0;
  });
  EXPECT_TRUE(empty.ok()) << empty;
}

}  // namespace
}  // namespace graphmill::fakes::heroku
