// The Heroku step fetch-app-addons, declared with its handler: each app's
// add-ons. Heroku shows add-ons only to team admins: 403s (and 404s of apps
// deleted since fetch-team-apps) are gathered into one warning per task instead
// of one per app.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "rapidjson/document.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/names.h"
#include "worker/integrations/heroku/steps/step.h"

namespace graphmill::worker::heroku {
namespace {

// Most forbidden applications named in the add-on warning (the count is
// always given).
constexpr size_t kMaxAppsNamedInWarning = 5;

absl::Status FetchAppAddons(Step& step) {
  absl::StatusOr<std::vector<Parent>> apps =
      ReadParents(step.context, kApplicationType);
  if (!apps.ok()) return apps.status();
  absl::Mutex mutex;
  std::vector<std::pair<size_t, absl::Status>> missed;  // guarded by mutex
  absl::Status status = step.FanOut(apps->size(), [&](size_t i) {
    const Parent& app = (*apps)[i];
    absl::Status listed = step.client.ListAppAddons(
        app.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> addon = AddonEntity(item, app.id);
          if (!addon.ok()) return addon.status();
          return step.AddEntityOnce(*std::move(addon), app.key);
        });
    if (listed.ok() || !IsPermissionOrNotFound(listed)) return listed;
    step.context.MarkScopeIncomplete(
        app.key, Step::MissingReason(listed, "GET /apps/{id}/addons"));
    absl::MutexLock lock(&mutex);
    missed.emplace_back(i, std::move(listed));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (missed.empty()) return absl::OkStatus();

  std::sort(missed.begin(), missed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> named;
  for (size_t i = 0; i < missed.size() && i < kMaxAppsNamedInWarning; ++i) {
    named.push_back((*apps)[missed[i].first].Describe("app"));
  }
  step.Warn(
      kMissingPermissionEvent,
      absl::StrCat(
          "Could not fetch add-ons of ", missed.size(), " of ", apps->size(),
          " applications (first error: ", missed.front().second.message(),
          "). Heroku shows add-ons only to users with the admin role "
          "in the app's team; the add-ons of these applications are "
          "left as they were. Applications: ",
          absl::StrJoin(named, ", "),
          missed.size() > named.size() ? ", ..." : ""));
  return absl::OkStatus();
}

}  // namespace

const StepSpec& FetchAppAddonsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchAppAddons,
      .name = "Fetch app addons",
      .depends_on = {kStepFetchTeamApps},
      .entities = {{kAddonType, "Service"}},
      .parent_type = kApplicationType,
      .run = &FetchAppAddons,
  };
  return *spec;
}

}  // namespace graphmill::worker::heroku
