// Tests for CronExpression: parsing, errors, and Next against hand-computed
// dates and a minute-by-minute reference scan.
#include "coordinator/scheduler/cron.h"

#include <functional>
#include <string>
#include <vector>

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

std::string Format(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %a", t, absl::UTCTimeZone());
}

// The first `count` firings after `after`, formatted.
std::vector<std::string> Firings(const std::string& expression,
                                 absl::Time after, int count) {
  absl::StatusOr<CronExpression> cron = CronExpression::Parse(expression);
  EXPECT_TRUE(cron.ok()) << cron.status();
  std::vector<std::string> out;
  if (!cron.ok()) return out;
  for (int i = 0; i < count; ++i) {
    std::optional<absl::Time> next = cron->Next(after);
    if (!next.has_value()) break;
    out.push_back(Format(*next));
    after = *next;
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(CronTest, EveryFifteenMinutes) {
  EXPECT_EQ(Firings("*/15 * * * *", Utc(2023, 12, 31, 23, 7, 30), 4),
            (Strings{"2023-12-31 23:15:00 Sun", "2023-12-31 23:30:00 Sun",
                     "2023-12-31 23:45:00 Sun", "2024-01-01 00:00:00 Mon"}));
}

TEST(CronTest, NextIsStrictlyAfter) {
  EXPECT_EQ(*NextCronTime("*/15 * * * *", Utc(2024, 1, 1, 10, 15)),
            Utc(2024, 1, 1, 10, 30));
  EXPECT_EQ(*NextCronTime("*/15 * * * *", Utc(2024, 1, 1, 10, 14, 59)),
            Utc(2024, 1, 1, 10, 15));
  EXPECT_EQ(*NextCronTime("* * * * *",
                          Utc(2024, 1, 1, 10, 15) - absl::Nanoseconds(1)),
            Utc(2024, 1, 1, 10, 15));
}

TEST(CronTest, HourlyAtFive) {
  EXPECT_EQ(Firings("5 * * * *", Utc(2024, 2, 29, 22, 5), 3),
            (Strings{"2024-02-29 23:05:00 Thu", "2024-03-01 00:05:00 Fri",
                     "2024-03-01 01:05:00 Fri"}));
}

TEST(CronTest, MondaysAtNine) {
  const Strings expected = {"2024-05-20 09:00:00 Mon",
                            "2024-05-27 09:00:00 Mon",
                            "2024-06-03 09:00:00 Mon"};
  EXPECT_EQ(Firings("0 9 * * MON", Utc(2024, 5, 15, 12), 3), expected);
  EXPECT_EQ(Firings("0 9 * * 1", Utc(2024, 5, 15, 12), 3), expected);
  EXPECT_EQ(Firings("0 9 * * mon", Utc(2024, 5, 13, 9), 3), expected);
}

TEST(CronTest, FirstAndFifteenth) {
  EXPECT_EQ(Firings("0 0 1,15 * *", Utc(2024, 1, 15), 3),
            (Strings{"2024-02-01 00:00:00 Thu", "2024-02-15 00:00:00 Thu",
                     "2024-03-01 00:00:00 Fri"}));
}

TEST(CronTest, FebruaryTwentyNinthWaitsForLeapYears) {
  EXPECT_EQ(Firings("0 0 29 2 *", Utc(2024, 3, 1), 2),
            (Strings{"2028-02-29 00:00:00 Tue", "2032-02-29 00:00:00 Sun"}));
  // 2100 is not a leap year: eight years apart.
  EXPECT_EQ(Firings("0 0 29 2 *", Utc(2096, 3, 1), 1),
            (Strings{"2104-02-29 00:00:00 Fri"}));
}

TEST(CronTest, ThirtyFirstSkipsShortMonths) {
  EXPECT_EQ(Firings("0 0 31 * *", Utc(2024, 1, 31), 4),
            (Strings{"2024-03-31 00:00:00 Sun", "2024-05-31 00:00:00 Fri",
                     "2024-07-31 00:00:00 Wed", "2024-08-31 00:00:00 Sat"}));
}

TEST(CronTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  EXPECT_EQ(Firings("0 0 13 * FRI", Utc(2024, 9, 1), 8),
            (Strings{"2024-09-06 00:00:00 Fri", "2024-09-13 00:00:00 Fri",
                     "2024-09-20 00:00:00 Fri", "2024-09-27 00:00:00 Fri",
                     "2024-10-04 00:00:00 Fri", "2024-10-11 00:00:00 Fri",
                     "2024-10-13 00:00:00 Sun", "2024-10-18 00:00:00 Fri"}));
  // Feb 30 never exists, but Mondays do.
  EXPECT_EQ(Firings("0 0 30 2 MON", Utc(2024, 1, 1), 2),
            (Strings{"2024-02-05 00:00:00 Mon", "2024-02-12 00:00:00 Mon"}));
}

TEST(CronTest, StarredDayFieldMeansBothMustMatch) {
  // Day of week '*': day of month alone decides.
  EXPECT_EQ(Firings("0 0 1 * *", Utc(2024, 1, 1), 2),
            (Strings{"2024-02-01 00:00:00 Thu", "2024-03-01 00:00:00 Fri"}));
  // Vixie cron: "*/2" starts with '*', so it is ANDed with the weekday: odd
  // days that are Mondays.
  EXPECT_EQ(Firings("0 0 */2 * MON", Utc(2024, 1, 1), 3),
            (Strings{"2024-01-15 00:00:00 Mon", "2024-01-29 00:00:00 Mon",
                     "2024-02-05 00:00:00 Mon"}));
}

TEST(CronTest, NamesRangesAndSteps) {
  EXPECT_EQ(Firings("0 12 1 jan,Jul *", Utc(2024, 1, 1, 12), 2),
            (Strings{"2024-07-01 12:00:00 Mon", "2025-01-01 12:00:00 Wed"}));
  EXPECT_EQ(Firings("30 8 * * MON-FRI", Utc(2024, 5, 17, 9), 2),
            (Strings{"2024-05-20 08:30:00 Mon", "2024-05-21 08:30:00 Tue"}));
  EXPECT_EQ(Firings("0 9-17/4 * * *", Utc(2024, 5, 17), 4),
            (Strings{"2024-05-17 09:00:00 Fri", "2024-05-17 13:00:00 Fri",
                     "2024-05-17 17:00:00 Fri", "2024-05-18 09:00:00 Sat"}));
  EXPECT_EQ(Firings("50/5 1 * * *", Utc(2024, 5, 17), 3),
            (Strings{"2024-05-17 01:50:00 Fri", "2024-05-17 01:55:00 Fri",
                     "2024-05-18 01:50:00 Sat"}));
  EXPECT_EQ(Firings("0 0 * FEB-MAR/1 SUN", Utc(2024, 3, 25), 2),
            (Strings{"2024-03-31 00:00:00 Sun", "2025-02-02 00:00:00 Sun"}));
}

TEST(CronTest, WeekdaySevenIsSunday) {
  const Strings sundays = {"2024-05-19 00:00:00 Sun",
                           "2024-05-26 00:00:00 Sun"};
  EXPECT_EQ(Firings("0 0 * * 7", Utc(2024, 5, 17), 2), sundays);
  EXPECT_EQ(Firings("0 0 * * 0", Utc(2024, 5, 17), 2), sundays);
  EXPECT_EQ(Firings("0 0 * * 5-7", Utc(2024, 5, 16), 4),
            (Strings{"2024-05-17 00:00:00 Fri", "2024-05-18 00:00:00 Sat",
                     "2024-05-19 00:00:00 Sun", "2024-05-24 00:00:00 Fri"}));
}

TEST(CronTest, Shorthands) {
  EXPECT_EQ(Firings("@hourly", Utc(2024, 5, 17, 10, 30), 1),
            (Strings{"2024-05-17 11:00:00 Fri"}));
  EXPECT_EQ(Firings("@daily", Utc(2024, 5, 17, 10), 1),
            (Strings{"2024-05-18 00:00:00 Sat"}));
  EXPECT_EQ(Firings("@weekly", Utc(2024, 5, 17), 1),
            (Strings{"2024-05-19 00:00:00 Sun"}));
  EXPECT_EQ(Firings("@monthly", Utc(2024, 5, 17), 1),
            (Strings{"2024-06-01 00:00:00 Sat"}));
  EXPECT_EQ(Firings("@YEARLY", Utc(2024, 5, 17), 1),
            (Strings{"2025-01-01 00:00:00 Wed"}));
}

TEST(CronTest, ExtraWhitespaceIsAccepted) {
  EXPECT_EQ(Firings("  0\t9  * * 1 ", Utc(2024, 5, 15), 1),
            (Strings{"2024-05-20 09:00:00 Mon"}));
}

TEST(CronTest, RejectsInvalidExpressionsWithExactMessages) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"61 * * * *", "minute 61 is out of range 0-59"},
      {"0 24 * * *", "hour 24 is out of range 0-23"},
      {"0 0 0 * *", "day of month 0 is out of range 1-31"},
      {"0 0 32 * *", "day of month 32 is out of range 1-31"},
      {"0 0 * 13 *", "month 13 is out of range 1-12"},
      {"0 0 * * 8", "day of week 8 is out of range 0-7"},
      {"99999 * * * *", "minute 99999 is out of range 0-59"},
      {"*/0 * * * *", "minute '*/0': step 0 is out of range 1-60"},
      {"0 */25 * * *", "hour '*/25': step 25 is out of range 1-24"},
      {"*/x * * * *", "minute '*/x': step 'x' is not a number"},
      {"5-1 * * * *",
       "minute range '5-1' is reversed; ranges do not wrap around"},
      {"0 0 * * SAT-SUN",
       "day of week range 'SAT-SUN' is reversed; ranges do not wrap around"},
      {"1,,2 * * * *", "minute '1,,2' has an empty list element"},
      {"x * * * *", "minute 'x' is not a number"},
      {"MON * * * *", "minute 'MON' is not a number"},
      {"0 0 * FOO *", "month 'FOO' is not a number or a name (JAN-DEC)"},
      {"0 0 * * MONDAY",
       "day of week 'MONDAY' is not a number or a name (SUN-SAT)"},
      {"0 0 * * * *",
       "expected 5 fields (minute hour day-of-month month day-of-week), got 6"},
      {"0 0 * *",
       "expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
      {"",
       "expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
      {"0 0 30 2 *",
       "never fires: day of month '30' does not occur in month '2'"},
      {"0 0 31 APR,JUN *",
       "never fires: day of month '31' does not occur in month 'APR,JUN'"},
      {"@reboot",
       "unknown shorthand '@reboot' (known: @yearly, @annually, @monthly, "
       "@weekly, @daily, "
       "@midnight, @hourly)"},
  };
  for (const auto& [expression, problem] : cases) {
    EXPECT_EQ(
        CronExpression::Parse(expression).status(),
        absl::InvalidArgumentError("cron '" + expression + "': " + problem))
        << expression;
  }
  EXPECT_EQ(NextCronTime("61 * * * *", Utc(2024, 1, 1)).status(),
            absl::InvalidArgumentError(
                "cron '61 * * * *': minute 61 is out of range 0-59"));
}

TEST(CronTest, InfiniteTimeHasNoNext) {
  const CronExpression cron = *CronExpression::Parse("* * * * *");
  EXPECT_FALSE(cron.Next(absl::InfiniteFuture()).has_value());
}

// Reference: scan minute by minute with a hand-written predicate and compare
// every firing with chained Next calls over two years that include a leap day
// and all month ends.
TEST(CronTest, MatchesMinuteByMinuteReference) {
  using Civil = absl::CivilMinute;
  auto weekday = [](const Civil& m) {
    return (static_cast<int>(absl::GetWeekday(absl::CivilDay(m))) + 1) %
           7;  // Sunday = 0
  };
  struct Case {
    std::string expression;
    std::function<bool(const Civil&)> matches;
  };
  const std::vector<Case> cases = {
      {"*/15 9-17 * * MON-FRI",
       [&](const Civil& m) {
         return m.minute() % 15 == 0 && m.hour() >= 9 && m.hour() <= 17 &&
                weekday(m) >= 1 && weekday(m) <= 5;
       }},
      {"0 0 28-31 * *",
       [](const Civil& m) {
         return m.minute() == 0 && m.hour() == 0 && m.day() >= 28;
       }},
      {"59 23 31 * *",
       [](const Civil& m) {
         return m.minute() == 59 && m.hour() == 23 && m.day() == 31;
       }},
      {"0 12 29 2 *",
       [](const Civil& m) {
         return m.minute() == 0 && m.hour() == 12 && m.month() == 2 &&
                m.day() == 29;
       }},
      {"7 */6 1,15 * SAT",
       [&](const Civil& m) {
         return m.minute() == 7 && m.hour() % 6 == 0 &&
                (m.day() == 1 || m.day() == 15 || weekday(m) == 6);
       }},
      {"30 2 * JAN,MAR,DEC 0",
       [&](const Civil& m) {
         return m.minute() == 30 && m.hour() == 2 &&
                (m.month() == 1 || m.month() == 3 || m.month() == 12) &&
                weekday(m) == 0;
       }},
      {"0 0 30,31 * *",
       [](const Civil& m) {
         return m.minute() == 0 && m.hour() == 0 &&
                (m.day() == 30 || m.day() == 31);
       }},
  };
  const Civil start(2023, 1, 1, 0, 0);
  const Civil end(2025, 1, 1, 0, 0);
  for (const Case& c : cases) {
    absl::StatusOr<CronExpression> cron = CronExpression::Parse(c.expression);
    ASSERT_TRUE(cron.ok()) << cron.status();
    absl::Time after = absl::FromCivil(start, absl::UTCTimeZone());
    int firings = 0;
    for (Civil m = start + 1; m < end; ++m) {
      if (!c.matches(m)) continue;
      const std::optional<absl::Time> next = cron->Next(after);
      ASSERT_TRUE(next.has_value()) << c.expression;
      ASSERT_EQ(Format(*next), Format(absl::FromCivil(m, absl::UTCTimeZone())))
          << c.expression;
      after = *next;
      ++firings;
    }
    EXPECT_GT(firings, 0) << c.expression;
    EXPECT_GE(*cron->Next(after), absl::FromCivil(end, absl::UTCTimeZone()))
        << c.expression;
  }
}

}  // namespace
}  // namespace graphmill::coordinator
