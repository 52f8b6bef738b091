// Tests for schedule.h: validation, intervals, jitter, and fire decisions with
// explicit times.
#include "coordinator/scheduler/schedule.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace graphmill::coordinator {
namespace {

absl::Time Utc(int year, int month, int day, int hour = 0, int minute = 0,
               int second = 0) {
  return absl::FromCivil(
      absl::CivilSecond(year, month, day, hour, minute, second),
      absl::UTCTimeZone());
}

v1::Schedule Interval(v1::PollingInterval interval, int jitter_seconds = 0) {
  v1::Schedule schedule;
  schedule.set_interval(interval);
  schedule.set_jitter_seconds(jitter_seconds);
  return schedule;
}

v1::Schedule Cron(const std::string& cron, int jitter_seconds = 0) {
  v1::Schedule schedule;
  schedule.set_cron(cron);
  schedule.set_jitter_seconds(jitter_seconds);
  return schedule;
}

TEST(IntervalOfTest, EveryPollingInterval) {
  EXPECT_EQ(IntervalOf(v1::POLLING_INTERVAL_UNSPECIFIED), absl::ZeroDuration());
  EXPECT_EQ(IntervalOf(v1::POLLING_INTERVAL_DISABLED), absl::ZeroDuration());
  EXPECT_EQ(IntervalOf(v1::POLLING_INTERVAL_THIRTY_MINUTES), absl::Minutes(30));
  EXPECT_EQ(IntervalOf(v1::POLLING_INTERVAL_ONE_HOUR), absl::Hours(1));
  EXPECT_EQ(IntervalOf(v1::POLLING_INTERVAL_FOUR_HOURS), absl::Hours(4));
  EXPECT_EQ(IntervalOf(v1::POLLING_INTERVAL_EIGHT_HOURS), absl::Hours(8));
  EXPECT_EQ(IntervalOf(v1::POLLING_INTERVAL_TWELVE_HOURS), absl::Hours(12));
  EXPECT_EQ(IntervalOf(v1::POLLING_INTERVAL_ONE_DAY), absl::Hours(24));
  EXPECT_EQ(IntervalOf(v1::POLLING_INTERVAL_ONE_WEEK), absl::Hours(168));
  EXPECT_EQ(IntervalOf(static_cast<v1::PollingInterval>(99)),
            absl::ZeroDuration());
}

TEST(ValidateScheduleTest, AcceptsValidSchedules) {
  EXPECT_TRUE(ValidateSchedule(v1::Schedule()).ok());
  for (int value = v1::PollingInterval_MIN; value <= v1::PollingInterval_MAX;
       ++value) {
    EXPECT_TRUE(
        ValidateSchedule(Interval(static_cast<v1::PollingInterval>(value)))
            .ok())
        << value;
  }
  EXPECT_TRUE(ValidateSchedule(Cron("0 */6 * * *", 600)).ok());
  EXPECT_TRUE(
      ValidateSchedule(Interval(v1::POLLING_INTERVAL_ONE_WEEK, 604800)).ok());
}

TEST(ValidateScheduleTest, NamesTheProblem) {
  EXPECT_EQ(ValidateSchedule(Cron("61 * * * *")),
            absl::InvalidArgumentError(
                "schedule.cron '61 * * * *': minute 61 is out of range 0-59"));
  EXPECT_EQ(ValidateSchedule(Cron("")),
            absl::InvalidArgumentError(
                "schedule.cron '': expected 5 fields (minute hour "
                "day-of-month month day-of-week), got 0"));
  EXPECT_EQ(ValidateSchedule(Interval(static_cast<v1::PollingInterval>(99))),
            absl::InvalidArgumentError(
                "schedule.interval 99 is not a known polling interval"));
  EXPECT_EQ(ValidateSchedule(Interval(v1::POLLING_INTERVAL_ONE_HOUR, -1)),
            absl::InvalidArgumentError(
                "schedule.jitter_seconds -1 is out of range 0-604800"));
  EXPECT_EQ(ValidateSchedule(Cron("@daily", 604801)),
            absl::InvalidArgumentError(
                "schedule.jitter_seconds 604801 is out of range 0-604800"));
}

TEST(ValidateScheduleTest, JitterNeedsAnIntervalOrCron) {
  v1::Schedule jitter_only;
  jitter_only.set_jitter_seconds(60);
  EXPECT_EQ(ValidateSchedule(jitter_only),
            absl::InvalidArgumentError("schedule.jitter_seconds 60 needs "
                                       "schedule.interval or schedule.cron"));
  EXPECT_TRUE(ValidateSchedule(v1::Schedule()).ok());
  // DISABLED is an interval: a CLI update to "--schedule disabled" keeps the
  // jitter it had.
  EXPECT_TRUE(
      ValidateSchedule(Interval(v1::POLLING_INTERVAL_DISABLED, 60)).ok());
}

TEST(IsScheduledTest, OnlyRealIntervalsAndCron) {
  EXPECT_FALSE(IsScheduled(v1::Schedule()));
  EXPECT_FALSE(IsScheduled(Interval(v1::POLLING_INTERVAL_UNSPECIFIED)));
  EXPECT_FALSE(IsScheduled(Interval(v1::POLLING_INTERVAL_DISABLED)));
  EXPECT_TRUE(IsScheduled(Interval(v1::POLLING_INTERVAL_THIRTY_MINUTES)));
  EXPECT_TRUE(IsScheduled(Cron("@hourly")));
}

TEST(DecideTest, UnsetOrDisabledNeverFires) {
  const absl::Time created = Utc(2024, 1, 1);
  for (const v1::Schedule& schedule :
       {v1::Schedule(), Interval(v1::POLLING_INTERVAL_DISABLED),
        Interval(v1::POLLING_INTERVAL_UNSPECIFIED)}) {
    for (absl::Time now : {created, created + absl::Hours(24 * 365)}) {
      absl::StatusOr<ScheduleDecision> decision =
          Decide(schedule, "ci", created, now);
      ASSERT_TRUE(decision.ok()) << decision.status();
      EXPECT_FALSE(decision->fire_now);
      EXPECT_FALSE(decision->next_due.has_value());
      EXPECT_FALSE(NextRunTime(schedule, "ci", created, now).has_value());
    }
  }
}

TEST(DecideTest, InvalidScheduleOrInfiniteTimeIsAnError) {
  EXPECT_EQ(Decide(Cron("61 * * * *"), "ci", Utc(2024, 1, 1), Utc(2024, 1, 2))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(
      NextRunTime(Cron("61 * * * *"), "ci", Utc(2024, 1, 1), Utc(2024, 1, 2)));
  EXPECT_EQ(Decide(Interval(v1::POLLING_INTERVAL_ONE_HOUR), "ci",
                   absl::InfinitePast(), Utc(2024, 1, 2))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// Slots are multiples of the interval since the epoch; with jitter_seconds = 1
// the due time is within one second of the slot, so the slot can be read off
// the result.
TEST(DecideTest, IntervalSlotsAreAlignedToTheEpoch) {
  const absl::Time last = Utc(2024, 5, 15, 10, 17);  // a Wednesday
  const std::vector<std::pair<v1::PollingInterval, absl::Time>> cases = {
      {v1::POLLING_INTERVAL_THIRTY_MINUTES, Utc(2024, 5, 15, 10, 30)},
      {v1::POLLING_INTERVAL_ONE_HOUR, Utc(2024, 5, 15, 11)},
      {v1::POLLING_INTERVAL_FOUR_HOURS, Utc(2024, 5, 15, 12)},
      {v1::POLLING_INTERVAL_EIGHT_HOURS, Utc(2024, 5, 15, 16)},
      {v1::POLLING_INTERVAL_TWELVE_HOURS, Utc(2024, 5, 15, 12)},
      {v1::POLLING_INTERVAL_ONE_DAY, Utc(2024, 5, 16)},
      {v1::POLLING_INTERVAL_ONE_WEEK,
       Utc(2024, 5, 16)},  // the epoch was a Thursday
  };
  for (const auto& [interval, slot] : cases) {
    absl::StatusOr<ScheduleDecision> decision =
        Decide(Interval(interval, /*jitter_seconds=*/1), "ci-prod", last, last);
    ASSERT_TRUE(decision.ok()) << decision.status();
    EXPECT_FALSE(decision->fire_now) << interval;
    ASSERT_TRUE(decision->next_due.has_value());
    EXPECT_GE(*decision->next_due, slot) << interval;
    EXPECT_LT(*decision->next_due, slot + absl::Seconds(1)) << interval;
  }
}

TEST(DecideTest, DefaultJitterIsFivePercentCappedAtFiveMinutes) {
  const absl::Time last = Utc(2024, 5, 15, 10, 17);
  const std::vector<std::pair<v1::PollingInterval, absl::Duration>> windows = {
      {v1::POLLING_INTERVAL_THIRTY_MINUTES, absl::Seconds(90)},
      {v1::POLLING_INTERVAL_ONE_HOUR, absl::Minutes(3)},
      {v1::POLLING_INTERVAL_FOUR_HOURS, absl::Minutes(5)},
      {v1::POLLING_INTERVAL_ONE_WEEK, absl::Minutes(5)},
  };
  for (const auto& [interval, window] : windows) {
    const absl::Duration length = IntervalOf(interval);
    absl::Duration largest = absl::ZeroDuration();
    for (int i = 0; i < 200; ++i) {
      const std::string id = absl::StrCat("instance-", i);
      const absl::Time due =
          *Decide(Interval(interval), id, last, last)->next_due;
      // Offset past the slot the due time belongs to.
      const absl::Duration offset = (due - absl::UnixEpoch()) % length;
      EXPECT_LT(offset, window) << interval << " " << id;
      largest = std::max(largest, offset);
    }
    EXPECT_GT(largest, window * 0.9)
        << "offsets should use the whole window " << interval;
  }
}

TEST(JitterTest, StableAcrossCallsAndBuilds) {
  // Values computed independently (Python: FNV-1a 64 + SplitMix64 finalizer,
  // then floor(hash * window_ms / 2^64)); a change here would move every
  // instance's schedule.
  EXPECT_EQ(JitterOffset("ci-prod", absl::Minutes(5)),
            absl::Milliseconds(215478));
  EXPECT_EQ(JitterOffset("ci-staging", absl::Minutes(5)),
            absl::Milliseconds(218107));
  EXPECT_EQ(JitterOffset("", absl::Minutes(5)), absl::Milliseconds(287302));
  EXPECT_EQ(JitterOffset("ci-prod", absl::Seconds(90)),
            absl::Milliseconds(64643));
  EXPECT_EQ(JitterOffset("ci-prod", absl::Minutes(5)),
            JitterOffset("ci-prod", absl::Minutes(5)));
  EXPECT_EQ(JitterOffset("ci-prod", absl::ZeroDuration()),
            absl::ZeroDuration());
}

TEST(JitterTest, ThousandInstancesSpreadOverTheWindow) {
  const absl::Duration window = absl::Seconds(90);
  std::set<int64_t> distinct_ms;
  std::vector<int> buckets(10, 0);
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration offset =
        JitterOffset(absl::StrCat("instance-", i), window);
    ASSERT_GE(offset, absl::ZeroDuration());
    ASSERT_LT(offset, window);
    distinct_ms.insert(absl::ToInt64Milliseconds(offset));
    ++buckets[absl::ToInt64Milliseconds(offset) / 9000];
  }
  // 1000 draws from 90000 values: about 5 collisions expected from chance
  // alone.
  EXPECT_GE(distinct_ms.size(), 980u);
  for (int b = 0; b < 10; ++b) {
    EXPECT_GE(buckets[b], 60) << "bucket " << b;
    EXPECT_LE(buckets[b], 140) << "bucket " << b;
  }
}

TEST(DecideTest, NewInstanceWaitsForItsFirstSlot) {
  const absl::Time created = Utc(2024, 5, 15, 10, 17);
  const v1::Schedule hourly = Interval(v1::POLLING_INTERVAL_ONE_HOUR);
  const absl::Time due = *NextRunTime(hourly, "ci", created, created);
  EXPECT_GE(due, Utc(2024, 5, 15, 11));
  EXPECT_LT(due, Utc(2024, 5, 15, 11, 3));

  EXPECT_FALSE(
      Decide(hourly, "ci", created, due - absl::Milliseconds(1))->fire_now);
  absl::StatusOr<ScheduleDecision> at_due = Decide(hourly, "ci", created, due);
  EXPECT_TRUE(at_due->fire_now);
  EXPECT_FALSE(at_due->catch_up);
  EXPECT_EQ(at_due->slot_to_record, Utc(2024, 5, 15, 11));
  EXPECT_EQ(*at_due->next_due, due + absl::Hours(1));
  EXPECT_EQ(NextRunTime(hourly, "ci", created, due + absl::Seconds(2)),
            due + absl::Seconds(2));
}

// A timer loop like the coordinator's: ticks every `tick`, fires when told,
// records the slot.
struct Simulation {
  std::vector<absl::Time> fired_at;
  std::vector<absl::Time> recorded_slots;
  absl::Time last_slot;
};
Simulation Simulate(const v1::Schedule& schedule, const std::string& id,
                    absl::Time last_slot, absl::Time from, absl::Time to,
                    absl::Duration tick) {
  Simulation sim;
  sim.last_slot = last_slot;
  for (absl::Time now = from; now < to; now += tick) {
    absl::StatusOr<ScheduleDecision> decision =
        Decide(schedule, id, sim.last_slot, now);
    EXPECT_TRUE(decision.ok()) << decision.status();
    if (!decision.ok() || !decision->fire_now) continue;
    EXPECT_GT(decision->slot_to_record, sim.last_slot);
    EXPECT_GT(*decision->next_due, now);
    sim.fired_at.push_back(now);
    sim.recorded_slots.push_back(decision->slot_to_record);
    sim.last_slot = decision->slot_to_record;
  }
  return sim;
}

TEST(DecideTest, ThreeDaysDownFireOnceThenNormalCadence) {
  const v1::Schedule hourly = Interval(v1::POLLING_INTERVAL_ONE_HOUR);
  const absl::Time last_slot =
      Utc(2024, 5, 10, 10);  // fired, then the coordinator died
  const absl::Time back_up = Utc(2024, 5, 13, 10, 30);

  absl::StatusOr<ScheduleDecision> decision =
      Decide(hourly, "ci", last_slot, back_up);
  ASSERT_TRUE(decision.ok());
  EXPECT_TRUE(decision->fire_now);
  EXPECT_TRUE(decision->catch_up);
  EXPECT_EQ(decision->slot_to_record, Utc(2024, 5, 13, 10));
  const absl::Duration offset = JitterOffset("ci", absl::Minutes(3));
  EXPECT_EQ(*decision->next_due, Utc(2024, 5, 13, 11) + offset);

  // Ticking every 10 s for 5 hours after restart: once at once, then once an
  // hour.
  const Simulation sim = Simulate(hourly, "ci", last_slot, back_up,
                                  back_up + absl::Hours(5), absl::Seconds(10));
  ASSERT_EQ(sim.fired_at.size(), 6u);
  EXPECT_EQ(sim.fired_at[0], back_up);
  for (int i = 1; i < 6; ++i) {
    EXPECT_GE(sim.fired_at[i], Utc(2024, 5, 13, 10 + i) + offset);
    EXPECT_LT(sim.fired_at[i],
              Utc(2024, 5, 13, 10 + i) + offset + absl::Seconds(10));
    EXPECT_EQ(sim.recorded_slots[i], Utc(2024, 5, 13, 10 + i));
  }
}

TEST(DecideTest, RecordedSlotDoesNotFireAgain) {
  const v1::Schedule hourly = Interval(v1::POLLING_INTERVAL_ONE_HOUR);
  const absl::Time now = Utc(2024, 5, 13, 10, 30);
  const ScheduleDecision first =
      *Decide(hourly, "ci", Utc(2024, 5, 13, 9), now);
  ASSERT_TRUE(first.fire_now);
  for (absl::Duration later :
       {absl::ZeroDuration(), absl::Seconds(1), absl::Minutes(29)}) {
    const ScheduleDecision again =
        *Decide(hourly, "ci", first.slot_to_record, now + later);
    EXPECT_FALSE(again.fire_now) << later;
    EXPECT_EQ(again.next_due, first.next_due);
  }
}

TEST(DecideTest, RestartComputesTheSameAnswers) {
  const v1::Schedule schedule = Interval(v1::POLLING_INTERVAL_THIRTY_MINUTES);
  const absl::Time last = Utc(2024, 5, 13, 8);
  const absl::Time now = Utc(2024, 5, 13, 9, 47, 13);
  const ScheduleDecision a = *Decide(schedule, "ci", last, now);
  const ScheduleDecision b = *Decide(schedule, "ci", last, now);
  EXPECT_EQ(a.fire_now, b.fire_now);
  EXPECT_EQ(a.slot_to_record, b.slot_to_record);
  EXPECT_EQ(a.next_due, b.next_due);

  // Two coordinators started at different moments, ticking at different rates,
  // fire for the same slots at (nearly) the same times: slots do not depend on
  // the start time.
  const absl::Time end = Utc(2024, 5, 13, 14);
  const Simulation early =
      Simulate(schedule, "ci", now, now, end, absl::Seconds(1));
  const Simulation late =
      Simulate(schedule, "ci", now, now + absl::Minutes(7) + absl::Seconds(3),
               end, absl::Seconds(7));
  EXPECT_EQ(early.recorded_slots, late.recorded_slots);
  ASSERT_EQ(early.fired_at.size(), late.fired_at.size());
  for (size_t i = 0; i < early.fired_at.size(); ++i) {
    EXPECT_LT(late.fired_at[i] - early.fired_at[i], absl::Seconds(7));
  }
}

TEST(DecideTest, ClockBehindTheLastSlotDoesNotFire) {
  const v1::Schedule hourly = Interval(v1::POLLING_INTERVAL_ONE_HOUR, 1);
  const ScheduleDecision decision =
      *Decide(hourly, "ci", Utc(2024, 5, 13, 10), Utc(2024, 5, 13, 9, 30));
  EXPECT_FALSE(decision.fire_now);
  EXPECT_GE(*decision.next_due, Utc(2024, 5, 13, 11));
}

TEST(DecideTest, CronDefaultJitterIsFivePercentOfTheGap) {
  const absl::Time last = Utc(2024, 5, 13, 10, 0, 30);
  const std::vector<std::tuple<std::string, absl::Time, absl::Duration>> cases =
      {
          {"* * * * *", Utc(2024, 5, 13, 10, 1), absl::Seconds(3)},
          {"0 * * * *", Utc(2024, 5, 13, 11), absl::Minutes(3)},
          {"0 0 * * *", Utc(2024, 5, 14), absl::Minutes(5)},
          // Uneven gaps: the window follows the gap to the next firing (10:10
          // -> 10:50).
          {"10,50 * * * *", Utc(2024, 5, 13, 10, 10), absl::Minutes(2)},
      };
  for (const auto& [cron, slot, window] : cases) {
    absl::Duration largest = absl::ZeroDuration();
    for (int i = 0; i < 200; ++i) {
      const std::string id = absl::StrCat("instance-", i);
      const absl::Time due = *Decide(Cron(cron), id, last, last)->next_due;
      EXPECT_GE(due, slot) << cron;
      EXPECT_LT(due, slot + window) << cron;
      largest = std::max(largest, due - slot);
    }
    EXPECT_GT(largest, window * 0.9) << cron;
  }
}

TEST(DecideTest, CronExplicitJitterIsTheSameForEverySlot) {
  const v1::Schedule schedule = Cron("0 * * * *", 600);
  const absl::Duration offset = JitterOffset("ci", absl::Minutes(10));
  const Simulation sim =
      Simulate(schedule, "ci", Utc(2024, 5, 13, 10), Utc(2024, 5, 13, 10),
               Utc(2024, 5, 13, 14, 30), absl::Seconds(1));
  ASSERT_EQ(sim.fired_at.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(sim.fired_at[i],
              Utc(2024, 5, 13, 11 + i) + absl::Ceil(offset, absl::Seconds(1)));
  }
}

TEST(DecideTest, CronThreeDaysDownFireOnceThenNormalCadence) {
  const v1::Schedule schedule = Cron("*/15 * * * *");
  const absl::Time back_up = Utc(2024, 5, 13, 10, 7);
  const Simulation sim = Simulate(schedule, "ci", Utc(2024, 5, 10, 10), back_up,
                                  back_up + absl::Hours(2), absl::Seconds(5));
  ASSERT_EQ(sim.fired_at.size(), 9u);  // the catch-up run, then 10:15 ... 12:00
  EXPECT_EQ(sim.fired_at[0], back_up);
  EXPECT_EQ(sim.recorded_slots[0], Utc(2024, 5, 13, 10));
  for (int i = 1; i < 9; ++i) {
    EXPECT_EQ(sim.recorded_slots[i],
              Utc(2024, 5, 13, 10, 0) + absl::Minutes(15) * i);
    EXPECT_LT(sim.fired_at[i] - sim.recorded_slots[i], absl::Seconds(45 + 5));
  }
}

TEST(DecideTest, CronYearLongOutageEveryMinuteIsFast) {
  const v1::Schedule every_minute = Cron("* * * * *");
  const absl::Time now = Utc(2024, 12, 31, 17, 42, 10);
  const ScheduleDecision decision =
      *Decide(every_minute, "ci", Utc(2024, 1, 1), now);
  EXPECT_TRUE(decision.fire_now);
  EXPECT_TRUE(decision.catch_up);
  // Offsets are under 3 s, so 17:42 is due by 17:42:10 and 17:43 is not.
  EXPECT_EQ(decision.slot_to_record, Utc(2024, 12, 31, 17, 42));
  EXPECT_GE(*decision.next_due, Utc(2024, 12, 31, 17, 43));
  EXPECT_LT(*decision.next_due, Utc(2024, 12, 31, 17, 43, 3));
}

TEST(DecideTest, CronBurstAfterOutageRecordsTheLastSlotOfTheBurst) {
  const v1::Schedule burst = Cron("0-4 0 * * *");  // 00:00 ... 00:04 daily
  const ScheduleDecision decision =
      *Decide(burst, "ci", Utc(2024, 5, 1, 0, 4), Utc(2024, 5, 5, 12));
  EXPECT_TRUE(decision.fire_now);
  EXPECT_EQ(decision.slot_to_record, Utc(2024, 5, 5, 0, 4));
  EXPECT_GE(*decision.next_due, Utc(2024, 5, 6, 0, 0));
  EXPECT_LT(*decision.next_due, Utc(2024, 5, 6, 0, 0, 3));
}

TEST(DecideTest, CronSlotStillInsideItsJitterIsNotRecordedEarly) {
  // Hourly cron, window 3 min. At 10:00:00 exactly the 10:00 slot is due only
  // if this instance's offset is zero; the 09:00 slot was missed.
  const absl::Duration offset = JitterOffset("ci-prod", absl::Minutes(3));
  ASSERT_GT(offset, absl::ZeroDuration());
  const ScheduleDecision decision = *Decide(
      Cron("0 * * * *"), "ci-prod", Utc(2024, 5, 13, 8), Utc(2024, 5, 13, 10));
  EXPECT_TRUE(decision.fire_now);
  EXPECT_FALSE(decision.catch_up);
  EXPECT_EQ(decision.slot_to_record, Utc(2024, 5, 13, 9));
  EXPECT_EQ(*decision.next_due, Utc(2024, 5, 13, 10) + offset);
}

TEST(DecideTest, WeeklyIntervalAfterTwoWeeksDown) {
  const v1::Schedule weekly = Interval(v1::POLLING_INTERVAL_ONE_WEEK);
  const absl::Duration offset = JitterOffset("ci", absl::Minutes(5));
  const ScheduleDecision decision =
      *Decide(weekly, "ci", Utc(2024, 5, 2),
              Utc(2024, 5, 20, 8));  // Thursdays: 9th, 16th
  EXPECT_TRUE(decision.fire_now);
  EXPECT_TRUE(decision.catch_up);
  EXPECT_EQ(decision.slot_to_record, Utc(2024, 5, 16));
  EXPECT_EQ(*decision.next_due, Utc(2024, 5, 23) + offset);
}

}  // namespace
}  // namespace graphmill::coordinator
