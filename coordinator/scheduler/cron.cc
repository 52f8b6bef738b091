// Implementation of coordinator/scheduler/cron.h.
#include "coordinator/scheduler/cron.h"

#include <array>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace graphmill::coordinator {
namespace {

constexpr std::array<const char*, 12> kMonthNames = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
    "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 7> kWeekdayNames = {
    "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
// Longest month length, Feb counted as 29 (it has 29 days in leap years).
constexpr std::array<int, 13> kMaxDaysInMonth = {0,  31, 29, 31, 30, 31, 30,
                                                 31, 31, 30, 31, 30, 31};

// A cron field: its name in messages, its value range, and names accepted for
// values.
struct FieldSpec {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names[i] stands for min + i; nullptr if none
  int name_count;
  const char* names_hint;
};

const FieldSpec kMinuteSpec = {"minute", 0, 59, nullptr, 0, ""};
const FieldSpec kHourSpec = {"hour", 0, 23, nullptr, 0, ""};
const FieldSpec kDayOfMonthSpec = {"day of month", 1, 31, nullptr, 0, ""};
const FieldSpec kMonthSpec = {
    "month", 1, 12, kMonthNames.data(), 12, " or a name (JAN-DEC)"};
// 7 is accepted as Sunday and folded to 0 after parsing.
const FieldSpec kDayOfWeekSpec = {
    "day of week", 0, 7, kWeekdayNames.data(), 7, " or a name (SUN-SAT)"};

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Parses a number (at most 4 digits, so no overflow) or a name; checks the
// range.
absl::StatusOr<int> ParseValue(absl::string_view text, const FieldSpec& spec) {
  int value = -1;
  if (AllDigits(text) && text.size() <= 4) {
    value = 0;
    for (char c : text) value = value * 10 + (c - '0');
  } else if (AllDigits(text)) {
    value = spec.max + 1;  // absurdly large: reported as out of range below
  } else {
    const std::string upper = absl::AsciiStrToUpper(text);
    for (int i = 0; i < spec.name_count; ++i) {
      if (upper == spec.names[i]) value = spec.min + i;
    }
    if (value < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          spec.name, " '", text, "' is not a number", spec.names_hint));
    }
  }
  if (value < spec.min || value > spec.max) {
    return absl::InvalidArgumentError(absl::StrCat(
        spec.name, " ", text, " is out of range ", spec.min, "-", spec.max));
  }
  return value;
}

// Parses one comma-separated field into `bits` (indexed by value). Sets
// `*starts_with_star` for the Vixie day-matching rule.
template <size_t N>
absl::Status ParseField(absl::string_view field, const FieldSpec& spec,
                        std::bitset<N>* bits, bool* starts_with_star) {
  *starts_with_star = !field.empty() && field[0] == '*';
  for (absl::string_view item : absl::StrSplit(field, ',')) {
    if (item.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.name, " '", field, "' has an empty list element"));
    }
    absl::string_view range = item;
    int step = 1;
    const size_t slash = item.find('/');
    if (slash != absl::string_view::npos) {
      range = item.substr(0, slash);
      const absl::string_view step_text = item.substr(slash + 1);
      const int max_step = spec.max - spec.min + 1;
      if (!AllDigits(step_text)) {
        return absl::InvalidArgumentError(absl::StrCat(spec.name, " '", item,
                                                       "': step '", step_text,
                                                       "' is not a number"));
      }
      step = step_text.size() <= 4 ? std::stoi(std::string(step_text))
                                   : max_step + 1;
      if (step < 1 || step > max_step) {
        return absl::InvalidArgumentError(
            absl::StrCat(spec.name, " '", item, "': step ", step_text,
                         " is out of range 1-", max_step));
      }
    }
    int first = spec.min;
    int last = spec.max;
    if (range != "*") {
      const size_t dash = range.find('-');
      absl::StatusOr<int> start = ParseValue(range.substr(0, dash), spec);
      if (!start.ok()) return start.status();
      first = *start;
      if (dash != absl::string_view::npos) {
        absl::StatusOr<int> end = ParseValue(range.substr(dash + 1), spec);
        if (!end.ok()) return end.status();
        last = *end;
        if (first > last) {
          return absl::InvalidArgumentError(
              absl::StrCat(spec.name, " range '", range,
                           "' is reversed; ranges do not wrap around"));
        }
      } else if (slash == absl::string_view::npos) {
        last = first;  // a single value; "a/n" keeps last = max
      }
    }
    for (int value = first; value <= last; value += step) bits->set(value);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ExpandShorthand(absl::string_view text) {
  struct Shorthand {
    const char* name;
    const char* expansion;
  };
  static constexpr Shorthand kShorthands[] = {
      {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
      {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
  };
  const std::string lower = absl::AsciiStrToLower(text);
  for (const Shorthand& shorthand : kShorthands) {
    if (lower == shorthand.name) return std::string(shorthand.expansion);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown shorthand '", text,
      "' (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, "
      "@hourly)"));
}

}  // namespace

