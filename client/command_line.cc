// Implementation of client/command_line.h: a hand-written parser, because
// subcommands and repeated flags are beyond absl flags.
#include "client/command_line.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/instance_settings.h"
#include "client/suggest.h"
#include "client/table.h"
#include "common/graph_objects.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "re2/re2.h"

namespace graphmill::cli {
namespace {

// A flag any command may know. Which commands accept it is in
// CommandSpec::flags.
struct FlagSpec {
  absl::string_view name;        // Without "--".
  absl::string_view value_name;  // Empty for a boolean flag.
  bool repeatable;
};

constexpr FlagSpec kFlags[] = {
    {"server", "HOST:PORT", false},
    {"output", "table|json", false},
    {"timeout", "SECONDS", false},
    {"help", "", false},
    {"integration", "NAME", false},
    {"config", "KEY=VALUE", true},
    {"config-file", "FILE", false},
    {"config-env", "KEY=ENVVAR", true},
    {"unset-config", "KEY", true},
    {"schedule", "30m|1h|4h|8h|12h|1d|1w|disabled", false},
    {"cron", "EXPR", false},
    {"jitter", "SECONDS", false},
    {"disable-step", "STEP", true},
    {"enable-step", "STEP", true},
    {"rate-limit", "RPS", false},
    {"incremental", "on|off", false},
    {"look-back", "HOURS", false},
    {"full-run-every", "HOURS", false},
    {"full", "", false},
    {"j1-account", "ID", false},
    {"j1-token-env", "ENVVAR", false},
    {"j1-token-file", "FILE", false},
    {"j1-integration-instance", "ID", false},
    {"j1-base-url", "URL", false},
    {"j1-compress", "", false},
    {"no-j1-compress", "", false},
    {"no-upload", "", false},
    {"yes", "", false},
    {"watch", "", false},
    {"instance", "ID", false},
    {"limit", "N", false},
    {"type", "TYPE", false},
    {"class", "CLASS", false},
    {"property", "NAME=VALUE", true},
    {"property-string", "NAME=VALUE", true},
    {"direction", "in|out|both", false},
    {"depth", "N", false},
    {"root", "KEY", false},
    {"fold", "N", false},
    {"format", "jsonl|dot", false},
    {"kind", "created|updated|deleted", true},
    {"from", "SEQ", false},
    {"raw", "", false},
    {"until-caught-up", "", false},
    {"role", "admin|reader|worker", false},
    {"url", "URL", false},
    // Connection (global).
    {"token-file", "FILE", false},
    {"tls-ca-file", "FILE", false},
    {"tls-cert-file", "FILE", false},
    {"tls-key-file", "FILE", false},
    {"insecure", "", false},
};

// The largest --j1-token-file read; a token is far smaller.
constexpr size_t kMaxTokenFileBytes = 64 * 1024;

bool IsGlobalFlag(absl::string_view name) {
  return name == "server" || name == "output" || name == "timeout" ||
         name == "help" || name == "token-file" || name == "tls-ca-file" ||
         name == "tls-cert-file" || name == "tls-key-file" ||
         name == "insecure";
}

const FlagSpec* FindFlag(absl::string_view name) {
  for (const FlagSpec& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

struct CommandSpec {
  Command command;
  // A command of a group is "GROUP NAME"; a standalone command ("subscribe")
  // has its name in `group` and an empty `name`. A NAME of two words
  // ("webhooks install") is a command of a subgroup ("instance webhooks").
  std::string group;
  std::string name;
  // Names of the positional arguments, in order; all are required.
  std::vector<std::string> positionals;
  // Accepted command flags (global flags are always accepted) with their help.
  // "name=VALUE" shows VALUE instead of the flag's usual value name.
  std::vector<std::pair<std::string, std::string>> flags;
  // What follows "graphmill GROUP NAME" in the usage line.
  std::string synopsis;
  std::string summary;
};

using FlagHelp = std::vector<std::pair<std::string, std::string>>;

// Settings shared by `instance create` and `instance update`.
FlagHelp InstanceSettingFlags(bool update) {
  FlagHelp flags = {
      {"config", "a config value; repeatable"},
      {"config-file",
       "a flat JSON object of config values; --config and --config-env "
       "override it"},
      {"config-env",
       "a config value read from environment variable ENVVAR, so a secret "
       "stays out of shell history and ps; repeatable"},
  };
  if (update) {
    flags.push_back({"unset-config",
                     "remove an optional config field; "
                     "repeatable"});
  }
  FlagHelp rest = {
      {"schedule", "run on its own at this interval; disabled: manual only"},
      {"cron", "run on its own on a five-field UTC cron expression instead"},
      {"jitter",
       "delay each scheduled run by a stable offset below SECONDS (default: 5% "
       "of the interval, at most 5 minutes)"},
      {"disable-step", "do not run this step (and its dependents); repeatable"},
  };
  flags.insert(flags.end(), rest.begin(), rest.end());
  if (update) {
    flags.push_back({"enable-step", "run a disabled step again; repeatable"});
  }
  rest = {
      {"rate-limit",
       "provider requests per second for the whole run (0: the integration's "
       "default)"},
      {"incremental",
       "off: every run re-fetches everything; on (the default): a run after a "
       "finalized one skips what the provider no longer changes"},
      {"look-back",
       "incremental runs re-fetch pipelines created in the last HOURS (0: "
       "24)"},
      {"full-run-every",
       "a full run at least every HOURS, which deletes what the provider "
       "deleted among what incremental runs skip (0: 24)"},
      {"j1-account", "upload each finished run to this JupiterOne account"},
      {"j1-token-env",
       "the JupiterOne API token, from environment variable "
       "ENVVAR"},
      {"j1-token-file", "the JupiterOne API token, from FILE"},
      {"j1-integration-instance",
       "the JupiterOne integration instance the data is reported under"},
      {"j1-base-url",
       "JupiterOne API base URL (default: https://api.us.jupiterone.io)"},
      {"j1-compress", "gzip upload request bodies"},
  };
  flags.insert(flags.end(), rest.begin(), rest.end());
  if (update) {
    flags.push_back({"no-j1-compress", "stop gzipping upload request bodies"});
    flags.push_back({"no-upload", "stop uploading to JupiterOne"});
  }
  return flags;
}

const std::vector<CommandSpec>& Commands() {
  static const auto* commands = new std::vector<CommandSpec>{
      {Command::kIntegrationList,
       "integration",
       "list",
       {},
       {},
       "",
       "List the integrations that connected workers implement."},
      {Command::kIntegrationDescribe,
       "integration",
       "describe",
       {"INTEGRATION"},
       {},
       "INTEGRATION",
       "Show an integration's config fields (type, secret, optional, "
       "default) and steps (id, name, dependencies, the types they make): "
       "what --config, --disable-step and --enable-step take."},
      {Command::kInstanceCreate,
       "instance",
       "create",
       {"ID"},
       [] {
         FlagHelp flags = {
             {"integration",
              "integration the instance uses (see: graphmill integration "
              "list)"}};
         FlagHelp settings = InstanceSettingFlags(/*update=*/false);
         flags.insert(flags.end(), settings.begin(), settings.end());
         return flags;
       }(),
       "ID --integration NAME [--config KEY=VALUE]... [--config-file FILE] "
       "[--config-env KEY=ENVVAR]... [--schedule INTERVAL | --cron EXPR] "
       "[--jitter SECONDS] [--disable-step STEP]... [--rate-limit RPS] "
       "[--incremental on|off] [--look-back HOURS] [--full-run-every HOURS] "
       "[--j1-account ID (--j1-token-env ENVVAR | --j1-token-file FILE) "
       "--j1-integration-instance ID [--j1-base-url URL] [--j1-compress]]",
       "Create an instance: an integration's credentials and options. Secret "
       "values are sent, never printed; the coordinator shows them as ***."},
      {Command::kInstanceList,
       "instance",
       "list",
       {},
       {},
       "",
       "List instances."},
      {Command::kInstanceGet,
       "instance",
       "get",
       {"ID"},
       {},
       "ID",
       "Show one instance: config, schedule, next run, disabled steps, rate "
       "limit and upload target."},
      {Command::kInstanceUpdate,
       "instance",
       "update",
       {"ID"},
       InstanceSettingFlags(/*update=*/true),
       "ID [--config KEY=VALUE]... [--config-file FILE] "
       "[--config-env KEY=ENVVAR]... [--unset-config KEY]... "
       "[--schedule INTERVAL | --cron EXPR] [--jitter SECONDS] "
       "[--disable-step STEP]... [--enable-step STEP]... [--rate-limit RPS] "
       "[--incremental on|off] [--look-back HOURS] [--full-run-every HOURS] "
       "[--j1-account ID] [--j1-token-env ENVVAR | --j1-token-file FILE] "
       "[--j1-integration-instance ID] [--j1-base-url URL] "
       "[--j1-compress | --no-j1-compress] [--no-upload]",
       "Change an instance. Only what is given changes: the instance is read, "
       "changed and sent back whole; secrets not given keep their stored "
       "values."},
      {Command::kInstanceDelete,
       "instance",
       "delete",
       {"ID"},
       {{"yes",
         "do not ask for confirmation (required when stdin is not a "
         "terminal)"}},
       "ID [--yes]",
       "Delete an instance with its runs, graph and change history."},
      {Command::kInstanceValidate,
       "instance",
       "validate",
       {"ID"},
       {},
       "ID",
       "Check an instance's credentials with the provider. Prints 'valid: "
       "...' (exit 0) or 'invalid: ...' (exit 1)."},
      {Command::kInstanceWebhooksInstall,
       "instance",
       "webhooks install",
       {"ID"},
       {{"url",
         "the public base URL that reaches the coordinator's "
         "--webhook_listen, e.g. https://hooks.example.com (https; http only "
         "to a loopback host); /webhooks/ID is appended (required)"}},
       "ID --url URL",
       "Register the coordinator's webhook endpoint with the provider, with "
       "the instance's credentials (held by the coordinator), on every "
       "resource of the instance's graph that sends webhooks (CircleCI "
       "projects, Heroku apps), signed with its webhookSecret. Prints one "
       "line per resource: created, exists (a webhook with that URL was "
       "there) or error; exits 1 if any failed. Run it again after errors or "
       "once runs found new resources."},
      {Command::kRunStart,
       "run",
       "start",
       {"INSTANCE"},
       {{"watch", "follow the run until it ends, as 'graphmill run watch'"},
        {"full",
         "re-fetch everything, even where the run would be incremental"}},
       "INSTANCE [--watch] [--full]",
       "Start a run of an instance and print its id. After a finalized run "
       "a run is incremental unless the instance says otherwise: it skips "
       "what the provider no longer changes and keeps it as it is."},
      {Command::kRunWatch,
       "run",
       "watch",
       {"RUN_ID"},
       {},
       "RUN_ID",
       "Follow a run until it ends: progress, step changes, events and upload "
       "progress. Exits 0 when the run SUCCEEDED, 2 when PARTIAL, 1 when "
       "FAILED or CANCELLED."},
      {Command::kRunShow,
       "run",
       "show",
       {"RUN_ID"},
       {},
       "RUN_ID",
       "Show a run: status, trigger, times, steps, graph changes, upload and "
       "events."},
      {Command::kRunList,
       "run",
       "list",
       {},
       {{"instance", "only runs of this instance"},
        {"limit", "at most N runs, newest first (default: 50)"}},
       "[--instance ID] [--limit N]",
       "List runs, newest first."},
      {Command::kRunCancel,
       "run",
       "cancel",
       {"RUN_ID"},
       {},
       "RUN_ID",
       "Cancel an active run; the graph is left unchanged."},
      {Command::kRunUpload,
       "run",
       "upload",
       {"RUN_ID"},
       {},
       "RUN_ID",
       "Upload a finished run to JupiterOne again (after a failed upload) and "
       "print its upload status."},
      {Command::kGraphEntities,
       "graph",
       "entities",
       {},
       {{"instance", "the instance whose graph is read (required)"},
        {"type", "only entities of this _type"},
        {"class", "only entities with this _class"},
        {"property",
         "only entities whose property NAME equals VALUE (true/false, "
         "integer, decimal and null are typed; other values are strings); "
         "repeatable"},
        {"property-string", "as --property, VALUE always a string; repeatable"},
        {"limit", "stop after N entities"},
        {"raw", "include _rawData (JSON output)"}},
       "--instance ID [--type TYPE] [--class CLASS] [--property NAME=VALUE]... "
       "[--property-string NAME=VALUE]... [--limit N] [--raw]",
       "List an instance's entities; JSON output is one JupiterOne flat object "
       "per line."},
      {Command::kGraphRelationships,
       "graph",
       "relationships",
       {},
       {{"instance", "the instance whose graph is read (required)"},
        {"type", "only relationships of this _type"},
        {"class", "only relationships with this _class"},
        {"property",
         "only relationships whose property NAME equals VALUE (typed as in "
         "graph entities); repeatable"},
        {"property-string", "as --property, VALUE always a string; repeatable"},
        {"limit", "stop after N relationships"}},
       "--instance ID [--type TYPE] [--class CLASS] [--property NAME=VALUE]... "
       "[--property-string NAME=VALUE]... [--limit N]",
       "List an instance's relationships; JSON output is one JupiterOne flat "
       "object per line."},
      {Command::kGraphEntity,
       "graph",
       "entity",
       {"KEY"},
       {{"instance", "the instance whose graph is read (required)"},
        {"raw", "include _rawData"}},
       "--instance ID [--raw] KEY",
       "Show one entity by _key."},
      {Command::kGraphNeighbors,
       "graph",
       "neighbors",
       {"KEY"},
       {{"instance", "the instance whose graph is read (required)"},
        {"direction",
         "relationships from the entity (out), to it (in) or both (default)"},
        {"class", "only relationships with this _class, e.g. HAS"},
        {"limit", "stop after N neighbors"},
        {"depth",
         "follow relationships up to N hops out (1 to 5, default 1), each "
         "entity expanded once; adds DEPTH and FROM"},
        {"raw", "include the neighbors' _rawData (JSON output)"}},
       "--instance ID [--direction in|out|both] [--class CLASS] [--limit N] "
       "[--depth N] [--raw] KEY",
       "List the entities connected to one entity, with the relationships "
       "that connect them; with --depth, their neighbors too."},
      {Command::kGraphExport,
       "graph",
       "export",
       {},
       {{"instance", "the instance whose graph is read (required)"},
        {"format",
         "jsonl: JupiterOne flat JSON, entities then relationships; dot: a "
         "Graphviz digraph (required)"},
        {"type",
         "only objects (entities and relationships) of this _type; "
         "repeatable"},
        {"class", "only objects with this _class; repeatable"},
        {"root",
         "only the entities within --depth hops of this entity (either "
         "direction) and their relationships"},
        {"depth", "hops from --root (1 to 5, default 1)"},
        {"fold",
         "dot: fold groups of more than N edges of one _class to one _type "
         "into a \"+M type\" node (default 8; 0 draws all)"},
        {"raw", "include _rawData (jsonl)"}},
       "--instance ID --format jsonl|dot [--type TYPE]... [--class CLASS]... "
       "[--root KEY [--depth N]] [--fold N] [--raw]",
       "Write an instance's graph to stdout, streaming page by page: all of "
       "it, the part around one entity, or the objects whose _type and _class "
       "match the filters."},
      {Command::kGraphCount,
       "graph",
       "count",
       {},
       {{"instance", "the instance whose graph is counted (required)"}},
       "--instance ID",
       "Count an instance's entities and relationships by _type and by "
       "_class, from one consistent snapshot."},
      {Command::kGraphSnapshot,
       "graph",
       "snapshot",
       {},
       {{"instance", "the instance whose graph is read (required)"},
        {"raw", "include _rawData"}},
       "--instance ID [--raw]",
       "Print a consistent copy of an instance's graph: '# as of sequence N', "
       "then one JupiterOne flat object per line. Follow it with 'graphmill "
       "subscribe --from N'."},
      {Command::kSubscribe,
       "subscribe",
       "",
       {},
       {{"instance",
         "only changes of this instance; repeatable (default: all)"},
        {"type=RE", "RE2 pattern the object's _type must fully match"},
        {"class=RE",
         "RE2 pattern one of the object's _class values must fully "
         "match"},
        {"kind", "only changes of this kind; repeatable (default: all)"},
        {"from",
         "deliver the changes after sequence SEQ, the last one already "
         "processed (default: 0, the earliest retained)"},
        {"raw", "include _rawData"},
        {"until-caught-up",
         "exit 0 once the stored changes are delivered, before live ones"}},
       "[--instance ID]... [--type RE] [--class RE] "
       "[--kind created|updated|deleted]... [--from SEQ] [--raw] "
       "[--until-caught-up]",
       "Stream graph changes as JSON lines until the server ends the stream "
       "or Ctrl-C (exit 0). Between the stored changes and the live ones, "
       "'# caught up at sequence N' goes to stderr."},
      {Command::kTokenCreate,
       "token",
       "create",
       {"NAME"},
       {{"role",
         "admin: everything; reader: graph reads, subscribe and admin reads; "
         "worker: the worker gateway only (required)"}},
       "NAME --role admin|reader|worker",
       "Create a bearer token and print it alone on the last line of stdout. "
       "It is shown only this once (the coordinator keeps only its hash): "
       "store it now. NAME: 1-64 of a-z, 0-9, '.', '_', '-'."},
      {Command::kTokenList,
       "token",
       "list",
       {},
       {},
       "",
       "List tokens: names, roles and creation times, never the tokens."},
      {Command::kTokenRevoke,
       "token",
       "revoke",
       {"NAME"},
       {},
       "NAME",
       "Revoke a token: calls with it fail from now on. To rotate, create a "
       "new token, switch to it, then revoke the old one; the last admin "
       "token cannot be revoked."},
      {Command::kCompletion,
       "completion",
       "",
       {"SHELL"},
       {},
       "bash|zsh|fish",
       "Print a shell completion script for commands and flags. bash: "
       "source <(graphmill completion bash); zsh: source <(graphmill "
       "completion zsh); fish: graphmill completion fish | source."},
  };
  return *commands;
}

constexpr absl::string_view kGroups[][2] = {
    {"integration", "integrations that connected workers implement"},
    {"instance", "instances: an integration's credentials and options"},
    {"run", "runs: one ingestion of an instance"},
    {"graph", "an instance's current graph"},
    {"token", "bearer tokens: who may call the coordinator, with which role"},
};

bool IsGroup(absl::string_view name) {
  for (const auto& group : kGroups) {
    if (group[0] == name) return true;
  }
  return false;
}

const CommandSpec* FindCommand(absl::string_view group,
                               absl::string_view name) {
  for (const CommandSpec& spec : Commands()) {
    if (spec.group == group && spec.name == name) return &spec;
  }
  return nullptr;
}

// A command without subcommands, such as "subscribe"; nullptr otherwise.
const CommandSpec* FindStandalone(absl::string_view name) {
  return FindCommand(name, "");
}

std::string CommandPath(const CommandSpec& spec) {
  return spec.name.empty() ? spec.group
                           : absl::StrCat(spec.group, " ", spec.name);
}

std::vector<std::string> SubcommandNames(absl::string_view group) {
  std::vector<std::string> names;
  for (const CommandSpec& spec : Commands()) {
    if (spec.group == group) names.push_back(spec.name);
  }
  return names;
}

// The first words of a group's subcommands, once each: "create", ...,
// "webhooks" (a subgroup).
std::vector<std::string> SubcommandWords(absl::string_view group) {
  std::vector<std::string> words;
  for (const CommandSpec& spec : Commands()) {
    if (spec.group != group) continue;
    std::string word = spec.name.substr(0, spec.name.find(' '));
    if (std::find(words.begin(), words.end(), word) == words.end()) {
      words.push_back(std::move(word));
    }
  }
  return words;
}

// The subcommands of subgroup "GROUP SUB" ("install" of "instance
// webhooks"); empty when it is not one.
std::vector<std::string> SubgroupCommands(absl::string_view group,
                                          absl::string_view sub) {
  std::vector<std::string> names;
  const std::string prefix = absl::StrCat(sub, " ");
  for (const CommandSpec& spec : Commands()) {
    if (spec.group == group && absl::StartsWith(spec.name, prefix)) {
      names.push_back(spec.name.substr(prefix.size()));
    }
  }
  return names;
}

// The words that may start a command: groups and standalone commands.
std::vector<std::string> TopLevelNames() {
  std::vector<std::string> names;
  for (const auto& group : kGroups) names.emplace_back(group[0]);
  for (const CommandSpec& spec : Commands()) {
    if (spec.name.empty()) names.push_back(spec.group);
  }
  return names;
}

std::vector<std::string> AllFlagNames() {
  std::vector<std::string> names;
  for (const FlagSpec& flag : kFlags) names.emplace_back(flag.name);
  return names;
}

bool AcceptsFlag(const CommandSpec& spec, absl::string_view name) {
  if (IsGlobalFlag(name)) return true;
  for (const auto& [flag, help] : spec.flags) {
    if (absl::string_view(flag).substr(0, flag.find('=')) == name) return true;
  }
  return false;
}

// subscribe takes --instance once per instance, and graph export --type and
// --class once per value; elsewhere each names one.
bool IsRepeatable(const CommandSpec& spec, const FlagSpec& flag) {
  return flag.repeatable ||
         (spec.command == Command::kSubscribe && flag.name == "instance") ||
         (spec.command == Command::kGraphExport &&
          (flag.name == "type" || flag.name == "class"));
}

// "graphmill", "graphmill run" or "graphmill run show": as much of the command
// as is known.
std::string KnownCommandPrefix(const std::vector<std::string>& positionals) {
  if (!positionals.empty() && FindStandalone(positionals[0]) != nullptr) {
    return absl::StrCat("graphmill ", positionals[0]);
  }
  if (positionals.empty() || !IsGroup(positionals[0])) return "graphmill";
  if (positionals.size() >= 3 &&
      FindCommand(positionals[0], absl::StrCat(positionals[1], " ",
                                               positionals[2])) != nullptr) {
    return absl::StrCat("graphmill ", positionals[0], " ", positionals[1], " ",
                        positionals[2]);
  }
  if (positionals.size() < 2 ||
      FindCommand(positionals[0], positionals[1]) == nullptr) {
    return absl::StrCat("graphmill ", positionals[0]);
  }
  return absl::StrCat("graphmill ", positionals[0], " ", positionals[1]);
}

std::string FirstSentence(const std::string& text) {
  const size_t end = text.find(". ");
  return end == std::string::npos ? text : text.substr(0, end + 1);
}

absl::Status Usage(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

struct FlagOccurrence {
  const FlagSpec* spec;
  std::string value;
};

absl::StatusOr<std::pair<std::string, std::string>> SplitAssignment(
    absl::string_view flag, absl::string_view shape, const std::string& value) {
  const size_t equals = value.find('=');
  if (equals == std::string::npos || equals == 0) {
    return Usage(
        absl::StrCat("--", flag, " expects ", shape, ", got '", value, "'"));
  }
  return std::make_pair(value.substr(0, equals), value.substr(equals + 1));
}

absl::StatusOr<std::map<std::string, std::string>> ReadConfigFile(
    const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Usage(absl::StrCat("--config-file '", path,
                              "': cannot read: ", std::strerror(errno)));
  }
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return Usage(absl::StrCat("--config-file '", path, "': cannot read"));
  }
  return ParseConfigJson(text.str(),
                         absl::StrCat("--config-file '", path, "'"));
}

absl::StatusOr<int64_t> ParsePositive(absl::string_view what,
                                      const std::string& text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value <= 0) {
    return Usage(
        absl::StrCat(what, " expects a positive integer, got '", text, "'"));
  }
  return value;
}

absl::StatusOr<int64_t> ParseNonNegative(absl::string_view flag,
                                         absl::string_view what,
                                         const std::string& text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 0) {
    return Usage(absl::StrCat("--", flag, " expects a non-negative ", what,
                              ", got '", text, "'"));
  }
  return value;
}

// Reads a secret from a file: surrounding whitespace (a trailing newline) is
// dropped. Messages name the file (as `what`, e.g. "--j1-token-file"), never
// its content.
absl::StatusOr<std::string> ReadTokenFile(
    const std::string& path, absl::string_view what = "--j1-token-file") {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Usage(absl::StrCat(what, " '", path,
                              "': cannot read: ", std::strerror(errno)));
  }
  std::string content(kMaxTokenFileBytes + 1, '\0');
  file.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (file.bad()) {
    return Usage(absl::StrCat(what, " '", path, "': cannot read"));
  }
  content.resize(static_cast<size_t>(file.gcount()));
  if (content.size() > kMaxTokenFileBytes) {
    return Usage(absl::StrCat(what, " '", path, "': larger than ",
                              kMaxTokenFileBytes, " bytes"));
  }
  const absl::string_view token = absl::StripAsciiWhitespace(content);
  if (token.empty()) {
    return Usage(absl::StrCat(what, " '", path, "': file is empty"));
  }
  return std::string(token);
}

