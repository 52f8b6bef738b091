// End-to-end tests of the Heroku steps: the real integration, HerokuClient and
// HttpClient against the in-process fake Heroku (replayed recordings,
// generated data, tokens with scopes and roles, faults, a small rate-limit
// bucket), with an in-memory run standing in for the coordinator.
#include "worker/integrations/heroku/steps/steps.h"

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

constexpr char kToken[] = "heroku-test-token-0001";
constexpr char kRecordings[] = "tests/fakes/heroku/testdata/";

constexpr char kAccountId[] = "01234567-89ab-cdef-0123-456789abcdef";
constexpr char kOtherAccountId[] = "76543210-89ab-cdef-0123-456789abcdef";
constexpr char kRecordedTeamId[] = "1e2fd576-c276-483d-8440-3c956e0fe015";
constexpr char kRecordedAppId[] = "e3af0e11-ea32-475e-a36f-e20f48e83136";

// Fast retries so fault tests finish quickly; HttpClient's own tests cover
// backoff.
HerokuIntegrationOptions FastOptions() {
  HerokuIntegrationOptions options;
  options.http = FastRetryHttpOptions();
  return options;
}

fh::TokenSpec Token(std::string token, std::vector<std::string> scopes,
                    fh::EnterpriseRole role = fh::EnterpriseRole::kAdmin) {
  fh::TokenSpec spec;
  spec.token = std::move(token);
  spec.scopes = std::move(scopes);
  spec.role = role;
  return spec;
}

std::unique_ptr<FakeHeroku> Start(FakeHerokuOptions options) {
  if (options.tokens.empty()) options.tokens = {Token(kToken, {"global"})};
  absl::StatusOr<std::unique_ptr<FakeHeroku>> fake =
      FakeHeroku::Start(std::move(options));
  EXPECT_TRUE(fake.ok()) << fake.status();
  return fake.ok() ? *std::move(fake) : nullptr;
}

std::unique_ptr<FakeHeroku> StartReplay(const std::vector<std::string>& files) {
  FakeHerokuOptions options;
  options.mode = FakeHerokuMode::kReplay;
  for (const std::string& file : files) {
    options.recordings.push_back(absl::StrCat(kRecordings, file));
  }
  return Start(std::move(options));
}

// The data of the brief: 2 accounts, 20 teams, 1,500 apps (one team with more
// than a 1,000-item page), 3,000 add-ons, 300 users of which 20 are in both
// accounts, 6 enterprise members per team (users in several teams) plus one
// outside member per team.
fh::DatasetOptions LargeData() {
  fh::DatasetOptions options;
  options.accounts = 2;
  options.members_per_account = 160;  // 140 own + 20 shared each: 300 users
  options.shared_members = 20;
  options.teams_per_account = 10;
  options.team_members_per_team = 6;
  options.outside_team_members_per_team = 1;
  options.apps_first_team = 1101;
  options.apps_per_team = 21;  // 1,101 + 19 * 21 = 1,500
  options.addons_per_app = 2;
  return options;
}

// Small data for fault and rate tests.
fh::DatasetOptions SmallData() {
  fh::DatasetOptions options;
  options.accounts = 2;
  options.members_per_account = 6;
  options.shared_members = 2;
  options.teams_per_account = 3;
  options.team_members_per_team = 3;
  options.outside_team_members_per_team = 1;
  options.apps_per_team = 3;
  options.addons_per_app = 2;
  return options;
}

std::unique_ptr<FakeHeroku> StartGenerated(
    fh::DatasetOptions dataset, std::vector<fh::TokenSpec> tokens = {}) {
  FakeHerokuOptions options;
  options.mode = FakeHerokuMode::kGenerated;
  options.dataset = dataset;
  options.tokens = std::move(tokens);
  return Start(std::move(options));
}

InstanceConfig ConfigFor(const FakeHeroku& fake,
                         const std::string& token = kToken) {
  return {{"apiKey", token}, {"baseUrl", fake.base_url()}};
}

// --- What a full ingestion of a dataset must give, from the dataset alone.

