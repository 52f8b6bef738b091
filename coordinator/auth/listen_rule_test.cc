// graphmill-coordinator refuses to serve plaintext on an address other than
// loopback, naming the flags that fix it, and serves it with a warning when
// told --insecure_plaintext.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class CoordinatorRun {
 public:
  CoordinatorRun(const std::string& name, std::vector<std::string> args)
      : log_(::testing::TempDir() + "/" + name + ".log") {
    const std::string dir = ::testing::TempDir() + "/" + name;
    mkdir(dir.c_str(), 0700);
    port_file_ = dir + "/port";
    args.push_back("--store=" + dir + "/graphmill.db");
    args.push_back("--port_file=" + port_file_);
    absl::StatusOr<std::unique_ptr<graphmill::testing::Process>> process =
        graphmill::testing::Process::Start(
            graphmill::testing::Runfile("coordinator/graphmill-coordinator"),
            args, log_);
    EXPECT_TRUE(process.ok()) << process.status();
    if (process.ok()) process_ = *std::move(process);
  }
  // The exit code, or -1 if still running after `timeout`.
  int Wait(absl::Duration timeout) {
    return process_ == nullptr ? -1 : process_->Wait(timeout);
  }

  bool Serving(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (!ReadFile(port_file_).empty()) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  std::string log() const { return ReadFile(log_); }

 private:
  std::string log_;
  std::string port_file_;
  std::unique_ptr<graphmill::testing::Process> process_;
};

TEST(ListenRuleTest, NonLoopbackPlaintextStopsAtStartNamingTheFlags) {
  for (const char* listen : {"0.0.0.0:0", "[::]:0"}) {
    CoordinatorRun run(absl::StrCat("refused-", listen[0] == '[' ? "v6" : "v4"),
                       {absl::StrCat("--listen=", listen)});
    EXPECT_EQ(run.Wait(absl::Seconds(20)), 64) << run.log();
    const std::string log = run.log();
    EXPECT_THAT(log, HasSubstr("is not a loopback address"));
    EXPECT_THAT(log, HasSubstr("--tls_cert_file"));
    EXPECT_THAT(log, HasSubstr("--tls_key_file"));
    EXPECT_THAT(log, HasSubstr("--insecure_plaintext"));
    // Refused before the bootstrap admin token is written.
    EXPECT_THAT(log, Not(HasSubstr("admin token")));
  }
}

TEST(ListenRuleTest, InsecurePlaintextServesWithAWarning) {
  CoordinatorRun run("insecure",
                     {"--listen=0.0.0.0:0", "--insecure_plaintext"});
  ASSERT_TRUE(run.Serving(absl::Seconds(20))) << run.log();
  EXPECT_THAT(run.log(), HasSubstr("WARN"));
  EXPECT_THAT(run.log(), HasSubstr("serving PLAINTEXT on 0.0.0.0:0"));
}

TEST(ListenRuleTest, LoopbackPlaintextNeedsNoFlag) {
  CoordinatorRun run("loopback", {"--listen=127.0.0.1:0"});
  ASSERT_TRUE(run.Serving(absl::Seconds(20))) << run.log();
  EXPECT_THAT(run.log(), HasSubstr("plaintext, loopback connections only"));
  EXPECT_THAT(run.log(), Not(HasSubstr("PLAINTEXT")));
}

}  // namespace