// The token file read when neither --token-file nor GRAPHMILL_TOKEN gives one;
// empty without $XDG_CONFIG_HOME and $HOME.
std::string DefaultTokenFile(const EnvLookup& env) {
  if (std::optional<std::string> config = env("XDG_CONFIG_HOME");
      config.has_value() && !config->empty()) {
    return absl::StrCat(*config, "/graphmill/token");
  }
  if (std::optional<std::string> home = env("HOME");
      home.has_value() && !home->empty()) {
    return absl::StrCat(*home, "/.config/graphmill/token");
  }
  return "";
}

// The token in DefaultTokenFile, or nullopt if there is no such file.
absl::StatusOr<std::optional<std::string>> ReadDefaultToken(
    const EnvLookup& env) {
  const std::string path = DefaultTokenFile(env);
  struct stat info;
  if (path.empty() || stat(path.c_str(), &info) != 0) return std::nullopt;
  absl::StatusOr<std::string> token = ReadTokenFile(path, "token file");
  if (!token.ok()) return token.status();
  return std::optional<std::string>(*std::move(token));
}

// "-?digits", the whole text.
bool IsInteger(absl::string_view text) {
  if (absl::ConsumePrefix(&text, "-") && text.empty()) return false;
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), absl::ascii_isdigit);
}

