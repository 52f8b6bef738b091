// The CircleCI step fetch-users, declared with its handler: the token's user;
// every user group HAS that user.
#include <utility>

#include "rapidjson/document.h"
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"

namespace graphmill::worker::circleci {
namespace {

absl::Status FetchUsers(Step& step) {
  absl::StatusOr<rapidjson::Document> me = step.client.GetMe();
  if (!me.ok()) return me.status();
  absl::StatusOr<v1::Entity> user = UserEntity(*me);
  if (!user.ok()) return user.status();
  absl::Status status =
      step.context.ForEachEntity(kUserGroupType, [&](const v1::Entity& group) {
        return step.AddRelationshipOnce(HasRelationship(group, *user));
      });
  if (!status.ok()) return status;
  return step.AddEntityOnce(*std::move(user));
}

}  // namespace

const StepSpec& FetchUsersStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchUsers,
      .name = "Fetch Users",
      .depends_on = {kStepFetchUserGroups},
      .entities = {{kUserType, "User"}},
      .relationships = {{kUserGroupHasUserType, "HAS", kUserGroupType,
                         kUserType}},
      .run = &FetchUsers,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