struct ExpectedGraph {
  std::map<std::string, int> entities;
  std::map<std::string, int> relationships;
};

ExpectedGraph ExpectedFor(const fh::Dataset& data) {
  std::set<int> members;
  for (const auto& member : data.account_members) members.insert(member.user);
  int team_members = 0;
  for (const auto& member : data.team_members) {
    team_members += data.users[member.user].enterprise_member ? 1 : 0;
  }
  ExpectedGraph expected;
  expected.entities = {
      {kAccountType, static_cast<int>(data.accounts.size())},
      {kAccountMemberType, static_cast<int>(members.size())},
      {kTeamType, static_cast<int>(data.teams.size())},
      {kApplicationType, static_cast<int>(data.apps.size())},
      {kAddonType, static_cast<int>(data.addons.size())},
  };
  expected.relationships = {
      {kAccountHasMemberType, static_cast<int>(data.account_members.size())},
      {kAccountHasTeamType, static_cast<int>(data.teams.size())},
      {kTeamHasMemberType, team_members},
      {kTeamOwnsApplicationType, static_cast<int>(data.apps.size())},
      {kApplicationHasAddonType, static_cast<int>(data.addons.size())},
  };
  return expected;
}

// Every relationship joins two entities of the run; every object is valid.
void ExpectConsistentGraph(const FakeRun& run) {
  for (const auto& [key, entity] : run.entities()) {
    absl::Status valid = ValidateEntity(entity);
    EXPECT_TRUE(valid.ok()) << valid;
  }
  ExpectNoDanglingRelationships(run);
  for (const auto& [key, relationship] : run.relationships()) {
    absl::Status valid = ValidateRelationship(relationship);
    EXPECT_TRUE(valid.ok()) << valid;
  }
  EXPECT_THAT(run.conflicts(), IsEmpty());
  EXPECT_THAT(run.repeated_in_task(), IsEmpty());
}

const v1::Value* Property(const v1::Entity& entity, const std::string& name) {
  auto it = entity.properties().find(name);
  return it == entity.properties().end() ? nullptr : &it->second;
}

// --- Seeding a run with the reference's fixtures (entities its tests feed the
// --- mock job state), through a one-step integration.

v1::Entity Fixture(const std::string& type, const std::string& class_name,
                   const std::string& key,
                   std::map<std::string, std::string> properties = {}) {
  v1::Entity entity;
  entity.set_key(key);
  entity.set_type(type);
  entity.add_classes(class_name);
  properties.try_emplace("id", key);
  properties.try_emplace("name", key);
  properties.try_emplace("displayName", properties["name"]);
  for (const auto& [name, value] : properties) {
    (*entity.mutable_properties())[name] = StringValue(value);
  }
  return entity;
}

