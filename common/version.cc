// Implementation of common/version.h.
#include "common/version.h"

#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace graphmill {

std::string VersionLine(absl::string_view program) {
  return absl::StrCat(program, " ", kVersion);
}

void SetFlagsUsage(absl::string_view program) {
  absl::FlagsUsageConfig config;
  // Flags defined in graphmill's sources (coordinator/main.cc,
  // common/log_flags.cc, ...), not Abseil's own (--flagfile, --helpfull, ...).
  config.contains_help_flags = [](absl::string_view file) {
    return !absl::StrContains(file, "absl/");
  };
  config.version_string = [line = VersionLine(program)] {
    return absl::StrCat(line, "\n");
  };
  absl::SetFlagsUsageConfig(config);
}

}  // namespace graphmill
