// Implementation of client/table.h.
#include "client/table.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace graphmill::cli {
namespace {

// UTF-8 code points: every byte that is not a continuation byte starts one.
size_t DisplayWidth(absl::string_view text) {
  return std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
}

void StripTrailingSpaces(std::string& line) {
  while (!line.empty() && line.back() == ' ') line.pop_back();
}

}  // namespace

std::string SanitizeCell(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = ' ';
  }
  return out;
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  const size_t columns = header.size();
  if (columns == 0) return "";
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size() + 1);
  cells.push_back({});
  for (const std::string& title : header)
    cells.back().push_back(SanitizeCell(title));
  for (const std::vector<std::string>& row : rows) {
    std::vector<std::string> line(columns);
    for (size_t i = 0; i < columns && i < row.size(); ++i)
      line[i] = SanitizeCell(row[i]);
    cells.push_back(std::move(line));
  }
  std::vector<size_t> widths(columns, 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < columns; ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(line[i]));
    }
  }
  std::string out;
  for (const auto& line : cells) {
    std::string text;
    for (size_t i = 0; i < columns; ++i) {
      text += line[i];
      if (i + 1 < columns) {
        text.append(widths[i] - DisplayWidth(line[i]) + 2, ' ');
      }
    }
    StripTrailingSpaces(text);
    absl::StrAppend(&out, text, "\n");
  }
  return out;
}

std::string FormatKeyValues(
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  size_t width = 0;
  for (const auto& [name, value] : pairs)
    width = std::max(width, DisplayWidth(name));
  std::string out;
  for (const auto& [name, value] : pairs) {
    std::string line = SanitizeCell(name);
    line.append(width - DisplayWidth(name) + 2, ' ');
    line += SanitizeCell(value);
    StripTrailingSpaces(line);
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string FormatShortDuration(absl::Duration duration) {
  const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(duration));
  if (ms < 1000) return absl::StrCat(ms, "ms");
  if (ms < 60 * 1000)
    return absl::StrFormat("%d.%ds", ms / 1000, (ms % 1000) / 100);
  const int64_t seconds = ms / 1000;
  if (seconds < 3600) {
    return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
  }
  return absl::StrFormat("%dh%02dm%02ds", seconds / 3600, (seconds / 60) % 60,
                         seconds % 60);
}

std::string FormatDurationMs(int64_t start_ms, int64_t end_ms) {
  return FormatShortDuration(absl::Milliseconds(end_ms - start_ms));
}

std::string FormatTimestampMs(int64_t epoch_ms) {
  if (epoch_ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(epoch_ms),
                          absl::UTCTimeZone());
}

}  // namespace graphmill::cli
