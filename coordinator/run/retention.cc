// Implementation of coordinator/run/retention.h.
#include "coordinator/run/retention.h"

#include "common/log.h"
#include "coordinator/metrics.h"

namespace graphmill::coordinator {

int64_t ChangeLogRetention::MaybeApply() {
  if (options_.max_age <= absl::ZeroDuration() && options_.max_count <= 0)
    return 0;
  const absl::Time now = clock_->Now();
  if (now - last_applied_ < options_.interval) return 0;
  last_applied_ = now;
  absl::StatusOr<int64_t> pruned =
      store_->PruneChanges(absl::ToInt64Milliseconds(options_.max_age),
                           options_.max_count, absl::ToUnixMillis(now));
  if (!pruned.ok()) {
    LogError("change log retention failed: ", pruned.status().ToString());
    return 0;
  }
  if (*pruned > 0) {
    LogInfo("change log retention dropped ", *pruned, " change(s)");
    CoordinatorMetrics::Get().ChangeLog(store_->GetChangeLogBounds());
  }
  return *pruned;
}

}  // namespace graphmill::coordinator
