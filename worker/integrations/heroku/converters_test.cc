// Tests of the converters on API objects copied from the reference's
// recordings (testdata/), with the reference tests' expected values.
#include "worker/integrations/heroku/converters.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "worker/integrations/heroku/definition.h"

namespace graphmill::worker::heroku {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kAccountId[] = "01234567-89ab-cdef-0123-456789abcdef";
constexpr char kOtherAccountId[] = "76543210-89ab-cdef-0123-456789abcdef";
constexpr char kTeamId[] = "1e2fd576-c276-483d-8440-3c956e0fe015";
constexpr char kAppId[] = "e3af0e11-ea32-475e-a36f-e20f48e83136";

rapidjson::Document Load(const std::string& name) {
  const std::string path = "worker/integrations/heroku/testdata/" + name;
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << path;
  std::stringstream text;
  text << file.rdbuf();
  rapidjson::Document document;
  document.Parse(text.str().c_str());
  EXPECT_FALSE(document.HasParseError()) << path;
  EXPECT_TRUE(document.IsArray()) << path;
  return document;
}

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document document;
  document.Parse(json.c_str());
  EXPECT_FALSE(document.HasParseError()) << json;
  return document;
}

const v1::Value* Property(const v1::Entity& entity, const std::string& name) {
  auto it = entity.properties().find(name);
  return it == entity.properties().end() ? nullptr : &it->second;
}

std::string Str(const v1::Entity& entity, const std::string& name) {
  const v1::Value* value = Property(entity, name);
  if (value == nullptr) return "<absent>";
  if (value->kind_case() != v1::Value::kStringValue) return "<not a string>";
  return value->string_value();
}

int64_t Int(const v1::Entity& entity, const std::string& name) {
  const v1::Value* value = Property(entity, name);
  if (value == nullptr || value->kind_case() != v1::Value::kIntValue) return -1;
  return value->int_value();
}

// A list property's strings, or {"<absent>"} / {"<not a list>"}.
std::vector<std::string> List(const v1::Entity& entity,
                              const std::string& name) {
  const v1::Value* value = Property(entity, name);
  if (value == nullptr) return {"<absent>"};
  if (value->kind_case() != v1::Value::kListValue) return {"<not a list>"};
  std::vector<std::string> strings;
  for (const v1::Value& element : value->list_value().values()) {
    strings.push_back(element.string_value());
  }
  return strings;
}

// The entity's "default" raw data equals `source`.
void ExpectRawDataIs(const v1::Entity& entity, const rapidjson::Value& source) {
  ASSERT_EQ(entity.raw_data_size(), 1);
  EXPECT_EQ(entity.raw_data(0).name(), "default");
  rapidjson::Document raw = Parse(entity.raw_data(0).json());
  EXPECT_TRUE(raw == source) << entity.raw_data(0).json();
}

TEST(ConvertersTest, EnterpriseAccount) {
  rapidjson::Document accounts = Load("enterprise_accounts.json");
  absl::StatusOr<v1::Entity> account = AccountEntity(accounts[0]);
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->key(), kAccountId);
  EXPECT_EQ(account->type(), "heroku_account");
  EXPECT_THAT(account->classes(), ElementsAre("Account"));
  EXPECT_EQ(Str(*account, "id"), kAccountId);
  EXPECT_EQ(Str(*account, "name"), "example");
  EXPECT_EQ(Str(*account, "displayName"), "example");
  EXPECT_EQ(Int(*account, "createdOn"), 1325419200000);  // 2012-01-01T12:00Z
  EXPECT_EQ(Int(*account, "updatedOn"), 1325419200000);
  EXPECT_EQ(account->properties().size(), 5u);
  ExpectRawDataIs(*account, accounts[0]);
  EXPECT_TRUE(ValidateEntity(*account).ok()) << ValidateEntity(*account);
}

TEST(ConvertersTest, AccountMemberIsKeyedByUserIdWithoutTimestamps) {
  rapidjson::Document members = Load("account_members.json");
  absl::StatusOr<std::string> user_id = MemberUserId(members[0]);
  ASSERT_TRUE(user_id.ok()) << user_id.status();
  EXPECT_EQ(*user_id, "user-id-0000-0000-0000");
  absl::StatusOr<v1::Entity> member =
      AccountMemberEntity(members[0], {kAccountId});
  ASSERT_TRUE(member.ok()) << member.status();
  EXPECT_EQ(member->key(), "user-id-0000-0000-0000");
  EXPECT_EQ(member->type(), "heroku_account_member");
  EXPECT_THAT(member->classes(), ElementsAre("User"));
  // The membership id of the source is replaced by the user id.
  EXPECT_EQ(Str(*member, "id"), "user-id-0000-0000-0000");
  EXPECT_EQ(Str(*member, "name"), "username@example.com");
  EXPECT_EQ(Str(*member, "displayName"), "username@example.com");
  EXPECT_EQ(Str(*member, "username"), "username@example.com");
  EXPECT_EQ(Str(*member, "enterpriseAccountId"), kAccountId);
  EXPECT_THAT(List(*member, "enterpriseAccountIds"), ElementsAre(kAccountId));
  EXPECT_EQ(Property(*member, "createdOn"), nullptr);
  EXPECT_EQ(Property(*member, "updatedOn"), nullptr);
  ExpectRawDataIs(*member, members[0]);
  EXPECT_TRUE(ValidateEntity(*member).ok()) << ValidateEntity(*member);
}

