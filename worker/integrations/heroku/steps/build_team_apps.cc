// The Heroku step build-team-to-application-relationships, declared with its
// handler: team OWNS application.
#include "worker/integrations/heroku/names.h"
#include "worker/integrations/heroku/steps/step.h"

namespace graphmill::worker::heroku {
namespace {

absl::Status BuildTeamApps(Step& step) {
  return JoinOnParentId(step, kTeamType, "OWNS", kApplicationType, "teamId");
}

}  // namespace

const StepSpec& BuildTeamAppsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepBuildTeamApps,
      .name = "Build Team-to-Application Relationships",
      .depends_on = {kStepFetchTeamApps, kStepFetchTeams},
      .relationships = {{kTeamOwnsApplicationType, "OWNS", kTeamType,
                         kApplicationType}},
      .run = &BuildTeamApps,
  };
  return *spec;
}

}  // namespace graphmill::worker::heroku
