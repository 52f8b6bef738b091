// One source of time for everything that decides by it: leases, schedules,
// back-off, reconnects, rate budgets. Production code takes a Clock* (default
// Clock::Real()); tests pass a FakeClock (common/testing/fake_clock.h) and move
// time themselves instead of sleeping.
#ifndef GRAPHMILL_COMMON_CLOCK_H_
#define GRAPHMILL_COMMON_CLOCK_H_

#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace graphmill {

// Thread-safe.
class Clock {
public:
  virtual ~Clock() = default;

  virtual absl::Time Now() = 0;
  // Blocks until Now() has advanced by `duration`.
  virtual void Sleep(absl::Duration duration) = 0;
  // With `mu` held: blocks until `condition` holds or Now() reaches
  // `deadline`, releasing `mu` while waiting. Returns whether the condition
  // holds. Loops that wait for work or a timer use this, so a fake clock can
  // fire their timers.
  virtual bool AwaitWithDeadline(absl::Mutex *mu,
                                 const absl::Condition &condition,
                                 absl::Time deadline) = 0;

  int64_t NowMs() { return absl::ToUnixMillis(Now()); }

  // The process-wide real clock (never destroyed).
  static Clock *Real();
};

} // namespace graphmill

#endif // GRAPHMILL_COMMON_CLOCK_H_
