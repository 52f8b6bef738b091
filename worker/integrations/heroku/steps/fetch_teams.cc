// The Heroku step fetch-teams, declared with its handler: each account's teams.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/names.h"
#include "worker/integrations/heroku/steps/step.h"

namespace graphmill::worker::heroku {
namespace {

absl::Status FetchTeams(Step& step) {
  absl::StatusOr<std::vector<Parent>> accounts =
      ReadParents(step.context, kAccountType);
  if (!accounts.ok()) return accounts.status();
  return step.FanOut(accounts->size(), [&](size_t i) {
    const Parent& account = (*accounts)[i];
    absl::Status listed = step.client.ListEnterpriseAccountTeams(
        account.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> team = TeamEntity(item, account.id);
          if (!team.ok()) return team.status();
          return step.AddEntityOnce(*std::move(team), account.key);
        });
    return step.WarnIfMissingPermission(
        listed,
        absl::StrCat("teams of ", account.Describe("enterprise account")),
        "GET /enterprise-accounts/{id}/teams", account.key);
  });
}

}  // namespace

const StepSpec& FetchTeamsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchTeams,
      .name = "Fetch teams",
      .depends_on = {kStepFetchAccounts},
      .entities = {{kTeamType, "Team"}},
      .parent_type = kAccountType,
      .run = &FetchTeams,
  };
  return *spec;
}

}  // namespace graphmill::worker::heroku
