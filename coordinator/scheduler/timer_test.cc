// ScheduleTimer on a fake clock, and DueSlot's use of an instance's settings.
#include "coordinator/scheduler/timer.h"

#include <gtest/gtest.h>

#include "common/testing/fake_clock.h"

namespace graphmill::coordinator {
namespace {

TEST(ScheduleTimerTest, ChecksFirstThenOncePerInterval) {
  FakeClock clock;
  ScheduleTimer timer(&clock, absl::Seconds(1));
  const absl::Time start = clock.Now();
  EXPECT_EQ(timer.Check(), start);
  EXPECT_EQ(timer.Check(), std::nullopt);
  clock.Advance(absl::Milliseconds(999));
  EXPECT_EQ(timer.Check(), std::nullopt);
  clock.Advance(absl::Milliseconds(1));
  EXPECT_EQ(timer.Check(), start + absl::Seconds(1));
  // The interval counts from the last check, not from a fixed grid.
  clock.Advance(absl::Milliseconds(1500));
  EXPECT_EQ(timer.Check(), start + absl::Milliseconds(2500));
  clock.Advance(absl::Milliseconds(600));
  EXPECT_EQ(timer.Check(), std::nullopt);
}

v1::Instance Hourly(absl::Time created) {
  v1::Instance instance;
  instance.set_id("ci");
  instance.set_created_at_ms(absl::ToUnixMillis(created));
  instance.mutable_schedule()->set_interval(v1::POLLING_INTERVAL_ONE_HOUR);
  // One second of jitter at most, so the test can tell when a slot is due.
  instance.mutable_schedule()->set_jitter_seconds(1);
  return instance;
}

TEST(DueSlotTest, NothingWithoutAScheduleThatStartsRuns) {
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  v1::Instance manual;
  manual.set_id("ci");
  EXPECT_EQ(DueSlot(manual, 0, now), std::nullopt);
  manual.mutable_schedule()->set_interval(v1::POLLING_INTERVAL_DISABLED);
  EXPECT_EQ(DueSlot(manual, 0, now + absl::Hours(1000)), std::nullopt);
  v1::Instance invalid = Hourly(now);
  invalid.mutable_schedule()->set_cron("61 * * * *");
  EXPECT_EQ(DueSlot(invalid, 0, now + absl::Hours(2)), std::nullopt);
}

TEST(DueSlotTest, TheCreationTimeCountsUntilASlotFired) {
  // Created at 10:17; the 11:00 slot is due within a second of jitter.
  const absl::Time created =
      absl::FromUnixSeconds(1'700'000'000 / 3600 * 3600 + 17 * 60);
  const absl::Time slot = created - absl::Minutes(17) + absl::Hours(1);
  v1::Instance instance = Hourly(created);
  EXPECT_EQ(DueSlot(instance, 0, created + absl::Minutes(30)), std::nullopt);
  EXPECT_EQ(DueSlot(instance, 0, slot + absl::Seconds(1)), slot);
  // Once recorded, the slot does not fire again; the next one does.
  const int64_t recorded = absl::ToUnixMillis(slot);
  EXPECT_EQ(DueSlot(instance, recorded, slot + absl::Minutes(59)),
            std::nullopt);
  EXPECT_EQ(
      DueSlot(instance, recorded, slot + absl::Hours(1) + absl::Seconds(1)),
      slot + absl::Hours(1));
}

}  // namespace
}  // namespace graphmill::coordinator
