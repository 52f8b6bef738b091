// When the coordinator looks at its instances' schedules, on an injected
// Clock: ScheduleTimer says when a check is due (at most once per check
// interval), and DueSlot decides for one instance at the check's time. Slots,
// jitter and catch-up are schedule.h's pure decisions; this adds only "now".
//
// ScheduleTimer is not thread-safe (the engine calls it under its lock).
#ifndef GRAPHMILL_COORDINATOR_SCHEDULER_TIMER_H_
#define GRAPHMILL_COORDINATOR_SCHEDULER_TIMER_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"
#include "common/clock.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::coordinator {

class ScheduleTimer {
 public:
  // `clock` must outlive this.
  ScheduleTimer(Clock* clock, absl::Duration check_interval)
      : clock_(clock), check_interval_(check_interval) {}

  // The time to decide at when a check is due: on the first call, then once
  // `check_interval` has passed since the last check. nullopt otherwise.
  std::optional<absl::Time> Check();

 private:
  Clock* const clock_;
  const absl::Duration check_interval_;
  absl::Time last_check_ = absl::InfinitePast();
};

// The slot to record when `instance`'s scheduled run should start at `now`;
// nullopt if it has no schedule that starts runs, the schedule is invalid, or
// no slot is due. `last_fired_slot_ms` is Store::GetLastScheduledSlot's (0:
// none fired yet, and the instance's creation time counts as the last slot).
std::optional<absl::Time> DueSlot(const v1::Instance& instance,
                                  int64_t last_fired_slot_ms, absl::Time now);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_SCHEDULER_TIMER_H_
