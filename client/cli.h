// The graphmill CLI's entry point: parses the command line, calls the
// coordinator and prints the result. main() is a thin wrapper, so tests run the
// whole CLI in-process.
#ifndef GRAPHMILL_CLIENT_CLI_H_
#define GRAPHMILL_CLIENT_CLI_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/command_line.h"

namespace graphmill::cli {

// Exit statuses.
inline constexpr int kExitSuccess = 0;
// Any failure, `run watch` of a run that ended FAILED or CANCELLED,
// `instance validate` of invalid credentials, and `instance webhooks install`
// with a resource the webhook could not be installed on.
inline constexpr int kExitFailure = 1;
// `run watch` of a run that ended PARTIAL.
inline constexpr int kExitPartial = 2;
// Bad command line (sysexits' EX_USAGE).
inline constexpr int kExitUsage = 64;

// What the CLI needs from its surroundings.
struct CliEnvironment {
  // Environment variables (GRAPHMILL_SERVER, GRAPHMILL_TOKEN, --config-env
  // names).
  EnvLookup env;
  // True when `out` is a terminal: `run watch` then redraws a progress line in
  // place.
  bool out_is_terminal = false;
  // The current time, epoch milliseconds (durations of active runs).
  std::function<int64_t()> now_ms;
  // How often the progress line is redrawn on a terminal.
  absl::Duration tick_interval = absl::Seconds(1);
  // Where `instance delete` reads its confirmation, and whether that is a
  // terminal (without one, deleting needs --yes). Null: no input.
  std::istream* in = nullptr;
  bool in_is_terminal = false;
  // True to end `subscribe` quietly on SIGINT (see ScopedInterruptHandler).
  bool handle_interrupts = false;
};

// Runs one command. Results go to `out`; a failure prints exactly one line,
// "graphmill: <message>", to `err`. Returns the exit status (kExit*). `args`
// excludes the program name.
int RunCli(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err, const CliEnvironment& environment);

// As above with the process environment, clock, std::cin and SIGINT handling;
// `out` counts as a terminal only when it is std::cout and standard output is
// a TTY.
int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_CLI_H_
