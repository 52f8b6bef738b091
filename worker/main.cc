// graphmill-worker: runs the integrations' tasks that the coordinator leases to
// it.
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "worker/integrations/registry.h"
#include "worker/runtime/channel.h"
#include "worker/runtime/http_client.h"
#include "worker/runtime/integration.h"
#include "worker/runtime/worker.h"

ABSL_FLAG(std::string, coordinator, "127.0.0.1:7400",
          "host:port of the coordinator's WorkerGateway (plaintext; loopback "
          "only until TLS)");
ABSL_FLAG(
    std::string, worker_id, "",
    "unique id of this worker, e.g. the pod name (default: <hostname>-<pid>)");
ABSL_FLAG(int, capacity, 4, "tasks run at once");
ABSL_FLAG(int64_t, max_response_bytes,
          graphmill::worker::kDefaultMaxResponseBytes,
          "most bytes of one provider response held in memory; a larger "
          "response fails its request (the step reports it) instead of "
          "growing the worker without bound");
ABSL_FLAG(int, drain_grace_seconds, 30,
          "on SIGTERM/SIGINT, how long running tasks may take to finish before "
          "the worker "
          "abandons them and exits");

namespace graphmill::worker {
namespace {

std::string DefaultWorkerId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    std::strcpy(host, "worker");
  }
  return absl::StrCat(host, "-", getpid());
}

// Ends the process without running destructors: pool threads may still be
// inside an abandoned handler, and static destructors must not race them. Logs
// are already flushed.
[[noreturn]] void Exit(int code) {
  std::fflush(nullptr);
  std::_Exit(code);
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs graphmill integration tasks leased by the coordinator.\n"
      "  graphmill-worker --coordinator=127.0.0.1:7400 --capacity=4");
  absl::ParseCommandLine(argc, argv);
  SetLogProgramName("graphmill-worker");

  // Every thread inherits this mask, so SIGTERM/SIGINT reach only the waiting
  // thread below and nothing runs inside a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const int capacity = absl::GetFlag(FLAGS_capacity);
  const int drain_grace_seconds = absl::GetFlag(FLAGS_drain_grace_seconds);
  if (capacity < 1) {
    LogError("--capacity must be at least 1, got ", capacity);
    return 2;
  }
  if (drain_grace_seconds < 0) {
    LogError("--drain_grace_seconds must not be negative, got ",
             drain_grace_seconds);
    return 2;
  }
  const int64_t max_response_bytes = absl::GetFlag(FLAGS_max_response_bytes);
  if (max_response_bytes < 1) {
    LogError("--max_response_bytes must be at least 1, got ",
             max_response_bytes);
    return 2;
  }
  // Before CreateIntegrations: each integration copies its base
  // HttpClientOptions, and with them this default, when it is created.
  SetDefaultMaxResponseBytes(max_response_bytes);

  WorkerOptions options;
  options.worker_id = absl::GetFlag(FLAGS_worker_id);
  if (options.worker_id.empty()) options.worker_id = DefaultWorkerId();
  options.capacity = capacity;
  options.coordinator = absl::GetFlag(FLAGS_coordinator);
  options.drain_grace = absl::Seconds(drain_grace_seconds);

  std::vector<std::unique_ptr<Integration>> owned = CreateIntegrations();
  std::vector<Integration*> integrations;
  for (const std::unique_ptr<Integration>& integration : owned) {
    integrations.push_back(integration.get());
  }

  // Leaked on purpose: the signal thread may use it until the process ends.
  Worker* worker =
      new Worker(options, CreateCoordinatorChannel(options.coordinator),
                 std::move(integrations));

  std::thread([worker, stop_signals] {
    int signal = 0;
    if (sigwait(&stop_signals, &signal) != 0) return;
    LogInfo("received ", strsignal(signal),
            ": draining (a second signal exits at once)");
    worker->Shutdown();
    if (sigwait(&stop_signals, &signal) != 0) return;
    LogWarn("received ", strsignal(signal),
            " again: exiting without waiting for tasks");
    Exit(1);
  }).detach();

  const absl::Status status = worker->Run();
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    LogError("cannot start: ", status.message());
    Exit(2);
  }
  if (!status.ok()) LogWarn(status.message());
  LogInfo("exiting");
  Exit(0);
}

}  // namespace
}  // namespace graphmill::worker

int main(int argc, char** argv) { return graphmill::worker::Main(argc, argv); }
