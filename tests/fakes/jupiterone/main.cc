// The fake JupiterOne synchronization API server as a process (flags in
// README.md). Exits 0 on SIGTERM or SIGINT.
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
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

// Every value given to --NAME / -NAME ("=VALUE" or the next argument), in
// order, up to a "--" terminator.
std::vector<std::string> RepeatedFlagValues(int argc, char** argv,
                                            const std::string& name) {
  std::vector<std::string> values;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    // "--fault..." and "-fault..." are the same flag to absl.
    const std::string bare = arg.rfind("--", 0) == 0  ? arg.substr(2)
                             : arg.rfind("-", 0) == 0 ? arg.substr(1)
                                                      : std::string();
    if (bare == name && i + 1 < argc) {
      values.push_back(argv[++i]);
    } else if (bare.rfind(name + "=", 0) == 0) {
      values.push_back(bare.substr(name.size() + 1));
    }
  }
  return values;
}

bool WritePortFile(const std::string& path, int port) {
  const std::string temporary = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

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

  // Block the stop signals in every thread (the server's threads inherit this
  // mask) so that only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<FakeJupiterOne>> server =
      FakeJupiterOne::Start(std::move(options));
  if (!server.ok()) {
    LogError("cannot start: ", server.status().ToString());
    return 1;
  }
  const int port = (*server)->port();
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty() && !WritePortFile(port_file, port)) {
    LogError("cannot write --port_file '", port_file, "'");
    return 1;
  }
  LogInfo("listening on ", (*server)->base_url(),
          " max_body_bytes=", absl::GetFlag(FLAGS_max_body_bytes),
          " faults=", absl::StrJoin(fault_flags, ","));

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
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
      RepeatedFlagValues(argc, argv, "fault");
  absl::ParseCommandLine(argc, argv);
  return Run(fault_flags);
}
