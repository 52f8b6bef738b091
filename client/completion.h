// Shell completion scripts for the graphmill CLI, generated from the command
// table (command_line.h), so they never drift from what the CLI accepts.
#ifndef GRAPHMILL_CLIENT_COMPLETION_H_
#define GRAPHMILL_CLIENT_COMPLETION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace graphmill::cli {

// The script for `shell` ("bash", "zsh" or "fish"): completes groups, their
// subcommands and the flags each command accepts. INVALID_ARGUMENT naming the
// shell otherwise.
absl::StatusOr<std::string> CompletionScript(absl::string_view shell);

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_COMPLETION_H_
