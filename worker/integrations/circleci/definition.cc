// The CircleCI integration's definition: config fields and the step DAG,
// mirroring the reference graph-circleci v1.2.0 (ids, names, dependsOn, types
// and classes).
#include "worker/integrations/circleci/definition.h"

#include <initializer_list>

namespace graphmill::worker::circleci {
namespace {

struct EntityDecl {
  const char* type;
  const char* class_name;
  // Never fully listed (see DefinitionBuilder), so finalize never deletes
  // objects of it.
  bool partial = false;
};

struct RelationshipDecl {
  const char* type;
  const char* class_name;
  const char* from_type;
  const char* to_type;
  bool partial = false;
};

void AddConfigField(v1::IntegrationDefinition& definition, const char* name,
                    v1::ConfigFieldType type, bool secret, bool optional,
                    const char* description, const char* default_value = "") {
  v1::ConfigField* field = definition.add_config_fields();
  field->set_name(name);
  field->set_type(type);
  field->set_secret(secret);
  field->set_optional(optional);
  field->set_description(description);
  field->set_default_value(default_value);
}

void AddStep(v1::IntegrationDefinition& definition, const char* id,
             const char* name, std::initializer_list<const char*> depends_on,
             std::initializer_list<EntityDecl> entities,
             std::initializer_list<RelationshipDecl> relationships,
             const char* parent_type = "") {
  v1::StepDefinition* step = definition.add_steps();
  step->set_id(id);
  step->set_name(name);
  for (const char* dependency : depends_on) step->add_depends_on(dependency);
  for (const EntityDecl& decl : entities) {
    v1::DeclaredEntityType* entity = step->add_entities();
    entity->set_type(decl.type);
    entity->add_classes(decl.class_name);
    entity->set_partial(decl.partial);
  }
  for (const RelationshipDecl& decl : relationships) {
    v1::DeclaredRelationshipType* relationship = step->add_relationships();
    relationship->set_type(decl.type);
    relationship->set_class_name(decl.class_name);
    relationship->set_from_type(decl.from_type);
    relationship->set_to_type(decl.to_type);
    relationship->set_partial(decl.partial);
  }
  step->set_parent_type(parent_type);
}

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
                 kDefaultBaseUrl);
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
  for (const v1::StepDefinition& step : Definition().steps()) {
    if (step.id() == step_id) return &step;
  }
  return nullptr;
}

std::vector<std::string> DeclaredTypes(absl::string_view step_id) {
  std::vector<std::string> types;
  const v1::StepDefinition* step = FindStep(step_id);
  if (step == nullptr) return types;
  for (const auto& entity : step->entities()) types.push_back(entity.type());
  for (const auto& relationship : step->relationships()) {
    types.push_back(relationship.type());
  }
  return types;
}

}  // namespace graphmill::worker::circleci
