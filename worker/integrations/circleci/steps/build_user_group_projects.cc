// The CircleCI step build-project-and-pipelines-relationships (misnamed in the
// reference), declared with its handler: user group HAS project, for projects
// whose organization is one of the user's groups.
#include <string>

#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"
#include "worker/integrations/common/entity_builder.h"

namespace graphmill::worker::circleci {
namespace {

absl::Status BuildUserGroupProjects(Step& step) {
  absl::StatusOr<absl::flat_hash_set<std::string>> groups =
      ReadKeys(step.context, kUserGroupType);
  if (!groups.ok()) return groups.status();
  return step.context.ForEachEntity(
      kProjectType, [&](const v1::Entity& project) -> absl::Status {
        const std::string organization_id =
            StringProperty(project, "organizationId");
        if (organization_id.empty()) return absl::OkStatus();
        const std::string group_key = UserGroupKey(organization_id);
        if (!groups->contains(group_key)) return absl::OkStatus();
        return step.AddRelationshipOnce(HasRelationship(
            group_key, kUserGroupType, project.key(), kProjectType));
      });
}

}  // namespace

const StepSpec& BuildUserGroupProjectsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepBuildUserGroupProjects,
      // Misnamed in the reference: it builds user group -> project.
      .name = "Build Project and Pipelines Relationships",
      .depends_on = {kStepFetchUserGroups, kStepFetchProjects},
      .relationships = {{kUserGroupHasProjectType, "HAS", kUserGroupType,
                         kProjectType, /*partial=*/true}},
      .run = &BuildUserGroupProjects,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
