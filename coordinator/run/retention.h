// Change-log retention: drops changes older than a maximum age and beyond a
// maximum count (Store::PruneChanges), at most once per interval of the
// injected clock's time, so a busy pump does not prune on every pass.
//
// Not thread-safe: the engine calls it under its lock. Errors are logged, not
// returned: retention is best effort and retried on the next interval.
#ifndef GRAPHMILL_COORDINATOR_RUN_RETENTION_H_
#define GRAPHMILL_COORDINATOR_RUN_RETENTION_H_

#include <cstdint>

#include "absl/time/time.h"
#include "common/clock.h"
#include "coordinator/store/store.h"

namespace graphmill::coordinator {

struct RetentionOptions {
  // 0: no limit. Both 0: retention is off.
  absl::Duration max_age = absl::ZeroDuration();
  int64_t max_count = 0;
  // How often it is applied.
  absl::Duration interval = absl::Minutes(1);
};

class ChangeLogRetention {
 public:
  // Pointers must outlive this.
  ChangeLogRetention(Store* store, Clock* clock, RetentionOptions options)
      : store_(store), clock_(clock), options_(options) {}

  // Prunes if retention is on and the interval passed since it last did
  // (the first call always does). Returns how many changes were dropped.
  int64_t MaybeApply();

 private:
  Store* const store_;
  Clock* const clock_;
  const RetentionOptions options_;
  absl::Time last_applied_ = absl::InfinitePast();
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_RETENTION_H_
