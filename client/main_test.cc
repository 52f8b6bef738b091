// Runs the graphmill CLI binary: --version needs no command and no
// coordinator.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/version.h"
#include "gtest/gtest.h"

namespace {

// The binary's stdout and exit code.
std::pair<std::string, int> RunCli(const std::string& args) {
  FILE* pipe = popen(absl::StrCat("client/graphmill ", args).c_str(), "r");
  std::string out;
  std::array<char, 256> buffer;
  while (pipe != nullptr && std::fgets(buffer.data(), buffer.size(), pipe)) {
    out += buffer.data();
  }
  const int status = pipe == nullptr ? -1 : pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

TEST(CliMainTest, VersionPrintsTheOneVersion) {
  for (const char* args :
       {"--version", "--server 127.0.0.1:1 --version", "instance --version"}) {
    SCOPED_TRACE(args);
    const auto [out, code] = RunCli(args);
    EXPECT_EQ(code, 0);
    EXPECT_EQ(out, absl::StrCat("graphmill ", graphmill::kVersion, "\n"));
  }
}

}  // namespace
