#include "client/completion.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "client/command_line.h"

namespace graphmill::cli {
namespace {

// Commands as completion sees them: top-level words (groups and standalone
// commands) -> subcommands (empty for a standalone command), and each command
// path -> its flags.
struct Table {
  std::vector<std::string> top;  // in help order, unique
  std::map<std::string, std::vector<std::string>> subcommands;
  std::map<std::string, std::vector<std::string>> flags;  // "--x" words
  std::map<std::string, std::string> summaries;
};

Table BuildTable() {
  Table table;
  std::set<std::string> seen;
  std::vector<std::string> global;
  for (const std::string& flag : GlobalFlagNames()) {
    global.push_back(absl::StrCat("--", flag));
  }
  for (const CommandSummary& command : CommandSummaries()) {
    const size_t space = command.path.find(' ');
    const std::string first = command.path.substr(0, space);
    if (seen.insert(first).second) table.top.push_back(first);
    if (space != std::string::npos) {
      table.subcommands[first].push_back(command.path.substr(space + 1));
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
// command) and then the command's flags. Words are counted without flags, so
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
                  "    case \"${#words[@]}:${words[0]}\" in\n"
                  "      0:) candidates=",
                  Quote(absl::StrJoin(table.top, " ")), " ;;\n");
  for (const auto& [first, subcommands] : table.subcommands) {
    absl::StrAppend(&script, "      1:", first,
                    ") candidates=", Quote(absl::StrJoin(subcommands, " ")),
                    " ;;\n");
  }
  absl::StrAppend(&script,
                  "    esac\n"
                  "  fi\n"
                  "  if [[ -z $candidates ]]; then\n"
                  "    case \"${words[0]} ${words[1]}\" in\n");
  for (const auto& [path, flags] : table.flags) {
    // A standalone command matches whatever positional follows its name.
    const bool standalone = path.find(' ') == std::string::npos;
    absl::StrAppend(
        &script, "      ",
        standalone ? absl::StrCat(Quote(path + " "), "*") : Quote(path),
        ") candidates=", Quote(absl::StrJoin(flags, " ")), " ;;\n");
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
  for (const auto& [first, subcommands] : table.subcommands) {
    for (const std::string& sub : subcommands) {
      absl::StrAppend(
          &script, "complete -c graphmill -n '__fish_seen_subcommand_from ",
          first, "; and not __fish_seen_subcommand_from ",
          absl::StrJoin(subcommands, " "), "' -a ", sub, " -d ",
          Quote(table.summaries.at(absl::StrCat(first, " ", sub))), "\n");
    }
  }
  for (const auto& [path, flags] : table.flags) {
    const size_t space = path.find(' ');
    std::string condition =
        absl::StrCat("__fish_seen_subcommand_from ", path.substr(0, space));
    if (space != std::string::npos) {
      absl::StrAppend(&condition, "; and __fish_seen_subcommand_from ",
                      path.substr(space + 1));
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
