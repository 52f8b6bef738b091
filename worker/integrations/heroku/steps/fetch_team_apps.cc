// The Heroku step fetch-team-apps, declared with its handler: each team's apps.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/names.h"
#include "worker/integrations/heroku/steps/step.h"

namespace graphmill::worker::heroku {
namespace {

absl::Status FetchTeamApps(Step& step) {
  absl::StatusOr<std::vector<Parent>> teams =
      ReadParents(step.context, kTeamType);
  if (!teams.ok()) return teams.status();
  return step.FanOut(teams->size(), [&](size_t i) {
    const Parent& team = (*teams)[i];
    absl::Status listed = step.client.ListTeamApps(
        team.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> app = ApplicationEntity(item, team.id);
          if (!app.ok()) return app.status();
          return step.AddEntityOnce(*std::move(app), team.key);
        });
    return step.WarnIfMissingPermission(
        listed, absl::StrCat("apps of ", team.Describe("team")),
        "GET /teams/{id}/apps", team.key);
  });
}

}  // namespace

const StepSpec& FetchTeamAppsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchTeamApps,
      .name = "Fetch team apps",
      .depends_on = {kStepFetchTeams},
      .entities = {{kApplicationType, "Application"}},
      .parent_type = kTeamType,
      .run = &FetchTeamApps,
  };
  return *spec;
}

}  // namespace graphmill::worker::heroku