// A decimal number with a fraction or an exponent: -?(d+.d*|.d+)([eE][+-]?d+)?
// or -?d+[eE][+-]?d+.
bool IsDecimal(absl::string_view text) {
  absl::ConsumePrefix(&text, "-");
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
    return i - start;
  };
  const size_t integer_digits = digits();
  bool fraction = false;
  size_t fraction_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    fraction = true;
    fraction_digits = digits();
  }
  if (integer_digits + fraction_digits == 0) return false;
  bool exponent = false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (digits() == 0) return false;
    exponent = true;
  }
  return i == text.size() && (fraction || exponent);
}

// True if `list` holds `item`.
template <typename T>
bool Contains(const std::vector<T>& list, const T& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

bool InstanceSettings::HasUploadFlags() const {
  return j1_account_id.has_value() || j1_api_token.has_value() ||
         j1_integration_instance_id.has_value() || j1_base_url.has_value() ||
         j1_compress.has_value();
}

bool InstanceSettings::Any() const {
  return interval.has_value() || cron.has_value() ||
         jitter_seconds.has_value() || !disable_steps.empty() ||
         !enable_steps.empty() || rate_limit_per_second.has_value() ||
         incremental.has_value() || look_back_hours.has_value() ||
         full_run_every_hours.has_value() || HasUploadFlags() || no_upload;
}

absl::StatusOr<v1::Value> ParsePropertyValue(absl::string_view text) {
  if (text == "true" || text == "false") return BoolValue(text == "true");
  if (text == "null") return NullValue();
  if (IsInteger(text)) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(text, &value)) {
      return Usage(absl::StrCat("integer '", text, "' is out of range"));
    }
    return IntValue(value);
  }
  if (IsDecimal(text)) {
    double value = 0;
    if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) {
      return Usage(absl::StrCat("number '", text, "' is out of range"));
    }
    return DoubleValue(value);
  }
  return StringValue(text);
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<std::map<std::string, std::string>> ParseConfigJson(
    absl::string_view json, absl::string_view source) {
  rapidjson::Document document;
  // Numbers keep their text: "1.50" stays "1.50" and large integers lose
  // nothing.
  document.Parse<rapidjson::kParseNumbersAsStringsFlag>(json.data(),
                                                        json.size());
  if (document.HasParseError()) {
    return Usage(absl::StrCat(
        source, ": invalid JSON at offset ", document.GetErrorOffset(), ": ",
        rapidjson::GetParseError_En(document.GetParseError())));
  }
  if (!document.IsObject()) {
    return Usage(
        absl::StrCat(source, ": expected a JSON object of config values"));
  }
  std::map<std::string, std::string> config;
  for (const auto& member : document.GetObject()) {
    const std::string name(member.name.GetString(),
                           member.name.GetStringLength());
    const rapidjson::Value& value = member.value;
    if (value.IsString()) {
      config[name] = std::string(value.GetString(), value.GetStringLength());
    } else if (value.IsBool()) {
      config[name] = value.GetBool() ? "true" : "false";
    } else {
      return Usage(absl::StrCat(source, ": value of '", name,
                                "' must be a string, boolean or number"));
    }
  }
  return config;
}

absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args, const EnvLookup& env) {
  std::vector<std::string> positionals;
  std::vector<FlagOccurrence> flags;
  std::string unknown_flag;
  bool help = false;
  bool only_positionals = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positionals || arg.size() < 2 || arg[0] != '-') {
      positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positionals = true;
      continue;
    }
    if (arg == "-h") {
      help = true;
      continue;
    }
    if (absl::StartsWith(arg, "-o")) {  // -o json, -o=json, -ojson
      std::string value = arg.substr(2);
      if (absl::StartsWith(value, "=")) value.erase(0, 1);
      if (value.empty() && i + 1 < args.size()) value = args[++i];
      if (value.empty()) return Usage("-o expects a value (table|json)");
      flags.push_back({FindFlag("output"), std::move(value)});
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      if (unknown_flag.empty()) unknown_flag = arg;
      continue;
    }
    const absl::string_view body = absl::string_view(arg).substr(2);
    const size_t equals = body.find('=');
    const absl::string_view name = body.substr(0, equals);
    const FlagSpec* spec = FindFlag(name);
    if (spec == nullptr) {
      if (unknown_flag.empty()) unknown_flag = absl::StrCat("--", name);
      continue;
    }
    FlagOccurrence occurrence{spec, ""};
    if (spec->value_name.empty()) {
      if (equals != absl::string_view::npos) {
        return Usage(absl::StrCat("--", name, " takes no value"));
      }
    } else if (equals != absl::string_view::npos) {
      occurrence.value = std::string(body.substr(equals + 1));
    } else if (i + 1 < args.size()) {
      occurrence.value = args[++i];
    }
    if (!spec->value_name.empty() && occurrence.value.empty()) {
      return Usage(absl::StrCat("--", name, " expects a value (",
                                spec->value_name, ")"));
    }
    if (name == "help") {
      help = true;
    } else {
      flags.push_back(std::move(occurrence));
    }
  }

  if (!positionals.empty() && positionals[0] == "help") {
    help = true;
    positionals.erase(positionals.begin());
  }
  if (unknown_flag == "--j1-token" && !help) {
    return Usage(
        "--j1-token is not accepted, so the token stays out of shell history "
        "and ps: use --j1-token-env ENVVAR or --j1-token-file FILE");
  }
  if (!unknown_flag.empty() && !help) {
    const std::string suggestion =
        absl::StartsWith(unknown_flag, "--")
            ? DidYouMean(absl::string_view(unknown_flag).substr(2),
                         AllFlagNames(), "--")
            : "";
    return Usage(absl::StrCat(
        "unknown flag '", unknown_flag, "'",
        suggestion.empty()
            ? absl::StrCat(" (try: ", KnownCommandPrefix(positionals),
                           " --help)")
            : suggestion));
  }
  CommandLine line;
  if (positionals.empty()) {
    if (help) {
      line.help = true;
      return line;
    }
    return Usage("missing command (try: graphmill --help)");
  }
  const std::string& group = positionals[0];
  const CommandSpec* spec = FindStandalone(group);
  // Index of the first positional argument after the command's name.
  size_t first_argument = 1;
  if (spec == nullptr) {
    if (!IsGroup(group)) {
      const std::string suggestion = DidYouMean(group, TopLevelNames());
      return Usage(absl::StrCat(
          "unknown command '", group, "'",
          suggestion.empty() ? " (try: graphmill --help)" : suggestion));
    }
    if (positionals.size() < 2) {
      if (help) {
        line.help = true;
        line.help_topic = group;
        return line;
      }
      return Usage(absl::StrCat(
          "missing subcommand for 'graphmill ", group,
          "' (expected: ", absl::StrJoin(SubcommandNames(group), ", "), ")"));
    }
    spec = FindCommand(group, positionals[1]);
    first_argument = 2;
    // A subgroup's command: "instance webhooks install".
    const std::vector<std::string> subgroup =
        spec == nullptr ? SubgroupCommands(group, positionals[1])
                        : std::vector<std::string>();
    if (!subgroup.empty()) {
      const std::string path = absl::StrCat(group, " ", positionals[1]);
      if (positionals.size() < 3) {
        if (help) {
          line.help = true;
          line.help_topic = path;
          return line;
        }
        return Usage(
            absl::StrCat("missing subcommand for 'graphmill ", path,
                         "' (expected: ", absl::StrJoin(subgroup, ", "), ")"));
      }
      spec =
          FindCommand(group, absl::StrCat(positionals[1], " ", positionals[2]));
      if (spec == nullptr) {
        const std::string suggestion =
            DidYouMean(positionals[2], subgroup, absl::StrCat(path, " "));
        return Usage(absl::StrCat(
            "unknown command '", path, " ", positionals[2], "'",
            suggestion.empty()
                ? absl::StrCat(" (try: graphmill ", path, " --help)")
                : suggestion));
      }
      first_argument = 3;
    }
    if (spec == nullptr) {
      const std::string suggestion = DidYouMean(
          positionals[1], SubcommandWords(group), absl::StrCat(group, " "));
      return Usage(absl::StrCat(
          "unknown command '", group, " ", positionals[1], "'",
          suggestion.empty()
              ? absl::StrCat(" (try: graphmill ", group, " --help)")
              : suggestion));
    }
  }
  line.command = spec->command;
  line.command_path = CommandPath(*spec);
  if (help) {
    line.help = true;
    line.help_topic = line.command_path;
    return line;
  }
  const std::string quoted_command =
      absl::StrCat("'graphmill ", line.command_path, "'");

  // Positional arguments.
  const size_t given = positionals.size() - first_argument;
  if (given > spec->positionals.size()) {
    return Usage(
        absl::StrCat("unexpected argument '",
                     positionals[first_argument + spec->positionals.size()],
                     "' for ", quoted_command));
  }
  if (given < spec->positionals.size()) {
    return Usage(absl::StrCat("missing ", spec->positionals[given], " for ",
                              quoted_command, " (usage: graphmill ",
                              line.command_path, " ", spec->synopsis, ")"));
  }
  for (size_t i = 0; i < given; ++i) {
    const std::string& name = spec->positionals[i];
    const std::string& value = positionals[first_argument + i];
    if (name == "RUN_ID") {
      absl::StatusOr<int64_t> run_id = ParsePositive("RUN_ID", value);
      if (!run_id.ok()) return run_id.status();
      line.run_id = *run_id;
    } else if (name == "KEY") {
      line.entity_key = value;
    } else if (name == "NAME") {
      line.token_name = value;
    } else if (name == "INTEGRATION") {
      line.integration = value;
    } else if (name == "SHELL") {
      if (value != "bash" && value != "zsh" && value != "fish") {
        return Usage(absl::StrCat("completion: unknown shell '", value,
                                  "' (expected bash, zsh or fish)"));
      }
      line.shell = value;
    } else {
      line.instance_id = value;
    }
  }

  // Flags: acceptance and repetition first, then values in command-line order.
  for (size_t i = 0; i < flags.size(); ++i) {
    const FlagSpec& flag = *flags[i].spec;
    if (!AcceptsFlag(*spec, flag.name)) {
      return Usage(absl::StrCat("flag '--", flag.name, "' is not valid for ",
                                quoted_command, " (try: graphmill ",
                                line.command_path, " --help)"));
    }
    if (IsRepeatable(*spec, flag)) continue;
    for (size_t j = 0; j < i; ++j) {
      if (flags[j].spec == &flag) {
        return Usage(absl::StrCat("--", flag.name, " given more than once"));
      }
    }
  }
  if (std::optional<std::string> server = env("GRAPHMILL_SERVER");
      server.has_value() && !server->empty()) {
    line.server = *server;
  }
  for (const FlagOccurrence& occurrence : flags) {
    if (occurrence.spec->name == "token-file") {
      absl::StatusOr<std::string> token =
          ReadTokenFile(occurrence.value, "--token-file");
      if (!token.ok()) return token.status();
      line.token = *std::move(token);
      line.token_source = absl::StrCat("--token-file ", occurrence.value);
    }
  }
  if (std::optional<std::string> token = env("GRAPHMILL_TOKEN");
      line.token_source.empty() && token.has_value() && !token->empty()) {
    line.token = *token;
    line.token_source = "$GRAPHMILL_TOKEN";
  }
  if (line.token_source.empty()) {
    absl::StatusOr<std::optional<std::string>> token = ReadDefaultToken(env);
    if (!token.ok()) return token.status();
    if (token->has_value()) {
      line.token = **std::move(token);
      line.token_source = DefaultTokenFile(env);
    }
  }
  for (const FlagOccurrence& occurrence : flags) {
    if (occurrence.spec->name == "config-file") {
      absl::StatusOr<std::map<std::string, std::string>> file_config =
          ReadConfigFile(occurrence.value);
      if (!file_config.ok()) return file_config.status();
      line.config = *std::move(file_config);
    }
  }
  InstanceSettings& settings = line.settings;
  for (const FlagOccurrence& occurrence : flags) {
    const absl::string_view name = occurrence.spec->name;
    const std::string& value = occurrence.value;
    if (name == "server") {
      line.server = value;
    } else if (name == "output") {
      if (value == "table") {
        line.output = OutputFormat::kTable;
      } else if (value == "json") {
        line.output = OutputFormat::kJson;
      } else {
        return Usage(
            absl::StrCat("--output expects table or json, got '", value, "'"));
      }
    } else if (name == "tls-ca-file") {
      line.tls.ca_file = value;
    } else if (name == "tls-cert-file") {
      line.tls.cert_file = value;
    } else if (name == "tls-key-file") {
      line.tls.key_file = value;
    } else if (name == "insecure") {
      line.tls.insecure = true;
    } else if (name == "timeout") {
      double seconds = 0;
      if (!absl::SimpleAtod(value, &seconds) || !std::isfinite(seconds) ||
          seconds <= 0) {
        return Usage(absl::StrCat(
            "--timeout expects a positive number of seconds, got '", value,
            "'"));
      }
      line.timeout = absl::Seconds(seconds);
    } else if (name == "integration") {
      line.integration = value;
    } else if (name == "config") {
      absl::StatusOr<std::pair<std::string, std::string>> entry =
          SplitAssignment(name, "KEY=VALUE", value);
      if (!entry.ok()) return entry.status();
      line.config[entry->first] = entry->second;
    } else if (name == "config-env") {
      absl::StatusOr<std::pair<std::string, std::string>> entry =
          SplitAssignment(name, "KEY=ENVVAR", value);
      if (!entry.ok()) return entry.status();
      std::optional<std::string> env_value = env(entry->second);
      if (!env_value.has_value()) {
        return Usage(absl::StrCat("--config-env ", entry->first,
                                  ": environment variable '", entry->second,
                                  "' is not set"));
      }
      line.config[entry->first] = *std::move(env_value);
    } else if (name == "unset-config") {
      if (!Contains(line.unset_config, value)) {
        line.unset_config.push_back(value);
      }
    } else if (name == "schedule") {
      settings.interval = ParsePollingInterval(value);
      if (!settings.interval.has_value()) {
        return Usage(absl::StrCat("--schedule expects ",
                                  PollingIntervalChoices(), ", got '", value,
                                  "'"));
      }
    } else if (name == "cron") {
      const std::vector<absl::string_view> fields =
          absl::StrSplit(value, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      if (fields.size() != 5) {
        return Usage(absl::StrCat(
            "--cron expects five fields (minute hour day-of-month month "
            "day-of-week), got '",
            value, "'"));
      }
      settings.cron = absl::StrJoin(fields, " ");
    } else if (name == "jitter") {
      absl::StatusOr<int64_t> seconds =
          ParseNonNegative(name, "number of seconds", value);
      if (!seconds.ok() || *seconds > std::numeric_limits<int32_t>::max()) {
        return Usage(absl::StrCat(
            "--jitter expects a non-negative number of seconds, got '", value,
            "'"));
      }
      settings.jitter_seconds = static_cast<int32_t>(*seconds);
    } else if (name == "disable-step") {
      if (!Contains(settings.disable_steps, value)) {
        settings.disable_steps.push_back(value);
      }
    } else if (name == "enable-step") {
      if (!Contains(settings.enable_steps, value)) {
        settings.enable_steps.push_back(value);
      }
    } else if (name == "rate-limit") {
      double rate = 0;
      if (!absl::SimpleAtod(value, &rate) || !std::isfinite(rate) || rate < 0) {
        return Usage(absl::StrCat(
            "--rate-limit expects a non-negative number of requests per "
            "second, got '",
            value, "'"));
      }
      settings.rate_limit_per_second = rate;
    } else if (name == "incremental") {
      if (value != "on" && value != "off") {
        return Usage(
            absl::StrCat("--incremental expects on or off, got '", value, "'"));
      }
      settings.incremental = value == "on";
    } else if (name == "look-back" || name == "full-run-every") {
      absl::StatusOr<int64_t> hours =
          ParseNonNegative(name, "number of hours", value);
      if (!hours.ok()) return hours.status();
      if (*hours > kMaxSettingHours) {
        return Usage(absl::StrCat("--", name, " is at most ", kMaxSettingHours,
                                  " hours (10 years)"));
      }
      (name == "look-back" ? settings.look_back_hours
                           : settings.full_run_every_hours) = *hours;
    } else if (name == "j1-account") {
      settings.j1_account_id = value;
    } else if (name == "j1-token-env") {
      if (settings.j1_api_token.has_value()) {
        return Usage(
            "--j1-token-env and --j1-token-file cannot be used together");
      }
      std::optional<std::string> token = env(value);
      if (!token.has_value() || token->empty()) {
        return Usage(absl::StrCat("--j1-token-env: environment variable '",
                                  value, "' is ",
                                  token.has_value() ? "empty" : "not set"));
      }
      settings.j1_api_token = *std::move(token);
    } else if (name == "j1-token-file") {
      if (settings.j1_api_token.has_value()) {
        return Usage(
            "--j1-token-env and --j1-token-file cannot be used together");
      }
      absl::StatusOr<std::string> token = ReadTokenFile(value);
      if (!token.ok()) return token.status();
      settings.j1_api_token = *std::move(token);
    } else if (name == "j1-integration-instance") {
      settings.j1_integration_instance_id = value;
    } else if (name == "j1-base-url") {
      if (!absl::StartsWith(value, "https://") &&
          !absl::StartsWith(value, "http://")) {
        return Usage(absl::StrCat(
            "--j1-base-url expects an http:// or https:// URL, got '", value,
            "'"));
      }
      settings.j1_base_url = value;
    } else if (name == "j1-compress" || name == "no-j1-compress") {
      if (settings.j1_compress.has_value()) {
        return Usage(
            "--j1-compress and --no-j1-compress cannot be used together");
      }
      settings.j1_compress = name == "j1-compress";
    } else if (name == "no-upload") {
      settings.no_upload = true;
    } else if (name == "yes") {
      line.yes = true;
    } else if (name == "watch") {
      line.watch = true;
    } else if (name == "full") {
      line.full = true;
    } else if (name == "instance") {
      if (line.command == Command::kSubscribe) {
        if (!Contains(line.instance_ids, value)) {
          line.instance_ids.push_back(value);
        }
      } else {
        line.instance_id = value;
      }
    } else if (name == "depth") {
      absl::StatusOr<int64_t> depth = ParsePositive("--depth", value);
      if (!depth.ok()) return depth.status();
      if (*depth > kMaxNeighborDepth) {
        return Usage(absl::StrCat("--depth is at most ", kMaxNeighborDepth,
                                  ", got ", *depth));
      }
      line.depth = static_cast<int>(*depth);
    } else if (name == "root") {
      line.root_key = value;
    } else if (name == "fold") {
      absl::StatusOr<int64_t> fold =
          ParseNonNegative(name, "number of edges", value);
      if (!fold.ok()) return fold.status();
      if (*fold > kMaxFold) {
        return Usage(absl::StrCat("--fold is at most ", kMaxFold, ", got ",
                                  *fold, " (0 draws every edge)"));
      }
      line.fold = static_cast<int>(*fold);
    } else if (name == "limit") {
      absl::StatusOr<int64_t> limit = ParsePositive("--limit", value);
      if (!limit.ok()) return limit.status();
      line.limit = *limit;
    } else if (name == "type" && line.command == Command::kGraphExport) {
      if (!Contains(line.types, value)) line.types.push_back(value);
    } else if (name == "class" && line.command == Command::kGraphExport) {
      if (!Contains(line.classes, value)) line.classes.push_back(value);
    } else if (name == "type") {
      line.type = value;
    } else if (name == "class") {
      line.class_name = value;
    } else if (name == "property" || name == "property-string") {
      absl::StatusOr<std::pair<std::string, std::string>> entry =
          SplitAssignment(name, "NAME=VALUE", value);
      if (!entry.ok()) return entry.status();
      if (line.properties.contains(entry->first)) {
        return Usage(
            absl::StrCat("property '", entry->first, "' given more than once"));
      }
      absl::StatusOr<v1::Value> parsed =
          name == "property-string" ? StringValue(entry->second)
                                    : ParsePropertyValue(entry->second);
      if (!parsed.ok()) {
        return Usage(absl::StrCat(
            "--property ", entry->first, ": ", parsed.status().message(),
            " (use --property-string to match it as a string)"));
      }
      line.properties[entry->first] = *std::move(parsed);
    } else if (name == "direction") {
      if (value == "in") {
        line.direction = v1::DIRECTION_IN;
      } else if (value == "out") {
        line.direction = v1::DIRECTION_OUT;
      } else if (value == "both") {
        line.direction = v1::DIRECTION_UNSPECIFIED;
      } else {
        return Usage(absl::StrCat("--direction expects in, out or both, got '",
                                  value, "'"));
      }
    } else if (name == "format") {
      if (value == "jsonl") {
        line.export_format = ExportFormat::kJsonLines;
      } else if (value == "dot") {
        line.export_format = ExportFormat::kDot;
      } else {
        return Usage(
            absl::StrCat("--format expects jsonl or dot, got '", value, "'"));
      }
    } else if (name == "kind") {
      v1::ChangeKind kind = v1::CHANGE_KIND_UNSPECIFIED;
      if (value == "created") {
        kind = v1::CHANGE_KIND_CREATED;
      } else if (value == "updated") {
        kind = v1::CHANGE_KIND_UPDATED;
      } else if (value == "deleted") {
        kind = v1::CHANGE_KIND_DELETED;
      } else {
        return Usage(absl::StrCat(
            "--kind expects created, updated or deleted, got '", value, "'"));
      }
      if (!Contains(line.kinds, kind)) line.kinds.push_back(kind);
    } else if (name == "from") {
      absl::StatusOr<int64_t> sequence =
          ParseNonNegative(name, "sequence number", value);
      if (!sequence.ok()) return sequence.status();
      line.after_sequence = *sequence;
    } else if (name == "raw") {
      line.raw = true;
    } else if (name == "until-caught-up") {
      line.until_caught_up = true;
    } else if (name == "url") {
      line.webhook_url = value;
    } else if (name == "role") {
      if (value == "admin") {
        line.token_role = v1::TOKEN_ROLE_ADMIN;
      } else if (value == "reader") {
        line.token_role = v1::TOKEN_ROLE_READER;
      } else if (value == "worker") {
        line.token_role = v1::TOKEN_ROLE_WORKER;
      } else {
        return Usage(absl::StrCat(
            "--role expects admin, reader or worker, got '", value, "'"));
      }
    }
  }

  // Combinations and required flags.
  if (line.command == Command::kTokenCreate &&
      line.token_role == v1::TOKEN_ROLE_UNSPECIFIED) {
    return Usage(absl::StrCat("missing --role admin|reader|worker for ",
                              quoted_command));
  }
  if (line.command == Command::kInstanceWebhooksInstall &&
      line.webhook_url.empty()) {
    return Usage(absl::StrCat("missing --url URL for ", quoted_command));
  }
  if (line.command == Command::kInstanceCreate && line.integration.empty()) {
    return Usage(
        absl::StrCat("missing --integration NAME for ", quoted_command));
  }
  if (settings.interval.has_value() && settings.cron.has_value()) {
    return Usage("--schedule and --cron cannot be used together");
  }
  for (const std::string& step : settings.enable_steps) {
    if (Contains(settings.disable_steps, step)) {
      return Usage(absl::StrCat("step '", step,
                                "' is given to both --disable-step and "
                                "--enable-step"));
    }
  }
  for (const std::string& key : line.unset_config) {
    if (line.config.contains(key)) {
      return Usage(
          absl::StrCat("config field '", key, "' is both set and unset"));
    }
  }
  if (settings.no_upload && settings.HasUploadFlags()) {
    return Usage("--no-upload cannot be used with --j1-* flags");
  }
  if (line.command == Command::kInstanceCreate) {
    if (settings.jitter_seconds.has_value() && !settings.interval.has_value() &&
        !settings.cron.has_value()) {
      return Usage("--jitter needs --schedule or --cron");
    }
    if (settings.HasUploadFlags()) {
      v1::JupiterOneUpload upload;
      upload.set_account_id(settings.j1_account_id.value_or(""));
      upload.set_integration_instance_id(
          settings.j1_integration_instance_id.value_or(""));
      const std::vector<std::string> missing =
          MissingUploadFlags(upload, settings.j1_api_token.has_value());
      if (!missing.empty()) {
        return Usage(absl::StrCat("JupiterOne upload is incomplete: missing ",
                                  absl::StrJoin(missing, ", ")));
      }
    }
  }
  if (line.command == Command::kInstanceUpdate && !settings.Any() &&
      line.config.empty() && line.unset_config.empty()) {
    return Usage(absl::StrCat("nothing to change for ", quoted_command,
                              " (try: graphmill instance update --help)"));
  }
  const bool reads_graph = line.command == Command::kGraphEntities ||
                           line.command == Command::kGraphRelationships ||
                           line.command == Command::kGraphEntity ||
                           line.command == Command::kGraphNeighbors ||
                           line.command == Command::kGraphExport ||
                           line.command == Command::kGraphCount ||
                           line.command == Command::kGraphSnapshot;
  if (reads_graph && line.instance_id.empty()) {
    return Usage(absl::StrCat("missing --instance ID for ", quoted_command));
  }
  if (line.command == Command::kGraphExport) {
    const auto given = [&](absl::string_view name) {
      return std::any_of(
          flags.begin(), flags.end(),
          [&](const FlagOccurrence& flag) { return flag.spec->name == name; });
    };
    if (!given("format")) {
      return Usage(
          absl::StrCat("missing --format jsonl|dot for ", quoted_command));
    }
    if (given("depth") && line.root_key.empty()) {
      return Usage("--depth needs --root KEY for graph export");
    }
    if (given("fold") && line.export_format != ExportFormat::kDot) {
      return Usage("--fold is for --format dot");
    }
  }
  if (line.command == Command::kSubscribe) {
    for (const auto& [flag, pattern] :
         {std::pair<absl::string_view, const std::string*>{"type", &line.type},
          {"class", &line.class_name}}) {
      if (pattern->empty()) continue;
      RE2 re(*pattern, RE2::Quiet);
      if (!re.ok()) {
        return Usage(
            absl::StrCat("--", flag, " '", *pattern,
                         "' is not a valid RE2 pattern: ", re.error()));
      }
    }
  }
  return line;
}

