// The CircleCI step build-account-and-user-group-relationships, declared with
// its handler: account HAS the group named like the login.
#include <vector>

#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"
#include "worker/integrations/common/entity_builder.h"

namespace graphmill::worker::circleci {
namespace {

absl::Status BuildAccountUserGroups(Step& step) {
  absl::StatusOr<std::vector<v1::Entity>> accounts =
      ReadEntities(step.context, kAccountType);
  if (!accounts.ok()) return accounts.status();
  return step.context.ForEachEntity(
      kUserGroupType, [&](const v1::Entity& group) -> absl::Status {
        if (StringProperty(group, "name") != step.config.login) {
          return absl::OkStatus();
        }
        for (const v1::Entity& account : *accounts) {
          absl::Status status =
              step.AddRelationshipOnce(HasRelationship(account, group));
          if (!status.ok()) return status;
        }
        return absl::OkStatus();
      });
}

}  // namespace

const StepSpec& BuildAccountUserGroupsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepBuildAccountUserGroups,
      .name = "Build Account and User Group Relationships",
      .depends_on = {kStepFetchAccount, kStepFetchUserGroups},
      .relationships = {{kAccountHasUserGroupType, "HAS", kAccountType,
                         kUserGroupType}},
      .run = &BuildAccountUserGroups,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
