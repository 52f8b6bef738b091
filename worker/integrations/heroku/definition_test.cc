// Tests of the Heroku definition against the reference's step table (spec
// §3-§5).
#include "worker/integrations/heroku/definition.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker/integrations/common/definition_checks.h"

namespace graphmill::worker::heroku {
namespace {

using ::graphmill::worker::testing::DeclaredRelationship;
using ::graphmill::worker::testing::EntityClasses;
using ::graphmill::worker::testing::EntityProducers;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(DefinitionTest, NameVersionDisplayName) {
  EXPECT_EQ(Definition().name(), "heroku");
  EXPECT_EQ(Definition().version(), "1.2.0");
  EXPECT_EQ(Definition().display_name(), "Heroku");
}

TEST(DefinitionTest, ConfigFields) {
  std::map<std::string, v1::ConfigField> fields;
  for (const auto& field : Definition().config_fields()) {
    fields[field.name()] = field;
  }
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_TRUE(fields["webhookSecret"].secret());
  EXPECT_TRUE(fields["webhookSecret"].optional());
  EXPECT_EQ(fields["apiKey"].type(), v1::CONFIG_FIELD_TYPE_STRING);
  EXPECT_TRUE(fields["apiKey"].secret());
  EXPECT_FALSE(fields["apiKey"].optional());
  EXPECT_EQ(fields["baseUrl"].type(), v1::CONFIG_FIELD_TYPE_STRING);
  EXPECT_FALSE(fields["baseUrl"].secret());
  EXPECT_TRUE(fields["baseUrl"].optional());
  EXPECT_EQ(fields["baseUrl"].default_value(), "https://api.heroku.com");
}

TEST(DefinitionTest, StepIdsNamesAndDependsOnAsTheReference) {
  testing::ExpectSteps(
      Definition(),
      {
          {"fetch-enterprise-accounts", "Fetch Enterprise Accounts", {}, ""},
          {"fetch-account-members",
           "Fetch account members",
           {"fetch-enterprise-accounts"},
           "heroku_account"},
          {"fetch-teams",
           "Fetch teams",
           {"fetch-enterprise-accounts"},
           "heroku_account"},
          {"fetch-team-apps",
           "Fetch team apps",
           {"fetch-teams"},
           "heroku_team"},
          {"fetch-app-addons",
           "Fetch app addons",
           {"fetch-team-apps"},
           "heroku_application"},
          {"build-account-to-member-relationships",
           "Build Account-to-Member Relationships",
           {"fetch-enterprise-accounts", "fetch-account-members"},
           ""},
          {"build-account-to-team-relationships",
           "Build Account-to-Team Relationships",
           {"fetch-enterprise-accounts", "fetch-teams"},
           ""},
          {"build-team-to-member-relationships",
           "Build Team-to-Member Relationships",
           {"fetch-teams", "fetch-account-members"},
           "heroku_team"},
          {"build-team-to-application-relationships",
           "Build Team-to-Application Relationships",
           {"fetch-team-apps", "fetch-teams"},
           ""},
          {"build-application-to-addon-relationships",
           "Build Application-to-Addon Relationships",
           {"fetch-app-addons", "fetch-team-apps"},
           ""},
      });
}

TEST(DefinitionTest, EntityTypesClassesAndProducers) {
  for (const auto& step : Definition().steps()) {
    for (const auto& entity : step.entities()) {
      EXPECT_FALSE(entity.partial()) << entity.type();
    }
  }
  EXPECT_EQ(EntityClasses(Definition()),
            (std::map<std::string, std::string>{
                {"heroku_account", "Account"},
                {"heroku_account_member", "User"},
                {"heroku_team", "Team"},
                {"heroku_application", "Application"},
                {"heroku_addon", "Service"},
            }));
  EXPECT_EQ(EntityProducers(Definition()),
            (std::map<std::string, std::string>{
                {"heroku_account", "fetch-enterprise-accounts"},
                {"heroku_account_member", "fetch-account-members"},
                {"heroku_team", "fetch-teams"},
                {"heroku_application", "fetch-team-apps"},
                {"heroku_addon", "fetch-app-addons"},
            }));
}

TEST(DefinitionTest, RelationshipTypesMatchWhatDirectRelationshipGenerates) {
  std::map<std::string, DeclaredRelationship> relationships =
      testing::DeclaredRelationships(Definition());
  ASSERT_EQ(relationships.size(), 5u);
  auto check = [&](const std::string& type, const std::string& step,
                   const std::string& class_name, const std::string& from,
                   const std::string& to) {
    ASSERT_TRUE(relationships.contains(type)) << type;
    EXPECT_EQ(relationships[type].step, step) << type;
    EXPECT_EQ(relationships[type].class_name, class_name) << type;
    EXPECT_EQ(relationships[type].from, from) << type;
    EXPECT_EQ(relationships[type].to, to) << type;
  };
  check("heroku_account_has_member", "build-account-to-member-relationships",
        "HAS", "heroku_account", "heroku_account_member");
  check("heroku_account_has_team", "build-account-to-team-relationships", "HAS",
        "heroku_account", "heroku_team");
  check("heroku_team_has_account_member", "build-team-to-member-relationships",
        "HAS", "heroku_team", "heroku_account_member");
  check("heroku_team_owns_application",
        "build-team-to-application-relationships", "OWNS", "heroku_team",
        "heroku_application");
  check("heroku_application_has_addon",
        "build-application-to-addon-relationships", "HAS", "heroku_application",
        "heroku_addon");
}

TEST(DefinitionTest, DependsOnNamesKnownStepsAndIsAcyclic) {
  testing::ExpectDependsOnKnownStepsAndAcyclic(Definition());
}

TEST(DefinitionTest, ParentTypeIsProducedByADependency) {
  testing::ExpectParentTypesProducedByADependency(Definition());
}

TEST(DefinitionTest, DeclaredTypesListsEntitiesThenRelationships) {
  EXPECT_THAT(DeclaredTypes("fetch-app-addons"), ElementsAre("heroku_addon"));
  EXPECT_THAT(DeclaredTypes("build-team-to-member-relationships"),
              ElementsAre("heroku_team_has_account_member"));
  EXPECT_THAT(DeclaredTypes("no-such-step"), IsEmpty());
  EXPECT_EQ(FindStep("no-such-step"), nullptr);
}

}  // namespace
}  // namespace graphmill::worker::heroku