std::vector<CommandSummary> CommandSummaries() {
  std::vector<CommandSummary> summaries;
  for (const CommandSpec& spec : Commands()) {
    CommandSummary summary{CommandPath(spec), {}, FirstSentence(spec.summary)};
    for (const auto& [flag, help] : spec.flags) {
      summary.flags.push_back(flag.substr(0, flag.find('=')));
    }
    summaries.push_back(std::move(summary));
  }
  return summaries;
}

std::vector<std::string> GlobalFlagNames() {
  std::vector<std::string> names;
  for (const FlagSpec& flag : kFlags) {
    if (IsGlobalFlag(flag.name)) names.emplace_back(flag.name);
  }
  return names;
}

std::string UsageText(absl::string_view topic) {
  if (topic.empty()) {
    std::vector<std::pair<std::string, std::string>> commands;
    for (const CommandSpec& spec : Commands()) {
      commands.emplace_back(absl::StrCat("  ", CommandPath(spec)),
                            FirstSentence(spec.summary));
    }
    return absl::StrCat(
        "usage: graphmill [--server HOST:PORT] [--output table|json] "
        "[--timeout SECONDS] "
        "COMMAND [ARGS]\n\nCommands:\n",
        FormatKeyValues(commands),
        "\nGlobal flags (accepted anywhere on the line):\n",
        FormatKeyValues({
            {"  --server HOST:PORT",
             "coordinator address (default: $GRAPHMILL_SERVER, else "
             "127.0.0.1:7400)"},
            {"  -o, --output table|json", "output format (default: table)"},
            {"  --timeout SECONDS",
             "deadline of each call, streams excepted (run watch, graph "
             "snapshot, subscribe) (default: 30)"},
            {"  --token-file FILE",
             "bearer token sent with every call (default: $GRAPHMILL_TOKEN, "
             "else ~/.config/graphmill/token if it exists)"},
            {"  --tls-ca-file FILE",
             "connect with TLS: the PEM CA that signed the coordinator's "
             "certificate (without it: plaintext, to a loopback address only)"},
            {"  --tls-cert-file FILE, --tls-key-file FILE",
             "client certificate and key, for a coordinator that requires "
             "them (with --tls-ca-file)"},
            {"  --insecure",
             "allow plaintext to an address that is not loopback (the token "
             "and all data cross the network readable)"},
            {"  -h, --help",
             "usage; 'graphmill COMMAND --help' for one command"},
            {"  --version", "print the CLI's version"},
        }),
        "\nEnvironment: GRAPHMILL_SERVER (coordinator address), "
        "GRAPHMILL_TOKEN (bearer token "
        "sent with every call).\nExit status: 0 success, 1 failure, run "
        "FAILED/CANCELLED, instance invalid or a webhook not installed, 2 "
        "run PARTIAL, 64 usage "
        "error.\n");
  }
  std::vector<std::pair<std::string, std::string>> lines;
  for (const CommandSpec& spec : Commands()) {
    const std::string path = CommandPath(spec);
    if (path == topic) {
      std::vector<std::pair<std::string, std::string>> flag_help;
      for (const auto& [flag, help] : spec.flags) {
        const size_t equals = flag.find('=');
        const std::string name = flag.substr(0, equals);
        const absl::string_view value_name =
            equals == std::string::npos
                ? FindFlag(name)->value_name
                : absl::string_view(flag).substr(equals + 1);
        flag_help.emplace_back(absl::StrCat("  --", name, " ", value_name),
                               help);
      }
      std::string text = absl::StrCat(
          "usage: graphmill ", path, spec.synopsis.empty() ? "" : " ",
          spec.synopsis, "\n\n", spec.summary, "\n");
      if (!flag_help.empty()) {
        absl::StrAppend(&text, "\nFlags:\n", FormatKeyValues(flag_help));
      }
      absl::StrAppend(
          &text,
          "\nGlobal flags: --server HOST:PORT, --output table|json, --timeout "
          "SECONDS (see: graphmill --help)\n");
      return text;
    }
    // A group's commands, or a subgroup's ("instance webhooks").
    if (absl::StartsWith(path, absl::StrCat(topic, " "))) {
      lines.emplace_back(absl::StrCat("  graphmill ", path, " ", spec.synopsis),
                         spec.summary);
    }
  }
  std::string text =
      absl::StrCat("usage: graphmill ", topic, " SUBCOMMAND\n\n");
  for (const auto& group : kGroups) {
    if (group[0] == topic)
      absl::StrAppend(&text, "Subcommands for ", group[1], ":\n");
  }
  for (const auto& [synopsis, summary] : lines) {
    absl::StrAppend(&text, absl::StripTrailingAsciiWhitespace(synopsis), "\n");
  }
  absl::StrAppend(&text, "\nRun 'graphmill ", topic,
                  " SUBCOMMAND --help' for details.\n");
  return text;
}

}  // namespace graphmill::cli
