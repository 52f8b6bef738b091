#include "client/completion.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "client/command_line.h"

namespace graphmill::cli {
namespace {

// Commands as completion sees them: top-level words (groups and standalone
// commands) -> subcommands (empty for a standalone command), subgroups
// ("instance webhooks") -> their subcommands, and each command path -> its
// flags.
struct Table {
  std::vector<std::string> top;  // in help order, unique
  // Second words, unique: a command's name or a subgroup's.
  std::map<std::string, std::vector<std::string>> subcommands;
  // "GROUP SUB" -> third words.
  std::map<std::string, std::vector<std::string>> subgroup_commands;
  std::map<std::string, std::vector<std::string>> flags;  // "--x" words
  std::map<std::string, std::string> summaries;
};

void AddOnce(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) {
    list.push_back(item);
  }
}

Table BuildTable() {
  Table table;
  std::set<std::string> seen;
  std::vector<std::string> global;
  for (const std::string& flag : GlobalFlagNames()) {
    global.push_back(absl::StrCat("--", flag));
  }
  for (const CommandSummary& command : CommandSummaries()) {
    const std::vector<std::string> words = absl::StrSplit(command.path, ' ');
    const std::string& first = words[0];
    if (seen.insert(first).second) table.top.push_back(first);
    if (words.size() >= 2) AddOnce(table.subcommands[first], words[1]);
    if (words.size() >= 3) {
      AddOnce(table.subgroup_commands[absl::StrCat(first, " ", words[1])],
              words[2]);
    }
    std::vector<std::string>& flags = table.flags[command.path];
    for (const std::string& flag : command.flags) {
      flags.push_back(absl::StrCat("--", flag));
    }
    flags.insert(flags.end(), global.begin(), global.end());
    table.summaries[command.path] = command.summary;
  }
  return table;
}

// Single-quoted for sh and fish (no quote appears in our words, but summaries
// may hold one).
std::string Quote(absl::string_view text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

// Completes the first two words (group and subcommand, or a standalone
// command), the third of a subgroup's command ("instance webhooks install"),
// and then the command's flags. Words are counted without flags, so
// `graphmill --server H run st<TAB>` sees "H run": put global flags after the
// command, as the help does.
std::string Bash(const Table& table, bool zsh) {
  const char* shell = zsh ? "zsh" : "bash";
  std::string script =
      absl::StrCat("# graphmill ", shell, " completion: source <(graphmill ",
                   "completion ", shell, ")\n");
  if (zsh) {
    absl::StrAppend(&script, "autoload -U +X bashcompinit && bashcompinit\n");
  }
  absl::StrAppend(&script,
                  "_graphmill() {\n"
                  "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" words=() w\n"
                  "  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n"
                  "    [[ $w == -* ]] || words+=(\"$w\")\n"
                  "  done\n"
                  "  local candidates=\n"
                  "  if [[ $cur != -* ]]; then\n"
                  "    case \"${#words[@]}:${words[*]:0:2}\" in\n"
                  "      0:) candidates=",
                  Quote(absl::StrJoin(table.top, " ")), " ;;\n");
  for (const auto& [first, subcommands] : table.subcommands) {
    absl::StrAppend(&script, "      1:", first,
                    ") candidates=", Quote(absl::StrJoin(subcommands, " ")),
                    " ;;\n");
  }
  for (const auto& [subgroup, commands] : table.subgroup_commands) {
    absl::StrAppend(&script, "      ", Quote(absl::StrCat("2:", subgroup)),
                    ") candidates=", Quote(absl::StrJoin(commands, " ")),
                    " ;;\n");
  }
  absl::StrAppend(&script,
                  "    esac\n"
                  "  fi\n"
                  "  if [[ -z $candidates ]]; then\n"
                  "    case \"${words[0]} ${words[1]} ${words[2]} \" in\n");
  for (const auto& [path, flags] : table.flags) {
    // A command matches whatever positional follows its name.
    absl::StrAppend(&script, "      ", Quote(path + " "),
                    "*) candidates=", Quote(absl::StrJoin(flags, " ")),
                    " ;;\n");
  }
  absl::StrAppend(&script,
                  "    esac\n"
                  "  fi\n"
                  "  COMPREPLY=($(compgen -W \"$candidates\" -- \"$cur\"))\n"
                  "}\n"
                  "complete -o default -F _graphmill graphmill\n");
  return script;
}

std::string Fish(const Table& table) {
  std::string script =
      "# graphmill fish completion: graphmill completion fish | source\n"
      "complete -c graphmill -f\n";
  for (const std::string& first : table.top) {
    auto summary = table.summaries.find(first);
    absl::StrAppend(
        &script, "complete -c graphmill -n __fish_use_subcommand -a ", first);
    if (summary != table.summaries.end()) {
      absl::StrAppend(&script, " -d ", Quote(summary->second));
    }
    absl::StrAppend(&script, "\n");
  }
  // A subgroup ("instance webhooks") has no summary of its own: its
  // commands' names stand for it.
  auto describe = [&](const std::string& path) {
    auto summary = table.summaries.find(path);
    if (summary != table.summaries.end()) return summary->second;
    return absl::StrCat(path, ": ",
                        absl::StrJoin(table.subgroup_commands.at(path), ", "));
  };
  for (const auto& [first, subcommands] : table.subcommands) {
    for (const std::string& sub : subcommands) {
      absl::StrAppend(&script,
                      "complete -c graphmill -n '__fish_seen_subcommand_from ",
                      first, "; and not __fish_seen_subcommand_from ",
                      absl::StrJoin(subcommands, " "), "' -a ", sub, " -d ",
                      Quote(describe(absl::StrCat(first, " ", sub))), "\n");
    }
  }
  for (const auto& [subgroup, commands] : table.subgroup_commands) {
    const std::vector<std::string> words = absl::StrSplit(subgroup, ' ');
    for (const std::string& command : commands) {
      absl::StrAppend(
          &script, "complete -c graphmill -n '__fish_seen_subcommand_from ",
          words[0], "; and __fish_seen_subcommand_from ", words[1],
          "; and not __fish_seen_subcommand_from ",
          absl::StrJoin(commands, " "), "' -a ", command, " -d ",
          Quote(describe(absl::StrCat(subgroup, " ", command))), "\n");
    }
  }
  for (const auto& [path, flags] : table.flags) {
    std::string condition;
    for (absl::string_view word : absl::StrSplit(path, ' ')) {
      absl::StrAppend(&condition, condition.empty() ? "" : "; and ",
                      "__fish_seen_subcommand_from ", word);
    }
    for (const std::string& flag : flags) {
      absl::StrAppend(&script, "complete -c graphmill -n ", Quote(condition),
                      " -l ", flag.substr(2), "\n");
    }
  }
  return script;
}

}  // namespace

absl::StatusOr<std::string> CompletionScript(absl::string_view shell) {
  const Table table = BuildTable();
  if (shell == "bash") return Bash(table, /*zsh=*/false);
  if (shell == "zsh") return Bash(table, /*zsh=*/true);
  if (shell == "fish") return Fish(table);
  return absl::InvalidArgumentError(absl::StrCat(
      "completion: unknown shell '", shell, "' (expected bash, zsh or fish)"));
}

}  // namespace graphmill::cli
