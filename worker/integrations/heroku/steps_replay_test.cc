// Tests of the Heroku steps replaying the reference's recordings step by step,
// as its tests do, and of invocation validation: the real integration,
// HerokuClient and HttpClient against the in-process fake Heroku, with an
// in-memory run standing in for the coordinator.
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
using ::graphmill::worker::heroku::test_util::FastOptions;
using ::graphmill::worker::heroku::test_util::Fixture;
using ::graphmill::worker::heroku::test_util::kAccountId;
using ::graphmill::worker::heroku::test_util::kOtherAccountId;
using ::graphmill::worker::heroku::test_util::kRecordedAppId;
using ::graphmill::worker::heroku::test_util::kRecordedTeamId;
using ::graphmill::worker::heroku::test_util::kToken;
using ::graphmill::worker::heroku::test_util::Property;
using ::graphmill::worker::heroku::test_util::Seed;
using ::graphmill::worker::heroku::test_util::SmallData;
using ::graphmill::worker::heroku::test_util::StartGenerated;
using ::graphmill::worker::heroku::test_util::StartReplay;
using ::graphmill::worker::heroku::test_util::Token;

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
