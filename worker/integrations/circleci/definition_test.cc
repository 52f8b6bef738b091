// Tests of the CircleCI definition against the reference's step table (spec
// §3-§5).
#include "worker/integrations/circleci/definition.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker/integrations/common/definition_checks.h"

namespace graphmill::worker::circleci {
namespace {

using ::graphmill::worker::testing::DeclaredRelationship;
using ::graphmill::worker::testing::EntityClasses;
using ::graphmill::worker::testing::EntityProducers;
using ::graphmill::worker::testing::ExpectedStep;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

TEST(DefinitionTest, NameVersionDisplayName) {
  EXPECT_EQ(Definition().name(), "circleci");
  EXPECT_EQ(Definition().version(), "1.2.0");
  EXPECT_EQ(Definition().display_name(), "CircleCI");
}

TEST(DefinitionTest, ConfigFields) {
  std::map<std::string, v1::ConfigField> fields;
  for (const auto& field : Definition().config_fields()) {
    fields[field.name()] = field;
  }
  ASSERT_EQ(fields.size(), 6u);
  EXPECT_TRUE(fields["webhookSecret"].secret());
  EXPECT_TRUE(fields["webhookSecret"].optional());
  EXPECT_TRUE(fields["apiKey"].secret());
  EXPECT_FALSE(fields["apiKey"].optional());
  EXPECT_EQ(fields["apiKey"].type(), v1::CONFIG_FIELD_TYPE_STRING);
  for (const char* name : {"login", "userId"}) {
    EXPECT_FALSE(fields[name].secret()) << name;
    EXPECT_FALSE(fields[name].optional()) << name;
  }
  EXPECT_TRUE(fields["baseUrl"].optional());
  EXPECT_EQ(fields["baseUrl"].default_value(), "https://circleci.com/api/v2");
  EXPECT_TRUE(fields["extraProjectSlugs"].optional());
  EXPECT_EQ(fields["extraProjectSlugs"].type(),
            v1::CONFIG_FIELD_TYPE_STRING_LIST);
}

TEST(DefinitionTest, StepIdsNamesAndDependsOnAsTheReference) {
  testing::ExpectSteps(
      Definition(),
      {
          {"fetch-account", "Fetch Account", {}, ""},
          {"fetch-user-groups", "Fetch User Groups", {"fetch-account"}, ""},
          {"build-account-and-user-group-relationships",
           "Build Account and User Group Relationships",
           {"fetch-account", "fetch-user-groups"},
           ""},
          {"fetch-pipelines", "Fetch Pipelines", {"fetch-user-groups"}, ""},
          {"fetch-pipeline-workflows",
           "Fetch Pipeline Workflows",
           {"fetch-pipelines"},
           "circleci_pipeline"},
          {"fetch-workflow-jobs",
           "Fetch Workflow Jobs",
           {"fetch-pipeline-workflows"},
           "circleci_workflow"},
          {"fetch-projects",
           "Fetch Projects",
           {"fetch-pipelines"},
           "circleci_pipeline"},
          {"fetch-projects-env-variables",
           "Fetch Project Environmnet Variables",
           {"fetch-projects"},
           "circleci_project"},
          {"build-project-and-pipelines-relationships",
           "Build Project and Pipelines Relationships",
           {"fetch-user-groups", "fetch-projects"},
           ""},
          {"fetch-contexts",
           "Fetch Contexts",
           {"fetch-user-groups", "fetch-projects"},
           "circleci_user_group"},
          {"fetch-users", "Fetch Users", {"fetch-user-groups"}, ""},
          {"build-account-and-user-relationships",
           "Build Account and User Relationships",
           {"fetch-account", "fetch-users"},
           ""},
      });
}

TEST(DefinitionTest, EntityTypesAndClasses) {
  EXPECT_EQ(EntityClasses(Definition()),
            (std::map<std::string, std::string>{
                {"circleci_account", "Account"},
                {"circleci_user_group", "Group"},
                {"circleci_user", "User"},
                {"circleci_pipeline", "Configuration"},
                {"circleci_workflow", "Configuration"},
                {"circleci_job", "Task"},
                {"circleci_project", "Repository"},
                {"circleci_project_environment_variable", "Configuration"},
                {"circleci_context", "Configuration"},
                {"circleci_context_environment_variable", "Configuration"},
            }));
  std::map<std::string, std::string> producer = EntityProducers(Definition());
  EXPECT_EQ(producer["circleci_context_environment_variable"],
            "fetch-contexts");
  EXPECT_EQ(producer["circleci_user"], "fetch-users");
}

TEST(DefinitionTest, RelationshipTypesMatchWhatDirectRelationshipGenerates) {
  std::map<std::string, DeclaredRelationship> relationships =
      testing::DeclaredRelationships(Definition());
  ASSERT_EQ(relationships.size(), 10u);
  auto check = [&](const std::string& type, const std::string& class_name,
                   const std::string& from, const std::string& to) {
    ASSERT_TRUE(relationships.contains(type)) << type;
    EXPECT_EQ(relationships[type].class_name, class_name) << type;
    EXPECT_EQ(relationships[type].from, from) << type;
    EXPECT_EQ(relationships[type].to, to) << type;
  };
  check("circleci_account_has_user_group", "HAS", "circleci_account",
        "circleci_user_group");
  check("circleci_account_has_user", "HAS", "circleci_account",
        "circleci_user");
  check("circleci_user_group_has_user", "HAS", "circleci_user_group",
        "circleci_user");
  check("circleci_user_group_has_project", "HAS", "circleci_user_group",
        "circleci_project");
  check("circleci_project_has_pipeline", "HAS", "circleci_project",
        "circleci_pipeline");
  check("circleci_pipeline_has_workflow", "HAS", "circleci_pipeline",
        "circleci_workflow");
  check("circleci_workflow_has_job", "HAS", "circleci_workflow",
        "circleci_job");
  check("circleci_project_has_environment_variable", "HAS", "circleci_project",
        "circleci_project_environment_variable");
  check("circleci_context_has_environment_variable", "HAS", "circleci_context",
        "circleci_context_environment_variable");
  check("circleci_project_uses_context_environment_variable", "USES",
        "circleci_project", "circleci_context_environment_variable");
}

TEST(DefinitionTest, DependsOnNamesKnownStepsAndIsAcyclic) {
  testing::ExpectDependsOnKnownStepsAndAcyclic(Definition());
}

TEST(DefinitionTest, ParentTypeIsProducedByAnAncestor) {
  testing::ExpectParentTypesProducedByADependency(Definition());
}

TEST(DefinitionTest, ProjectsArePartialBecauseTheFeedDoesNotListThemAll) {
  const v1::StepDefinition* projects = FindStep("fetch-projects");
  ASSERT_NE(projects, nullptr);
  EXPECT_TRUE(projects->entities(0).partial());
  EXPECT_FALSE(projects->relationships(0).partial());  // project HAS pipeline
  const v1::StepDefinition* pipelines = FindStep("fetch-pipelines");
  ASSERT_NE(pipelines, nullptr);
  EXPECT_FALSE(pipelines->entities(0).partial());
}

TEST(DefinitionTest, DeclaredTypesListsEntitiesThenRelationships) {
  EXPECT_THAT(
      DeclaredTypes("fetch-contexts"),
      ElementsAre("circleci_context", "circleci_context_environment_variable",
                  "circleci_project_uses_context_environment_variable",
                  "circleci_context_has_environment_variable"));
  EXPECT_THAT(DeclaredTypes("no-such-step"), IsEmpty());
  EXPECT_EQ(FindStep("no-such-step"), nullptr);
  EXPECT_THAT(DeclaredTypes("fetch-account"),
              UnorderedElementsAre("circleci_account"));
}

}  // namespace
}  // namespace graphmill::worker::circleci
