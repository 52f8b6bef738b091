// The Heroku step build-account-to-member-relationships, declared with its
// handler: account HAS member, for every account the member belongs to
// (enterpriseAccountIds; enterpriseAccountId for entities without the list).
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "worker/integrations/common/entity_builder.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/names.h"
#include "worker/integrations/heroku/steps/step.h"

namespace graphmill::worker::heroku {
namespace {

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

}  // namespace

const StepSpec& BuildAccountMembersStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepBuildAccountMembers,
      .name = "Build Account-to-Member Relationships",
      .depends_on = {kStepFetchAccounts, kStepFetchAccountMembers},
      .relationships = {{kAccountHasMemberType, "HAS", kAccountType,
                         kAccountMemberType}},
      .run = &BuildAccountMembers,
  };
  return *spec;
}

}  // namespace graphmill::worker::heroku
