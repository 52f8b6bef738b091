// The one version of graphmill's binaries (coordinator, worker, CLI, fakes),
// printed by --version. Not stamped at build time, so builds stay
// reproducible: change kVersion when releasing.
#ifndef GRAPHMILL_COMMON_VERSION_H_
#define GRAPHMILL_COMMON_VERSION_H_

#include <string>

#include "absl/strings/string_view.h"

namespace graphmill {

inline constexpr char kVersion[] = "0.3.0";

// "<program> 0.3.0", what --version prints (without the newline).
std::string VersionLine(absl::string_view program);

// For binaries that parse flags with absl: call before
// absl::ParseCommandLine. --version then prints VersionLine(program), and
// --help lists graphmill's own flags (those defined outside Abseil) instead
// of "No flags matched" (--helpfull still lists Abseil's too).
void SetFlagsUsage(absl::string_view program);

}  // namespace graphmill

#endif  // GRAPHMILL_COMMON_VERSION_H_
