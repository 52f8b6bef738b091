// The CircleCI integration's definition: config fields and the step DAG,
// mirroring the reference graph-circleci v1.2.0 (ids, names, dependsOn, types
// and classes).
#include "worker/integrations/circleci/definition.h"

#include "worker/integrations/common/definition_builder.h"

namespace graphmill::worker::circleci {
namespace {

v1::IntegrationDefinition BuildDefinition() {
  v1::IntegrationDefinition definition;
  definition.set_name(kIntegrationName);
  definition.set_version(kIntegrationVersion);
  definition.set_display_name(kIntegrationDisplayName);

  AddConfigField(
      definition, kConfigApiKey, v1::CONFIG_FIELD_TYPE_STRING,
      /*secret=*/true, /*optional=*/false,
      "CircleCI personal API token, sent as the Circle-Token header");
  AddConfigField(definition, kConfigLogin, v1::CONFIG_FIELD_TYPE_STRING,
                 /*secret=*/false, /*optional=*/false,
                 "Login of the token's user; the account's name, and the "
                 "organization (user group) linked to the account");
  AddConfigField(definition, kConfigUserId, v1::CONFIG_FIELD_TYPE_STRING,
                 /*secret=*/false, /*optional=*/false,
                 "Identifier of the account entity (never sent to CircleCI)");
  AddConfigField(definition, kConfigBaseUrl, v1::CONFIG_FIELD_TYPE_STRING,
                 /*secret=*/false, /*optional=*/true,
                 "CircleCI API v2 base URL (CircleCI server installations)",
                 kDefaultBaseUrl, /*endpoint=*/true);
  AddConfigField(definition, kConfigExtraProjectSlugs,
                 v1::CONFIG_FIELD_TYPE_STRING_LIST, /*secret=*/false,
                 /*optional=*/true,
                 "Project slugs (e.g. gh/org/repo) to fetch in addition to "
                 "those the pipeline feed reveals");

  AddStep(definition, kStepFetchAccount, "Fetch Account", {},
          {{kAccountType, "Account"}}, {});
  AddStep(definition, kStepFetchUserGroups, "Fetch User Groups",
          {kStepFetchAccount}, {{kUserGroupType, "Group"}}, {});
  AddStep(definition, kStepBuildAccountUserGroups,
          "Build Account and User Group Relationships",
          {kStepFetchAccount, kStepFetchUserGroups}, {},
          {{kAccountHasUserGroupType, "HAS", kAccountType, kUserGroupType}});
  AddStep(definition, kStepFetchPipelines, "Fetch Pipelines",
          {kStepFetchUserGroups}, {{kPipelineType, "Configuration"}}, {});
  AddStep(definition, kStepFetchPipelineWorkflows, "Fetch Pipeline Workflows",
          {kStepFetchPipelines}, {{kWorkflowType, "Configuration"}},
          {{kPipelineHasWorkflowType, "HAS", kPipelineType, kWorkflowType}},
          kPipelineType);
  AddStep(definition, kStepFetchWorkflowJobs, "Fetch Workflow Jobs",
          {kStepFetchPipelineWorkflows}, {{kJobType, "Task"}},
          {{kWorkflowHasJobType, "HAS", kWorkflowType, kJobType}},
          kWorkflowType);
  // Projects are discovered through the pipeline feed, which lists only
  // recently built projects: a project missing from one run's feed still
  // exists, so the type (and the group->project edges built from it) is partial
  // and never deleted at finalize.
  AddStep(definition, kStepFetchProjects, "Fetch Projects",
          {kStepFetchPipelines},
          {{kProjectType, "Repository", /*partial=*/true}},
          {{kProjectHasPipelineType, "HAS", kProjectType, kPipelineType}},
          kPipelineType);
  AddStep(definition, kStepFetchProjectEnvVariables,
          "Fetch Project Environmnet Variables",  // sic: the reference's name
          {kStepFetchProjects}, {{kProjectEnvVarType, "Configuration"}},
          {{kProjectHasEnvVarType, "HAS", kProjectType, kProjectEnvVarType}},
          kProjectType);
  // Misnamed in the reference: it builds user group -> project.
  AddStep(definition, kStepBuildUserGroupProjects,
          "Build Project and Pipelines Relationships",
          {kStepFetchUserGroups, kStepFetchProjects}, {},
          {{kUserGroupHasProjectType, "HAS", kUserGroupType, kProjectType,
            /*partial=*/true}});
  AddStep(
      definition, kStepFetchContexts, "Fetch Contexts",
      {kStepFetchUserGroups, kStepFetchProjects},
      {{kContextType, "Configuration"}, {kContextEnvVarType, "Configuration"}},
      {{kProjectUsesContextEnvVarType, "USES", kProjectType,
        kContextEnvVarType},
       {kContextHasEnvVarType, "HAS", kContextType, kContextEnvVarType}},
      kUserGroupType);
  AddStep(definition, kStepFetchUsers, "Fetch Users", {kStepFetchUserGroups},
          {{kUserType, "User"}},
          {{kUserGroupHasUserType, "HAS", kUserGroupType, kUserType}});
  AddStep(definition, kStepBuildAccountUsers,
          "Build Account and User Relationships",
          {kStepFetchAccount, kStepFetchUsers}, {},
          {{kAccountHasUserType, "HAS", kAccountType, kUserType}});
  return definition;
}

}  // namespace

const v1::IntegrationDefinition& Definition() {
  static const v1::IntegrationDefinition* const definition =
      new v1::IntegrationDefinition(BuildDefinition());
  return *definition;
}

const v1::StepDefinition* FindStep(absl::string_view step_id) {
  return ::graphmill::worker::FindStep(Definition(), step_id);
}

std::vector<std::string> DeclaredTypes(absl::string_view step_id) {
  return ::graphmill::worker::DeclaredTypes(Definition(), step_id);
}

}  // namespace graphmill::worker::circleci
