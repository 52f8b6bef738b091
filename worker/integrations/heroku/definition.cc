// The Heroku integration's definition: config fields and the step DAG,
// mirroring the reference graph-heroku v2.3.3 (ids, names, dependsOn, types and
// classes), plus the parent types that let per-parent steps shard.
#include "worker/integrations/heroku/definition.h"

#include "worker/integrations/common/definition_builder.h"

namespace graphmill::worker::heroku {
namespace {

v1::IntegrationDefinition BuildDefinition() {
  v1::IntegrationDefinition definition;
  definition.set_name(kIntegrationName);
  definition.set_version(kIntegrationVersion);
  definition.set_display_name(kIntegrationDisplayName);

  AddConfigField(definition, kConfigApiKey, v1::CONFIG_FIELD_TYPE_STRING,
                 /*secret=*/true,
                 /*optional=*/false,
                 "Heroku API key or OAuth authorization token (scope 'read'; "
                 "'global' is needed for team members), sent as a Bearer "
                 "token");
  AddConfigField(definition, kConfigBaseUrl, v1::CONFIG_FIELD_TYPE_STRING,
                 /*secret=*/false,
                 /*optional=*/true, "Heroku Platform API base URL",
                 kDefaultBaseUrl, /*endpoint=*/true);

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
  return ::graphmill::worker::FindStep(Definition(), step_id);
}

std::vector<std::string> DeclaredTypes(absl::string_view step_id) {
  return ::graphmill::worker::DeclaredTypes(Definition(), step_id);
}

}  // namespace graphmill::worker::heroku
