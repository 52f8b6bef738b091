// Tests of the Heroku definition against the reference's step table (spec
// §3-§5).
#include "worker/integrations/heroku/definition.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/graph_objects.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::worker::heroku {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

std::vector<std::string> DependsOn(const v1::StepDefinition& step) {
  return {step.depends_on().begin(), step.depends_on().end()};
}

TEST(DefinitionTest, NameVersionDisplayName) {
  EXPECT_EQ(Definition().name(), "heroku");
  EXPECT_EQ(Definition().version(), "1.0.0");
  EXPECT_EQ(Definition().display_name(), "Heroku");
}

TEST(DefinitionTest, ConfigFields) {
  std::map<std::string, v1::ConfigField> fields;
  for (const auto& field : Definition().config_fields()) {
    fields[field.name()] = field;
  }
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields["apiKey"].type(), v1::CONFIG_FIELD_TYPE_STRING);
  EXPECT_TRUE(fields["apiKey"].secret());
  EXPECT_FALSE(fields["apiKey"].optional());
  EXPECT_EQ(fields["baseUrl"].type(), v1::CONFIG_FIELD_TYPE_STRING);
  EXPECT_FALSE(fields["baseUrl"].secret());
  EXPECT_TRUE(fields["baseUrl"].optional());
  EXPECT_EQ(fields["baseUrl"].default_value(), "https://api.heroku.com");
}

TEST(DefinitionTest, StepIdsNamesAndDependsOnAsTheReference) {
  struct Expected {
    std::string id;
    std::string name;
    std::vector<std::string> depends_on;
    std::string parent_type;
  };
  const std::vector<Expected> expected = {
      {"fetch-enterprise-accounts", "Fetch Enterprise Accounts", {}, ""},
      {"fetch-account-members",
       "Fetch account members",
       {"fetch-enterprise-accounts"},
       "heroku_account"},
      {"fetch-teams",
       "Fetch teams",
       {"fetch-enterprise-accounts"},
       "heroku_account"},
      {"fetch-team-apps", "Fetch team apps", {"fetch-teams"}, "heroku_team"},
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
  };
  ASSERT_EQ(Definition().steps_size(), 10);
  for (size_t i = 0; i < expected.size(); ++i) {
    const v1::StepDefinition& step = Definition().steps(static_cast<int>(i));
    EXPECT_EQ(step.id(), expected[i].id);
    EXPECT_EQ(step.name(), expected[i].name) << step.id();
    EXPECT_THAT(DependsOn(step), ElementsAreArray(expected[i].depends_on))
        << step.id();
    EXPECT_EQ(step.parent_type(), expected[i].parent_type) << step.id();
  }
}

TEST(DefinitionTest, EntityTypesClassesAndProducers) {
  std::map<std::string, std::string> classes;   // type -> class
  std::map<std::string, std::string> producer;  // type -> step id
  for (const auto& step : Definition().steps()) {
    for (const auto& entity : step.entities()) {
      ASSERT_EQ(entity.classes_size(), 1) << entity.type();
      EXPECT_FALSE(classes.contains(entity.type()))
          << entity.type() << " declared twice";
      EXPECT_FALSE(entity.partial()) << entity.type();
      classes[entity.type()] = entity.classes(0);
      producer[entity.type()] = step.id();
    }
  }
  EXPECT_EQ(classes, (std::map<std::string, std::string>{
                         {"heroku_account", "Account"},
                         {"heroku_account_member", "User"},
                         {"heroku_team", "Team"},
                         {"heroku_application", "Application"},
                         {"heroku_addon", "Service"},
                     }));
  EXPECT_EQ(producer, (std::map<std::string, std::string>{
                          {"heroku_account", "fetch-enterprise-accounts"},
                          {"heroku_account_member", "fetch-account-members"},
                          {"heroku_team", "fetch-teams"},
                          {"heroku_application", "fetch-team-apps"},
                          {"heroku_addon", "fetch-app-addons"},
                      }));
}

TEST(DefinitionTest, RelationshipTypesMatchWhatDirectRelationshipGenerates) {
  struct Declared {
    std::string step, class_name, from, to;
  };
  std::map<std::string, Declared> relationships;
  for (const auto& step : Definition().steps()) {
    for (const auto& relationship : step.relationships()) {
      EXPECT_FALSE(relationships.contains(relationship.type()))
          << relationship.type() << " declared twice";
      relationships[relationship.type()] = {
          step.id(), relationship.class_name(), relationship.from_type(),
          relationship.to_type()};
      EXPECT_EQ(
          RelationshipType(relationship.from_type(), relationship.class_name(),
                           relationship.to_type()),
          relationship.type());
    }
  }
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
  std::set<std::string> ids;
  for (const auto& step : Definition().steps()) {
    EXPECT_TRUE(ids.insert(step.id()).second) << step.id() << " twice";
  }
  for (const auto& step : Definition().steps()) {
    for (const auto& dependency : step.depends_on()) {
      EXPECT_TRUE(ids.contains(dependency))
          << step.id() << " depends on unknown " << dependency;
    }
  }
  // Kahn's algorithm: every step gets scheduled iff there is no cycle.
  std::set<std::string> done;
  bool progressed = true;
  while (progressed) {
    progressed = false;
    for (const auto& step : Definition().steps()) {
      if (done.contains(step.id())) continue;
      bool ready = true;
      for (const auto& dependency : step.depends_on()) {
        ready = ready && done.contains(dependency);
      }
      if (ready) {
        done.insert(step.id());
        progressed = true;
      }
    }
  }
  EXPECT_EQ(done, ids);
}

TEST(DefinitionTest, ParentTypeIsProducedByADependency) {
  std::map<std::string, std::string> producer;
  for (const auto& step : Definition().steps()) {
    for (const auto& entity : step.entities()) {
      producer[entity.type()] = step.id();
    }
  }
  for (const auto& step : Definition().steps()) {
    if (step.parent_type().empty()) continue;
    ASSERT_TRUE(producer.contains(step.parent_type())) << step.id();
    EXPECT_THAT(DependsOn(step), Contains(producer[step.parent_type()]))
        << step.id();
  }
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
