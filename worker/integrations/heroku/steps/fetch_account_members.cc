// The Heroku step fetch-account-members, declared with its handler: one entity
// per user who is a member of an enterprise account. A user in several accounts
// becomes one entity whose enterpriseAccountId is the smallest of their account
// ids (built from that account's item) and whose enterpriseAccountIds lists
// them all; build-account-to-member-relationships links every account in the
// list.
//
// The step shards over accounts, but an entity that does not depend on the
// sharding needs all of a user's accounts: so a task lists the members of every
// enterprise account the key sees (its shard's and those GET
// /enterprise-accounts returns) and emits only the users whose smallest account
// is in its shard. With the coordinator's shard size (200 parents) there is one
// task, and this costs one request.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "rapidjson/document.h"
#include "worker/integrations/common/entity_builder.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/names.h"
#include "worker/integrations/heroku/steps/step.h"

namespace graphmill::worker::heroku {
namespace {

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

}  // namespace

const StepSpec& FetchAccountMembersStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchAccountMembers,
      .name = "Fetch account members",
      .depends_on = {kStepFetchAccounts},
      .entities = {{kAccountMemberType, "User"}},
      .parent_type = kAccountType,
      .run = &FetchAccountMembers,
  };
  return *spec;
}

}  // namespace graphmill::worker::heroku
