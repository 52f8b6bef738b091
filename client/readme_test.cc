// client/README.md is the CLI's complete reference, checked against the CLI's
// own parser and command table:
// - every example command line (a `$ ` line of a fenced block, with its `\`
//   continuation lines, and every line of a ```sh block) that runs `graphmill`
//   parses with ParseCommandLine: the command, its flags and their values
//   exist. Only the files the example names are replaced by temporary ones (a
//   token, or `{}` for --config-file), `~` is a temporary HOME, and the
//   variables are those the README's own `export` examples set;
// - every command has a `### ` heading under "## Commands", and every heading
//   there names a command; the flags a heading shows are that command's;
// - every flag a command takes appears in its section, and every command has
//   an example.
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/command_line.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

namespace graphmill::cli {
namespace {

constexpr char kReadme[] = "client/README.md";

std::vector<std::string> ReadmeLines() {
  std::ifstream in(kReadme);
  EXPECT_TRUE(in.good()) << "cannot read " << kReadme;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// One command line of an example: where it starts and its text, continuation
// lines joined.
struct Example {
  int line_number;
  std::string text;
};

std::vector<Example> Examples(const std::vector<std::string>& lines) {
  std::vector<Example> examples;
  bool in_block = false;
  bool sh_block = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (absl::StartsWith(line, "```")) {
      sh_block = !in_block && line == "```sh";
      in_block = !in_block;
      continue;
    }
    if (!in_block) continue;
    if (!sh_block && !absl::ConsumePrefix(&line, "$ ")) continue;
    Example example{static_cast<int>(i) + 1, std::string(line)};
    while (absl::EndsWith(example.text, "\\") && i + 1 < lines.size()) {
      example.text.pop_back();
      absl::StrAppend(&example.text, " ", lines[++i]);
    }
    examples.push_back(example);
  }
  return examples;
}

// Splits a shell command line into simple commands of words: blanks separate
// words; '...', "..." and backslash quote; |, &, ;, (, ), $( and <( end a
// command; a redirection (>, >>, 2>, <) drops the word it names; an unquoted #
// starting a word begins a comment; ~ starting a word is `home`.
std::vector<std::vector<std::string>> SplitCommands(absl::string_view text,
                                                    const std::string& home) {
  std::vector<std::vector<std::string>> commands(1);
  std::string word;
  bool in_word = false;
  bool redirect_target = false;
  auto end_word = [&] {
    if (!in_word) return;
    if (absl::StartsWith(word, "~")) word = home + word.substr(1);
    if (!redirect_target) commands.back().push_back(word);
    redirect_target = false;
    word.clear();
    in_word = false;
  };
  auto end_command = [&] {
    end_word();
    if (!commands.back().empty()) commands.emplace_back();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (c == ' ' || c == '\t') {
      end_word();
    } else if (c == '#' && !in_word) {
      break;
    } else if (c == '|' || c == '&' || c == ';' || c == '(' || c == ')') {
      end_command();
    } else if ((c == '$' || c == '<') && next == '(') {
      end_command();
      ++i;
    } else if (c == '>' || c == '<') {
      if (in_word &&
          word.find_first_not_of("0123456789") == std::string::npos) {
        word.clear();  // 2>
        in_word = false;
      }
      end_word();
      if (next == '>' || next == '&') ++i;
      redirect_target = true;
    } else if (c == '\'') {
      in_word = true;
      for (++i; i < text.size() && text[i] != '\''; ++i) word += text[i];
    } else if (c == '"') {
      in_word = true;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        word += text[i];
      }
    } else if (c == '\\' && next != '\0') {
      in_word = true;
      word += text[++i];
    } else {
      in_word = true;
      word += c;
    }
  }
  end_command();
  commands.pop_back();
  return commands;
}

bool IsAssignment(const std::string& word) {
  return RE2::FullMatch(word, "[A-Za-z_][A-Za-z0-9_]*=.*");
}

class ClientReadmeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lines_ = ReadmeLines();
    const char* tmp = std::getenv("TEST_TMPDIR");
    home_ = tmp != nullptr ? tmp : "/tmp";
    env_["HOME"] = home_;
  }

  // A file for a flag that reads one: a token, or a config file.
  std::string FileFor(const std::string& flag) {
    std::string path = absl::StrCat(home_, "/readme-", flag);
    std::ofstream(path) << (flag == "config-file" ? "{}" : "a-token") << "\n";
    return path;
  }

  // The example's argv for the parser: file flags' values replaced by files
  // made for them.
  std::vector<std::string> Argv(std::vector<std::string> words) {
    static const std::set<std::string> kFileFlags = {
        "config-file", "j1-token-file", "token-file"};
    std::vector<std::string> argv;
    for (size_t i = 1; i < words.size(); ++i) {
      const std::string& word = words[i];
      std::string name;
      if (absl::StartsWith(word, "--")) {
        name = word.substr(2, word.find('=') - 2);
      }
      if (!kFileFlags.contains(name)) {
        argv.push_back(word);
      } else if (absl::StrContains(word, "=")) {
        argv.push_back(absl::StrCat("--", name, "=", FileFor(name)));
      } else {
        argv.push_back(word);
        if (i + 1 < words.size()) {
          argv.push_back(FileFor(name));
          ++i;
        }
      }
    }
    return argv;
  }

  EnvLookup Env() const {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }

  // The `### ` headings under "## Commands", by line number, and each
  // section's text (heading and body).
  std::map<int, std::string> Headings() const {
    std::map<int, std::string> headings;
    bool in_commands = false;
    for (size_t i = 0; i < lines_.size(); ++i) {
      if (absl::StartsWith(lines_[i], "## ")) {
        in_commands = lines_[i] == "## Commands";
      } else if (in_commands && absl::StartsWith(lines_[i], "### ")) {
        headings[static_cast<int>(i) + 1] = lines_[i].substr(4);
      }
    }
    return headings;
  }
  std::string Section(int heading_line) const {
    std::string text;
    for (size_t i = heading_line - 1; i < lines_.size(); ++i) {
      if (i > static_cast<size_t>(heading_line - 1) &&
          (absl::StartsWith(lines_[i], "## ") ||
           absl::StartsWith(lines_[i], "### "))) {
        break;
      }
      absl::StrAppend(&text, lines_[i], "\n");
    }
    return text;
  }

  std::vector<std::string> lines_;
  std::string home_;
  std::map<std::string, std::string> env_;
};

