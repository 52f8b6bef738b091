// Tests of the Heroku steps on generated data at the brief's scale, sharded and
// whole, and with tokens whose scopes and roles hide parts of it: the real
// integration against the in-process fake Heroku.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/graph_objects.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/fakes/heroku/fake_heroku.h"
#include "worker/integrations/common/fake_step_context.h"
#include "worker/integrations/common/step_test_util.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/definition.h"
#include "worker/integrations/heroku/heroku_integration.h"
#include "worker/integrations/heroku/steps/steps.h"
#include "worker/integrations/heroku/steps_test_util.h"

namespace graphmill::worker::heroku {
namespace {

namespace fh = ::graphmill::fakes::heroku;
using ::graphmill::fakes::FakeHeroku;
using ::graphmill::fakes::FakeHerokuMode;
using ::graphmill::fakes::FakeHerokuOptions;
using ::graphmill::worker::testing::EntityCounts;
using ::graphmill::worker::testing::ExpectAllOk;
using ::graphmill::worker::testing::ExpectNoDanglingRelationships;
using ::graphmill::worker::testing::FakeRun;
using ::graphmill::worker::testing::FakeStepContext;
using ::graphmill::worker::testing::FastRetryHttpOptions;
using ::graphmill::worker::testing::RecordedEvent;
using ::graphmill::worker::testing::RelationshipCounts;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

using ::graphmill::worker::heroku::test_util::ConfigFor;
using ::graphmill::worker::heroku::test_util::ExpectConsistentGraph;
using ::graphmill::worker::heroku::test_util::ExpectedFor;
using ::graphmill::worker::heroku::test_util::ExpectedGraph;
using ::graphmill::worker::heroku::test_util::FastOptions;
using ::graphmill::worker::heroku::test_util::LargeData;
using ::graphmill::worker::heroku::test_util::Property;
using ::graphmill::worker::heroku::test_util::SmallData;
using ::graphmill::worker::heroku::test_util::StartGenerated;
using ::graphmill::worker::heroku::test_util::Token;

// --- Generated data at the brief's scale.

TEST(StepsGeneratedTest, FullRunGivesExactCountsFromTheDataset) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(LargeData());
  ASSERT_NE(fake, nullptr);
  const fh::Dataset& data = fake->dataset();
  ASSERT_EQ(data.apps.size(), 1500u);
  ASSERT_EQ(data.addons.size(), 3000u);
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  ExpectAllOk(run.RunAll(integration));

  const ExpectedGraph expected = ExpectedFor(data);
  EXPECT_EQ(expected.entities.at(kAccountMemberType), 300);
  EXPECT_EQ(EntityCounts(run), expected.entities);
  EXPECT_EQ(RelationshipCounts(run), expected.relationships);
  ExpectConsistentGraph(run);
  EXPECT_THAT(run.events(), IsEmpty());
  EXPECT_THAT(run.partial_types(), IsEmpty());

  // The 1,101-app team took two pages; every other list one.
  EXPECT_EQ(fake->RequestCount("team-apps"),
            static_cast<int64_t>(data.teams.size()) + 1);
  EXPECT_EQ(fake->RequestCount("app-addons"),
            static_cast<int64_t>(data.apps.size()));
  EXPECT_EQ(fake->RequestCount("team-members"),
            static_cast<int64_t>(data.teams.size()));
  EXPECT_EQ(fake->RequestCount("account-members"),
            static_cast<int64_t>(data.accounts.size()));
  EXPECT_EQ(fake->RequestCount("unmatched"), 0);
  EXPECT_EQ(fake->StatusCount(429), 0);
  // The reference's 2 + 2A + 2T + P, plus the account list read again by
  // fetch-account-members and the big team's second page (no /account here:
  // validation is not part of RunAll).
  const int64_t accounts = static_cast<int64_t>(data.accounts.size());
  const int64_t teams = static_cast<int64_t>(data.teams.size());
  const int64_t apps = static_cast<int64_t>(data.apps.size());
  EXPECT_EQ(fake->RequestCount("total"),
            1 + 1 + 2 * accounts + 2 * teams + apps + 1);
}

TEST(StepsGeneratedTest, SharedMembersAreOneEntityLinkedFromEachAccount) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  const fh::Dataset& data = fake->dataset();
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  ExpectAllOk(run.RunAll(integration));
  ExpectConsistentGraph(run);

