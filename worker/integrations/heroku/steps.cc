// The handlers of the Heroku integration's steps, one function per step id.
// Each reads its parents through StepContext::ForEachEntity, calls the API
// through HerokuClient and adds what the converters build.
#include "worker/integrations/heroku/steps.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/graph_objects.h"
#include "common/log.h"
#include "worker/integrations/common/task_step.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/definition.h"

namespace graphmill::worker::heroku {
namespace {

// Most forbidden applications named in the add-on warning (the count is
// always given).
constexpr size_t kMaxAppsNamedInWarning = 5;

// "Could not fetch <resource> (<HTTP error>): ...".
std::string DescribeMissingPermission(absl::string_view resource,
                                      const absl::Status& error) {
  return absl::StrCat("Could not fetch ", resource, " (", error.message(),
                      "): make sure the API key's user may read it.");
}

constexpr TaskStepOptions kTaskStepOptions = {"heroku", kMaxInFlightRequests,
                                              &DescribeMissingPermission};

// Everything a handler needs.
struct Step : TaskStep {
  Step(absl::string_view id, HerokuClient& client, StepContext& context)
      : TaskStep(kTaskStepOptions, id, DeclaredTypes(id), context),
        client(client) {}

  HerokuClient& client;
};

using Parent = ParentEntity;

// `id` property -> `_key` of every entity of `type` visible to this task.
absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ReadKeysById(
    StepContext& context, absl::string_view type) {
  absl::flat_hash_map<std::string, std::string> keys;
  absl::Status status =
      context.ForEachEntity(type, [&](const v1::Entity& entity) {
        keys.emplace(StringProperty(entity, "id"), entity.key());
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return keys;
}

// fetch-enterprise-accounts: every enterprise account the key can see; an
// INFO event when there is none (the reference stays silent).
absl::Status FetchAccounts(Step& step) {
  int accounts = 0;
  absl::Status status = step.client.ListEnterpriseAccounts(
      [&](const rapidjson::Value& item) -> absl::Status {
        absl::StatusOr<v1::Entity> account = AccountEntity(item);
        if (!account.ok()) return account.status();
        ++accounts;
        return step.AddEntityOnce(*std::move(account));
      });
  if (!status.ok()) return status;
  LogInfo("heroku step ", step.id, ": ", accounts, " enterprise accounts");
  if (accounts == 0) {
    step.context.AddEvent(
        v1::EVENT_LEVEL_INFO, kNoEnterpriseAccountEvent,
        absl::StrCat("No Heroku Enterprise account is visible to the API key "
                     "(GET ",
                     step.client.AccountsUrl(),
                     " returned an empty list), so the graph is empty: every "
                     "Heroku entity is reached through an enterprise account. "
                     "Use the key of a user who is a member of a Heroku "
                     "Enterprise account."));
  }
  return absl::OkStatus();
}

// fetch-account-members: one entity per user who is a member of an enterprise
// account. A user in several accounts becomes one entity whose
// enterpriseAccountId is the smallest of their account ids (built from that
// account's item) and whose enterpriseAccountIds lists them all;
// build-account-to-member-relationships links every account in the list.
//
// The step shards over accounts, but an entity that does not depend on the
// sharding needs all of a user's accounts: so a task lists the members of every
// enterprise account the key sees (its shard's and those GET
// /enterprise-accounts returns) and emits only the users whose smallest account
// is in its shard. With the coordinator's shard size (200 parents) there is one
// task, and this costs one request.
absl::Status FetchAccountMembers(Step& step) {
  absl::StatusOr<std::vector<Parent>> shard_accounts =
      ReadParents(step.context, kAccountType);
  if (!shard_accounts.ok()) return shard_accounts.status();
  if (shard_accounts->empty()) return absl::OkStatus();

  // Every account to list, by id; true for this task's own.
  std::map<std::string, bool> own_by_id;
  std::map<std::string, std::string> described_by_id;
  std::map<std::string, std::string> own_key_by_id;
  for (const Parent& account : *shard_accounts) {
    own_by_id[account.id] = true;
    described_by_id[account.id] = account.Describe("enterprise account");
    own_key_by_id[account.id] = account.key;
  }
  absl::Status listed_accounts = step.client.ListEnterpriseAccounts(
      [&](const rapidjson::Value& item) -> absl::Status {
        absl::StatusOr<v1::Entity> account = AccountEntity(item);
        if (!account.ok()) return account.status();
        const std::string id = StringProperty(*account, "id");
        if (own_by_id.try_emplace(id, false).second) {
          described_by_id[id] =
              Parent{account->key(), id, StringProperty(*account, "name")}
                  .Describe("enterprise account");
        }
        return absl::OkStatus();
      });
  // Without the full list this task still lists its own accounts; a user who
  // is also in an unlisted account may then be emitted by two tasks.
  if (!listed_accounts.ok() && !IsPermissionOrNotFound(listed_accounts)) {
    return listed_accounts;
  }
  std::vector<std::pair<std::string, bool>> accounts(own_by_id.begin(),
                                                     own_by_id.end());

  // user id -> account id -> the member item listed under that account.
  absl::Mutex mutex;
  std::map<std::string, std::map<std::string, std::string>> memberships;
  absl::Status status = step.FanOut(accounts.size(), [&](size_t i) {
    const auto& [account_id, own] = accounts[i];
    absl::Status listed = step.client.ListEnterpriseAccountMembers(
        account_id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<std::string> user_id = MemberUserId(item);
          if (!user_id.ok()) return user_id.status();
          std::string json = ToJson(item);
          absl::MutexLock lock(&mutex);
          memberships[*user_id].try_emplace(account_id, std::move(json));
          return absl::OkStatus();
        });
    // Another shard's account: its own task reports what went wrong.
    if (!own && IsPermissionOrNotFound(listed)) return absl::OkStatus();
    return step.WarnIfMissingPermission(
        listed, absl::StrCat("members of ", described_by_id.at(account_id)),
        "GET /enterprise-accounts/{id}/members",
        own ? own_key_by_id.at(account_id) : "");
  });
  if (!status.ok()) return status;

  int emitted = 0;
  for (const auto& [user_id, by_account] : memberships) {
    // The map's order: account ids sorted, the smallest first.
    if (!own_by_id.at(by_account.begin()->first)) continue;
    std::vector<std::string> account_ids;
    for (const auto& [account_id, json] : by_account) {
      account_ids.push_back(account_id);
    }
    rapidjson::Document item;
    item.Parse(by_account.begin()->second.c_str());
    absl::StatusOr<v1::Entity> member = AccountMemberEntity(item, account_ids);
    if (!member.ok()) return member.status();
    // A member belongs to the account that emits it (its smallest); if that
    // account's listing fails, the member is kept.
    absl::Status added = step.AddEntityOnce(
        *std::move(member), own_key_by_id.at(by_account.begin()->first));
    if (!added.ok()) return added;
    ++emitted;
  }
  LogInfo("heroku step ", step.id, ": ", emitted, " members of ",
          shard_accounts->size(), " enterprise accounts (", accounts.size(),
          " listed)");
  return absl::OkStatus();
}

// fetch-teams: each account's teams.
absl::Status FetchTeams(Step& step) {
  absl::StatusOr<std::vector<Parent>> accounts =
      ReadParents(step.context, kAccountType);
  if (!accounts.ok()) return accounts.status();
  return step.FanOut(accounts->size(), [&](size_t i) {
    const Parent& account = (*accounts)[i];
    absl::Status listed = step.client.ListEnterpriseAccountTeams(
        account.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> team = TeamEntity(item, account.id);
          if (!team.ok()) return team.status();
          return step.AddEntityOnce(*std::move(team), account.key);
        });
    return step.WarnIfMissingPermission(
        listed,
        absl::StrCat("teams of ", account.Describe("enterprise account")),
        "GET /enterprise-accounts/{id}/teams", account.key);
  });
}

// fetch-team-apps: each team's apps.
absl::Status FetchTeamApps(Step& step) {
  absl::StatusOr<std::vector<Parent>> teams =
      ReadParents(step.context, kTeamType);
  if (!teams.ok()) return teams.status();
  return step.FanOut(teams->size(), [&](size_t i) {
    const Parent& team = (*teams)[i];
    absl::Status listed = step.client.ListTeamApps(
        team.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> app = ApplicationEntity(item, team.id);
          if (!app.ok()) return app.status();
          return step.AddEntityOnce(*std::move(app), team.key);
        });
    return step.WarnIfMissingPermission(
        listed, absl::StrCat("apps of ", team.Describe("team")),
        "GET /teams/{id}/apps", team.key);
  });
}

// fetch-app-addons: each app's add-ons. Heroku shows add-ons only to team
// admins: 403s (and 404s of apps deleted since fetch-team-apps) are gathered
// into one warning per task instead of one per app.
absl::Status FetchAppAddons(Step& step) {
  absl::StatusOr<std::vector<Parent>> apps =
      ReadParents(step.context, kApplicationType);
  if (!apps.ok()) return apps.status();
  absl::Mutex mutex;
  std::vector<std::pair<size_t, absl::Status>> missed;  // guarded by mutex
  absl::Status status = step.FanOut(apps->size(), [&](size_t i) {
    const Parent& app = (*apps)[i];
    absl::Status listed = step.client.ListAppAddons(
        app.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> addon = AddonEntity(item, app.id);
          if (!addon.ok()) return addon.status();
          return step.AddEntityOnce(*std::move(addon), app.key);
        });
    if (listed.ok() || !IsPermissionOrNotFound(listed)) return listed;
    step.context.MarkScopeIncomplete(
        app.key, Step::MissingReason(listed, "GET /apps/{id}/addons"));
    absl::MutexLock lock(&mutex);
    missed.emplace_back(i, std::move(listed));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (missed.empty()) return absl::OkStatus();

  std::sort(missed.begin(), missed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> named;
  for (size_t i = 0; i < missed.size() && i < kMaxAppsNamedInWarning; ++i) {
    named.push_back((*apps)[missed[i].first].Describe("app"));
  }
  step.Warn(
      kMissingPermissionEvent,
      absl::StrCat(
          "Could not fetch add-ons of ", missed.size(), " of ", apps->size(),
          " applications (first error: ", missed.front().second.message(),
          "). Heroku shows add-ons only to users with the admin role "
          "in the app's team; the add-ons of these applications are "
          "left as they were. Applications: ",
          absl::StrJoin(named, ", "),
          missed.size() > named.size() ? ", ..." : ""));
  return absl::OkStatus();
}

// build-account-to-member-relationships: account HAS member, for every account
// the member belongs to (enterpriseAccountIds; enterpriseAccountId for
// entities without the list).
absl::Status BuildAccountMembers(Step& step) {
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> accounts =
      ReadKeysById(step.context, kAccountType);
  if (!accounts.ok()) return accounts.status();
  return step.context.ForEachEntity(
      kAccountMemberType, [&](const v1::Entity& member) -> absl::Status {
        std::vector<std::string> account_ids =
            StringListProperty(member, kEnterpriseAccountIdsProperty);
        if (account_ids.empty()) {
          account_ids = StringListProperty(member, "enterpriseAccountId");
        }
        for (const std::string& account_id : account_ids) {
          auto account = accounts->find(account_id);
          if (account == accounts->end()) continue;
          absl::Status status = step.AddRelationshipOnce(
              Relate(account->second, kAccountType, "HAS", member.key(),
                     kAccountMemberType));
          if (!status.ok()) return status;
        }
        return absl::OkStatus();
      });
}

// Links each child of `child_type` to the parent of `parent_type` whose id is
// in the child's `parent_id_property` (silently skipped when there is none, as
// the reference does).
absl::Status JoinOnParentId(Step& step, absl::string_view parent_type,
                            absl::string_view class_name,
                            absl::string_view child_type,
                            absl::string_view parent_id_property) {
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> parents =
      ReadKeysById(step.context, parent_type);
  if (!parents.ok()) return parents.status();
  return step.context.ForEachEntity(
      child_type, [&](const v1::Entity& child) -> absl::Status {
        auto parent = parents->find(StringProperty(child, parent_id_property));
        if (parent == parents->end()) return absl::OkStatus();
        return step.AddRelationshipOnce(Relate(
            parent->second, parent_type, class_name, child.key(), child_type));
      });
}

// build-account-to-team-relationships: account HAS team.
absl::Status BuildAccountTeams(Step& step) {
  return JoinOnParentId(step, kAccountType, "HAS", kTeamType,
                        "enterpriseAccountId");
}

// build-team-to-application-relationships: team OWNS application.
absl::Status BuildTeamApps(Step& step) {
  return JoinOnParentId(step, kTeamType, "OWNS", kApplicationType, "teamId");
}

// build-application-to-addon-relationships: application HAS add-on.
absl::Status BuildAppAddons(Step& step) {
  return JoinOnParentId(step, kApplicationType, "HAS", kAddonType,
                        "applicationId");
}

// build-team-to-member-relationships: GET /teams/{id}/members per team; team
// HAS member (with `role`) for each member who is an enterprise account
// member. A 403 (the key lacks the `global` scope) affects that team only.
absl::Status BuildTeamMembers(Step& step) {
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> members =
      ReadKeysById(step.context, kAccountMemberType);
  if (!members.ok()) return members.status();
  absl::StatusOr<std::vector<Parent>> teams =
      ReadParents(step.context, kTeamType);
  if (!teams.ok()) return teams.status();
  LogInfo("heroku step ", step.id, ": ", teams->size(),
          " teams to fetch members for");

  return step.FanOut(teams->size(), [&](size_t i) -> absl::Status {
    const Parent& team = (*teams)[i];
    int unknown = 0;
    absl::Status listed = step.client.ListTeamMembers(
        team.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<TeamMembership> membership = ParseTeamMember(item);
          if (!membership.ok()) return membership.status();
          auto member = members->find(membership->user_id);
          if (member == members->end()) {
            // Not an enterprise account member: skip this one only (the
            // reference dropped the rest of the team).
            ++unknown;
            return absl::OkStatus();
          }
          return step.AddRelationshipOnce(
              TeamHasMemberRelationship(team.key, member->second,
                                        membership->role),
              team.key);
        });
    if (unknown > 0) {
      LogInfo("heroku step ", step.id, ": ", unknown, " members of ",
              team.Describe("team"),
              " are not enterprise account members; skipped");
    }
    if (http::HttpErrorKindOf(listed) == http::HttpErrorKind::kPermission) {
      step.Warn(kMissingScopeEvent,
                absl::StrCat("Could not fetch team members. Missing required "
                             "OAuth scope (endpoint=",
                             step.client.TeamMembersUrl(team.id),
                             ", scope=global) for ", team.Describe("team"),
                             ": ", listed.message()));
      step.context.MarkScopeIncomplete(
          team.key, Step::MissingReason(listed, "GET /teams/{id}/members"));
      return absl::OkStatus();
    }
    return step.WarnIfMissingPermission(
        listed, absl::StrCat("members of ", team.Describe("team")),
        "GET /teams/{id}/members", team.key);
  });
}

using Handler = absl::Status (*)(Step&);

Handler FindHandler(absl::string_view step_id) {
  static const auto* const handlers =
      new std::map<std::string, Handler, std::less<>>{
          {kStepFetchAccounts, &FetchAccounts},
          {kStepFetchAccountMembers, &FetchAccountMembers},
          {kStepFetchTeams, &FetchTeams},
          {kStepFetchTeamApps, &FetchTeamApps},
          {kStepFetchAppAddons, &FetchAppAddons},
          {kStepBuildAccountMembers, &BuildAccountMembers},
          {kStepBuildAccountTeams, &BuildAccountTeams},
          {kStepBuildTeamMembers, &BuildTeamMembers},
          {kStepBuildTeamApps, &BuildTeamApps},
          {kStepBuildAppAddons, &BuildAppAddons},
      };
  auto it = handlers->find(step_id);
  return it == handlers->end() ? nullptr : it->second;
}

}  // namespace

absl::Status RunStep(absl::string_view step_id, HerokuClient& client,
                     StepContext& context) {
  Handler handler = FindHandler(step_id);
  if (handler == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("integration 'heroku' has no step '", step_id, "'"));
  }
  Step step(step_id, client, context);
  return handler(step);
}

}  // namespace graphmill::worker::heroku
