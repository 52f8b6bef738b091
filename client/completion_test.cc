#include "client/completion.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::cli {
namespace {

using ::testing::HasSubstr;

// What bash completes for the words typed so far (the last one is being
// completed), by sourcing the generated script and calling its function.
std::string BashCompletes(const std::string& typed_words) {
  absl::StatusOr<std::string> script = CompletionScript("bash");
  EXPECT_TRUE(script.ok()) << script.status();
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/graphmill-completion.bash");
  std::ofstream(path) << *script;
  const std::string command = absl::StrCat(
      "bash -c 'source ", path, " && COMP_WORDS=(", typed_words,
      ") && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && { _graphmill; echo "
      "\"${COMPREPLY[*]}\"; }' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  size_t read = 0;
  while ((read = fread(buffer, 1, sizeof buffer, pipe)) > 0) {
    output.append(buffer, read);
  }
  EXPECT_EQ(pclose(pipe), 0) << output;
  if (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

TEST(CompletionTest, BashCompletesGroupsSubcommandsAndFlags) {
  EXPECT_EQ(BashCompletes("graphmill ins"), "instance");
  EXPECT_EQ(BashCompletes("graphmill i"), "integration instance");
  EXPECT_EQ(BashCompletes("graphmill run s"), "start show");
  EXPECT_EQ(BashCompletes("graphmill integration d"), "describe");
  EXPECT_EQ(BashCompletes("graphmill run start my-instance --wa"), "--watch");
  EXPECT_EQ(BashCompletes("graphmill subscribe --ki"), "--kind");
  // Flags of another command are not offered.
  EXPECT_EQ(BashCompletes("graphmill run show 1 --wa"), "");
  // A command's global flags are.
  EXPECT_EQ(BashCompletes("graphmill graph entities --serv"), "--server");
  // A subgroup's command, then its flags.
  EXPECT_EQ(BashCompletes("graphmill instance w"), "webhooks");
  EXPECT_EQ(BashCompletes("graphmill instance webhooks i"), "install");
  EXPECT_EQ(BashCompletes("graphmill instance webhooks install ci --u"),
            "--url");
  EXPECT_EQ(BashCompletes("graphmill instance get ci --u"), "");
}

TEST(CompletionTest, ZshReusesTheBashFunction) {
  absl::StatusOr<std::string> script = CompletionScript("zsh");
  ASSERT_TRUE(script.ok());
  EXPECT_THAT(*script, HasSubstr("bashcompinit"));
  EXPECT_THAT(*script, HasSubstr("complete -o default -F _graphmill"));
}

TEST(CompletionTest, FishNamesEveryCommandAndItsFlags) {
  absl::StatusOr<std::string> script = CompletionScript("fish");
  ASSERT_TRUE(script.ok());
  EXPECT_THAT(*script,
              HasSubstr("complete -c graphmill -n __fish_use_subcommand -a "
                        "subscribe"));
  EXPECT_THAT(*script, HasSubstr("-a describe -d"));
  EXPECT_THAT(*script,
              HasSubstr("complete -c graphmill -n '__fish_seen_subcommand_from "
                        "run; and __fish_seen_subcommand_from start' -l "
                        "watch"));
  EXPECT_THAT(*script, HasSubstr("-a webhooks -d 'instance webhooks: "
                                 "install'"));
  EXPECT_THAT(*script,
              HasSubstr("complete -c graphmill -n '__fish_seen_subcommand_from "
                        "instance; and __fish_seen_subcommand_from webhooks; "
                        "and __fish_seen_subcommand_from install' -l url"));
}

TEST(CompletionTest, UnknownShellIsRefused) {
  EXPECT_EQ(CompletionScript("csh").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphmill::cli
