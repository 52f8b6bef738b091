// The graphmill command line: subcommands, flags (anywhere on the line, `--flag
// value` or
// `--flag=value`), config assembled from flags, files and environment
// variables, and usage text.
#ifndef GRAPHMILL_CLIENT_COMMAND_LINE_H_
#define GRAPHMILL_CLIENT_COMMAND_LINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace graphmill::cli {

// Default coordinator address when neither --server nor GRAPHMILL_SERVER is
// given.
inline constexpr char kDefaultServer[] = "127.0.0.1:7400";
// Default deadline of each unary call.
inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(30);

enum class OutputFormat { kTable, kJson };

enum class Command {
  kIntegrationList,
  kInstanceCreate,
  kInstanceList,
  kInstanceGet,
  kRunStart,
  kRunWatch,
  kRunShow,
  kRunList,
  kGraphEntities,
  kGraphRelationships,
  kGraphEntity,
};

// Reads an environment variable; nullopt when unset. Injected so tests do not
// depend on (or modify) the process environment.
using EnvLookup =
    std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv).
EnvLookup ProcessEnvironment();

// A parsed, validated command line. Fields a command does not use keep their
// defaults.
struct CommandLine {
  // True for --help/-h or `graphmill help ...`: print UsageText(help_topic) and
  // exit 0.
  bool help = false;
  // "", a group ("instance") or a command ("instance create").
  std::string help_topic;

  // Set when `help` is false.
  Command command = Command::kIntegrationList;
  // "instance create", for messages.
  std::string command_path;

  // Global flags.
  std::string server = kDefaultServer;
  OutputFormat output = OutputFormat::kTable;
  absl::Duration timeout = kDefaultTimeout;
  // From GRAPHMILL_TOKEN; sent as "authorization: Bearer <token>" when
  // non-empty.
  std::string token;

  // `instance create/get ID`, `run start INSTANCE`, or --instance of `graph *`
  // and `run list`.
  std::string instance_id;
  // instance create --integration.
  std::string integration;
  // instance create: file values, then --config and --config-env in
  // command-line order (a later one wins). Holds secrets: never print it.
  std::map<std::string, std::string> config;
  // run watch/show RUN_ID.
  int64_t run_id = 0;
  // run start --watch.
  bool watch = false;
  // graph entities/entity --raw.
  bool raw = false;
  // graph entities/relationships --type and --class.
  std::string type;
  std::string class_name;
  // graph entity KEY.
  std::string entity_key;
  // --limit; 0 means none (graph) or the server's default (run list).
  int64_t limit = 0;
};

// Parses `args` (argv without the program name). Any error is INVALID_ARGUMENT
// with a one-line message meant to follow "graphmill: " (for example "unknown
// command 'foo' (try: graphmill --help)" or "--config expects KEY=VALUE, got
// 'abc'"); the caller exits 64. Reads
// --config-file from disk and GRAPHMILL_SERVER, GRAPHMILL_TOKEN and
// --config-env variables through `env`. Error messages never contain config
// values.
absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args, const EnvLookup& env);

// Parses a --config-file's text: a flat JSON object whose values are strings,
// booleans or numbers (numbers keep their text, e.g. "1.50"). `source` names
// the file in errors.
absl::StatusOr<std::map<std::string, std::string>> ParseConfigJson(
    absl::string_view json, absl::string_view source);

// Usage for a help topic ("", a group such as "run", or a command such as "run
// watch").
std::string UsageText(absl::string_view topic);

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_COMMAND_LINE_H_