  std::map<int, std::set<std::string>> accounts_of_user;
  for (const auto& member : data.account_members) {
    accounts_of_user[member.user].insert(data.accounts[member.account].id);
  }
  int shared = 0;
  for (const auto& [user, account_ids] : accounts_of_user) {
    const std::string& user_id = data.users[user].id;
    ASSERT_TRUE(run.entities().contains(user_id)) << user_id;
    const v1::Entity& entity = run.entities().at(user_id);
    const std::vector<std::string> sorted(account_ids.begin(),
                                          account_ids.end());
    EXPECT_EQ(StringListProperty(entity, "enterpriseAccountIds"), sorted);
    EXPECT_EQ(entity.properties().at("enterpriseAccountId").string_value(),
              sorted.front());
    EXPECT_EQ(entity.properties().at("username").string_value(),
              data.users[user].email);
    EXPECT_EQ(Property(entity, "createdOn"), nullptr);
    for (const std::string& account_id : account_ids) {
      EXPECT_TRUE(run.relationships().contains(
          absl::StrCat(account_id, "|has|", user_id)))
          << account_id << " -> " << user_id;
    }
    shared += account_ids.size() > 1 ? 1 : 0;
  }
  EXPECT_EQ(shared, SmallData().shared_members);
}

TEST(StepsGeneratedTest, TeamMemberRolesAndOutsideMembersSkippedOneByOne) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  const fh::Dataset& data = fake->dataset();
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  ExpectAllOk(run.RunAll(integration));

  std::map<std::string, std::string> expected_roles;  // edge key -> role
  int outside = 0;
  for (const auto& member : data.team_members) {
    if (!data.users[member.user].enterprise_member) {
      ++outside;
      continue;
    }
    expected_roles[absl::StrCat(data.teams[member.team].id, "|has|",
                                data.users[member.user].id)] = member.role;
  }
  EXPECT_GT(outside, 0);
  std::map<std::string, std::string> roles;
  for (const auto* edge : run.RelationshipsOfType(kTeamHasMemberType)) {
    roles[edge->key()] = edge->properties().at("role").string_value();
  }
  EXPECT_EQ(roles, expected_roles);
}

TEST(StepsGeneratedTest, ShardedRunGivesTheSameGraph) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  FakeRun whole(ConfigFor(*fake));
  ExpectAllOk(whole.RunAll(integration, /*shards=*/1));
  for (int shards : {2, 3, 5}) {
    FakeRun sharded(ConfigFor(*fake));
    ExpectAllOk(sharded.RunAll(integration, shards));
    ExpectConsistentGraph(sharded);
    ASSERT_EQ(sharded.entities().size(), whole.entities().size()) << shards;
    ASSERT_EQ(sharded.relationships().size(), whole.relationships().size())
        << shards;
    for (const auto& [key, entity] : whole.entities()) {
      ASSERT_TRUE(sharded.entities().contains(key)) << key;
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
          sharded.entities().at(key), entity))
          << key;
    }
    for (const auto& [key, relationship] : whole.relationships()) {
      EXPECT_TRUE(sharded.relationships().contains(key)) << key;
    }
  }
}

// A task that sees only the given parents (one shard of the coordinator's).
class ShardContext : public FakeStepContext {
 public:
  ShardContext(FakeRun& run, std::string step_id, std::string parent_type,
               std::set<std::string> parent_keys)
      : FakeStepContext(run, std::move(step_id), parent_type, 0, 1),
        parent_type_(std::move(parent_type)),
        parent_keys_(std::move(parent_keys)) {}
  absl::Status ForEachEntity(
      absl::string_view type,
      const std::function<absl::Status(const v1::Entity&)>& visit) override {
    return FakeStepContext::ForEachEntity(
        type, [&](const v1::Entity& entity) -> absl::Status {
          if (type == parent_type_ && !parent_keys_.contains(entity.key())) {
            return absl::OkStatus();
          }
          return visit(entity);
        });
  }

