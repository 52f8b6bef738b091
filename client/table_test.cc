// Tests of client/table.h.
#include "client/table.h"

#include <gtest/gtest.h>

namespace graphmill::cli {
namespace {

TEST(FormatTable, AlignsColumnsWithoutTrailingSpaces) {
  EXPECT_EQ(
      FormatTable({"ID", "STATUS", "NOTE"},
                  {{"12", "SUCCEEDED", ""}, {"7", "FAILED", "bad token"}}),
      "ID  STATUS     NOTE\n"
      "12  SUCCEEDED\n"
      "7   FAILED     bad token\n");
}

TEST(FormatTable, CountsUtf8CodePointsAsOneColumn) {
  EXPECT_EQ(FormatTable({"NAME", "X"}, {{"caf\xC3\xA9", "1"}, {"ab", "2"}}),
            "NAME  X\n"
            "caf\xC3\xA9  1\n"
            "ab    2\n");
}

TEST(FormatTable, ReplacesControlCharactersAndPadsShortRows) {
  EXPECT_EQ(FormatTable({"A", "B", "C"},
                        {{"x\ny", "\033[31m"}, {"1", "2", "3", "extra"}}),
            "A    B      C\n"
            "x y   [31m\n"
            "1    2      3\n");
}

TEST(FormatTable, HeaderOnlyWhenNoRows) {
  EXPECT_EQ(FormatTable({"KEY", "TYPE"}, {}), "KEY  TYPE\n");
  EXPECT_EQ(FormatTable({}, {{"ignored"}}), "");
}

TEST(FormatKeyValues, AlignsValues) {
  EXPECT_EQ(
      FormatKeyValues(
          {{"id", "ci-prod"}, {"integration", "circleci"}, {"empty", ""}}),
      "id           ci-prod\n"
      "integration  circleci\n"
      "empty\n");
}

TEST(FormatShortDuration, PicksUnitsByMagnitude) {
  EXPECT_EQ(FormatShortDuration(absl::ZeroDuration()), "0ms");
  EXPECT_EQ(FormatShortDuration(absl::Milliseconds(450)), "450ms");
  EXPECT_EQ(FormatShortDuration(absl::Milliseconds(1000)), "1.0s");
  EXPECT_EQ(FormatShortDuration(absl::Milliseconds(1299)), "1.2s");
  // Truncated, so it never reads "60.0s".
  EXPECT_EQ(FormatShortDuration(absl::Milliseconds(59999)), "59.9s");
  EXPECT_EQ(FormatShortDuration(absl::Seconds(60)), "1m00s");
  EXPECT_EQ(FormatShortDuration(absl::Seconds(184)), "3m04s");
  EXPECT_EQ(FormatShortDuration(absl::Seconds(3599)), "59m59s");
  EXPECT_EQ(
      FormatShortDuration(absl::Hours(2) + absl::Minutes(5) + absl::Seconds(9)),
      "2h05m09s");
  EXPECT_EQ(FormatShortDuration(absl::Seconds(-5)), "0ms");
}

TEST(FormatDurationMs, MeasuresBetweenEpochTimes) {
  EXPECT_EQ(FormatDurationMs(1'700'000'000'000, 1'700'000'001'200), "1.2s");
}

TEST(FormatTimestampMs, Rfc3339InUtc) {
  EXPECT_EQ(FormatTimestampMs(1711015200123), "2024-03-21T10:00:00Z");
  EXPECT_EQ(FormatTimestampMs(0), "-");
}

}  // namespace
}  // namespace graphmill::cli