class SeedIntegration : public Integration {
 public:
  explicit SeedIntegration(std::vector<v1::Entity> entities)
      : entities_(std::move(entities)) {
    definition_.set_name("seed");
    definition_.add_steps()->set_id("seed");
  }
  const v1::IntegrationDefinition& definition() const override {
    return definition_;
  }
  absl::Status ValidateInvocation(const InstanceConfig&) override {
    return absl::OkStatus();
  }
  absl::Status ExecuteStep(absl::string_view, StepContext& context) override {
    for (const v1::Entity& entity : entities_) {
      absl::Status status = context.AddEntity(entity, "");
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  const std::vector<v1::Entity> entities_;
  v1::IntegrationDefinition definition_;
};

void Seed(FakeRun& run, std::vector<v1::Entity> entities) {
  SeedIntegration seed(std::move(entities));
  ASSERT_TRUE(run.RunStep(seed, "seed").ok());
}

// --- Replay of the reference's recordings, step by step as its tests do.

TEST(StepsReplayTest, FetchEnterpriseAccounts) {
  std::unique_ptr<FakeHeroku> fake = StartReplay({"add-accounts.har"});
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  ASSERT_TRUE(run.RunStep(integration, kStepFetchAccounts).ok());
  const auto accounts = run.EntitiesOfType(kAccountType);
  ASSERT_EQ(accounts.size(), 1u);
  EXPECT_EQ(accounts[0]->key(), kAccountId);
  EXPECT_EQ(accounts[0]->properties().at("name").string_value(), "example");
  EXPECT_EQ(accounts[0]->properties().at("createdOn").int_value(),
            1325419200000);
  EXPECT_EQ(run.entities().size(), 1u);
  EXPECT_THAT(run.events(), IsEmpty());
  EXPECT_EQ(fake->RequestCount("unmatched"), 0);
}

TEST(StepsReplayTest, NoEnterpriseAccountGivesAnEmptyGraphAndAnInfoEvent) {
  std::unique_ptr<FakeHeroku> fake = StartReplay({"no-accounts.har"});
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  ExpectAllOk(run.RunAll(integration));
  EXPECT_THAT(run.entities(), IsEmpty());
  EXPECT_THAT(run.relationships(), IsEmpty());
  ASSERT_EQ(run.events().size(), 1u);
  const RecordedEvent& event = run.events()[0];
  EXPECT_EQ(event.name, "no_enterprise_account");
  EXPECT_EQ(event.level, v1::EVENT_LEVEL_INFO);
  EXPECT_EQ(event.step_id, kStepFetchAccounts);
  EXPECT_THAT(event.description,
              HasSubstr("No Heroku Enterprise account is visible to the API "
                        "key"));
  EXPECT_THAT(event.description, HasSubstr("the graph is empty"));
  EXPECT_THAT(
      event.description,
      HasSubstr(absl::StrCat(fake->base_url(), "/enterprise-accounts")));
  // Nothing to iterate: one request in all.
  EXPECT_EQ(fake->RequestCount("total"), 1);
}

TEST(StepsReplayTest, FetchAccountMembersOfTheFixtureAccounts) {
  std::unique_ptr<FakeHeroku> fake =
      StartReplay({"add-members.har", "add-accounts.har"});
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  Seed(run, {Fixture(kAccountType, "Account", kAccountId),
             Fixture(kAccountType, "Account", kOtherAccountId)});
  absl::Status status = run.RunStep(integration, kStepFetchAccountMembers);
  ASSERT_TRUE(status.ok()) << status;
  const auto members = run.EntitiesOfType(kAccountMemberType);
  ASSERT_EQ(members.size(), 1u);
  const v1::Entity& member = *members[0];
  EXPECT_EQ(member.key(), "user-id-0000-0000-0000");
  EXPECT_THAT(member.classes(), ElementsAre("User"));
  EXPECT_EQ(member.properties().at("id").string_value(),
            "user-id-0000-0000-0000");
  EXPECT_EQ(member.properties().at("name").string_value(),
            "username@example.com");
  EXPECT_EQ(member.properties().at("username").string_value(),
            "username@example.com");
  EXPECT_EQ(member.properties().at("enterpriseAccountId").string_value(),
            kAccountId);
  EXPECT_EQ(Property(member, "createdOn"), nullptr);
  EXPECT_EQ(Property(member, "updatedOn"), nullptr);
  EXPECT_THAT(run.events(), IsEmpty());
  EXPECT_EQ(fake->RequestCount("account-members"), 2);
  EXPECT_EQ(fake->RequestCount("unmatched"), 0);
}

TEST(StepsReplayTest, FetchTeamsOfTheFixtureAccounts) {
  std::unique_ptr<FakeHeroku> fake = StartReplay({"add-teams.har"});
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  Seed(run, {Fixture(kAccountType, "Account", kAccountId),
             Fixture(kAccountType, "Account", kOtherAccountId)});
  ASSERT_TRUE(run.RunStep(integration, kStepFetchTeams).ok());
  const auto teams = run.EntitiesOfType(kTeamType);
  ASSERT_EQ(teams.size(), 1u);
  EXPECT_EQ(teams[0]->key(), "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(teams[0]->properties().at("name").string_value(), "example");
  EXPECT_EQ(teams[0]->properties().at("enterpriseAccountId").string_value(),
            kAccountId);
  EXPECT_EQ(teams[0]->properties().at("createdOn").int_value(), 1325419200000);
}

TEST(StepsReplayTest, FetchTeamApps) {
  std::unique_ptr<FakeHeroku> fake = StartReplay({"fetch-team-apps.har"});
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  Seed(run, {Fixture(kTeamType, "Team", kRecordedTeamId)});
  ASSERT_TRUE(run.RunStep(integration, kStepFetchTeamApps).ok());
  std::vector<std::string> keys;
  for (const auto* app : run.EntitiesOfType(kApplicationType)) {
    keys.push_back(app->key());
    EXPECT_EQ(app->properties().at("owner").string_value(),
              "ndowmon-lifeomic-test@herokumanager.com");
    EXPECT_EQ(app->properties().at("teamId").string_value(), kRecordedTeamId);
  }
  EXPECT_THAT(keys, ElementsAre("2a089907-da73-49d6-b569-5f4a89c65ba9",
                                kRecordedAppId));
}

TEST(StepsReplayTest, FetchAppAddons) {
  std::unique_ptr<FakeHeroku> fake = StartReplay({"fetch-app-addons.har"});
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  Seed(run, {Fixture(kApplicationType, "Application", kRecordedAppId)});
  ASSERT_TRUE(run.RunStep(integration, kStepFetchAppAddons).ok());
  std::map<std::string, const v1::Entity*> by_name;
  for (const auto* addon : run.EntitiesOfType(kAddonType)) {
    by_name[addon->properties().at("name").string_value()] = addon;
  }
  ASSERT_EQ(by_name.size(), 2u);
  ASSERT_TRUE(by_name.contains("papertrail-solid-67022"));
  ASSERT_TRUE(by_name.contains("postgresql-shallow-48339"));
  const v1::Entity& papertrail = *by_name["papertrail-solid-67022"];
  EXPECT_EQ(papertrail.key(), "2bb23a70-3da0-4a76-aa8e-31219fcc2b22");
  EXPECT_EQ(papertrail.properties().at("createdOn").int_value(), 1586872680000);
  EXPECT_EQ(papertrail.properties().at("applicationId").string_value(),
            kRecordedAppId);
  EXPECT_TRUE(ValidateEntity(papertrail).ok());
}

TEST(StepsReplayTest, BuildTeamToMemberRelationshipsWithRoles) {
  std::unique_ptr<FakeHeroku> fake = StartReplay({"map-team-to-member.har"});
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  Seed(run, {Fixture(kTeamType, "Team", kRecordedTeamId),
             Fixture(kAccountMemberType, "User",
                     "2372b250-7a66-49db-88f6-14052ae638cc"),
             Fixture(kAccountMemberType, "User",
                     "fdc6ef12-ed55-44b7-83a9-09b1a9c35ea8")});
  ASSERT_TRUE(run.RunStep(integration, kStepBuildTeamMembers).ok());
  std::map<std::string, std::string> role_by_member;
  for (const auto* edge : run.RelationshipsOfType(kTeamHasMemberType)) {
    EXPECT_EQ(edge->from_entity_key(), kRecordedTeamId);
    EXPECT_EQ(edge->class_name(), "HAS");
    role_by_member[edge->to_entity_key()] =
        edge->properties().at("role").string_value();
  }
  EXPECT_EQ(role_by_member,
            (std::map<std::string, std::string>{
                {"2372b250-7a66-49db-88f6-14052ae638cc", "member"},
                {"fdc6ef12-ed55-44b7-83a9-09b1a9c35ea8", "admin"}}));
  EXPECT_EQ(run.CountEntities(kTeamType), 1);  // no entity added
  EXPECT_THAT(run.events(), IsEmpty());
}

TEST(StepsReplayTest, MappingStepsJoinTheFixturesWithoutRequests) {
  std::unique_ptr<FakeHeroku> fake = StartReplay({"no-accounts.har"});
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  Seed(run,
       {Fixture(kAccountType, "Account", "account-id"),
        Fixture(kAccountMemberType, "User", "user-id-00",
                {{"enterpriseAccountId", "account-id"}}),
        Fixture(kTeamType, "Team", "team-id-00",
                {{"enterpriseAccountId", "account-id"}}),
        Fixture(kTeamType, "Team", kRecordedTeamId),
        Fixture(kApplicationType, "Application",
                "2a089907-da73-49d6-b569-5f4a89c65ba9",
                {{"teamId", kRecordedTeamId}}),
        Fixture(kApplicationType, "Application", kRecordedAppId),
        Fixture(kAddonType, "Service", "2bb23a70-3da0-4a76-aa8e-31219fcc2b22",
                {{"name", "papertrail-solid-67022"},
                 {"applicationId", kRecordedAppId}}),
        // Parents that do not exist: silently skipped, as the reference does.
        Fixture(kAddonType, "Service", "orphan-addon-id",
                {{"applicationId", "no-such-app"}})});
  for (const char* step : {kStepBuildAccountMembers, kStepBuildAccountTeams,
                           kStepBuildTeamApps, kStepBuildAppAddons}) {
    absl::Status status = run.RunStep(integration, step);
    EXPECT_TRUE(status.ok()) << step << ": " << status;
  }
  EXPECT_EQ(RelationshipCounts(run), (std::map<std::string, int>{
                                         {kAccountHasMemberType, 1},
                                         {kAccountHasTeamType, 1},
                                         {kTeamOwnsApplicationType, 1},
                                         {kApplicationHasAddonType, 1},
                                     }));
  EXPECT_TRUE(run.relationships().contains("account-id|has|user-id-00"));
  EXPECT_TRUE(run.relationships().contains("account-id|has|team-id-00"));
  EXPECT_TRUE(run.relationships().contains(absl::StrCat(
      kRecordedTeamId, "|owns|2a089907-da73-49d6-b569-5f4a89c65ba9")));
  EXPECT_TRUE(run.relationships().contains(absl::StrCat(
      kRecordedAppId, "|has|2bb23a70-3da0-4a76-aa8e-31219fcc2b22")));
  EXPECT_EQ(fake->RequestCount("total"), 0);
}

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

TEST(StepsFaultTest, UnauthorizedFailsTheStepAndTheRunGoesOn) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("team-apps:401").ok());
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  std::map<std::string, absl::Status> results = run.RunAll(integration);
  const absl::Status& apps = results.at(kStepFetchTeamApps);
  EXPECT_EQ(apps.code(), absl::StatusCode::kUnauthenticated) << apps;
  EXPECT_THAT(std::string(apps.message()), HasSubstr("/apps"));
  EXPECT_THAT(std::string(apps.message()), Not(HasSubstr(kToken)));
  for (const auto& [step, status] : results) {
    if (step != kStepFetchTeamApps) {
      EXPECT_TRUE(status.ok()) << step << ": " << status;
    }
  }
  EXPECT_EQ(run.CountEntities(kTeamType),
            static_cast<int>(fake->dataset().teams.size()));
}

TEST(StepsFaultTest, ServerErrorsAreRetriedByTheHttpClient) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("app-addons:503:times=3").ok());
  HerokuIntegrationOptions options = FastOptions();
  options.http.max_attempts = 4;
  HerokuIntegration integration(options);
  FakeRun run(ConfigFor(*fake));
  ExpectAllOk(run.RunAll(integration));
  EXPECT_EQ(run.CountEntities(kAddonType),
            static_cast<int>(fake->dataset().addons.size()));
  EXPECT_EQ(fake->StatusCount(503), 3);
}

