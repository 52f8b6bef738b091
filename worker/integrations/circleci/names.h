// The names the CircleCI integration's files share: integration name and
// version, config fields, step ids (the reference's), entity and relationship
// `_type`s. Constants only, so converters and config depend on them without
// depending on the steps.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_NAMES_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_NAMES_H_

namespace graphmill::worker::circleci {

inline constexpr char kIntegrationName[] = "circleci";
inline constexpr char kIntegrationVersion[] = "1.2.0";
inline constexpr char kIntegrationDisplayName[] = "CircleCI";

// Config field names, as the reference spells them.
inline constexpr char kConfigApiKey[] = "apiKey";
inline constexpr char kConfigLogin[] = "login";
inline constexpr char kConfigUserId[] = "userId";
inline constexpr char kConfigBaseUrl[] = "baseUrl";
inline constexpr char kConfigExtraProjectSlugs[] = "extraProjectSlugs";
inline constexpr char kDefaultBaseUrl[] = "https://circleci.com/api/v2";

// Step ids: the reference's, so start states and docs carry over.
inline constexpr char kStepFetchAccount[] = "fetch-account";
inline constexpr char kStepFetchUserGroups[] = "fetch-user-groups";
inline constexpr char kStepBuildAccountUserGroups[] =
    "build-account-and-user-group-relationships";
inline constexpr char kStepFetchPipelines[] = "fetch-pipelines";
inline constexpr char kStepFetchPipelineWorkflows[] =
    "fetch-pipeline-workflows";
inline constexpr char kStepFetchWorkflowJobs[] = "fetch-workflow-jobs";
inline constexpr char kStepFetchProjects[] = "fetch-projects";
inline constexpr char kStepFetchProjectEnvVariables[] =
    "fetch-projects-env-variables";
inline constexpr char kStepBuildUserGroupProjects[] =
    "build-project-and-pipelines-relationships";
inline constexpr char kStepFetchContexts[] = "fetch-contexts";
inline constexpr char kStepFetchUsers[] = "fetch-users";
inline constexpr char kStepBuildAccountUsers[] =
    "build-account-and-user-relationships";

// Entity `_type`s.
inline constexpr char kAccountType[] = "circleci_account";
inline constexpr char kUserGroupType[] = "circleci_user_group";
inline constexpr char kUserType[] = "circleci_user";
inline constexpr char kPipelineType[] = "circleci_pipeline";
inline constexpr char kWorkflowType[] = "circleci_workflow";
inline constexpr char kJobType[] = "circleci_job";
inline constexpr char kProjectType[] = "circleci_project";
inline constexpr char kProjectEnvVarType[] =
    "circleci_project_environment_variable";
inline constexpr char kContextType[] = "circleci_context";
inline constexpr char kContextEnvVarType[] =
    "circleci_context_environment_variable";

// Relationship `_type`s (what DirectRelationship generates for the pairs
// below).
inline constexpr char kAccountHasUserGroupType[] =
    "circleci_account_has_user_group";
inline constexpr char kAccountHasUserType[] = "circleci_account_has_user";
inline constexpr char kUserGroupHasUserType[] = "circleci_user_group_has_user";
inline constexpr char kUserGroupHasProjectType[] =
    "circleci_user_group_has_project";
inline constexpr char kProjectHasPipelineType[] =
    "circleci_project_has_pipeline";
inline constexpr char kPipelineHasWorkflowType[] =
    "circleci_pipeline_has_workflow";
inline constexpr char kWorkflowHasJobType[] = "circleci_workflow_has_job";
inline constexpr char kProjectHasEnvVarType[] =
    "circleci_project_has_environment_variable";
inline constexpr char kContextHasEnvVarType[] =
    "circleci_context_has_environment_variable";
inline constexpr char kProjectUsesContextEnvVarType[] =
    "circleci_project_uses_context_environment_variable";

}  // namespace graphmill::worker::circleci

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_NAMES_H_