 private:
  const std::string parent_type_;
  const std::set<std::string> parent_keys_;
};

TEST(StepsGeneratedTest, AccountsInSeparateShardsEmitEachSharedMemberOnce) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  const fh::Dataset& data = fake->dataset();
  HerokuIntegration integration(FastOptions());
  FakeRun whole(ConfigFor(*fake));
  ASSERT_TRUE(whole.RunStep(integration, kStepFetchAccounts).ok());
  ASSERT_TRUE(whole.RunStep(integration, kStepFetchAccountMembers).ok());

  FakeRun split(ConfigFor(*fake));
  ASSERT_TRUE(split.RunStep(integration, kStepFetchAccounts).ok());
  // One task per account, each seeing only its own.
  for (const fh::EnterpriseAccount& account : data.accounts) {
    ShardContext task(split, kStepFetchAccountMembers, kAccountType,
                      {account.id});
    absl::Status status =
        integration.ExecuteStep(kStepFetchAccountMembers, task);
    task.Commit();
    ASSERT_TRUE(status.ok()) << status;
  }
  ExpectConsistentGraph(split);  // no conflicting or repeated member
  ASSERT_EQ(split.CountEntities(kAccountMemberType),
            whole.CountEntities(kAccountMemberType));
  for (const auto* member : whole.EntitiesOfType(kAccountMemberType)) {
    ASSERT_TRUE(split.entities().contains(member->key()));
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
        split.entities().at(member->key()), *member))
        << member->key();
  }
  ASSERT_TRUE(split.RunStep(integration, kStepBuildAccountMembers).ok());
  EXPECT_EQ(split.CountRelationships(kAccountHasMemberType),
            static_cast<int>(data.account_members.size()));
}

// --- Scopes, roles and faults.

TEST(StepsScopeTest, TokenWithoutGlobalScopeWarnsOncePerTeamAndGoesOn) {
  constexpr char kReadToken[] = "heroku-read-token-0002";
  std::unique_ptr<FakeHeroku> fake =
      StartGenerated(SmallData(), {Token(kReadToken, {"read"})});
  ASSERT_NE(fake, nullptr);
  const fh::Dataset& data = fake->dataset();
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake, kReadToken));
  ExpectAllOk(run.RunAll(integration));

  // Everything but team members is there.
  ExpectedGraph expected = ExpectedFor(data);
  expected.relationships.erase(kTeamHasMemberType);
  EXPECT_EQ(EntityCounts(run), expected.entities);
  EXPECT_EQ(RelationshipCounts(run), expected.relationships);

  const std::vector<RecordedEvent> events = run.EventsNamed("missing_scope");
  ASSERT_EQ(events.size(), data.teams.size());
  std::set<std::string> described;
  for (const RecordedEvent& event : events) {
    EXPECT_EQ(event.level, v1::EVENT_LEVEL_WARN);
    EXPECT_EQ(event.step_id, kStepBuildTeamMembers);
    EXPECT_THAT(event.description,
                HasSubstr("Could not fetch team members. Missing required "
                          "OAuth scope (endpoint="));
    EXPECT_THAT(event.description, HasSubstr("scope=global)"));
    described.insert(event.description);
  }
  for (const fh::Team& team : data.teams) {
    int naming = 0;
    for (const std::string& description : described) {
      naming += absl::StrContains(description,
                                  absl::StrCat("/teams/", team.id, "/members"))
                    ? 1
                    : 0;
    }
    EXPECT_EQ(naming, 1) << team.name;
  }
  // Every team is a scope whose members were not listed.
  EXPECT_THAT(run.partial_types(), IsEmpty());
  EXPECT_EQ(run.incomplete_scopes().at(kStepBuildTeamMembers).size(),
            data.teams.size());
  for (const auto& [scope, reason] :
       run.incomplete_scopes().at(kStepBuildTeamMembers)) {
    EXPECT_EQ(run.entities().at(scope).type(), kTeamType);
    EXPECT_EQ(reason, "HTTP 403 on GET /teams/{id}/members");
  }
}

