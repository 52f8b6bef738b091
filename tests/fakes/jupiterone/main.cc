// The fake JupiterOne synchronization API server as a process (flags in
// README.md). Exits 0 on SIGTERM or SIGINT.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/version.h"
#include "tests/fakes/common/server_main.h"
#include "tests/fakes/jupiterone/fake_jupiterone.h"

ABSL_FLAG(int, port, 0, "Port on 127.0.0.1; 0 picks an ephemeral port.");
ABSL_FLAG(
    std::string, port_file, "",
    "If set, the chosen port is written here (atomically) once listening.");
ABSL_FLAG(std::string, token, "test-token",
          "The only accepted bearer token (Authorization: Bearer ...).");
ABSL_FLAG(std::string, account, "test-account",
          "The only accepted JupiterOne-Account header value.");
ABSL_FLAG(int64_t, max_body_bytes,
          graphmill::fakes::kDefaultJupiterOneMaxBodyBytes,
          "Largest accepted request body in bytes, after gzip decoding; "
          "larger ones get 413 RequestEntityTooLargeException.");
ABSL_FLAG(int, finalize_delay_ms, 0,
          "How long a finalized job reads FINALIZE_PENDING before FINISHED.");
ABSL_FLAG(std::vector<std::string>, fault, {},
          "Faults, each ROUTE:KIND[:KEY=VALUE]... (README.md); "
          "comma-separated, and the flag may be repeated.");
ABSL_FLAG(int, threads, 256,
          "Request-handling threads (one per open keep-alive connection).");

namespace {

using graphmill::LogError;
using graphmill::LogInfo;
using graphmill::fakes::FakeJupiterOne;
using graphmill::fakes::FakeJupiterOneOptions;

int Run(const std::vector<std::string>& fault_flags) {
  FakeJupiterOneOptions options;
  options.port = absl::GetFlag(FLAGS_port);
  options.token = absl::GetFlag(FLAGS_token);
  options.account = absl::GetFlag(FLAGS_account);
  options.max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  options.finalize_delay =
      absl::Milliseconds(absl::GetFlag(FLAGS_finalize_delay_ms));
  options.threads = absl::GetFlag(FLAGS_threads);
  for (const std::string& specs : fault_flags) {
    absl::StatusOr<std::vector<graphmill::fakes::jupiterone::Fault>> faults =
        graphmill::fakes::jupiterone::ParseFaultList(specs);
    if (!faults.ok()) {
      LogError("--fault: ", faults.status().message());
      return 2;
    }
    options.faults.insert(options.faults.end(), faults->begin(), faults->end());
  }

  graphmill::fakes::common::BlockStopSignals();

  absl::StatusOr<std::unique_ptr<FakeJupiterOne>> server =
      FakeJupiterOne::Start(std::move(options));
  if (!server.ok()) {
    LogError("cannot start: ", server.status().ToString());
    return 1;
  }
  const int port = (*server)->port();
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty() &&
      !graphmill::fakes::common::WritePortFile(port_file, port)) {
    LogError("cannot write --port_file '", port_file, "'");
    return 1;
  }
  LogInfo("listening on ", (*server)->base_url(),
          " max_body_bytes=", absl::GetFlag(FLAGS_max_body_bytes),
          " faults=", absl::StrJoin(fault_flags, ","));

  const int signal_number = graphmill::fakes::common::WaitForStopSignal();
  LogInfo("signal ", signal_number, " received; stopping");
  server->reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  graphmill::SetLogProgramName("fake_jupiterone");
  absl::SetProgramUsageMessage(
      "Fake JupiterOne synchronization API on 127.0.0.1 (see "
      "tests/fakes/jupiterone/README.md).");
  // absl keeps only the last occurrence of a flag; --fault may be repeated.
  const std::vector<std::string> fault_flags =
      graphmill::fakes::common::RepeatedFlagValues(argc, argv, "fault");
  graphmill::SetFlagsUsage("fake_jupiterone");
  absl::ParseCommandLine(argc, argv);
  return Run(fault_flags);
}
