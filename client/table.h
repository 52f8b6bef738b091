// Plain-text formatting for the CLI: aligned tables, durations and timestamps.
#ifndef GRAPHMILL_CLIENT_TABLE_H_
#define GRAPHMILL_CLIENT_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace graphmill::cli {

// Formats `rows` under `header` as aligned columns separated by two spaces, one
// line per row, each ending in '\n'. Width is counted in UTF-8 code points. The
// last column is not padded and no line has trailing spaces. Control characters
// in cells (newlines, tabs, escapes from provider data) are replaced by spaces
// so a cell never breaks the layout or the terminal. Rows shorter than the
// header are padded with empty cells; longer ones are truncated.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// Like FormatTable without a header: "name  value" lines for one object's
// details.
std::string FormatKeyValues(
    const std::vector<std::pair<std::string, std::string>>& pairs);

// Replaces control characters (bytes < 0x20 and 0x7f) with spaces.
std::string SanitizeCell(absl::string_view text);

// A duration for people: "450ms" under a second, "1.2s" under a minute
// (truncated to tenths), "3m04s" under an hour, "2h05m09s" above. Negative
// durations print as "0ms".
std::string FormatShortDuration(absl::Duration duration);

// Duration between two epoch-millisecond times (see FormatShortDuration).
std::string FormatDurationMs(int64_t start_ms, int64_t end_ms);

// Epoch milliseconds as UTC RFC 3339 to the second, "2024-03-21T10:00:00Z"; "-"
// for 0.
std::string FormatTimestampMs(int64_t epoch_ms);

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_TABLE_H_