TEST(StepsFaultTest, MalformedBodyFailsTheStepNamingTheUrl) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("account-teams:malformed").ok());
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  ASSERT_TRUE(run.RunStep(integration, kStepFetchAccounts).ok());
  absl::Status status = run.RunStep(integration, kStepFetchTeams);
  EXPECT_EQ(http::HttpErrorKindOf(status), http::HttpErrorKind::kMalformedBody)
      << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("/teams"));
}

// --- Rate limits.

// A StepContext that also counts the rate-budget hooks.
class CountingContext : public FakeStepContext {
 public:
  using FakeStepContext::FakeStepContext;
  void AwaitRequestSlot() override { ++slots; }
  void OnProviderResponse(int http_status) override {
    absl::MutexLock lock(&mutex);
    ++statuses[http_status];
  }
  std::atomic<int> slots{0};
  absl::Mutex mutex;
  std::map<int, int> statuses;
};

TEST(StepsRateLimitTest, EveryAttemptPassesThroughTheTasksRateBudget) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("app-addons:429:times=2").ok());
  HerokuIntegrationOptions options = FastOptions();
  options.http.max_attempts = 3;
  // A 429 makes the pacer wait for the bucket to refill to the reserve: keep
  // that short here.
  options.rate_limit.refill_interval = absl::Milliseconds(1);
  HerokuIntegration integration(options);
  FakeRun run(ConfigFor(*fake));
  ASSERT_TRUE(run.RunStep(integration, kStepFetchAccounts).ok());
  ASSERT_TRUE(run.RunStep(integration, kStepFetchTeams).ok());
  ASSERT_TRUE(run.RunStep(integration, kStepFetchTeamApps).ok());
  fake->ResetCounters();

  CountingContext context(run, kStepFetchAppAddons, kApplicationType, 0, 1);
  absl::Status status = integration.ExecuteStep(kStepFetchAppAddons, context);
  context.Commit();
  ASSERT_TRUE(status.ok()) << status;
  const int apps = static_cast<int>(fake->dataset().apps.size());
  EXPECT_EQ(context.slots.load(), apps + 2);  // two 429s retried
  EXPECT_EQ(fake->RequestCount("total"), apps + 2);
  absl::MutexLock lock(&context.mutex);
  EXPECT_EQ(context.statuses, (std::map<int, int>{{200, apps}, {429, 2}}));
  EXPECT_EQ(run.CountEntities(kAddonType),
            static_cast<int>(fake->dataset().addons.size()));
}

