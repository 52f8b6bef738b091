// The fake Heroku Platform API server as a process (flags in README.md). Exits
// 0 on SIGTERM or SIGINT.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/version.h"
#include "tests/fakes/common/server_main.h"
#include "tests/fakes/heroku/fake_heroku.h"

ABSL_FLAG(int, port, 0, "Port on 127.0.0.1; 0 picks an ephemeral port.");
ABSL_FLAG(
    std::string, port_file, "",
    "If set, the chosen port is written here (atomically) once listening.");
ABSL_FLAG(std::vector<std::string>, token, {},
          "Accepted tokens, each TOKEN:SCOPES:ROLE[:EMAIL] (scopes joined by "
          "'+'); comma-separated, and the flag may be repeated. Default: "
          "test-token:global:admin.");
ABSL_FLAG(std::string, mode, "generated", "generated | replay");
ABSL_FLAG(uint64_t, seed, 1, "Generated mode: the data's seed.");
ABSL_FLAG(int, accounts, 2, "Generated mode: enterprise accounts.");
ABSL_FLAG(int, members_per_account, 6,
          "Generated mode: members of each account, shared ones included.");
ABSL_FLAG(int, shared_members, 2,
          "Generated mode: users who are members of two accounts.");
ABSL_FLAG(int, teams_per_account, 2, "Generated mode.");
ABSL_FLAG(int, team_members_per_team, 3,
          "Generated mode: team members drawn from the account's members.");
ABSL_FLAG(int, outside_team_members_per_team, 0,
          "Generated mode: team members who are not enterprise members.");
ABSL_FLAG(int, apps_per_team, 3, "Generated mode.");
ABSL_FLAG(int, apps_first_team, -1,
          "Generated mode: apps of the first team; -1 = --apps_per_team.");
ABSL_FLAG(int, addons_per_app, 2, "Generated mode.");
ABSL_FLAG(int, rate_limit_capacity, 4500, "Token bucket size per token.");
ABSL_FLAG(double, rate_limit_refill_per_second, 1.25,
          "Tokens added per second (Heroku: 75/min = 1.25/s).");
ABSL_FLAG(int, rate_limit_retry_after, -1,
          "Retry-After seconds on a 429 from an empty bucket; < 0 = none.");
ABSL_FLAG(std::string, recordings_dir, "",
          "Replay mode: directory of *.har files (loaded by name).");
ABSL_FLAG(std::vector<std::string>, recordings, {},
          "Replay mode: .har files, loaded after --recordings_dir.");
ABSL_FLAG(
    std::vector<std::string>, fault, {},
    "Faults, each ROUTE:KIND[:KEY=VALUE]... (README.md); comma-separated, and "
    "the flag may be repeated.");
ABSL_FLAG(int, threads, 256,
          "Request-handling threads (one per open keep-alive connection).");
ABSL_FLAG(std::string, webhook_ca_file, "",
          "PEM CA bundle that https webhook targets are verified with; empty: "
          "the system's.");

namespace {

using graphmill::LogError;
using graphmill::LogInfo;
using graphmill::fakes::FakeHeroku;
using graphmill::fakes::FakeHerokuMode;
using graphmill::fakes::FakeHerokuOptions;

int Run(const std::vector<std::string>& token_flags,
        const std::vector<std::string>& fault_flags) {
  FakeHerokuOptions options;
  options.port = absl::GetFlag(FLAGS_port);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.webhook_ca_file = absl::GetFlag(FLAGS_webhook_ca_file);
  auto& dataset = options.dataset;
  dataset.seed = absl::GetFlag(FLAGS_seed);
  dataset.accounts = absl::GetFlag(FLAGS_accounts);
  dataset.members_per_account = absl::GetFlag(FLAGS_members_per_account);
  dataset.shared_members = absl::GetFlag(FLAGS_shared_members);
  dataset.teams_per_account = absl::GetFlag(FLAGS_teams_per_account);
  dataset.team_members_per_team = absl::GetFlag(FLAGS_team_members_per_team);
  dataset.outside_team_members_per_team =
      absl::GetFlag(FLAGS_outside_team_members_per_team);
  dataset.apps_per_team = absl::GetFlag(FLAGS_apps_per_team);
  dataset.apps_first_team = absl::GetFlag(FLAGS_apps_first_team);
  dataset.addons_per_app = absl::GetFlag(FLAGS_addons_per_app);
  options.rate_limit.capacity = absl::GetFlag(FLAGS_rate_limit_capacity);
  options.rate_limit.refill_per_second =
      absl::GetFlag(FLAGS_rate_limit_refill_per_second);
  options.rate_limit.retry_after_seconds =
      absl::GetFlag(FLAGS_rate_limit_retry_after);

  for (const std::string& specs : token_flags) {
    for (absl::string_view spec :
         absl::StrSplit(specs, ',', absl::SkipWhitespace())) {
      absl::StatusOr<graphmill::fakes::heroku::TokenSpec> token =
          graphmill::fakes::heroku::ParseTokenSpec(spec);
      if (!token.ok()) {
        // The message never contains the token itself.
        LogError("--token #", options.tokens.size(), ": ",
                 token.status().message());
        return 2;
      }
      options.tokens.push_back(*std::move(token));
    }
  }

  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "replay") {
    options.mode = FakeHerokuMode::kReplay;
    if (!absl::GetFlag(FLAGS_recordings_dir).empty()) {
      options.recordings.push_back(absl::GetFlag(FLAGS_recordings_dir));
    }
    for (const std::string& file : absl::GetFlag(FLAGS_recordings)) {
      options.recordings.push_back(file);
    }
  } else if (mode != "generated") {
    LogError("--mode must be generated or replay, got '", mode, "'");
    return 2;
  }
  for (const std::string& specs : fault_flags) {
    absl::StatusOr<std::vector<graphmill::fakes::heroku::Fault>> faults =
        graphmill::fakes::heroku::ParseFaultList(specs);
    if (!faults.ok()) {
      LogError("--fault: ", faults.status().message());
      return 2;
    }
    options.faults.insert(options.faults.end(), faults->begin(), faults->end());
  }
  const size_t token_count = std::max<size_t>(options.tokens.size(), 1);

  graphmill::fakes::common::BlockStopSignals();

  absl::StatusOr<std::unique_ptr<FakeHeroku>> server =
      FakeHeroku::Start(std::move(options));
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
  LogInfo("listening on ", (*server)->base_url(), " mode=", mode,
          " tokens=", token_count, " faults=", absl::StrJoin(fault_flags, ","));

  const int signal_number = graphmill::fakes::common::WaitForStopSignal();
  LogInfo("signal ", signal_number, " received; stopping");
  server->reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  graphmill::SetLogProgramName("fake_heroku");
  absl::SetProgramUsageMessage(
      "Fake Heroku Platform API server on 127.0.0.1 (see "
      "tests/fakes/heroku/README.md).");
  const std::vector<std::string> token_flags =
      graphmill::fakes::common::RepeatedFlagValues(argc, argv, "token");
  const std::vector<std::string> fault_flags =
      graphmill::fakes::common::RepeatedFlagValues(argc, argv, "fault");
  graphmill::SetFlagsUsage("fake_heroku");
  absl::ParseCommandLine(argc, argv);
  return Run(token_flags, fault_flags);
}