// "instance create ID ..." names "instance create"; "" when no command's path
// starts the text.
std::string CommandOf(absl::string_view synopsis) {
  std::string best;
  for (const CommandSummary& command : CommandSummaries()) {
    if ((synopsis == command.path ||
         absl::StartsWith(synopsis, command.path + " ")) &&
        command.path.size() > best.size()) {
      best = command.path;
    }
  }
  return best;
}

TEST_F(ClientReadmeTest, EveryExampleParses) {
  int parsed = 0;
  std::set<std::string> exemplified;
  for (const Example& example : Examples(lines_)) {
    for (const std::vector<std::string>& words :
         SplitCommands(example.text, home_)) {
      size_t first = 0;
      while (first < words.size() && IsAssignment(words[first])) ++first;
      if (first == words.size()) continue;
      if (words[first] == "export") {
        for (size_t i = first + 1; i < words.size(); ++i) {
          std::vector<std::string> parts = absl::StrSplit(words[i], '=');
          if (parts.size() == 2) env_[parts[0]] = parts[1];
        }
        continue;
      }
      if (words[first] != "graphmill") continue;
      std::vector<std::string> argv =
          Argv(std::vector<std::string>(words.begin() + first, words.end()));
      absl::StatusOr<CommandLine> line = ParseCommandLine(argv, Env());
      ++parsed;
      if (!line.ok()) {
        ADD_FAILURE() << kReadme << ":" << example.line_number << ": `"
                      << absl::StrJoin(argv, " ")
                      << "` does not parse: " << line.status().message();
      } else if (!line->help) {
        exemplified.insert(line->command_path);
      }
    }
  }
  // A README the extraction misread would otherwise pass with nothing checked.
  EXPECT_GE(parsed, 30);
  for (const CommandSummary& command : CommandSummaries()) {
    EXPECT_TRUE(exemplified.contains(command.path))
        << "`graphmill " << command.path << "` has no example in " << kReadme;
  }
}

