// Implementation of client/command_line.h: a hand-written parser, because
// subcommands and repeated flags are beyond absl flags.
#include "client/command_line.h"

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
#include "client/table.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

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
    {"server", "HOST:PORT", false}, {"output", "table|json", false},
    {"timeout", "SECONDS", false},  {"help", "", false},
    {"integration", "NAME", false}, {"config", "KEY=VALUE", true},
    {"config-file", "FILE", false}, {"config-env", "KEY=ENVVAR", true},
    {"watch", "", false},           {"instance", "ID", false},
    {"limit", "N", false},          {"type", "TYPE", false},
    {"class", "CLASS", false},      {"raw", "", false},
};

bool IsGlobalFlag(absl::string_view name) {
  return name == "server" || name == "output" || name == "timeout" ||
         name == "help";
}

const FlagSpec* FindFlag(absl::string_view name) {
  for (const FlagSpec& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

struct CommandSpec {
  Command command;
  std::string group;
  std::string name;
  // Names of the positional arguments, in order; all are required.
  std::vector<std::string> positionals;
  // Accepted command flags (global flags are always accepted) with their help.
  std::vector<std::pair<std::string, std::string>> flags;
  // What follows "graphmill GROUP NAME" in the usage line.
  std::string synopsis;
  std::string summary;
};

const std::vector<CommandSpec>& Commands() {
  static const auto* commands = new std::vector<CommandSpec>{
      {Command::kIntegrationList,
       "integration",
       "list",
       {},
       {},
       "",
       "List the integrations that connected workers implement."},
      {Command::kInstanceCreate,
       "instance",
       "create",
       {"ID"},
       {{"integration",
         "integration the instance uses (see: graphmill integration list)"},
        {"config", "a config value; repeatable"},
        {"config-file",
         "a flat JSON object of config values; --config and --config-env "
         "override it"},
        {"config-env",
         "a config value read from environment variable ENVVAR, so a secret "
         "stays out of "
         "shell history and ps; repeatable"}},
       "ID --integration NAME [--config KEY=VALUE]... [--config-file FILE] "
       "[--config-env KEY=ENVVAR]...",
       "Create an instance: an integration's credentials and options. Secret "
       "values are "
       "sent, never printed; the coordinator shows them as ***."},
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
       "Show one instance."},
      {Command::kRunStart,
       "run",
       "start",
       {"INSTANCE"},
       {{"watch", "follow the run until it ends, as 'graphmill run watch'"}},
       "INSTANCE [--watch]",
       "Start a run of an instance and print its id."},
      {Command::kRunWatch,
       "run",
       "watch",
       {"RUN_ID"},
       {},
       "RUN_ID",
       "Follow a run until it ends: progress, step changes and events. Exits 0 "
       "when the run "
       "SUCCEEDED, 2 when PARTIAL, 1 when FAILED or CANCELLED."},
      {Command::kRunShow,
       "run",
       "show",
       {"RUN_ID"},
       {},
       "RUN_ID",
       "Show a run: status, times, steps, graph changes and events."},
      {Command::kRunList,
       "run",
       "list",
       {},
       {{"instance", "only runs of this instance"},
        {"limit", "at most N runs, newest first (default: 50)"}},
       "[--instance ID] [--limit N]",
       "List runs, newest first."},
      {Command::kGraphEntities,
       "graph",
       "entities",
       {},
       {{"instance", "the instance whose graph is read (required)"},
        {"type", "only entities of this _type"},
        {"class", "only entities with this _class"},
        {"limit", "stop after N entities"},
        {"raw", "include _rawData (JSON output)"}},
       "--instance ID [--type TYPE] [--class CLASS] [--limit N] [--raw]",
       "List an instance's entities; JSON output is one JupiterOne flat object "
       "per line."},
      {Command::kGraphRelationships,
       "graph",
       "relationships",
       {},
       {{"instance", "the instance whose graph is read (required)"},
        {"type", "only relationships of this _type"},
        {"class", "only relationships with this _class"},
        {"limit", "stop after N relationships"}},
       "--instance ID [--type TYPE] [--class CLASS] [--limit N]",
       "List an instance's relationships; JSON output is one JupiterOne flat "
       "object per "
       "line."},
      {Command::kGraphEntity,
       "graph",
       "entity",
       {"KEY"},
       {{"instance", "the instance whose graph is read (required)"},
        {"raw", "include _rawData"}},
       "--instance ID [--raw] KEY",
       "Show one entity by _key."},
  };
  return *commands;
}

constexpr absl::string_view kGroups[][2] = {
    {"integration", "integrations that connected workers implement"},
    {"instance", "instances: an integration's credentials and options"},
    {"run", "runs: one ingestion of an instance"},
    {"graph", "an instance's current graph"},
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

std::vector<std::string> SubcommandNames(absl::string_view group) {
  std::vector<std::string> names;
  for (const CommandSpec& spec : Commands()) {
    if (spec.group == group) names.push_back(spec.name);
  }
  return names;
}

bool AcceptsFlag(const CommandSpec& spec, absl::string_view name) {
  if (IsGlobalFlag(name)) return true;
  for (const auto& [flag, help] : spec.flags) {
    if (flag == name) return true;
  }
  return false;
}

// "graphmill", "graphmill run" or "graphmill run show": as much of the command
// as is known.
std::string KnownCommandPrefix(const std::vector<std::string>& positionals) {
  if (positionals.empty() || !IsGroup(positionals[0])) return "graphmill";
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

}  // namespace

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
  if (!unknown_flag.empty() && !help) {
    return Usage(absl::StrCat("unknown flag '", unknown_flag, "' (try: ",
                              KnownCommandPrefix(positionals), " --help)"));
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
  if (!IsGroup(group)) {
    return Usage(
        absl::StrCat("unknown command '", group, "' (try: graphmill --help)"));
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
  const CommandSpec* spec = FindCommand(group, positionals[1]);
  if (spec == nullptr) {
    return Usage(absl::StrCat("unknown command '", group, " ", positionals[1],
                              "' (try: graphmill ", group, " --help)"));
  }
  line.command = spec->command;
  line.command_path = absl::StrCat(group, " ", spec->name);
  if (help) {
    line.help = true;
    line.help_topic = line.command_path;
    return line;
  }
  const std::string quoted_command =
      absl::StrCat("'graphmill ", line.command_path, "'");

  // Positional arguments.
  const size_t given = positionals.size() - 2;
  if (given > spec->positionals.size()) {
    return Usage(absl::StrCat("unexpected argument '",
                              positionals[2 + spec->positionals.size()],
                              "' for ", quoted_command));
  }
  if (given < spec->positionals.size()) {
    return Usage(absl::StrCat("missing ", spec->positionals[given], " for ",
                              quoted_command, " (usage: graphmill ",
                              line.command_path, " ", spec->synopsis, ")"));
  }
  for (size_t i = 0; i < given; ++i) {
    const std::string& name = spec->positionals[i];
    const std::string& value = positionals[2 + i];
    if (name == "RUN_ID") {
      absl::StatusOr<int64_t> run_id = ParsePositive("RUN_ID", value);
      if (!run_id.ok()) return run_id.status();
      line.run_id = *run_id;
    } else if (name == "KEY") {
      line.entity_key = value;
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
    if (flag.repeatable) continue;
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
  if (std::optional<std::string> token = env("GRAPHMILL_TOKEN");
      token.has_value()) {
    line.token = *token;
  }
  for (const FlagOccurrence& occurrence : flags) {
    if (occurrence.spec->name == "config-file") {
      absl::StatusOr<std::map<std::string, std::string>> file_config =
          ReadConfigFile(occurrence.value);
      if (!file_config.ok()) return file_config.status();
      line.config = *std::move(file_config);
    }
  }
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
    } else if (name == "watch") {
      line.watch = true;
    } else if (name == "instance") {
      line.instance_id = value;
    } else if (name == "limit") {
      absl::StatusOr<int64_t> limit = ParsePositive("--limit", value);
      if (!limit.ok()) return limit.status();
      line.limit = *limit;
    } else if (name == "type") {
      line.type = value;
    } else if (name == "class") {
      line.class_name = value;
    } else if (name == "raw") {
      line.raw = true;
    }
  }

  // Required flags.
  if (line.command == Command::kInstanceCreate && line.integration.empty()) {
    return Usage(
        absl::StrCat("missing --integration NAME for ", quoted_command));
  }
  const bool reads_graph = line.command == Command::kGraphEntities ||
                           line.command == Command::kGraphRelationships ||
                           line.command == Command::kGraphEntity;
  if (reads_graph && line.instance_id.empty()) {
    return Usage(absl::StrCat("missing --instance ID for ", quoted_command));
  }
  return line;
}

std::string UsageText(absl::string_view topic) {
  if (topic.empty()) {
    std::vector<std::pair<std::string, std::string>> commands;
    for (const CommandSpec& spec : Commands()) {
      commands.emplace_back(absl::StrCat("  ", spec.group, " ", spec.name),
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
            {"  --output table|json", "output format (default: table)"},
            {"  --timeout SECONDS",
             "deadline of each call, run watch excepted (default: 30)"},
            {"  -h, --help",
             "usage; 'graphmill COMMAND --help' for one command"},
        }),
        "\nEnvironment: GRAPHMILL_SERVER (coordinator address), "
        "GRAPHMILL_TOKEN (bearer token "
        "sent with every call).\nExit status: 0 success, 1 failure or run "
        "FAILED/CANCELLED, 2 "
        "run PARTIAL, 64 usage error.\n");
  }
  std::vector<std::pair<std::string, std::string>> lines;
  for (const CommandSpec& spec : Commands()) {
    const std::string path = absl::StrCat(spec.group, " ", spec.name);
    if (path == topic) {
      std::vector<std::pair<std::string, std::string>> flag_help;
      for (const auto& [name, help] : spec.flags) {
        flag_help.emplace_back(
            absl::StrCat("  --", name, " ", FindFlag(name)->value_name), help);
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
    if (spec.group == topic) {
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