TEST(StepsScopeTest, ForbiddenMembersOfOneTeamSkipOnlyThatTeam) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  const fh::Dataset& data = fake->dataset();
  const fh::Team& forbidden = data.teams[2];
  ASSERT_TRUE(
      fake->AddFault(absl::StrCat("team-members:403:resource=", forbidden.id))
          .ok());
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  ExpectAllOk(run.RunAll(integration));

  const std::vector<RecordedEvent> events = run.EventsNamed("missing_scope");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0].description,
              StartsWith(absl::StrCat(
                  "Could not fetch team members. Missing required OAuth scope "
                  "(endpoint=",
                  fake->base_url(), "/teams/", forbidden.id,
                  "/members, scope=global) for team '", forbidden.name, "' (",
                  forbidden.id, "): GET ", fake->base_url(), "/teams/",
                  forbidden.id, "/members: HTTP 403 (")));
  int others = 0;
  for (const auto& member : data.team_members) {
    others += member.team != 2 && data.users[member.user].enterprise_member;
  }
  EXPECT_GT(others, 0);
  EXPECT_EQ(run.CountRelationships(kTeamHasMemberType), others);
  for (const auto* edge : run.RelationshipsOfType(kTeamHasMemberType)) {
    EXPECT_NE(edge->from_entity_key(), forbidden.id);
  }
  EXPECT_THAT(run.partial_types(), IsEmpty());
  ASSERT_EQ(run.incomplete_scopes().at(kStepBuildTeamMembers).size(), 1u);
  const std::string& scope =
      run.incomplete_scopes().at(kStepBuildTeamMembers).begin()->first;
  EXPECT_EQ(run.entities().at(scope).properties().at("id").string_value(),
            forbidden.id);
  for (const auto* edge : run.RelationshipsOfType(kTeamHasMemberType)) {
    EXPECT_EQ(run.ScopeOf(edge->key()), edge->from_entity_key());
  }
}

TEST(StepsScopeTest, MemberRoleMakesAddonsPartialWithOnePermissionEvent) {
  constexpr char kMemberToken[] = "heroku-member-token-0003";
  std::unique_ptr<FakeHeroku> fake = StartGenerated(
      SmallData(),
      {Token(kMemberToken, {"global"}, fh::EnterpriseRole::kMember)});
  ASSERT_NE(fake, nullptr);
  const fh::Dataset& data = fake->dataset();
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake, kMemberToken));
  ExpectAllOk(run.RunAll(integration));

  EXPECT_EQ(run.CountEntities(kAddonType), 0);
  EXPECT_EQ(run.CountEntities(kApplicationType),
            static_cast<int>(data.apps.size()));
  const std::vector<RecordedEvent> events =
      run.EventsNamed("warn_missing_permission");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].level, v1::EVENT_LEVEL_WARN);
  EXPECT_EQ(events[0].step_id, kStepFetchAppAddons);
  EXPECT_THAT(
      events[0].description,
      HasSubstr(absl::StrCat("Could not fetch add-ons of ", data.apps.size(),
                             " of ", data.apps.size(), " applications")));
  EXPECT_THAT(events[0].description, HasSubstr("HTTP 403"));
  EXPECT_THAT(events[0].description, HasSubstr("admin role"));
  // Each app is a scope whose add-ons were not listed; the types stay
  // complete elsewhere.
  EXPECT_EQ(run.incomplete_scopes().at(kStepFetchAppAddons).size(),
            data.apps.size());
  for (const auto& [scope, reason] :
       run.incomplete_scopes().at(kStepFetchAppAddons)) {
    EXPECT_EQ(run.entities().at(scope).type(), kApplicationType);
    EXPECT_EQ(reason, "HTTP 403 on GET /apps/{id}/addons");
  }
  EXPECT_EQ(run.CountRelationships(kTeamOwnsApplicationType),
            static_cast<int>(data.apps.size()));
  EXPECT_THAT(run.partial_types(), IsEmpty());
}

}  // namespace
}  // namespace graphmill::worker::heroku
