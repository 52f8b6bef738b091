// Heroku's Range-header pagination (shared/spec/heroku.md §8.4): parsing the
// header and choosing the page of a list. Pure functions.
//
// Grammar (whitespace around tokens is ignored):
//   Range: [<field>] [ '[' | ']' ] [<start>] '..' [<end>] [ ']' | '[' ]
//          [ ';' <param> [ (',' | ';') <param> ]... ]
//   <param>: max=<n> | order=asc|desc
// <field> defaults to "id" and must be one of the list's fields; a start
// prefixed by ']' is exclusive ('[' or nothing: inclusive); an end suffixed by
// '[' is exclusive (']' or nothing: inclusive). max defaults to 200 and is
// capped at 1000. Bounds follow the order: with order=desc the start is the
// high bound.
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_RANGE_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_RANGE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace graphmill::fakes::heroku {

inline constexpr int kDefaultPageSize = 200;
inline constexpr int kMaxPageSize = 1000;

struct RangeSpec {
  std::string field = "id";
  std::optional<std::string> start;
  bool start_exclusive = false;
  std::optional<std::string> end;
  bool end_exclusive = false;
  int max = kDefaultPageSize;  // 1..kMaxPageSize
  bool descending = false;
};

// Parses a Range header value; an empty value gives the defaults.
// INVALID_ARGUMENT naming the problem for bad syntax, a field not in
// `fields`, or a max that is not a positive integer.
absl::StatusOr<RangeSpec> ParseRange(absl::string_view header,
                                     absl::Span<const std::string> fields);

// The page a RangeSpec selects from a list.
struct RangePage {
  int status = 200;  // 200 when everything in range fits in max, else 206
  std::vector<size_t> items;  // indices into `keys`, in response order
  std::string content_range;  // "<field> <first>..<last>"; empty when no items
  std::string next_range;     // "<field> ]<last>..; max=<n>[,order=desc]"
                              // (206 only)
};

// Sorts the items by `keys` (the range field of each item; ties by index) in
// the spec's order, keeps those within the bounds, and returns the first
// spec.max of them.
RangePage SelectPage(const RangeSpec& spec,
                     absl::Span<const absl::string_view> keys);

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_RANGE_H_
