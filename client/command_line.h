// The graphmill command line: subcommands, flags (anywhere on the line, `--flag
// value` or `--flag=value`), config and secrets assembled from flags, files and
// environment variables, and usage text.
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
#include "common/tls.h"
#include "graphmill/v1/admin.pb.h"
#include "graphmill/v1/graph.pb.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::cli {

// Default coordinator address when neither --server nor GRAPHMILL_SERVER is
// given.
inline constexpr char kDefaultServer[] = "127.0.0.1:7400";
// Default deadline of each unary call.
inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(30);

enum class OutputFormat { kTable, kJson };

// graph export --format.
enum class ExportFormat { kJsonLines, kDot };

enum class Command {
  kIntegrationList,
  kIntegrationDescribe,
  kInstanceCreate,
  kInstanceList,
  kInstanceGet,
  kInstanceUpdate,
  kInstanceDelete,
  kInstanceValidate,
  kInstanceWebhooksInstall,
  kRunStart,
  kRunWatch,
  kRunShow,
  kRunList,
  kRunCancel,
  kRunUpload,
  kGraphEntities,
  kGraphRelationships,
  kGraphEntity,
  kGraphNeighbors,
  kGraphExport,
  kGraphCount,
  kGraphSnapshot,
  kSubscribe,
  kTokenCreate,
  kTokenList,
  kTokenRevoke,
  kCompletion,
};

// Reads an environment variable; nullopt when unset. Injected so tests do not
// depend on (or modify) the process environment.
using EnvLookup =
    std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv).
EnvLookup ProcessEnvironment();

// Instance settings from `instance create` and `instance update` flags. Each
// field that is nullopt (or empty) was not given; see instance_settings.h for
// how they apply.
struct InstanceSettings {
  // --schedule or --cron (never both).
  std::optional<v1::PollingInterval> interval;
  std::optional<std::string> cron;
  // --jitter.
  std::optional<int32_t> jitter_seconds;
  // --disable-step and --enable-step, in command-line order, without
  // duplicates; no step is in both.
  std::vector<std::string> disable_steps;
  std::vector<std::string> enable_steps;
  // --rate-limit.
  std::optional<double> rate_limit_per_second;
  // --incremental on|off, --look-back, --full-run-every (v1.IncrementalRuns).
  std::optional<bool> incremental;
  std::optional<int64_t> look_back_hours;
  std::optional<int64_t> full_run_every_hours;
  // JupiterOne upload: --j1-account, the token read from --j1-token-env or
  // --j1-token-file (a secret: never print it), --j1-integration-instance,
  // --j1-base-url, --j1-compress (true) or --no-j1-compress (false).
  std::optional<std::string> j1_account_id;
  std::optional<std::string> j1_api_token;
  std::optional<std::string> j1_integration_instance_id;
  std::optional<std::string> j1_base_url;
  std::optional<bool> j1_compress;
  // --no-upload (update only): remove the JupiterOne upload.
  bool no_upload = false;

  // True if any --j1-* flag was given.
  bool HasUploadFlags() const;
  // True if any setting was given.
  bool Any() const;
};

// A parsed, validated command line. Fields a command does not use keep their
// defaults.
// The most hops `graph neighbors --depth` follows: each hop multiplies the
// requests (a whole graph is `graph export`'s job).
inline constexpr int kMaxNeighborDepth = 5;

// graph export --fold without the flag: readable for most fans, and a group
// of up to 8 (a week of nightly builds) still drawn whole.
inline constexpr int kDefaultFold = 8;
// The largest --fold: beyond any fan worth drawing, and far from int limits.
inline constexpr int kMaxFold = 100'000;

