// graphmill-worker: runs the integrations' tasks that the coordinator leases to
// it.
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/log.h"
#include "common/log_flags.h"
#include "common/version.h"
#include "worker/integrations/registry.h"
#include "worker/runtime/channel.h"
#include "worker/runtime/health_server.h"
#include "worker/runtime/integration.h"
#include "worker/runtime/metrics.h"
#include "worker/runtime/worker.h"

ABSL_FLAG(std::string, coordinator, "127.0.0.1:7400",
          "host:port of the coordinator's WorkerGateway; plaintext only to a "
          "loopback address unless --tls_ca_file (TLS) or --insecure");
ABSL_FLAG(std::string, tls_ca_file, "",
          "connect with TLS: PEM CA bundle that signed the coordinator's "
          "certificate (re-read when it changes)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM client certificate chain, for a coordinator that requires "
          "client certificates (with --tls_key_file; re-read when it changes)");
ABSL_FLAG(std::string, tls_key_file, "",
          "PEM private key of --tls_cert_file (re-read when it changes)");
ABSL_FLAG(bool, insecure, false,
          "allow plaintext to a --coordinator that is not a loopback address "
          "(the token and task secrets cross the network readable)");
ABSL_FLAG(std::string, token_file, "",
          "file holding the worker's bearer token (a token with role worker); "
          "default: the GRAPHMILL_WORKER_TOKEN environment variable");
ABSL_FLAG(
    std::string, worker_id, "",
    "unique id of this worker, e.g. the pod name (default: <hostname>-<pid>)");
ABSL_FLAG(int, capacity, 16,
          "tasks run at once (they mostly wait on the provider: requests in "
          "flight are bounded by the credential's budget, not by slots)");
ABSL_FLAG(int64_t, max_response_bytes,
          graphmill::http::kDefaultMaxResponseBytes,
          "most bytes of one provider response held in memory; a larger "
          "response fails its request (the step reports it) instead of "
          "growing the worker without bound");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port to serve Prometheus metrics on at /metrics, plain HTTP "
          "without auth (port 0 picks a free port; empty: none)");
ABSL_FLAG(int, drain_grace_seconds, 30,
          "on SIGTERM/SIGINT, how long running tasks may take to finish before "
          "the worker "
          "abandons them and exits");
ABSL_FLAG(std::string, health_listen, "",
          "HOST:PORT to serve HTTP probes on: GET /healthz (the process is "
          "alive) and /readyz (200 while connected to the coordinator and "
          "taking tasks, else 503); empty: no probes");

namespace graphmill::worker {
namespace {

std::string DefaultWorkerId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    std::strcpy(host, "worker");
  }
  return absl::StrCat(host, "-", getpid());
}

// The worker's bearer token: --token_file, else $GRAPHMILL_WORKER_TOKEN; empty
// if neither is set. Messages name the file, never its content.
absl::StatusOr<std::string> LoadToken() {
  const std::string path = absl::GetFlag(FLAGS_token_file);
  if (path.empty()) {
    const char* token = std::getenv("GRAPHMILL_WORKER_TOKEN");
    return std::string(
        absl::StripAsciiWhitespace(token == nullptr ? "" : token));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--token_file '", path, "': cannot read: ", std::strerror(errno)));
  }
  constexpr size_t kMaxBytes = 64 * 1024;
  std::string content(kMaxBytes + 1, '\0');
  file.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<size_t>(file.gcount()));
  if (file.bad() || content.size() > kMaxBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--token_file '", path, "': cannot read (or larger than ",
                     kMaxBytes, " bytes)"));
  }
  const absl::string_view token = absl::StripAsciiWhitespace(content);
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--token_file '", path, "': file is empty"));
  }
  return std::string(token);
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
      "  graphmill-worker --coordinator=127.0.0.1:7400 --capacity=16");
  SetFlagsUsage("graphmill-worker");
  absl::ParseCommandLine(argc, argv);
  SetLogProgramName("graphmill-worker");
  ApplyLogFlags();

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
  http::SetDefaultMaxResponseBytes(max_response_bytes);

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

  CoordinatorConnection connection;
  connection.address = options.coordinator;
  connection.tls.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  connection.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  connection.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  connection.tls.insecure = absl::GetFlag(FLAGS_insecure);
  absl::StatusOr<std::string> token = LoadToken();
  if (!token.ok()) {
    LogError("cannot start: ", token.status().message());
    return 2;
  }
  connection.token = *std::move(token);
  if (connection.token.empty()) {
    LogWarn(
        "no bearer token (--token_file or GRAPHMILL_WORKER_TOKEN): a "
        "coordinator that checks tokens will refuse this worker");
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      ConnectCoordinator(connection);
  if (!channel.ok()) {
    LogError("cannot start: ", channel.status().message());
    return 2;
  }
  if (connection.tls.insecure) {
    LogWarn("--insecure: plaintext to ", options.coordinator,
            ": the token and task secrets cross the network readable");
  }
  LogInfo("coordinator ", options.coordinator, " over ",
          connection.tls.ca_file.empty() ? "plaintext" : "TLS",
          connection.tls.cert_file.empty() ? "" : " with a client certificate");

  // Issue 14: Prometheus metrics (docs/operations.md, "Metrics and alerts").
  absl::StatusOr<std::unique_ptr<metrics::Server>> metrics_server =
      ServeWorkerMetrics(absl::GetFlag(FLAGS_metrics_listen));
  if (!metrics_server.ok()) {
    LogError("--metrics_listen: ", metrics_server.status().message());
    return 2;
  }
  if (*metrics_server != nullptr) {
    LogInfo("serving metrics on port ", (*metrics_server)->port(), " (",
            absl::GetFlag(FLAGS_metrics_listen), ") at /metrics");
  }

  // Leaked on purpose: the signal thread may use it until the process ends.
  Worker* worker =
      new Worker(options, *std::move(channel), std::move(integrations));

  // Lives until the process ends (Exit skips destructors).
  std::unique_ptr<HealthServer> health;
  if (!absl::GetFlag(FLAGS_health_listen).empty()) {
    absl::StatusOr<std::unique_ptr<HealthServer>> started = HealthServer::Start(
        absl::GetFlag(FLAGS_health_listen),
        [worker, coordinator = options.coordinator] {
          if (worker->draining()) {
            return Readiness{false, "draining: taking no new tasks"};
          }
          if (!worker->connected()) {
            return Readiness{
                false,
                absl::StrCat("not connected to coordinator ", coordinator)};
          }
          return Readiness{
              true, absl::StrCat("connected to coordinator ", coordinator)};
        });
    if (!started.ok()) {
      LogError("cannot start: ", started.status().message());
      Exit(2);
    }
    health = *std::move(started);
    LogInfo("probes on ", absl::GetFlag(FLAGS_health_listen), " (port ",
            health->port(), "): GET /healthz, /readyz");
  }

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
