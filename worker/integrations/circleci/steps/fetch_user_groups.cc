// The CircleCI step fetch-user-groups, declared with its handler: one group per
// organization the token's user collaborates with.
#include <utility>

#include "rapidjson/document.h"
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"

namespace graphmill::worker::circleci {
namespace {

absl::Status FetchUserGroups(Step& step) {
  return step.client.ListCollaborations(
      [&](const rapidjson::Value& collaboration) -> absl::Status {
        absl::StatusOr<v1::Entity> group = UserGroupEntity(collaboration);
        if (!group.ok()) return group.status();
        return step.AddEntityOnce(*std::move(group));
      });
}

}  // namespace

const StepSpec& FetchUserGroupsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchUserGroups,
      .name = "Fetch User Groups",
      .depends_on = {kStepFetchAccount},
      .entities = {{kUserGroupType, "Group"}},
      .run = &FetchUserGroups,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
