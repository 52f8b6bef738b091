// Implementation of range.h.
#include "tests/fakes/heroku/range.h"

#include <algorithm>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace graphmill::fakes::heroku {
namespace {

absl::Status RangeError(absl::string_view header, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("Range '", header, "': ", why));
}

bool InBounds(const RangeSpec& spec, absl::string_view key) {
  if (spec.start.has_value()) {
    const int order = key.compare(*spec.start);
    const int wanted = spec.descending ? -order : order;
    if (wanted < 0 || (wanted == 0 && spec.start_exclusive)) return false;
  }
  if (spec.end.has_value()) {
    const int order = key.compare(*spec.end);
    const int wanted = spec.descending ? -order : order;
    if (wanted > 0 || (wanted == 0 && spec.end_exclusive)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<RangeSpec> ParseRange(absl::string_view header,
                                     absl::Span<const std::string> fields) {
  RangeSpec spec;
  header = absl::StripAsciiWhitespace(header);
  if (header.empty()) return spec;

  const size_t semicolon = header.find(';');
  const absl::string_view bounds =
      absl::StripAsciiWhitespace(header.substr(0, semicolon));
  const size_t dots = bounds.find("..");
  if (dots == absl::string_view::npos) {
    return RangeError(header, "missing '..'");
  }

  absl::string_view left = absl::StripAsciiWhitespace(bounds.substr(0, dots));
  if (!left.empty() && left.front() != '[' && left.front() != ']') {
    const size_t space = left.find_first_of(" \t");
    spec.field = std::string(left.substr(0, space));
    left = space == absl::string_view::npos
               ? absl::string_view()
               : absl::StripLeadingAsciiWhitespace(left.substr(space));
  }
  if (std::find(fields.begin(), fields.end(), spec.field) == fields.end()) {
    return RangeError(header,
                      absl::StrCat("field '", spec.field, "' is not one of ",
                                   absl::StrJoin(fields, ", ")));
  }
  if (!left.empty() && (left.front() == '[' || left.front() == ']')) {
    spec.start_exclusive = left.front() == ']';
    left = absl::StripLeadingAsciiWhitespace(left.substr(1));
  }
  if (!left.empty()) spec.start = std::string(left);

  absl::string_view right = absl::StripAsciiWhitespace(bounds.substr(dots + 2));
  if (!right.empty() && (right.back() == '[' || right.back() == ']')) {
    spec.end_exclusive = right.back() == '[';
    right =
        absl::StripTrailingAsciiWhitespace(right.substr(0, right.size() - 1));
  }
  if (!right.empty()) spec.end = std::string(right);
  if (right.find_first_of("[] \t") != absl::string_view::npos ||
      left.find_first_of("[] \t") != absl::string_view::npos) {
    return RangeError(header, "unexpected character in a bound");
  }

  if (semicolon == absl::string_view::npos) return spec;
  for (absl::string_view param :
       absl::StrSplit(header.substr(semicolon + 1), absl::ByAnyChar(",;"),
                      absl::SkipWhitespace())) {
    param = absl::StripAsciiWhitespace(param);
    const size_t eq = param.find('=');
    if (eq == absl::string_view::npos) {
      return RangeError(
          header, absl::StrCat("parameter '", param, "' is not KEY=VALUE"));
    }
    const absl::string_view key =
        absl::StripTrailingAsciiWhitespace(param.substr(0, eq));
    const absl::string_view value =
        absl::StripLeadingAsciiWhitespace(param.substr(eq + 1));
    if (key == "max") {
      int max = 0;
      if (!absl::SimpleAtoi(value, &max) || max < 1) {
        return RangeError(header, "max must be a positive integer");
      }
      spec.max = std::min(max, kMaxPageSize);
    } else if (key == "order") {
      if (value != "asc" && value != "desc") {
        return RangeError(header, "order must be asc or desc");
      }
      spec.descending = value == "desc";
    } else {
      return RangeError(header, absl::StrCat("unknown parameter '", key, "'"));
    }
  }
  return spec;
}

RangePage SelectPage(const RangeSpec& spec,
                     absl::Span<const absl::string_view> keys) {
  std::vector<size_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int compared = keys[a].compare(keys[b]);
    if (compared != 0) return spec.descending ? compared > 0 : compared < 0;
    return a < b;
  });

  RangePage page;
  size_t in_range = 0;
  for (const size_t index : order) {
    if (!InBounds(spec, keys[index])) continue;
    ++in_range;
    if (page.items.size() < static_cast<size_t>(spec.max)) {
      page.items.push_back(index);
    }
  }
  if (page.items.empty()) return page;
  const absl::string_view first = keys[page.items.front()];
  const absl::string_view last = keys[page.items.back()];
  page.content_range = absl::StrCat(spec.field, " ", first, "..", last);
  if (in_range > page.items.size()) {
    page.status = 206;
    page.next_range = absl::StrCat(spec.field, " ]", last, "..");
    if (spec.end.has_value()) {
      absl::StrAppend(&page.next_range, *spec.end,
                      spec.end_exclusive ? "[" : "");
    }
    absl::StrAppend(&page.next_range, "; max=", spec.max,
                    spec.descending ? ",order=desc" : "");
  }
  return page;
}

}  // namespace graphmill::fakes::heroku
