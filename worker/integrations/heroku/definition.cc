// The Heroku integration's definition: config fields and the step DAG,
// mirroring the reference graph-heroku v2.3.3 (ids, names, dependsOn, types and
// classes), plus the parent types that let per-parent steps shard.
#include "worker/integrations/heroku/definition.h"

#include <initializer_list>

namespace graphmill::worker::heroku {
namespace {

struct EntityDecl {
  const char* type;
  const char* class_name;
};

struct RelationshipDecl {
  const char* type;
  const char* class_name;
  const char* from_type;
  const char* to_type;
};

void AddConfigField(v1::IntegrationDefinition& definition, const char* name,
                    bool secret, bool optional, const char* description,
                    const char* default_value = "") {
  v1::ConfigField* field = definition.add_config_fields();
  field->set_name(name);
  field->set_type(v1::CONFIG_FIELD_TYPE_STRING);
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
  }
  for (const RelationshipDecl& decl : relationships) {
    v1::DeclaredRelationshipType* relationship = step->add_relationships();
    relationship->set_type(decl.type);
    relationship->set_class_name(decl.class_name);
    relationship->set_from_type(decl.from_type);
    relationship->set_to_type(decl.to_type);
  }
  step->set_parent_type(parent_type);
}

v1::IntegrationDefinition BuildDefinition() {
  v1::IntegrationDefinition definition;
  definition.set_name(kIntegrationName);
  definition.set_version(kIntegrationVersion);
  definition.set_display_name(kIntegrationDisplayName);

  AddConfigField(definition, kConfigApiKey, /*secret=*/true,
                 /*optional=*/false,
                 "Heroku API key or OAuth authorization token (scope 'read'; "
                 "'global' is needed for team members), sent as a Bearer "
                 "token");
  AddConfigField(definition, kConfigBaseUrl, /*secret=*/false,
                 /*optional=*/true, "Heroku Platform API base URL",
                 kDefaultBaseUrl);

  AddStep(definition, kStepFetchAccounts, "Fetch Enterprise Accounts", {},
          {{kAccountType, "Account"}}, {});
  AddStep(definition, kStepFetchAccountMembers, "Fetch account members",
          {kStepFetchAccounts}, {{kAccountMemberType, "User"}}, {},
          kAccountType);
  AddStep(definition, kStepFetchTeams, "Fetch teams", {kStepFetchAccounts},
          {{kTeamType, "Team"}}, {}, kAccountType);
  AddStep(definition, kStepFetchTeamApps, "Fetch team apps", {kStepFetchTeams},
          {{kApplicationType, "Application"}}, {}, kTeamType);
  AddStep(definition, kStepFetchAppAddons, "Fetch app addons",
          {kStepFetchTeamApps}, {{kAddonType, "Service"}}, {},
          kApplicationType);
  AddStep(definition, kStepBuildAccountMembers,
          "Build Account-to-Member Relationships",
          {kStepFetchAccounts, kStepFetchAccountMembers}, {},
          {{kAccountHasMemberType, "HAS", kAccountType, kAccountMemberType}});
  AddStep(definition, kStepBuildAccountTeams,
          "Build Account-to-Team Relationships",
          {kStepFetchAccounts, kStepFetchTeams}, {},
          {{kAccountHasTeamType, "HAS", kAccountType, kTeamType}});
  // The one build step that calls the API (GET /teams/{id}/members), so it
  // shards over teams.
  AddStep(
      definition, kStepBuildTeamMembers, "Build Team-to-Member Relationships",
      {kStepFetchTeams, kStepFetchAccountMembers}, {},
      {{kTeamHasMemberType, "HAS", kTeamType, kAccountMemberType}}, kTeamType);
  AddStep(definition, kStepBuildTeamApps,
          "Build Team-to-Application Relationships",
          {kStepFetchTeamApps, kStepFetchTeams}, {},
          {{kTeamOwnsApplicationType, "OWNS", kTeamType, kApplicationType}});
  AddStep(definition, kStepBuildAppAddons,
          "Build Application-to-Addon Relationships",
          {kStepFetchAppAddons, kStepFetchTeamApps}, {},
          {{kApplicationHasAddonType, "HAS", kApplicationType, kAddonType}});
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

}  // namespace graphmill::worker::heroku
