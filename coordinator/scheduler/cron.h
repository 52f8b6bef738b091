// CronExpression: standard five-field cron expressions in UTC and their next
// firing time.
#ifndef GRAPHMILL_COORDINATOR_SCHEDULER_CRON_H_
#define GRAPHMILL_COORDINATOR_SCHEDULER_CRON_H_

#include <bitset>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace graphmill::coordinator {

// A parsed "minute hour day-of-month month day-of-week" expression, always in
// UTC.
//
// Each field is `*`, a number, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (=
// a-max/n), or a comma-separated list of those. Months accept JAN..DEC,
// weekdays SUN..SAT (any case); weekday 0 and 7 are both Sunday. Ranges do not
// wrap (`5-1` is an error; write `5-7` or `FRI-SAT,SUN`). Shorthands: @yearly
// (@annually), @monthly, @weekly, @daily (@midnight),
// @hourly.
//
// Day matching follows Vixie cron: if both day-of-month and day-of-week are
// restricted (neither field starts with `*`), a day matches when EITHER
// matches; otherwise both must match (so the
// `*` one matches every day). "0 0 1,15 * MON" fires on the 1st, the 15th and
// every Monday.
//
// Expressions that can never fire (e.g. "0 0 30 2 *") are rejected by Parse.
// Immutable and thread-safe once parsed.
class CronExpression {
 public:
  // INVALID_ARGUMENT naming the expression, field and problem, e.g.
  // "cron '61 * * * *': minute 61 is out of range 0-59".
  static absl::StatusOr<CronExpression> Parse(const std::string& expression);

  // The first firing time strictly after `after` (whole minutes, UTC); nullopt
  // only for an infinite `after` (Parse guarantees the expression fires at
  // least every 8 years). Cost: skips whole months, days and hours that cannot
  // match, so even "0 0 29 2 *" across a century turn takes a few hundred
  // steps, never a minute-by-minute scan.
  std::optional<absl::Time> Next(absl::Time after) const;

  const std::string& expression() const { return expression_; }

 private:
  CronExpression() = default;

  bool DayMatches(absl::civil_year_t year, int month, int day) const;

  std::string expression_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1..31
  std::bitset<13> months_;         // 1..12
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool day_of_month_restricted_ = false;
  bool day_of_week_restricted_ = false;
};

// Parses `cron` and returns its first firing strictly after `after`.
// INVALID_ARGUMENT as CronExpression::Parse.
absl::StatusOr<absl::Time> NextCronTime(const std::string& cron,
                                        absl::Time after);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_SCHEDULER_CRON_H_