TEST_F(ClientReadmeTest, EveryCommandHasAHeadingThatNamesItsFlags) {
  const std::map<int, std::string> headings = Headings();
  ASSERT_FALSE(headings.empty()) << kReadme << " has no '## Commands' headings";
  std::map<std::string, int> heading_of;  // command -> heading line
  for (const auto& [line_number, heading] : headings) {
    for (absl::string_view synopsis : absl::StrSplit(heading, " / ")) {
      const std::string command = CommandOf(synopsis);
      if (command.empty()) {
        ADD_FAILURE() << kReadme << ":" << line_number << ": '### " << heading
                      << "' names no command of the CLI";
        continue;
      }
      heading_of[command] = line_number;
      std::set<std::string> accepted;
      for (const CommandSummary& summary : CommandSummaries()) {
        if (summary.path == command) {
          accepted.insert(summary.flags.begin(), summary.flags.end());
        }
      }
      for (const std::string& global : GlobalFlagNames()) {
        accepted.insert(global);
      }
      re2::StringPiece rest(synopsis.data(), synopsis.size());
      std::string flag;
      while (RE2::FindAndConsume(&rest, "--([a-z0-9-]+)", &flag)) {
        EXPECT_TRUE(accepted.contains(flag))
            << kReadme << ":" << line_number << ": '### " << heading
            << "' shows --" << flag << ", which `graphmill " << command
            << "` does not take";
      }
    }
  }
  for (const CommandSummary& command : CommandSummaries()) {
    EXPECT_TRUE(heading_of.contains(command.path))
        << "`graphmill " << command.path << "` has no '### " << command.path
        << " ...' heading under '## Commands' in " << kReadme;
  }
}

TEST_F(ClientReadmeTest, EveryFlagIsInItsCommandsSection) {
  const std::map<int, std::string> headings = Headings();
  std::map<std::string, std::string> section_of;  // command -> text
  for (const auto& [line_number, heading] : headings) {
    for (absl::string_view synopsis : absl::StrSplit(heading, " / ")) {
      const std::string command = CommandOf(synopsis);
      if (!command.empty()) section_of[command] += Section(line_number);
    }
  }
  // A section that says its flags are "also taken by `COMMAND`" documents them
  // for that command too.
  for (const auto& [line_number, heading] : headings) {
    const std::string section = Section(line_number);
    re2::StringPiece rest(section);
    std::string other;
    while (RE2::FindAndConsume(&rest, "also taken by `([a-z ]+)`", &other)) {
      section_of[other] += section;
    }
  }
  for (const CommandSummary& command : CommandSummaries()) {
    for (const std::string& flag : command.flags) {
      EXPECT_TRUE(
          absl::StrContains(section_of[command.path], absl::StrCat("--", flag)))
          << "`graphmill " << command.path << "` takes --" << flag
          << ", which its section of " << kReadme << " does not mention";
    }
  }
}

TEST(SplitCommandsTest, QuotesPipesRedirectionsAndSubstitutions) {
  using Commands = std::vector<std::vector<std::string>>;
  EXPECT_EQ(
      SplitCommands("TOKEN=$(graphmill token create a --role reader)", "/h"),
      (Commands{{"TOKEN="},
                {"graphmill", "token", "create", "a", "--role", "reader"}}));
  EXPECT_EQ(SplitCommands("graphmill x --cron \"0 */6 * * *\" --type "
                          "'a_(b|c)' > out.jsonl 2>/dev/null; echo $?",
                          "/h"),
            (Commands{{"graphmill", "x", "--cron", "0 */6 * * *", "--type",
                       "a_(b|c)"},
                      {"echo", "$?"}}));
  EXPECT_EQ(SplitCommands("graphmill a --f ~/.t   # note", "/h"),
            (Commands{{"graphmill", "a", "--f", "/h/.t"}}));
  EXPECT_EQ(
      SplitCommands("source <(graphmill completion bash) | dot", "/h"),
      (Commands{{"source"}, {"graphmill", "completion", "bash"}, {"dot"}}));
}

}  // namespace
}  // namespace graphmill::cli