// The largest --look-back and --full-run-every, in hours (10 years).
inline constexpr int64_t kMaxSettingHours = 87'600;

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
  // Sent as "authorization: Bearer <token>" when non-empty: from --token-file,
  // else GRAPHMILL_TOKEN, else the file ~/.config/graphmill/token
  // ($XDG_CONFIG_HOME/graphmill/token when that is set) if it exists. A
  // secret: never print it.
  std::string token;
  // Where `token` came from, for messages ("--token-file F",
  // "$GRAPHMILL_TOKEN" or the default file's path); empty when there is none.
  std::string token_source;
  // --tls-ca-file, --tls-cert-file, --tls-key-file and --insecure.
  ClientTlsOptions tls;

  // `instance create/get/update/delete/validate ID`, `instance webhooks
  // install ID`, `run start INSTANCE`, or --instance of `graph *` and `run
  // list`.
  std::string instance_id;
  // instance webhooks install --url: the public base URL of the coordinator's
  // webhook endpoint (checked by the coordinator).
  std::string webhook_url;
  // subscribe --instance (repeatable).
  std::vector<std::string> instance_ids;
  // instance create --integration; integration describe's INTEGRATION.
  std::string integration;
  // completion's SHELL: bash, zsh or fish.
  std::string shell;
  // instance create/update: file values, then --config and --config-env in
  // command-line order (a later one wins). Holds secrets: never print it.
  std::map<std::string, std::string> config;
  // instance update --unset-config, without duplicates; none is in `config`.
  std::vector<std::string> unset_config;
  // instance create/update settings other than config.
  InstanceSettings settings;
  // instance delete --yes.
  bool yes = false;
  // run watch/show/cancel/upload RUN_ID.
  int64_t run_id = 0;
  // run start --watch.
  bool watch = false;
  // run start --full.
  bool full = false;
  // graph entities/entity/neighbors/export/snapshot and subscribe --raw.
  bool raw = false;
  // graph entities/relationships --type and --class; neighbors --class;
  // subscribe --type and --class (RE2 patterns).
  std::string type;
  std::string class_name;
  // graph export --type and --class (repeatable, without duplicates): an
  // object is exported when its _type is one of `types` (if any are given)
  // and one of its _class values is one of `classes` (if any are given).
  std::vector<std::string> types;
  std::vector<std::string> classes;
  // graph entities/relationships --property and --property-string.
  std::map<std::string, v1::Value> properties;
  // graph entity/neighbors KEY.
  std::string entity_key;
  // graph neighbors --direction; unspecified means both.
  v1::Direction direction = v1::DIRECTION_UNSPECIFIED;
  // graph export --format.
  ExportFormat export_format = ExportFormat::kJsonLines;
  // subscribe --kind (without duplicates) and --from.
  std::vector<v1::ChangeKind> kinds;
  int64_t after_sequence = 0;
  // subscribe --until-caught-up: end once the backlog is delivered.
  bool until_caught_up = false;
  // --limit; 0 means none (graph) or the server's default (run list).
  int64_t limit = 0;
  // graph neighbors --depth, and graph export --depth with --root: hops to
  // follow.
  int depth = 1;
  // graph export --root: export only what is within `depth` hops of this key
  // (empty: the whole graph).
  std::string root_key;
  // graph export --fold (DOT): the largest group of edges drawn unfolded; 0
  // draws every edge (see DotWriter).
  int fold = kDefaultFold;
  // token create/revoke NAME.
  std::string token_name;
  // token create --role.
  v1::TokenRole token_role = v1::TOKEN_ROLE_UNSPECIFIED;
};

// Parses `args` (argv without the program name). Any error is INVALID_ARGUMENT
// with a one-line message meant to follow "graphmill: " (for example "unknown
// command 'foo' (try: graphmill --help)" or "--config expects KEY=VALUE, got
// 'abc'"); the caller exits 64. Reads
// --config-file, --j1-token-file, --token-file and the default token file from
// disk and GRAPHMILL_SERVER, GRAPHMILL_TOKEN, HOME, XDG_CONFIG_HOME,
// --config-env and --j1-token-env variables through `env`.
// Error messages never contain config values or tokens.
absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args, const EnvLookup& env);

// Parses a --property value: `true`/`false` give a bool, an integer an int, a
// decimal number (with '.' or an exponent) a double, `null` a null, anything
// else a string. INVALID_ARGUMENT for a number out of range.
absl::StatusOr<v1::Value> ParsePropertyValue(absl::string_view text);

// Parses a --config-file's text: a flat JSON object whose values are strings,
// booleans or numbers (numbers keep their text, e.g. "1.50"). `source` names
// the file in errors.
absl::StatusOr<std::map<std::string, std::string>> ParseConfigJson(
    absl::string_view json, absl::string_view source);

// What shell completion needs to know of one command.
struct CommandSummary {
  // "instance create", "subscribe", "instance webhooks install"
  std::string path;
  std::vector<std::string> flags;  // accepted command flags, without "--"
  std::string summary;             // its first sentence
};
// Every command, in help order, and the global flags (without "--").
std::vector<CommandSummary> CommandSummaries();
std::vector<std::string> GlobalFlagNames();

// Usage for a help topic ("", a group such as "run", or a command such as "run
// watch").
std::string UsageText(absl::string_view topic);

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_COMMAND_LINE_H_