// A bucket of 40 refilled at 200 per second, and a policy scaled to it.
constexpr int kSmallBucket = 40;
constexpr double kSmallRefillPerSecond = 200;

std::unique_ptr<FakeHeroku> StartWithSmallBucket(
    double refill_per_second = kSmallRefillPerSecond) {
  FakeHerokuOptions options;
  options.mode = FakeHerokuMode::kGenerated;
  options.dataset = SmallData();
  options.dataset.apps_per_team = 20;  // 120 apps: ~160 requests in all
  options.rate_limit.capacity = kSmallBucket;
  options.rate_limit.refill_per_second = refill_per_second;
  return Start(std::move(options));
}

TEST(StepsRateLimitTest, PacingKeepsASmallBucketFromEverRunningDry) {
  std::unique_ptr<FakeHeroku> fake = StartWithSmallBucket();
  ASSERT_NE(fake, nullptr);
  HerokuIntegrationOptions options = FastOptions();
  options.rate_limit.refill_interval =
      absl::Seconds(1) / kSmallRefillPerSecond;  // 5 ms
  options.rate_limit.pace_below_remaining = 25;
  options.rate_limit.reserve_remaining = 12;  // > kMaxInFlightRequests
  HerokuIntegration integration(options);
  FakeRun run(ConfigFor(*fake));
  ExpectAllOk(run.RunAll(integration));

  EXPECT_EQ(EntityCounts(run), ExpectedFor(fake->dataset()).entities);
  EXPECT_EQ(RelationshipCounts(run),
            ExpectedFor(fake->dataset()).relationships);
  const fh::BucketState bucket = fake->RateLimit(kToken);
  EXPECT_GT(bucket.taken, 2 * kSmallBucket);  // the bucket had to refill
  EXPECT_LT(bucket.min_remaining, 25);        // so pacing was needed
  EXPECT_GT(bucket.min_remaining, 0);         // and it held
  EXPECT_EQ(bucket.rate_limited, 0);
  EXPECT_EQ(fake->StatusCount(429), 0);
}

