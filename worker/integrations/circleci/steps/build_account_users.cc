// The CircleCI step build-account-and-user-relationships, declared with its
// handler: account HAS each user.
#include <vector>

#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"

namespace graphmill::worker::circleci {
namespace {

absl::Status BuildAccountUsers(Step& step) {
  absl::StatusOr<std::vector<v1::Entity>> accounts =
      ReadEntities(step.context, kAccountType);
  if (!accounts.ok()) return accounts.status();
  return step.context.ForEachEntity(
      kUserType, [&](const v1::Entity& user) -> absl::Status {
        for (const v1::Entity& account : *accounts) {
          absl::Status status =
              step.AddRelationshipOnce(HasRelationship(account, user));
          if (!status.ok()) return status;
        }
        return absl::OkStatus();
      });
}

}  // namespace

const StepSpec& BuildAccountUsersStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepBuildAccountUsers,
      .name = "Build Account and User Relationships",
      .depends_on = {kStepFetchAccount, kStepFetchUsers},
      .relationships = {{kAccountHasUserType, "HAS", kAccountType, kUserType}},
      .run = &BuildAccountUsers,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
