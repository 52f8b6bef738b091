// Runs the graphmill-worker binary: --version, --help, --log_format=json, and
// the --health_listen probes (/healthz, /readyz) as an in-process fake
// coordinator goes away and comes back on the same port.
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/version.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/testing/process.h"
#include "worker/runtime/fake_worker_gateway.h"

namespace graphmill::worker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The worker binary as a child process, stdout and stderr in one file.
class WorkerRun {
 public:
  WorkerRun(const std::string& name, std::vector<std::string> args)
      : log_(::testing::TempDir() + "/" + name + ".log") {
    absl::StatusOr<std::unique_ptr<graphmill::testing::Process>> process =
        graphmill::testing::Process::Start("worker/graphmill-worker", args,
                                           log_);
    EXPECT_TRUE(process.ok()) << process.status();
    if (process.ok()) process_ = *std::move(process);
  }
  // The exit code, or -1 if still running after `timeout`.
  int Wait(absl::Duration timeout) {
    return process_ == nullptr ? -1 : process_->Wait(timeout);
  }

  void Signal(int signal) {
    if (process_ != nullptr) process_->Signal(signal);
  }
  std::string log() const { return ReadFile(log_); }

  // Its log lines, each parsed as JSON (a line that does not parse fails the
  // test).
  std::vector<rapidjson::Document> JsonLines() const {
    std::vector<rapidjson::Document> lines;
    for (absl::string_view line :
         absl::StrSplit(log(), '\n', absl::SkipEmpty())) {
      rapidjson::Document document;
      document.Parse(line.data(), line.size());
      EXPECT_FALSE(document.HasParseError()) << line;
      EXPECT_TRUE(document.IsObject()) << line;
      if (!document.HasParseError() && document.IsObject()) {
        lines.push_back(std::move(document));
      }
    }
    return lines;
  }

 private:
  std::string log_;
  std::unique_ptr<graphmill::testing::Process> process_;
};

// Polls `condition` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition,
             absl::Duration timeout = absl::Seconds(10)) {
  return FakeWorkerGateway::WaitFor(condition, timeout);
}

int Status(int port, const std::string& path, std::string* body = nullptr) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(2, 0);
  httplib::Result result = client.Get(path);
  if (!result) return -1;
  if (body != nullptr) *body = result->body;
  return result->status;
}

TEST(WorkerProbesMainTest, VersionPrintsTheOneVersion) {
  WorkerRun run("version", {"--version"});
  EXPECT_EQ(run.Wait(absl::Seconds(10)), 0);
  EXPECT_EQ(run.log(), absl::StrCat("graphmill-worker ", kVersion, "\n"));
}

TEST(WorkerProbesMainTest, HelpListsTheWorkersOwnFlags) {
  WorkerRun run("help", {"--help"});
  EXPECT_NE(run.Wait(absl::Seconds(10)), -1);
  const std::string help = run.log();
  EXPECT_THAT(help, Not(HasSubstr("No flags matched")));
  for (const char* flag :
       {"--coordinator", "--capacity", "--token_file", "--health_listen",
        "--drain_grace_seconds", "--log_format", "--log_level"}) {
    EXPECT_THAT(help, HasSubstr(flag)) << help;
  }
}

TEST(WorkerProbesMainTest, ReadyzFollowsTheCoordinatorAndLogsAreJson) {
  // A port for the coordinator, left closed for now.
  int coordinator_port;
  {
    std::unique_ptr<FakeWorkerGateway> probe = FakeWorkerGateway::Start();
    ASSERT_NE(probe, nullptr);
    coordinator_port = probe->port();
  }
  WorkerRun run("probes",
                {absl::StrCat("--coordinator=127.0.0.1:", coordinator_port),
                 "--health_listen=127.0.0.1:0", "--log_format=json",
                 "--worker_id=probes-test", "--drain_grace_seconds=5"});
  // The port chosen, from the log line that announces the probes.
  int health_port = 0;
  ASSERT_TRUE(WaitFor([&] {
    for (const rapidjson::Document& line : run.JsonLines()) {
      const std::string message = line["message"].GetString();
      const size_t at = message.find("(port ");
      if (absl::StartsWith(message, "probes on") && at != std::string::npos) {
        return absl::SimpleAtoi(
            message.substr(at + 6, message.find(')', at) - at - 6),
            &health_port);
      }
    }
    return false;
  })) << run.log();

  std::string body;
  EXPECT_EQ(Status(health_port, "/healthz", &body), 200);
  EXPECT_EQ(body, "ok\n");
  EXPECT_EQ(Status(health_port, "/readyz", &body), 503);
  EXPECT_THAT(body, HasSubstr("not connected to coordinator"));

  std::unique_ptr<FakeWorkerGateway> gateway =
      FakeWorkerGateway::Start(coordinator_port);
  ASSERT_NE(gateway, nullptr);
  ASSERT_TRUE(WaitFor([&] { return Status(health_port, "/readyz") == 200; }))
      << run.log();
  EXPECT_EQ(Status(health_port, "/readyz", &body), 200);
  EXPECT_EQ(body, absl::StrCat("connected to coordinator 127.0.0.1:",
                               coordinator_port, "\n"));

  // The coordinator goes away for a while and comes back on the same port.
  gateway->Stop();
  ASSERT_TRUE(WaitFor([&] { return Status(health_port, "/readyz") == 503; }));
  EXPECT_EQ(Status(health_port, "/healthz"), 200);
  absl::SleepFor(absl::Seconds(3));
  gateway = FakeWorkerGateway::Start(coordinator_port);
  ASSERT_NE(gateway, nullptr);
  const absl::Time back = absl::Now();
  ASSERT_TRUE(WaitFor([&] { return Status(health_port, "/readyz") == 200; }));
  const absl::Duration took = absl::Now() - back;
  std::cout << "graphmill-worker ready again " << took
            << " after the coordinator came back\n";
  EXPECT_LT(took, absl::Seconds(3)) << run.log();

  run.Signal(SIGTERM);
  EXPECT_EQ(run.Wait(absl::Seconds(15)), 0) << run.log();

  // Every line is a JSON object with time, level, program and message.
  const std::vector<rapidjson::Document> lines = run.JsonLines();
  EXPECT_GE(lines.size(), 5u);
  for (const rapidjson::Document& line : lines) {
    for (const char* key : {"time", "level", "program", "message"}) {
      ASSERT_TRUE(line.HasMember(key) && line[key].IsString()) << key;
    }
    EXPECT_STREQ(line["program"].GetString(), "graphmill-worker");
  }
}

}  // namespace
}  // namespace graphmill::worker
