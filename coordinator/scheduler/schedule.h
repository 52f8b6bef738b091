// Instance schedules: validation, polling intervals, per-instance jitter, and
// the pure decision "should this instance's scheduled run start now, and when
// is the next one due".
//
// Terms. A *slot* is a nominal firing time of a schedule:
//   - interval I: every whole multiple of I since the Unix epoch (1970-01-01
//   00:00 UTC), so
//     4-hour slots are 00:00, 04:00, ... UTC and weekly slots are Thursdays
//     00:00 UTC;
//   - cron: every minute the expression matches (UTC).
// A slot is *due* at slot + the instance's jitter offset (see JitterOffset).
// Slots depend only on the schedule and the instance id, never on when the
// coordinator started, so a restart computes the same slots.
//
// How the coordinator uses this: it persists, per instance, `last_fired_slot`
// (initially the instance's creation time) and calls Decide(schedule, id,
// last_fired_slot, now) on a timer. When the decision says fire_now, it starts
// one run and persists slot_to_record as the new last_fired_slot (in the same
// transaction that creates the run, so a crash cannot fire the same slot
// twice); next_due is what Instance.next_run_at_ms shows. If a run is still
// active when a slot comes due, record the slot anyway: the active run stands
// for it. When an operator changes an instance's schedule, persist `now` as
// last_fired_slot so the change itself does not count as missed slots.
#ifndef GRAPHMILL_COORDINATOR_SCHEDULER_SCHEDULE_H_
#define GRAPHMILL_COORDINATOR_SCHEDULER_SCHEDULE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::coordinator {

namespace v1 = ::graphmill::v1;

// The default jitter window is 5% of the gap between slots, capped here.
inline constexpr absl::Duration kMaxDefaultJitter = absl::Minutes(5);
// Upper bound for Schedule.jitter_seconds (one week, the longest interval).
inline constexpr int kMaxJitterSeconds = 7 * 24 * 60 * 60;

// OK for an unset schedule (no interval, no cron, jitter_seconds 0), any known
// interval (DISABLED and UNSPECIFIED mean no scheduled runs), or a cron
// expression CronExpression::Parse accepts, with jitter_seconds in
// 0..kMaxJitterSeconds. INVALID_ARGUMENT naming the field otherwise, e.g.
// "schedule.cron '61 * * * *': minute 61 is out of range 0-59",
// "schedule.interval 99 is not a known polling interval",
// "schedule.jitter_seconds -1 is out of range 0-604800",
// "schedule.jitter_seconds 60 needs schedule.interval or schedule.cron".
absl::Status ValidateSchedule(const v1::Schedule& schedule);

// True if the schedule starts runs on its own: a cron expression, or an
// interval other than DISABLED/UNSPECIFIED. Does not validate.
bool IsScheduled(const v1::Schedule& schedule);

// The length of a polling interval; absl::ZeroDuration() for DISABLED,
// UNSPECIFIED and values not in the enum.
absl::Duration IntervalOf(v1::PollingInterval interval);

// The instance's offset within a jitter window: in [0, window), millisecond
// resolution, a fixed fraction of `window` derived from a hash of `instance_id`
// (FNV-1a 64 + a mixing step: the same on every host, build and restart, unlike
// std::hash or absl::Hash). Zero when `window` is under 1 ms.
absl::Duration JitterOffset(const std::string& instance_id,
                            absl::Duration window);

// The default jitter window for slots `gap` apart: 5% of the gap, at most
// kMaxDefaultJitter.
absl::Duration DefaultJitterWindow(absl::Duration gap);

// What the coordinator should do for one instance at `now`.
struct ScheduleDecision {
  // Start one scheduled run now.
  bool fire_now = false;
  // When fire_now: the slot this run stands for (the latest slot due by `now`).
  // Persist it as the instance's last_fired_slot. Unspecified when !fire_now.
  absl::Time slot_to_record = absl::InfinitePast();
  // When fire_now: more than one slot was due (the coordinator was down or
  // behind). The one run stands for all of them; there is never one run per
  // missed slot.
  bool catch_up = false;
  // When the next slot is due, once this decision is acted on: after firing,
  // the due time of the slot after slot_to_record (always > now); otherwise the
  // due time of the first slot after last_fired_slot. nullopt if the schedule
  // never starts runs.
  std::optional<absl::Time> next_due;
};

// Decides for instance `instance_id` with schedule `schedule`, whose latest
// fired slot is `last_fired_slot` (or its creation time if none fired yet), at
// time `now`. Pure: same inputs, same answer. Slots at or before
// `last_fired_slot` never fire, so calling again with the recorded slot does
// not fire again until the next slot is due. INVALID_ARGUMENT if the schedule
// is invalid (see ValidateSchedule) or a time is infinite.
absl::StatusOr<ScheduleDecision> Decide(const v1::Schedule& schedule,
                                        const std::string& instance_id,
                                        absl::Time last_fired_slot,
                                        absl::Time now);

// When the instance's next scheduled run starts: `now` if a slot is due (one or
// more missed slots also give `now`: fire once right away), else the due time
// of the first slot after `last_fired_slot`. nullopt if the schedule does not
// start runs or is invalid.
std::optional<absl::Time> NextRunTime(const v1::Schedule& schedule,
                                      const std::string& instance_id,
                                      absl::Time last_fired_slot,
                                      absl::Time now);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_SCHEDULER_SCHEDULE_H_
