// The CircleCI integration's one list of steps, and the dispatch built on it.
#include "worker/integrations/circleci/steps/steps.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace graphmill::worker::circleci {

absl::Span<const StepSpec* const> Steps() {
  // The order is the definition's: changing it changes what the coordinator
  // receives (worker/integrations/definitions_test.cc).
  static const auto* const steps = new std::vector<const StepSpec*>{
      &FetchAccountStep(),
      &FetchUserGroupsStep(),
      &BuildAccountUserGroupsStep(),
      &FetchPipelinesStep(),
      &FetchPipelineWorkflowsStep(),
      &FetchWorkflowJobsStep(),
      &FetchProjectsStep(),
      &FetchProjectEnvVariablesStep(),
      &BuildUserGroupProjectsStep(),
      &FetchContextsStep(),
      &FetchUsersStep(),
      &BuildAccountUsersStep(),
  };
  return *steps;
}

absl::Status RunStep(absl::string_view step_id, const CircleCiConfig& config,
                     CircleCiClient& client, StepContext& context) {
  const StepSpec* spec = FindStepSpec(Steps(), step_id);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("integration 'circleci' has no step '", step_id, "'"));
  }
  Step step(spec->id, ::graphmill::worker::DeclaredTypes(*spec), config, client,
            context);
  return spec->run(step);
}

}  // namespace graphmill::worker::circleci
