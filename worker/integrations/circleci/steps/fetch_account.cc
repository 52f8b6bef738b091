// The CircleCI step fetch-account, declared with its handler: the account
// entity, from config only.
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"

namespace graphmill::worker::circleci {
namespace {

absl::Status FetchAccount(Step& step) {
  return step.AddEntityOnce(
      AccountEntity(step.config.user_id, step.config.login));
}

}  // namespace

const StepSpec& FetchAccountStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchAccount,
      .name = "Fetch Account",
      .entities = {{kAccountType, "Account"}},
      .run = &FetchAccount,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
