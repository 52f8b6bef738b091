// "Did you mean" for mistyped commands and flags.
#ifndef GRAPHMILL_CLIENT_SUGGEST_H_
#define GRAPHMILL_CLIENT_SUGGEST_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace graphmill::cli {

// The candidate closest to `word` by edit distance (insertions, deletions,
// substitutions and swaps of neighbours), if it is close enough to be a typo:
// at most one edit for words up to 4 characters, two up to 8, three beyond.
// Ties go to the earlier candidate. Empty when none is close.
std::string ClosestMatch(absl::string_view word,
                         const std::vector<std::string>& candidates);

// " (did you mean 'X'?)" for ClosestMatch's answer, with `prefix` before X
// (e.g. "--"); empty when there is none.
std::string DidYouMean(absl::string_view word,
                       const std::vector<std::string>& candidates,
                       absl::string_view prefix = "");

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_SUGGEST_H_
