// Implementation of coordinator/scheduler/schedule.h.
#include "coordinator/scheduler/schedule.h"

#include <algorithm>
#include <cstdint>
#include <variant>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "coordinator/scheduler/cron.h"

namespace graphmill::coordinator {
namespace {

// floor(d / unit) for unit > 0 (absl::IDivDuration truncates toward zero).
int64_t FloorDiv(absl::Duration d, absl::Duration unit) {
  absl::Duration remainder;
  int64_t quotient = absl::IDivDuration(d, unit, &remainder);
  if (remainder < absl::ZeroDuration()) --quotient;
  return quotient;
}

// An instance's slots and their due times (see the header's terms).
class Slots {
 public:
  // Requires a valid, scheduled `schedule`.
  static absl::StatusOr<Slots> Create(const v1::Schedule& schedule,
                                      const std::string& instance_id) {
    Slots slots;
    slots.instance_id_ = instance_id;
    slots.explicit_jitter_ = absl::Seconds(schedule.jitter_seconds());
    if (schedule.when_case() == v1::Schedule::kCron) {
      absl::StatusOr<CronExpression> cron =
          CronExpression::Parse(schedule.cron());
      if (!cron.ok()) return cron.status();
      slots.source_ = *std::move(cron);
      slots.max_offset_ = schedule.jitter_seconds() > 0 ? slots.explicit_jitter_
                                                        : kMaxDefaultJitter;
    } else {
      const absl::Duration interval = IntervalOf(schedule.interval());
      slots.source_ = interval;
      slots.interval_offset_ =
          JitterOffset(instance_id, schedule.jitter_seconds() > 0
                                        ? slots.explicit_jitter_
                                        : DefaultJitterWindow(interval));
      slots.max_offset_ = slots.interval_offset_;
    }
    return slots;
  }

  // The first slot strictly after `after`.
  std::optional<absl::Time> Next(absl::Time after) const {
    if (const auto* cron = std::get_if<CronExpression>(&source_))
      return cron->Next(after);
    const absl::Duration interval = std::get<absl::Duration>(source_);
    return absl::UnixEpoch() +
           (FloorDiv(after - absl::UnixEpoch(), interval) + 1) * interval;
  }

  // When `slot` is due. Increases with the slot: a cron offset is under 5% of
  // the gap to the next slot, and an explicit or interval offset is the same
  // for every slot.
  absl::Time Due(absl::Time slot) const {
    const auto* cron = std::get_if<CronExpression>(&source_);
    if (cron == nullptr) return slot + interval_offset_;
    if (explicit_jitter_ > absl::ZeroDuration()) {
      return slot + JitterOffset(instance_id_, explicit_jitter_);
    }
    const std::optional<absl::Time> following = cron->Next(slot);
    if (!following.has_value()) return slot;
    return slot +
           JitterOffset(instance_id_, DefaultJitterWindow(*following - slot));
  }

  // The latest slot due by `now`, given `first`, a slot due by `now`.
  absl::Time LatestDueBy(absl::Time first, absl::Time now) const {
    if (!std::holds_alternative<CronExpression>(source_)) {
      const absl::Duration interval = std::get<absl::Duration>(source_);
      return absl::UnixEpoch() +
             FloorDiv(now - interval_offset_ - absl::UnixEpoch(), interval) *
                 interval;
    }
    const CronExpression& cron = std::get<CronExpression>(source_);
    // Every offset is below max_offset_, so every slot at or before `settled`
    // is due by now.
    const absl::Time settled = now - max_offset_;
    absl::Time latest = first;
    if (first < settled) {
      // Jump close to `settled` by probing ever further back (a long outage
      // with a frequent cron must not walk every missed slot), then walk
      // forward to the last slot before it.
      for (absl::Duration reach = absl::Minutes(1); settled - reach > first;
           reach *= 2) {
        const std::optional<absl::Time> probe = cron.Next(settled - reach);
        if (probe.has_value() && *probe <= settled) {
          latest = *probe;
          break;
        }
      }
      for (std::optional<absl::Time> next = cron.Next(latest);
           next && *next <= settled; next = cron.Next(latest)) {
        latest = *next;
      }
    }
    // Slots after `settled` may or may not be due yet: check each one's own due
    // time.
    for (std::optional<absl::Time> next = cron.Next(latest);
         next && Due(*next) <= now; next = cron.Next(latest)) {
      latest = *next;
    }
    return latest;
  }

 private:
  Slots() = default;

