// Runs the graphmill-coordinator binary: --version, --help, JSON logs and log
// levels, grpc.health.v1 (SERVING, NOT_SERVING once SIGTERM starts the
// drain) and server reflection (v1 and v1alpha, with a token).
#include <grpcpp/create_channel.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "common/version.h"
#include "coordinator/probes/probe_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/testing/process.h"

namespace graphmill::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The coordinator as a child process, stdout and stderr in one log file.
class CoordinatorRun {
 public:
  CoordinatorRun(const std::string& name, std::vector<std::string> args,
                 bool with_store = true)
      : dir_(::testing::TempDir() + "/" + name), log_(dir_ + ".log") {
    mkdir(dir_.c_str(), 0700);
    if (with_store) {
      args.push_back("--store=" + dir_ + "/graphmill.db");
      args.push_back("--port_file=" + dir_ + "/port");
      args.push_back("--listen=127.0.0.1:0");
    }
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

  // The port once serving; 0 if it does not serve within 20 s.
  int Port() {
    absl::StatusOr<int> port =
        graphmill::testing::WaitForPortFile(dir_ + "/port", absl::Seconds(20));
    EXPECT_TRUE(port.ok()) << port.status();
    return port.value_or(0);
  }

  std::shared_ptr<grpc::Channel> Channel() {
    const std::string address = absl::StrCat("127.0.0.1:", Port());
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        CoordinatorChannelCredentials(address, ClientTlsOptions{},
                                      FlagStyle::kUnderscore);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return grpc::CreateChannel(address, *credentials);
  }

  // "Bearer <the bootstrap admin token>".
  std::string AdminAuthorization() const {
    return absl::StrCat(
        "Bearer ", absl::StripAsciiWhitespace(ReadFile(dir_ + "/admin.token")));
  }

  void Signal(int signal) {
    if (process_ != nullptr) process_->Signal(signal);
  }
  std::string log() const { return ReadFile(log_); }

 private:
  std::string dir_;
  std::string log_;
  std::unique_ptr<graphmill::testing::Process> process_;
};

TEST(CoordinatorMainTest, VersionPrintsTheOneVersion) {
  CoordinatorRun run("version", {"--version"}, /*with_store=*/false);
  EXPECT_EQ(run.Wait(absl::Seconds(20)), 0);
  EXPECT_EQ(run.log(), absl::StrCat("graphmill-coordinator ", kVersion, "\n"));
}

TEST(CoordinatorMainTest, HelpListsTheCoordinatorsOwnFlags) {
  CoordinatorRun run("help", {"--help"}, /*with_store=*/false);
  EXPECT_NE(run.Wait(absl::Seconds(20)), -1);
  const std::string help = run.log();
  EXPECT_THAT(help, Not(HasSubstr("No flags matched")));
  for (const char* flag : {"--listen", "--store", "--tls_cert_file",
                           "--lease_seconds", "--log_format", "--log_level"}) {
    EXPECT_THAT(help, HasSubstr(flag)) << help;
  }
  // Abseil's own flags only with --helpfull.
  EXPECT_THAT(help, Not(HasSubstr("--flagfile")));
}

TEST(CoordinatorMainTest, RefusesAnUnknownLogFormatOrLevel) {
  for (const char* flag : {"--log_format=xml", "--log_level=loud"}) {
    CoordinatorRun run("bad-log-flag", {flag}, /*with_store=*/false);
    EXPECT_NE(run.Wait(absl::Seconds(20)), 0) << flag;
    EXPECT_THAT(run.log(), HasSubstr(std::string(flag).substr(2, 9)));
  }
}

TEST(CoordinatorMainTest, HealthServingThenNotServingOnceDrainStarts) {
  CoordinatorRun run("health", {"--log_format=json"});
  const std::shared_ptr<grpc::Channel> channel = run.Channel();
  // No token: probes carry none.
  for (const char* service : {"", "graphmill.v1.Admin", "graphmill.v1.Graph",
                              "graphmill.v1.WorkerGateway"}) {
    absl::StatusOr<probes::HealthStatus> status =
        probes::CheckHealth(channel, service);
    ASSERT_TRUE(status.ok()) << service << ": " << status.status() << "\n"
                             << run.log();
    EXPECT_EQ(*status, probes::kServing) << service;
  }

  {
    probes::HealthWatch watch(channel, "");
    ASSERT_EQ(watch.Next().value_or(probes::kUnknown), probes::kServing);
    run.Signal(SIGTERM);
    // Set before the server stops taking calls.
    EXPECT_EQ(watch.Next().value_or(probes::kUnknown), probes::kNotServing)
        << run.log();
  }  // the Watch ends, so the shutdown need not wait for it
  EXPECT_EQ(run.Wait(absl::Seconds(20)), 0) << run.log();

  // --log_format=json: every line is one object with the four keys.
  int lines = 0;
  bool saw_serving = false;
  for (absl::string_view line :
       absl::StrSplit(run.log(), '\n', absl::SkipEmpty())) {
    SCOPED_TRACE(line);
    rapidjson::Document document;
    document.Parse(line.data(), line.size());
    ASSERT_FALSE(document.HasParseError());
    ASSERT_TRUE(document.IsObject());
    for (const char* key : {"time", "level", "program", "message"}) {
      ASSERT_TRUE(document.HasMember(key) && document[key].IsString()) << key;
    }
    EXPECT_STREQ(document["program"].GetString(), "coordinator");
    if (absl::StrContains(document["message"].GetString(), "serving on port")) {
      saw_serving = true;
      EXPECT_STREQ(document["level"].GetString(), "INFO");
    }
    ++lines;
  }
  EXPECT_GE(lines, 3);
  EXPECT_TRUE(saw_serving);
}

TEST(CoordinatorMainTest, ReflectionListsTheServicesToTokenHolders) {
  CoordinatorRun run("reflection", {"--log_level=warn"});
  const std::shared_ptr<grpc::Channel> channel = run.Channel();
  for (const char* version : {"v1", "v1alpha"}) {
    SCOPED_TRACE(version);
    absl::StatusOr<std::vector<std::string>> services =
        probes::ListServices(channel, version, run.AdminAuthorization());
    ASSERT_TRUE(services.ok()) << services.status() << "\n" << run.log();
    EXPECT_THAT(*services,
                IsSupersetOf({"graphmill.v1.Admin", "graphmill.v1.Graph",
                              "graphmill.v1.WorkerGateway",
                              "grpc.reflection.v1.ServerReflection",
                              "grpc.reflection.v1alpha.ServerReflection"}));
    std::cout << "reflection " << version
              << " lists: " << absl::StrJoin(*services, ", ") << "\n";

    absl::StatusOr<std::vector<std::string>> anonymous =
        probes::ListServices(channel, version);
    EXPECT_EQ(anonymous.status().code(), absl::StatusCode::kUnauthenticated)
        << anonymous.status();
  }
  // --log_level=warn: the INFO lines are gone, the WARN about the missing
  // secret key is there.
  const std::string log = run.log();
  EXPECT_THAT(log, Not(HasSubstr(" INFO ")));
  EXPECT_THAT(log, HasSubstr(" WARN coordinator: no secret key"));
}

}  // namespace
}  // namespace graphmill::coordinator
