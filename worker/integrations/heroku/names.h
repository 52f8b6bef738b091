// The names the Heroku integration's files share: integration name and
// version, config fields, step ids (the reference's), entity and relationship
// `_type`s. Constants only, so converters and config depend on them without
// depending on the steps.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_NAMES_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_NAMES_H_

namespace graphmill::worker::heroku {

inline constexpr char kIntegrationName[] = "heroku";
inline constexpr char kIntegrationVersion[] = "1.2.0";
inline constexpr char kIntegrationDisplayName[] = "Heroku";

// Heroku's documented bucket: 4,500 tokens, refilled at 75 per minute.
inline constexpr int kHerokuBucketCapacityRequests = 4500;
inline constexpr double kHerokuRefillRequestsPerMinute = 75.0;

// Config field names, as the reference spells them.
inline constexpr char kConfigApiKey[] = "apiKey";
inline constexpr char kConfigBaseUrl[] = "baseUrl";
inline constexpr char kDefaultBaseUrl[] = "https://api.heroku.com";

// Step ids: the reference's, so start states and docs carry over.
inline constexpr char kStepFetchAccounts[] = "fetch-enterprise-accounts";
inline constexpr char kStepFetchAccountMembers[] = "fetch-account-members";
inline constexpr char kStepFetchTeams[] = "fetch-teams";
inline constexpr char kStepFetchTeamApps[] = "fetch-team-apps";
inline constexpr char kStepFetchAppAddons[] = "fetch-app-addons";
inline constexpr char kStepBuildAccountMembers[] =
    "build-account-to-member-relationships";
inline constexpr char kStepBuildAccountTeams[] =
    "build-account-to-team-relationships";
inline constexpr char kStepBuildTeamMembers[] =
    "build-team-to-member-relationships";
inline constexpr char kStepBuildTeamApps[] =
    "build-team-to-application-relationships";
inline constexpr char kStepBuildAppAddons[] =
    "build-application-to-addon-relationships";

// Entity `_type`s.
inline constexpr char kAccountType[] = "heroku_account";
inline constexpr char kAccountMemberType[] = "heroku_account_member";
inline constexpr char kTeamType[] = "heroku_team";
inline constexpr char kApplicationType[] = "heroku_application";
inline constexpr char kAddonType[] = "heroku_addon";

// Relationship `_type`s (what DirectRelationship generates for the pairs
// below).
inline constexpr char kAccountHasMemberType[] = "heroku_account_has_member";
inline constexpr char kAccountHasTeamType[] = "heroku_account_has_team";
inline constexpr char kTeamHasMemberType[] = "heroku_team_has_account_member";
inline constexpr char kTeamOwnsApplicationType[] =
    "heroku_team_owns_application";
inline constexpr char kApplicationHasAddonType[] =
    "heroku_application_has_addon";

}  // namespace graphmill::worker::heroku

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_NAMES_H_