TEST(ConvertersTest, AccountMemberOfTwoAccountsNamesTheFirstAndListsBoth) {
  rapidjson::Document members = Load("account_members.json");
  absl::StatusOr<v1::Entity> member =
      AccountMemberEntity(members[0], {kAccountId, kOtherAccountId});
  ASSERT_TRUE(member.ok()) << member.status();
  EXPECT_EQ(Str(*member, "enterpriseAccountId"), kAccountId);
  EXPECT_THAT(List(*member, "enterpriseAccountIds"),
              ElementsAre(kAccountId, kOtherAccountId));
  EXPECT_THAT(StringListProperty(*member, "enterpriseAccountIds"),
              ElementsAre(kAccountId, kOtherAccountId));
  EXPECT_THAT(StringListProperty(*member, "enterpriseAccountId"),
              ElementsAre(kAccountId));
}

TEST(ConvertersTest, AccountMemberWithoutUserIdOrAccountIsAnError) {
  rapidjson::Document no_user =
      Parse(R"({"id":"membership-1","user":{"email":"a@b.c"}})");
  EXPECT_EQ(MemberUserId(no_user).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(MemberUserId(no_user).status().message()),
              HasSubstr("user.id"));
  EXPECT_EQ(AccountMemberEntity(no_user, {kAccountId}).status().code(),
            absl::StatusCode::kInvalidArgument);
  rapidjson::Document members = Load("account_members.json");
  EXPECT_EQ(AccountMemberEntity(members[0], {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ConvertersTest, Team) {
  rapidjson::Document teams = Load("account_teams.json");
  absl::StatusOr<v1::Entity> team = TeamEntity(teams[0], kAccountId);
  ASSERT_TRUE(team.ok()) << team.status();
  EXPECT_EQ(team->key(), "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(team->type(), "heroku_team");
  EXPECT_THAT(team->classes(), ElementsAre("Team"));
  EXPECT_EQ(Str(*team, "id"), "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(Str(*team, "name"), "example");
  EXPECT_EQ(Str(*team, "displayName"), "example");
  EXPECT_EQ(Int(*team, "createdOn"), 1325419200000);
  EXPECT_EQ(Int(*team, "updatedOn"), 1325419200000);
  EXPECT_EQ(Str(*team, "enterpriseAccountId"), kAccountId);
  EXPECT_EQ(team->properties().size(), 6u);
  ExpectRawDataIs(*team, teams[0]);
  EXPECT_TRUE(ValidateEntity(*team).ok()) << ValidateEntity(*team);
}

TEST(ConvertersTest, Applications) {
  rapidjson::Document apps = Load("team_apps.json");
  ASSERT_EQ(apps.Size(), 2u);
  absl::StatusOr<v1::Entity> app = ApplicationEntity(apps[0], kTeamId);
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_EQ(app->key(), "2a089907-da73-49d6-b569-5f4a89c65ba9");
  EXPECT_EQ(app->type(), "heroku_application");
  EXPECT_THAT(app->classes(), ElementsAre("Application"));
  EXPECT_EQ(Str(*app, "id"), "2a089907-da73-49d6-b569-5f4a89c65ba9");
  EXPECT_EQ(Str(*app, "name"), "ndowmon-gmail-test-app");
  EXPECT_EQ(Str(*app, "displayName"), "ndowmon-gmail-test-app");
  EXPECT_EQ(Str(*app, "owner"), "ndowmon-lifeomic-test@herokumanager.com");
  EXPECT_EQ(Str(*app, "teamId"), kTeamId);
  EXPECT_EQ(Int(*app, "createdOn"), 1587750793000);  // 2020-04-24T17:53:13Z
  EXPECT_EQ(Int(*app, "updatedOn"), 1587752306000);  // 2020-04-24T18:18:26Z
  EXPECT_EQ(app->properties().size(), 7u);
  ExpectRawDataIs(*app, apps[0]);
  EXPECT_TRUE(ValidateEntity(*app).ok()) << ValidateEntity(*app);

  absl::StatusOr<v1::Entity> second = ApplicationEntity(apps[1], kTeamId);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->key(), kAppId);
  EXPECT_EQ(Str(*second, "name"), "damp-falls-40058");
}

TEST(ConvertersTest, ApplicationWithoutOwnerHasNullOwner) {
  rapidjson::Document app =
      Parse(R"({"id":"app-id-0000-0001","name":"x","owner":null})");
  absl::StatusOr<v1::Entity> entity = ApplicationEntity(app, kTeamId);
  ASSERT_TRUE(entity.ok()) << entity.status();
  ASSERT_NE(Property(*entity, "owner"), nullptr);
  EXPECT_EQ(Property(*entity, "owner")->kind_case(), v1::Value::kNullValue);
  // No timestamps in the source: none in the entity.
  EXPECT_EQ(Property(*entity, "createdOn"), nullptr);
}

TEST(ConvertersTest, AddonsAreServicesWithCategoryEndpointsAndFunction) {
  rapidjson::Document addons = Load("app_addons.json");
  ASSERT_EQ(addons.Size(), 2u);
  absl::StatusOr<v1::Entity> addon = AddonEntity(addons[0], kAppId);
  ASSERT_TRUE(addon.ok()) << addon.status();
  EXPECT_EQ(addon->key(), "2bb23a70-3da0-4a76-aa8e-31219fcc2b22");
  EXPECT_EQ(addon->type(), "heroku_addon");
  EXPECT_THAT(addon->classes(), ElementsAre("Service"));
  EXPECT_EQ(Str(*addon, "id"), "2bb23a70-3da0-4a76-aa8e-31219fcc2b22");
  EXPECT_EQ(Str(*addon, "name"), "papertrail-solid-67022");
  EXPECT_EQ(Str(*addon, "displayName"), "papertrail-solid-67022");
  EXPECT_EQ(Int(*addon, "createdOn"), 1586872680000);  // 2020-04-14T13:58:00Z
  EXPECT_EQ(Int(*addon, "updatedOn"), 1586872683000);  // 2020-04-14T13:58:03Z
  EXPECT_EQ(Str(*addon, "applicationId"), kAppId);
  EXPECT_THAT(List(*addon, "category"), ElementsAre("platform"));
  EXPECT_THAT(List(*addon, "endpoints"),
              ElementsAre("https://addons-sso.heroku.com/apps/"
                          "e3af0e11-ea32-475e-a36f-e20f48e83136/addons/"
                          "2bb23a70-3da0-4a76-aa8e-31219fcc2b22"));
  EXPECT_THAT(List(*addon, "function"), IsEmpty());
  EXPECT_EQ(addon->properties().size(), 9u);
  ExpectRawDataIs(*addon, addons[0]);
  // Service requires category and function.
  EXPECT_TRUE(ValidateEntity(*addon).ok()) << ValidateEntity(*addon);

  absl::StatusOr<v1::Entity> postgres = AddonEntity(addons[1], kAppId);
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  EXPECT_EQ(Str(*postgres, "name"), "postgresql-shallow-48339");
}

TEST(ConvertersTest, AddonWithoutWebUrlHasNoEndpoint) {
  rapidjson::Document addon =
      Parse(R"({"id":"addon-id-0000-0001","name":"a","web_url":null})");
  absl::StatusOr<v1::Entity> entity = AddonEntity(addon, kAppId);
  ASSERT_TRUE(entity.ok()) << entity.status();
  EXPECT_THAT(List(*entity, "endpoints"), IsEmpty());
  EXPECT_TRUE(ValidateEntity(*entity).ok());
}

// A hostile item: megabytes, with a secret-looking string across the quoting
// limit. The error quotes its start only, and never part of a string.
TEST(ConvertersTest, ItemsWithoutIdQuoteAtMost200BytesOfTheItem) {
  const std::string secret = "HRKU-secret-0123456789abcdef";
  const std::string json =
      absl::StrCat(R"({"id":5,"user":{"id":6},"pad":")", std::string(150, 'p'),
                   R"(","token":")", secret, R"(","big":")",
                   std::string(1 << 20, 'b'), R"("})");
  rapidjson::Document item = Parse(json);
  ASSERT_FALSE(item.HasParseError());
  for (const absl::Status& status :
       {AccountEntity(item).status(), TeamEntity(item, kAccountId).status(),
        MemberUserId(item).status(), ParseTeamMember(item).status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr(R"(: {"id":5,"user":{"id":6})"));
    EXPECT_THAT(status.message(),
                HasSubstr(absl::StrCat("(", json.size(), " bytes)")));
    EXPECT_THAT(status.message(), Not(HasSubstr("HRKU")));
    EXPECT_LE(status.message().size(), 300u) << status.message();
  }
}

TEST(ConvertersTest, ItemsWithoutIdAreErrorsNamingTheKind) {
  rapidjson::Document no_id = Parse(R"({"name":"x"})");
  rapidjson::Document not_object = Parse(R"(["x"])");
  EXPECT_THAT(std::string(AccountEntity(no_id).status().message()),
              HasSubstr("enterprise account has no string 'id'"));
  EXPECT_THAT(std::string(TeamEntity(no_id, kAccountId).status().message()),
              HasSubstr("team has no string 'id'"));
  EXPECT_THAT(std::string(ApplicationEntity(no_id, kTeamId).status().message()),
              HasSubstr("app has no string 'id'"));
  EXPECT_THAT(std::string(AddonEntity(no_id, kAppId).status().message()),
              HasSubstr("add-on has no string 'id'"));
  EXPECT_EQ(AccountEntity(not_object).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseTeamMember(not_object).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ConvertersTest, TeamMembersGiveUserIdsAndRoles) {
  rapidjson::Document members = Load("team_members.json");
  ASSERT_EQ(members.Size(), 2u);
  absl::StatusOr<TeamMembership> first = ParseTeamMember(members[0]);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->user_id, "2372b250-7a66-49db-88f6-14052ae638cc");
  ASSERT_TRUE(first->role.has_value());
  EXPECT_EQ(first->role->string_value(), "member");
  absl::StatusOr<TeamMembership> second = ParseTeamMember(members[1]);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->user_id, "fdc6ef12-ed55-44b7-83a9-09b1a9c35ea8");
  EXPECT_EQ(second->role->string_value(), "admin");

  v1::Relationship edge =
      TeamHasMemberRelationship(kTeamId, second->user_id, second->role);
  EXPECT_EQ(edge.key(),
            absl::StrCat(kTeamId, "|has|fdc6ef12-ed55-44b7-83a9-09b1a9c35ea8"));
  EXPECT_EQ(edge.type(), "heroku_team_has_account_member");
  EXPECT_EQ(edge.class_name(), "HAS");
  EXPECT_EQ(edge.from_entity_key(), kTeamId);
  EXPECT_EQ(edge.to_entity_key(), "fdc6ef12-ed55-44b7-83a9-09b1a9c35ea8");
  EXPECT_EQ(edge.properties().at("role").string_value(), "admin");
  EXPECT_EQ(edge.properties().at("displayName").string_value(), "HAS");
  EXPECT_TRUE(ValidateRelationship(edge).ok()) << ValidateRelationship(edge);
}

TEST(ConvertersTest, TeamMemberRoleNullStaysNullAndAbsentStaysAbsent) {
  rapidjson::Document null_role =
      Parse(R"({"role":null,"user":{"id":"user-0000-0001"}})");
  absl::StatusOr<TeamMembership> with_null = ParseTeamMember(null_role);
  ASSERT_TRUE(with_null.ok());
  ASSERT_TRUE(with_null->role.has_value());
  EXPECT_EQ(with_null->role->kind_case(), v1::Value::kNullValue);
  v1::Relationship edge =
      TeamHasMemberRelationship(kTeamId, "user-0000-0001", with_null->role);
  EXPECT_EQ(edge.properties().at("role").kind_case(), v1::Value::kNullValue);

  rapidjson::Document no_role = Parse(R"({"user":{"id":"user-0000-0001"}})");
  absl::StatusOr<TeamMembership> without = ParseTeamMember(no_role);
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->role.has_value());
  EXPECT_FALSE(
      TeamHasMemberRelationship(kTeamId, "user-0000-0001", without->role)
          .properties()
          .contains("role"));
}

TEST(ConvertersTest, DirectRelationshipTypesAreTheDeclaredOnes) {
  EXPECT_EQ(Relate(kAccountId, kAccountType, "HAS", "user-id-0000",
                   kAccountMemberType)
                .type(),
            kAccountHasMemberType);
  EXPECT_EQ(Relate(kAccountId, kAccountType, "HAS", kTeamId, kTeamType).type(),
            kAccountHasTeamType);
  v1::Relationship owns =
      Relate(kTeamId, kTeamType, "OWNS", kAppId, kApplicationType);
  EXPECT_EQ(owns.type(), kTeamOwnsApplicationType);
  EXPECT_EQ(owns.key(), absl::StrCat(kTeamId, "|owns|", kAppId));
  EXPECT_EQ(owns.class_name(), "OWNS");
  EXPECT_EQ(
      Relate(kAppId, kApplicationType, "HAS", "addon-id-00", kAddonType).type(),
      kApplicationHasAddonType);
}

}  // namespace
}  // namespace graphmill::worker::heroku
