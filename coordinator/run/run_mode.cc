// Implementation of coordinator/run/run_mode.h.
#include "coordinator/run/run_mode.h"

#include <algorithm>

#include "common/status_macros.h"

namespace graphmill::coordinator {
namespace {

constexpr int64_t kMillisPerHour = 3'600'000;

int64_t HoursOr(int64_t hours, int64_t default_hours) {
  return hours > 0 ? hours : default_hours;
}

}  // namespace

int64_t IncrementalSince(const v1::Instance& instance, bool full_requested,
                         const std::vector<v1::Run>& earlier, int64_t now_ms) {
  const v1::IncrementalRuns& settings = instance.incremental();
  if (settings.disabled() || full_requested) return 0;
  // The last finalized full run, SUCCEEDED or PARTIAL: it deleted what the
  // provider deleted, in what it could look at (what it could not is in its
  // incomplete types, which the next runs fetch again: NotCarriedTypes).
  const v1::Run* last_full = nullptr;
  for (const v1::Run& run : earlier) {
    if (run.finalized_at_ms() > 0 && run.incremental_since_ms() == 0) {
      last_full = &run;
      break;
    }
  }
  if (last_full == nullptr) return 0;
  const int64_t full_every_ms =
      HoursOr(settings.full_run_every_hours(), kDefaultFullRunEveryHours) *
      kMillisPerHour;
  if (now_ms - last_full->created_at_ms() >= full_every_ms) return 0;
  const int64_t look_back_ms =
      HoursOr(settings.look_back_hours(), kDefaultLookBackHours) *
      kMillisPerHour;
  return std::max<int64_t>(1, now_ms - look_back_ms);
}

bool HasFinalizedFullRun(const std::vector<v1::Run>& earlier) {
  for (const v1::Run& run : earlier) {
    if (run.finalized_at_ms() > 0 && run.incremental_since_ms() == 0) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::vector<v1::Run>> ReadEarlierRuns(
    Store& store, const std::string& instance_id,
    const std::function<bool(const std::vector<v1::Run>&)>& enough) {
  std::vector<v1::Run> runs;
  for (const int limit : {kRunsReadFirst, kRunsToDecideMode}) {
    GM_ASSIGN_OR_RETURN(runs, store.ListRuns(instance_id, limit));
    if (static_cast<int>(runs.size()) < limit || enough(runs)) break;
  }
  return runs;
}

std::vector<std::string> NotCarriedTypes(const std::vector<v1::Run>& earlier) {
  std::vector<std::string> types;
  for (const v1::Run& run : earlier) {
    if (run.finalized_at_ms() == 0) continue;
    for (const v1::IncompleteType& incomplete : run.incomplete_types())
      types.push_back(incomplete.type());
    break;
  }
  return types;
}

}  // namespace graphmill::coordinator
