// The Heroku step fetch-enterprise-accounts, declared with its handler: every
// enterprise account the key can see; an INFO event when there is none (the
// reference stays silent).
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "rapidjson/document.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/names.h"
#include "worker/integrations/heroku/steps/step.h"

namespace graphmill::worker::heroku {
namespace {

absl::Status FetchAccounts(Step& step) {
  int accounts = 0;
  absl::Status status = step.client.ListEnterpriseAccounts(
      [&](const rapidjson::Value& item) -> absl::Status {
        absl::StatusOr<v1::Entity> account = AccountEntity(item);
        if (!account.ok()) return account.status();
        ++accounts;
        return step.AddEntityOnce(*std::move(account));
      });
  if (!status.ok()) return status;
  LogInfo("heroku step ", step.id, ": ", accounts, " enterprise accounts");
  if (accounts == 0) {
    step.context.AddEvent(
        v1::EVENT_LEVEL_INFO, kNoEnterpriseAccountEvent,
        absl::StrCat("No Heroku Enterprise account is visible to the API key "
                     "(GET ",
                     step.client.AccountsUrl(),
                     " returned an empty list), so the graph is empty: every "
                     "Heroku entity is reached through an enterprise account. "
                     "Use the key of a user who is a member of a Heroku "
                     "Enterprise account."));
  }
  return absl::OkStatus();
}

}  // namespace

const StepSpec& FetchAccountsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchAccounts,
      .name = "Fetch Enterprise Accounts",
      .entities = {{kAccountType, "Account"}},
      .run = &FetchAccounts,
  };
  return *spec;
}

}  // namespace graphmill::worker::heroku
