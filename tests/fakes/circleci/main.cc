// The fake CircleCI API v2 server as a process (flags in README.md). Exits 0 on
// SIGTERM or SIGINT.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "tests/fakes/circleci/fake_circleci.h"
#include "tests/fakes/common/server_main.h"

ABSL_FLAG(int, port, 0, "Port on 127.0.0.1; 0 picks an ephemeral port.");
ABSL_FLAG(
    std::string, port_file, "",
    "If set, the chosen port is written here (atomically) once listening.");
ABSL_FLAG(std::string, token, "test-token", "The only accepted Circle-Token.");
ABSL_FLAG(std::string, login, "graphmill-test",
          "Login of /me and name of org 0.");
ABSL_FLAG(std::string, user_id, "5c3bb5d0-5a0c-4a54-9b2e-9a8f1b1d6a01",
          "Id of /me.");
ABSL_FLAG(std::string, mode, "generated", "generated | replay");
ABSL_FLAG(uint64_t, seed, 1, "Generated mode: the data's seed.");
ABSL_FLAG(int, orgs, 2, "Generated mode: organizations (collaborations).");
ABSL_FLAG(int, projects_per_org, 5, "Generated mode.");
ABSL_FLAG(int, pipelines_per_project, 5, "Generated mode.");
ABSL_FLAG(int, workflows_per_pipeline, 2, "Generated mode.");
ABSL_FLAG(int, jobs_per_workflow, 3, "Generated mode.");
ABSL_FLAG(int, contexts_per_org, 2, "Generated mode.");
ABSL_FLAG(int, env_vars_per_project, 2, "Generated mode.");
ABSL_FLAG(int, env_vars_per_context, 2, "Generated mode.");
ABSL_FLAG(int, restrictions_per_context, 2,
          "Generated mode: project restrictions per context.");
ABSL_FLAG(bool, expression_restriction, true,
          "Generated mode: one extra `expression` restriction per context.");
ABSL_FLAG(int, page_size, 20, "Items per page of every paginated list.");
ABSL_FLAG(bool, pipeline_page_overlap, false,
          "Generated mode: repeat the last pipeline of a page at the top of "
          "the next.");
ABSL_FLAG(std::string, pad_route, "pipeline",
          "Generated mode: the paginated route whose items --pad_item_bytes "
          "pads.");
ABSL_FLAG(int64_t, pad_item_bytes, 0,
          "Generated mode: give the first --pad_items items of every list of "
          "--pad_route a \"padding\" member of this many bytes; 0 = off.");
ABSL_FLAG(int, pad_items, -1,
          "Generated mode: how many items of each list --pad_item_bytes pads; "
          "-1 = every item.");
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
using graphmill::fakes::FakeCircleCi;
using graphmill::fakes::FakeCircleCiOptions;
using graphmill::fakes::FakeMode;

int Run(const std::vector<std::string>& fault_flags) {
  FakeCircleCiOptions options;
  options.port = absl::GetFlag(FLAGS_port);
  options.token = absl::GetFlag(FLAGS_token);
  options.page_size = absl::GetFlag(FLAGS_page_size);
  options.pipeline_page_overlap = absl::GetFlag(FLAGS_pipeline_page_overlap);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.webhook_ca_file = absl::GetFlag(FLAGS_webhook_ca_file);
  options.padding.route = absl::GetFlag(FLAGS_pad_route);
  options.padding.bytes = absl::GetFlag(FLAGS_pad_item_bytes);
  options.padding.items = absl::GetFlag(FLAGS_pad_items);
  auto& generator = options.generator;
  generator.login = absl::GetFlag(FLAGS_login);
  generator.user_id = absl::GetFlag(FLAGS_user_id);
  generator.seed = absl::GetFlag(FLAGS_seed);
  generator.orgs = absl::GetFlag(FLAGS_orgs);
  generator.projects_per_org = absl::GetFlag(FLAGS_projects_per_org);
  generator.pipelines_per_project = absl::GetFlag(FLAGS_pipelines_per_project);
  generator.workflows_per_pipeline =
      absl::GetFlag(FLAGS_workflows_per_pipeline);
  generator.jobs_per_workflow = absl::GetFlag(FLAGS_jobs_per_workflow);
  generator.contexts_per_org = absl::GetFlag(FLAGS_contexts_per_org);
  generator.env_vars_per_project = absl::GetFlag(FLAGS_env_vars_per_project);
  generator.env_vars_per_context = absl::GetFlag(FLAGS_env_vars_per_context);
  generator.project_restrictions_per_context =
      absl::GetFlag(FLAGS_restrictions_per_context);
  generator.expression_restriction =
      absl::GetFlag(FLAGS_expression_restriction);

  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "replay") {
    options.mode = FakeMode::kReplay;
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
    absl::StatusOr<std::vector<graphmill::fakes::Fault>> faults =
        graphmill::fakes::ParseFaultList(specs);
    if (!faults.ok()) {
      LogError("--fault: ", faults.status().message());
      return 2;
    }
    options.faults.insert(options.faults.end(), faults->begin(), faults->end());
  }

  graphmill::fakes::common::BlockStopSignals();

  absl::StatusOr<std::unique_ptr<FakeCircleCi>> server =
      FakeCircleCi::Start(std::move(options));
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
  const int64_t pad_bytes = absl::GetFlag(FLAGS_pad_item_bytes);
  LogInfo("listening on ", (*server)->base_url(), " mode=", mode,
          " faults=", absl::StrJoin(fault_flags, ","),
          pad_bytes > 0
              ? absl::StrCat(" padding=", absl::GetFlag(FLAGS_pad_route), ":",
                             pad_bytes, "x", absl::GetFlag(FLAGS_pad_items))
              : "");

  const int signal_number = graphmill::fakes::common::WaitForStopSignal();
  LogInfo("signal ", signal_number, " received; stopping");
  server->reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  graphmill::SetLogProgramName("fake_circleci");
  absl::SetProgramUsageMessage(
      "Fake CircleCI API v2 server on 127.0.0.1 (see "
      "tests/fakes/circleci/README.md).");
  // absl keeps only the last occurrence of a flag; --fault may be repeated.
  const std::vector<std::string> fault_flags =
      graphmill::fakes::common::RepeatedFlagValues(argc, argv, "fault");
  absl::ParseCommandLine(argc, argv);
  return Run(fault_flags);
}
