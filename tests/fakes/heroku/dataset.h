// The data a generated-mode fake Heroku serves: plain structs and a
// deterministic generator, so tests can compute exactly what a full ingestion
// must find.
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_DATASET_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_DATASET_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace graphmill::fakes::heroku {

// Sizes of the generated data. All must be >= 0 (apps_first_team >= -1) and
// the total item count at most 5,000,000.
struct DatasetOptions {
  uint64_t seed = 1;
  int accounts = 2;  // enterprise accounts
  // Members of each enterprise account, shared members included; must be at
  // least the number of shared members landing in every account.
  int members_per_account = 6;
  // Users who are members of two accounts: shared member k joins accounts
  // k % accounts and (k + 1) % accounts (with 2 accounts: both). Needs
  // accounts >= 2 when > 0.
  int shared_members = 2;
  int teams_per_account = 2;
  // Team members drawn from the team's enterprise-account members (capped at
  // their number); the first one is an admin.
  int team_members_per_team = 3;
  // Extra team members per team who are not members of any enterprise account
  // (the reference integration ignores them). Each is a new user.
  int outside_team_members_per_team = 0;
  int apps_per_team = 3;
  // Apps of the first team (account 0's first team); -1 = apps_per_team. Lets
  // one team exceed the 1,000-item page.
  int apps_first_team = -1;
  int addons_per_app = 2;
};

// A Heroku user (enterprise member or outside team member).
struct User {
  std::string id;
  std::string email;
  std::string name;
  bool federated = false;
  bool two_factor_authentication = false;
  bool enterprise_member = true;  // false for outside team members
  std::string created_at;         // ISO 8601 UTC, "YYYY-MM-DDTHH:MM:SSZ"
  std::string updated_at;
  std::string last_login;
};

struct IdentityProvider {
  std::string id;
  std::string name;  // also its slug
  std::string owner_id;
  std::string owner_name;
};

struct EnterpriseAccount {
  std::string id;
  std::string name;  // unique
  std::string created_at;
  std::string updated_at;  // unique across the dataset
  bool trial = false;
  std::optional<IdentityProvider> identity_provider;  // even indices only
};

// One /enterprise-accounts/{id}/members item. Its `id` is the membership id;
// the user is users[user].
struct AccountMember {
  std::string id;
  int account = 0;  // index into Dataset::accounts
  int user = 0;     // index into Dataset::users
  std::vector<std::string>
      permissions;  // "view", "create", "manage", "billing"
  bool two_factor_authentication = false;
};

struct Team {
  std::string id;
  std::string name;  // unique
  int account = 0;   // index into Dataset::accounts
  std::string created_at;
  std::string updated_at;  // unique across the dataset
  int membership_limit = 25;
  bool default_team = false;
};

// One /teams/{id}/members item.
struct TeamMember {
  std::string id;    // the membership id
  int team = 0;      // index into Dataset::teams
  int user = 0;      // index into Dataset::users
  std::string role;  // "admin", "member", "collaborator" or "owner"
  std::string created_at;
  std::string updated_at;  // unique across the dataset
};

struct App {
  std::string id;
  std::string name;  // unique, e.g. "damp-falls-40058"
  int team = 0;      // index into Dataset::teams; the owner is the team's
                     // "<team name>@herokumanager.com" pseudo-user (id = team
                     // id)
  std::string created_at;
  std::string updated_at;  // unique across the dataset
  std::string released_at;
  int region = 0;                     // index into kRegions
  int stack = 0;                      // index into kStacks
  std::string buildpack_description;  // empty = null
  int64_t repo_size = 0;              // 0 = null
  int64_t slug_size = 0;              // 0 = null
  std::string legacy_id;              // "app<digits>@heroku.com"
};

struct Addon {
  std::string id;
  std::string name;  // unique, e.g. "papertrail-solid-67022"
  int app = 0;       // index into Dataset::apps
  int service = 0;   // index into kAddonServices
  std::string created_at;
  std::string updated_at;  // unique across the dataset
  std::string provider_id;
};

struct Region {
  const char* id;
  const char* name;
};
inline constexpr Region kRegions[] = {
    {"59accabd-516d-4f0e-83e6-6e3757701145", "us"},
    {"ed30241c-ed8c-4bb6-9714-61953675d0b4", "eu"}};

struct Stack {
  const char* id;
  const char* name;
};
inline constexpr Stack kStacks[] = {
    {"69bee368-352b-4bd0-9b7c-819d860a2588", "heroku-18"},
    {"74cfe988-7527-4ca4-9b26-d3c6e1d7b2d2", "heroku-20"},
    {"ae20c5b3-6b7a-4c0b-8b5e-2d0a3ff6a1b9", "heroku-22"}};

// The add-on catalogue; the first two are the recorded services.
struct AddonService {
  const char* id;
  const char* name;         // addon_service.name
  const char* name_prefix;  // add-on names start with it
  const char* plan_id;
  const char* plan_name;
  const char* config_var;
};
inline constexpr AddonService kAddonServices[] = {
    {"f6f28cb5-78ad-4ec7-896d-16462b8202fd", "papertrail", "papertrail",
     "75e5e5d9-e71c-4693-818f-db1de34d761b", "papertrail:choklad",
     "PAPERTRAIL_API_TOKEN"},
    {"6c67493d-8fc2-4cd4-9161-4f1ec11cbe69", "heroku-postgresql", "postgresql",
     "062a1cc7-f79f-404c-9f91-135f70175577", "heroku-postgresql:hobby-dev",
     "DATABASE_URL"},
    {"4a2b7a1c-2b7e-4e8c-9a5f-6a0f2c6d9e11", "heroku-redis", "redis",
     "8e2a6b1d-0c3f-4d6a-b1e2-7f9c3a5d2e40", "heroku-redis:hobby-dev",
     "REDIS_URL"},
    {"b1c3d5e7-8f90-4a1b-9c2d-3e4f5a6b7c8d", "sendgrid", "sendgrid",
     "c2d4e6f8-0a1b-4c3d-8e5f-6a7b8c9d0e1f", "sendgrid:starter",
     "SENDGRID_API_KEY"}};

// Everything served in generated mode. Child vectors are grouped by parent, in
// parent order (the API sorts each list by its range field).
struct Dataset {
  DatasetOptions options;
  // Enterprise members first (account by account, each account's own members
  // then the shared ones), then outside team members. users[0], when it
  // exists, is an admin member of account 0.
  std::vector<User> users;
  std::vector<EnterpriseAccount> accounts;
  std::vector<AccountMember> account_members;
  std::vector<Team> teams;
  std::vector<TeamMember> team_members;
  std::vector<App> apps;
  std::vector<Addon> addons;
};

// Generates the dataset for `options` (same options, same data).
// INVALID_ARGUMENT naming the option when a size is out of range.
absl::StatusOr<Dataset> GenerateDataset(const DatasetOptions& options);

// The e-mail of a team's pseudo-user, which owns its apps
// ("<team name>@herokumanager.com").
std::string TeamOwnerEmail(const Team& team);

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_DATASET_H_
