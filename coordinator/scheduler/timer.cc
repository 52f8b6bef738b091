// Implementation of coordinator/scheduler/timer.h.
#include "coordinator/scheduler/timer.h"

#include "coordinator/scheduler/schedule.h"

namespace graphmill::coordinator {

std::optional<absl::Time> ScheduleTimer::Check() {
  const absl::Time now = clock_->Now();
  if (now - last_check_ < check_interval_) return std::nullopt;
  last_check_ = now;
  return now;
}

std::optional<absl::Time> DueSlot(const v1::Instance& instance,
                                  int64_t last_fired_slot_ms, absl::Time now) {
  if (!instance.has_schedule() || !IsScheduled(instance.schedule()))
    return std::nullopt;
  const absl::Time last_slot = absl::FromUnixMillis(
      last_fired_slot_ms > 0 ? last_fired_slot_ms : instance.created_at_ms());
  absl::StatusOr<ScheduleDecision> decision =
      Decide(instance.schedule(), instance.id(), last_slot, now);
  if (!decision.ok() || !decision->fire_now) return std::nullopt;
  return decision->slot_to_record;
}

}  // namespace graphmill::coordinator
