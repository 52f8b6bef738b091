// The Heroku step build-application-to-addon-relationships, declared with its
// handler: application HAS add-on.
#include "worker/integrations/heroku/names.h"
#include "worker/integrations/heroku/steps/step.h"

namespace graphmill::worker::heroku {
namespace {

absl::Status BuildAppAddons(Step& step) {
  return JoinOnParentId(step, kApplicationType, "HAS", kAddonType,
                        "applicationId");
}

}  // namespace

const StepSpec& BuildAppAddonsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepBuildAppAddons,
      .name = "Build Application-to-Addon Relationships",
      .depends_on = {kStepFetchAppAddons, kStepFetchTeamApps},
      .relationships = {{kApplicationHasAddonType, "HAS", kApplicationType,
                         kAddonType}},
      .run = &BuildAppAddons,
  };
  return *spec;
}

}  // namespace graphmill::worker::heroku
