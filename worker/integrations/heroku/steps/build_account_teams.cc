// The Heroku step build-account-to-team-relationships, declared with its
// handler: account HAS team.
#include "worker/integrations/heroku/names.h"
#include "worker/integrations/heroku/steps/step.h"

namespace graphmill::worker::heroku {
namespace {

absl::Status BuildAccountTeams(Step& step) {
  return JoinOnParentId(step, kAccountType, "HAS", kTeamType,
                        "enterpriseAccountId");
}

}  // namespace

const StepSpec& BuildAccountTeamsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepBuildAccountTeams,
      .name = "Build Account-to-Team Relationships",
      .depends_on = {kStepFetchAccounts, kStepFetchTeams},
      .relationships = {{kAccountHasTeamType, "HAS", kAccountType, kTeamType}},
      .run = &BuildAccountTeams,
  };
  return *spec;
}

}  // namespace graphmill::worker::heroku
