// Percent-encoding helpers for the fake CircleCI server, which routes on raw
// request targets.
#ifndef GRAPHMILL_TESTS_FAKES_CIRCLECI_URL_UTIL_H_
#define GRAPHMILL_TESTS_FAKES_CIRCLECI_URL_UTIL_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace graphmill::fakes {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Decodes %XX escapes; a malformed escape is kept literally. With
// `plus_is_space`, '+' decodes to ' ' (query strings).
std::string PercentDecode(absl::string_view text, bool plus_is_space);

// Escapes every byte except RFC 3986 unreserved characters (A-Z a-z 0-9 - . _
// ~).
std::string PercentEncode(absl::string_view text);

// RFC 3986 §6.2.2 normalisation: escapes of unreserved characters are decoded
// and the hex digits of the remaining escapes upper-cased. "%2f" and "%2F"
// compare equal; "%2F" and "/" do not.
std::string NormalizeEscapes(absl::string_view raw);

// Splits a raw query string ("a=1&b=x%2Fy") into decoded pairs, in order. Empty
// pieces are skipped; a piece without '=' gives an empty value.
QueryParams ParseQuery(absl::string_view raw_query);

// The decoded value of the first parameter named `name`, or nullptr.
const std::string* FindParam(const QueryParams& params, absl::string_view name);

// Splits a request target into its raw path and raw query (without the '?').
std::pair<std::string, std::string> SplitTarget(absl::string_view target);

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_CIRCLECI_URL_UTIL_H_