absl::StatusOr<CronExpression> CronExpression::Parse(
    const std::string& expression) {
  auto error = [&expression](absl::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("cron '", expression, "': ", problem));
  };
  CronExpression cron;
  cron.expression_ = expression;

  std::string text(absl::StripAsciiWhitespace(expression));
  if (!text.empty() && text[0] == '@') {
    absl::StatusOr<std::string> expanded = ExpandShorthand(text);
    if (!expanded.ok()) return error(expanded.status().message());
    text = *expanded;
  }
  const std::vector<absl::string_view> fields =
      absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() != 5) {
    return error(absl::StrCat(
        "expected 5 fields (minute hour day-of-month month day-of-week), got ",
        fields.size()));
  }

  bool unused_star = false;
  std::bitset<8> days_of_week;  // 0..7 while parsing
  bool day_of_month_star = false;
  bool day_of_week_star = false;
  for (absl::Status status :
       {ParseField(fields[0], kMinuteSpec, &cron.minutes_, &unused_star),
        ParseField(fields[1], kHourSpec, &cron.hours_, &unused_star),
        ParseField(fields[2], kDayOfMonthSpec, &cron.days_of_month_,
                   &day_of_month_star),
        ParseField(fields[3], kMonthSpec, &cron.months_, &unused_star),
        ParseField(fields[4], kDayOfWeekSpec, &days_of_week,
                   &day_of_week_star)}) {
    if (!status.ok()) return error(status.message());
  }
  for (int day = 0; day < 7; ++day) cron.days_of_week_[day] = days_of_week[day];
  if (days_of_week[7]) cron.days_of_week_[0] = true;
  cron.day_of_month_restricted_ = !day_of_month_star;
  cron.day_of_week_restricted_ = !day_of_week_star;

  // Unless the weekday alone can select days (OR rule), some selected month
  // must have one of the selected days of month; otherwise Next would search
  // forever.
  if (!(cron.day_of_month_restricted_ && cron.day_of_week_restricted_)) {
    bool fires = false;
    for (int month = 1; month <= 12 && !fires; ++month) {
      if (!cron.months_[month]) continue;
      for (int day = 1; day <= kMaxDaysInMonth[month] && !fires; ++day) {
        fires = cron.days_of_month_[day];
      }
    }
    if (!fires) {
      return error(absl::StrCat("never fires: day of month '", fields[2],
                                "' does not occur in month '", fields[3], "'"));
    }
  }
  return cron;
}

bool CronExpression::DayMatches(absl::civil_year_t year, int month,
                                int day) const {
  const bool day_of_month_matches = days_of_month_[day];
  const absl::Weekday weekday =
      absl::GetWeekday(absl::CivilDay(year, month, day));
  // absl::Weekday counts from Monday = 0; cron from Sunday = 0.
  const bool day_of_week_matches =
      days_of_week_[(static_cast<int>(weekday) + 1) % 7];
  if (day_of_month_restricted_ && day_of_week_restricted_) {
    return day_of_month_matches || day_of_week_matches;
  }
  return day_of_month_matches && day_of_week_matches;
}

std::optional<absl::Time> CronExpression::Next(absl::Time after) const {
  if (after == absl::InfiniteFuture() || after == absl::InfinitePast())
    return std::nullopt;
  const absl::TimeZone utc = absl::UTCTimeZone();
  absl::CivilMinute at = absl::ToCivilMinute(after, utc) + 1;
  // Parse guarantees a firing within 8 years (Feb 29 across a non-leap century
  // year).
  const absl::civil_year_t give_up_year = at.year() + 400;
  while (at.year() <= give_up_year) {
    if (!months_[at.month()]) {
      at = absl::CivilMinute(absl::CivilMonth(at) + 1);
      continue;
    }
    if (!DayMatches(at.year(), at.month(), at.day())) {
      at = absl::CivilMinute(absl::CivilDay(at) + 1);
      continue;
    }
    if (!hours_[at.hour()]) {
      at = absl::CivilMinute(absl::CivilHour(at) + 1);
      continue;
    }
    int minute = at.minute();
    while (minute < 60 && !minutes_[minute]) ++minute;
    if (minute == 60) {
      at = absl::CivilMinute(absl::CivilHour(at) + 1);
      continue;
    }
    return absl::FromCivil(
        absl::CivilMinute(at.year(), at.month(), at.day(), at.hour(), minute),
        utc);
  }
  return std::nullopt;
}

absl::StatusOr<absl::Time> NextCronTime(const std::string& cron,
                                        absl::Time after) {
  absl::StatusOr<CronExpression> expression = CronExpression::Parse(cron);
  if (!expression.ok()) return expression.status();
  std::optional<absl::Time> next = expression->Next(after);
  if (!next.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cron '", cron, "': no firing after ", absl::FormatTime(after)));
  }
  return *next;
}

}  // namespace graphmill::coordinator