  std::string instance_id_;
  std::variant<absl::Duration, CronExpression> source_;
  absl::Duration explicit_jitter_;
  absl::Duration interval_offset_;
  absl::Duration max_offset_;
};

bool IsKnownInterval(int value) { return v1::PollingInterval_IsValid(value); }

}  // namespace

absl::Status ValidateSchedule(const v1::Schedule& schedule) {
  if (schedule.jitter_seconds() < 0 ||
      schedule.jitter_seconds() > kMaxJitterSeconds) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule.jitter_seconds ", schedule.jitter_seconds(),
                     " is out of range 0-", kMaxJitterSeconds));
  }
  switch (schedule.when_case()) {
    case v1::Schedule::WHEN_NOT_SET:
      // Jitter only delays scheduled runs; set alone it is a schedule whose
      // interval or cron went missing, not a request for manual runs.
      if (schedule.jitter_seconds() != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("schedule.jitter_seconds ", schedule.jitter_seconds(),
                         " needs schedule.interval or schedule.cron"));
      }
      return absl::OkStatus();
    case v1::Schedule::kInterval:
      if (!IsKnownInterval(schedule.interval())) {
        return absl::InvalidArgumentError(
            absl::StrCat("schedule.interval ", schedule.interval(),
                         " is not a known polling interval"));
      }
      return absl::OkStatus();
    case v1::Schedule::kCron: {
      absl::StatusOr<CronExpression> cron =
          CronExpression::Parse(schedule.cron());
      if (!cron.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("schedule.", cron.status().message()));
      }
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("schedule has an unknown kind");
}

bool IsScheduled(const v1::Schedule& schedule) {
  switch (schedule.when_case()) {
    case v1::Schedule::kCron:
      return true;
    case v1::Schedule::kInterval:
      return IntervalOf(schedule.interval()) > absl::ZeroDuration();
    default:
      return false;
  }
}

absl::Duration IntervalOf(v1::PollingInterval interval) {
  switch (interval) {
    case v1::POLLING_INTERVAL_THIRTY_MINUTES:
      return absl::Minutes(30);
    case v1::POLLING_INTERVAL_ONE_HOUR:
      return absl::Hours(1);
    case v1::POLLING_INTERVAL_FOUR_HOURS:
      return absl::Hours(4);
    case v1::POLLING_INTERVAL_EIGHT_HOURS:
      return absl::Hours(8);
    case v1::POLLING_INTERVAL_TWELVE_HOURS:
      return absl::Hours(12);
    case v1::POLLING_INTERVAL_ONE_DAY:
      return absl::Hours(24);
    case v1::POLLING_INTERVAL_ONE_WEEK:
      return absl::Hours(24 * 7);
    default:
      return absl::ZeroDuration();
  }
}

absl::Duration JitterOffset(const std::string& instance_id,
                            absl::Duration window) {
  const int64_t window_ms = absl::ToInt64Milliseconds(window);
  if (window_ms <= 0) return absl::ZeroDuration();
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : instance_id) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  // SplitMix64's finalizer: FNV's high bits barely change for ids differing in
  // the last character ("ci-1", "ci-2"), and the offset below is taken from the
  // high bits.
  hash ^= hash >> 30;
  hash *= 0xbf58476d1ce4e5b9ULL;
  hash ^= hash >> 27;
  hash *= 0x94d049bb133111ebULL;
  hash ^= hash >> 31;
  // floor(hash / 2^64 * window_ms): in [0, window_ms).
  const uint64_t offset_ms = absl::Uint128High64(
      absl::uint128(hash) * static_cast<uint64_t>(window_ms));
  return absl::Milliseconds(static_cast<int64_t>(offset_ms));
}

absl::Duration DefaultJitterWindow(absl::Duration gap) {
  return std::min(gap / 20, kMaxDefaultJitter);
}

absl::StatusOr<ScheduleDecision> Decide(const v1::Schedule& schedule,
                                        const std::string& instance_id,
                                        absl::Time last_fired_slot,
                                        absl::Time now) {
  absl::Status valid = ValidateSchedule(schedule);
  if (!valid.ok()) return valid;
  ScheduleDecision decision;
  if (!IsScheduled(schedule)) return decision;
  if (last_fired_slot == absl::InfinitePast() ||
      last_fired_slot == absl::InfiniteFuture() ||
      now == absl::InfinitePast() || now == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule times must be finite (last fired slot ",
                     absl::FormatTime(last_fired_slot), ", now ",
                     absl::FormatTime(now), ")"));
  }
  absl::StatusOr<Slots> slots = Slots::Create(schedule, instance_id);
  if (!slots.ok()) return slots.status();

  const std::optional<absl::Time> first = slots->Next(last_fired_slot);
  if (!first.has_value()) return decision;
  const absl::Time first_due = slots->Due(*first);
  if (first_due > now) {
    decision.next_due = first_due;
    return decision;
  }
  decision.fire_now = true;
  decision.slot_to_record = slots->LatestDueBy(*first, now);
  decision.catch_up = decision.slot_to_record != *first;
  const std::optional<absl::Time> following =
      slots->Next(decision.slot_to_record);
  if (following.has_value()) decision.next_due = slots->Due(*following);
  return decision;
}

std::optional<absl::Time> NextRunTime(const v1::Schedule& schedule,
                                      const std::string& instance_id,
                                      absl::Time last_fired_slot,
                                      absl::Time now) {
  absl::StatusOr<ScheduleDecision> decision =
      Decide(schedule, instance_id, last_fired_slot, now);
  if (!decision.ok()) return std::nullopt;
  if (decision->fire_now) return now;
  return decision->next_due;
}

}  // namespace graphmill::coordinator