TEST(StepsRateLimitTest, WithoutPacingA429StormIsRetriedToCompletion) {
  // An empty bucket refilled at 50 per second: ~160 requests must meet 429s
  // however slowly a loaded machine sends them, and each can wait seconds.
  std::unique_ptr<FakeHeroku> fake = StartWithSmallBucket(50);
  ASSERT_NE(fake, nullptr);
  fake->SetRateLimitRemaining(kToken, 0);
  HerokuIntegrationOptions options = FastOptions();
  options.rate_limit.pace_below_remaining = 0;  // never pace
  options.rate_limit.reserve_remaining = 0;
  options.http.max_attempts = 200;
  options.http.initial_backoff = absl::Milliseconds(5);
  options.http.max_backoff = absl::Milliseconds(50);
  HerokuIntegration integration(options);
  FakeRun run(ConfigFor(*fake));
  ExpectAllOk(run.RunAll(integration));

  EXPECT_EQ(EntityCounts(run), ExpectedFor(fake->dataset()).entities);
  EXPECT_EQ(RelationshipCounts(run),
            ExpectedFor(fake->dataset()).relationships);
  EXPECT_GT(fake->StatusCount(429), 0);
  EXPECT_TRUE(fake->RateLimit(kToken).exceeded());
}

// --- Invocation validation.

TEST(ValidateInvocationTest, RecordedGoodKeyPasses) {
  std::unique_ptr<FakeHeroku> fake =
      StartReplay({"validate-invocation-pass.har"});
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  absl::Status status = integration.ValidateInvocation(ConfigFor(*fake));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(fake->RequestCount("account"), 1);
}

TEST(ValidateInvocationTest, RecordedBadKeyIsUnauthenticatedNamingApiKey) {
  std::unique_ptr<FakeHeroku> fake =
      StartReplay({"validate-invocation-fail.har"});
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  absl::Status status =
      integration.ValidateInvocation(ConfigFor(*fake, "wrong-key-5678"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  EXPECT_EQ(status.message(),
            absl::StrCat("Heroku rejected the API key (config field 'apiKey'): "
                         "GET ",
                         fake->base_url(),
                         "/account: HTTP 401 (Invalid credentials provided.)"));
}

TEST(ValidateInvocationTest, KeyWithoutAccountScopeIsPermissionDenied) {
  constexpr char kReadToken[] = "heroku-read-token-0004";
  std::unique_ptr<FakeHeroku> fake =
      StartGenerated(SmallData(), {Token(kReadToken, {"read"})});
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  absl::Status status =
      integration.ValidateInvocation(ConfigFor(*fake, kReadToken));
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  const std::string message(status.message());
  EXPECT_THAT(message, HasSubstr("config field 'apiKey'"));
  EXPECT_THAT(message, HasSubstr("HTTP 403"));
  EXPECT_THAT(message, Not(HasSubstr(kReadToken)));
}

TEST(ValidateInvocationTest, EmptyKeyIsInvalidArgumentWithoutARequest) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  HerokuIntegration integration(FastOptions());
  absl::Status status = integration.ValidateInvocation(
      {{"apiKey", ""}, {"baseUrl", fake->base_url()}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "config field 'apiKey' is required");
  EXPECT_EQ(fake->RequestCount("total"), 0);
}

TEST(ValidateInvocationTest, UnreachableProviderIsUnavailableNamingBaseUrl) {
  std::string base_url;
  {
    std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
    ASSERT_NE(fake, nullptr);
    base_url = fake->base_url();
  }  // stopped: nothing listens there any more
  HerokuIntegrationOptions options = FastOptions();
  options.http.max_attempts = 1;
  HerokuIntegration integration(options);
  absl::Status status = integration.ValidateInvocation(
      {{"apiKey", kToken}, {"baseUrl", base_url}});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("baseUrl"));
}

TEST(ExecuteStepTest, UnknownStepIsInvalidArgument) {
  HerokuIntegration integration(FastOptions());
  FakeRun run(InstanceConfig{{"apiKey", kToken}});
  absl::Status status = run.RunStep(integration, "fetch-everything");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("fetch-everything"));
}

}  // namespace
}  // namespace graphmill::worker::heroku
