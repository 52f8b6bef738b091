// graphmill-coordinator: holds instances and runs, plans and dispatches tasks
// to workers, merges results into each instance's graph, and serves the Admin,
// Graph and WorkerGateway gRPC services.
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/grpc_limits.h"
#include "common/log.h"
#include "common/log_flags.h"
#include "common/tls.h"
#include "common/version.h"
#include "coordinator/api/services.h"
#include "coordinator/auth/authorizer.h"
#include "coordinator/auth/bootstrap.h"
#include "coordinator/auth/server_security.h"
#include "coordinator/auth/store_token_verifier.h"
#include "coordinator/engine.h"
#include "coordinator/instances.h"
#include "coordinator/metrics.h"
#include "coordinator/probes/health.h"
#include "coordinator/probes/reflection.h"
#include "coordinator/run_uploader.h"
#include "coordinator/secrets/secret_box.h"
#include "coordinator/store/postgres.h"
#include "coordinator/store/store.h"
#include "coordinator/webhooks/webhook_install.h"
#include "coordinator/webhooks/webhook_receiver.h"
#include "coordinator/webhooks/webhook_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7400",
          "host:port to serve gRPC on (port 0 picks a free port; see "
          "--port_file). Any address other than loopback needs "
          "--tls_cert_file and --tls_key_file (or --insecure_plaintext)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain to serve TLS with (with --tls_key_file); "
          "re-read when it changes");
ABSL_FLAG(std::string, tls_key_file, "",
          "PEM private key of --tls_cert_file; re-read when it changes");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle: require client certificates signed by it (mTLS); "
          "re-read when it changes");
ABSL_FLAG(int, tls_reload_seconds, 60,
          "how often the TLS files are checked for changes; new connections "
          "use the new files");
ABSL_FLAG(bool, insecure_plaintext, false,
          "serve plaintext on a --listen address that is not loopback: tokens "
          "and data cross the network readable (warned at every start)");
ABSL_FLAG(std::string, admin_token_file, "",
          "where a start with no admin token in the store writes the "
          "bootstrap admin token (default: admin.token next to --store)");
ABSL_FLAG(std::string, store, "graphmill.db",
          "the store: a SQLite file (created if missing), or a PostgreSQL "
          "connection URI (postgresql://...)");
ABSL_FLAG(std::string, port_file, "",
          "if set, the chosen port is written to this file once serving");
ABSL_FLAG(int, lease_seconds, 30, "task lease; a worker's heartbeats renew it");
ABSL_FLAG(int, max_subscriptions_per_caller, 16,
          "Subscribe streams one caller (token) may hold open at once");
ABSL_FLAG(int, max_task_attempts, 3, "leases per task before its step fails");
ABSL_FLAG(int, shard_size, 200,
          "parent entities per task for steps that iterate parents");
ABSL_FLAG(
    std::string, secret_key_file, "",
    "file with the 32-byte key (64 hex chars or base64) that encrypts secret "
    "config "
    "values at rest; default: the GRAPHMILL_SECRET_KEY environment variable");
ABSL_FLAG(double, default_rate_limit, 0,
          "upper bound on provider requests per second per credential when "
          "an instance sets none; 0: none (requests in flight, sized per "
          "provider, and the provider's own rate-limit answers pace runs)");
ABSL_FLAG(int, default_requests_in_flight, 32,
          "provider requests in flight per credential for an integration "
          "that states no limit of its own");
ABSL_FLAG(int, change_log_max_age_hours, 0,
          "drop changes older than this (0: keep)");
ABSL_FLAG(int64_t, change_log_max_count, 0,
          "keep at most this many changes (0: all)");
ABSL_FLAG(std::string, health_listen, "",
          "host:port of a plaintext gRPC port that serves only "
          "grpc.health.v1.Health (no data, no token), for kubelet gRPC "
          "probes when --listen uses TLS; empty: none");
ABSL_FLAG(std::string, webhook_listen, "",
          "host:port to receive provider webhooks on at POST "
          "/webhooks/<instance-id> (port 0 picks a free port; empty: none). "
          "TLS with --tls_cert_file and --tls_key_file; plaintext only on "
          "loopback unless --insecure_plaintext");
ABSL_FLAG(int64_t, webhook_max_body_bytes, 1 << 20,
          "largest webhook body accepted (413 beyond)");
ABSL_FLAG(double, webhook_rate_per_instance, 50,
          "webhook deliveries accepted per instance per second, with a burst "
          "of twice that (429 beyond)");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port to serve Prometheus metrics on at /metrics, plain HTTP "
          "without auth (port 0 picks a free port; empty: none)");

namespace {

// Waits for SIGINT/SIGTERM on a dedicated thread (no work in a signal handler).
int WaitForShutdownSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  return signal_number;
}

bool WritePortFile(const std::string& path, int port) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    out << port << "\n";
    if (!out) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "graphmill coordinator: graphmill-coordinator [flags]");
  graphmill::SetFlagsUsage("graphmill-coordinator");
  absl::ParseCommandLine(argc, argv);
  graphmill::SetLogProgramName("coordinator");
  graphmill::ApplyLogFlags();

  // Block the shutdown signals before any thread starts, so only sigwait sees
  // them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto store = graphmill::coordinator::Store::Open(absl::GetFlag(FLAGS_store));
  if (!store.ok()) {
    graphmill::LogError(store.status().message());
    return 1;
  }
  // Every call is checked against coordinator/auth/authorizer's table before
  // its request is read; see MakeServerSecurity for each transport. Checked
  // before the bootstrap admin token is written.
  const graphmill::coordinator::StoreTokenVerifier verifier(store->get());
  const graphmill::coordinator::Authorizer authorizer(&verifier);
  if (absl::GetFlag(FLAGS_max_subscriptions_per_caller) < 1) {
    graphmill::LogError("--max_subscriptions_per_caller must be >= 1");
    return 64;
  }
  if (absl::GetFlag(FLAGS_tls_reload_seconds) < 1) {
    graphmill::LogError("--tls_reload_seconds must be >= 1");
    return 64;
  }
  graphmill::coordinator::ServerSecurityOptions security_options;
  security_options.listen = absl::GetFlag(FLAGS_listen);
  security_options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  security_options.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  security_options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  security_options.tls.refresh_interval =
      absl::Seconds(absl::GetFlag(FLAGS_tls_reload_seconds));
  security_options.insecure_plaintext = absl::GetFlag(FLAGS_insecure_plaintext);
  absl::StatusOr<graphmill::coordinator::ServerSecurity> security =
      graphmill::coordinator::MakeServerSecurity(security_options, &authorizer);
  if (!security.ok()) {
    graphmill::LogError(security.status().message());
    return 64;
  }
  if (!security->warning.empty()) graphmill::LogWarn(security->warning);

  // Issue 11, token half: the first admin token (see coordinator/auth/
  // bootstrap.h).
  const std::string admin_token_file =
      absl::GetFlag(FLAGS_admin_token_file).empty()
          ? graphmill::coordinator::DefaultAdminTokenFile(
                absl::GetFlag(FLAGS_store))
          : absl::GetFlag(FLAGS_admin_token_file);
  if (absl::Status status = graphmill::coordinator::BootstrapAdminToken(
          **store, admin_token_file);
      !status.ok()) {
    graphmill::LogError(status.message());
    return 1;
  }
  auto key = graphmill::coordinator::LoadSecretKey(
      absl::GetFlag(FLAGS_secret_key_file));
  if (!key.ok()) {
    graphmill::LogError(key.status().message());
    return 1;
  }
  if (key->has_value()) {
    if (!(*key)->load_warning().empty())
      graphmill::LogWarn((*key)->load_warning());
    graphmill::LogInfo("secrets are encrypted with key ",
                       (*key)->KeyFingerprint());
  } else {
    graphmill::LogWarn(
        "no secret key (--secret_key_file or GRAPHMILL_SECRET_KEY): instances "
        "with secret "
        "fields will be refused");
  }
  const graphmill::coordinator::InstanceSecrets secrets(std::move(*key));
  // The one source of time for everything below that decides by it.
  graphmill::Clock* const clock = graphmill::Clock::Real();
  graphmill::coordinator::EngineOptions options;
  options.clock = clock;
  options.default_rate_per_second = absl::GetFlag(FLAGS_default_rate_limit);
  options.default_requests_in_flight =
      absl::GetFlag(FLAGS_default_requests_in_flight);
  options.change_log_max_age =
      absl::Hours(absl::GetFlag(FLAGS_change_log_max_age_hours));
  options.change_log_max_count = absl::GetFlag(FLAGS_change_log_max_count);
  options.lease = absl::Seconds(absl::GetFlag(FLAGS_lease_seconds));
  options.max_task_attempts = absl::GetFlag(FLAGS_max_task_attempts);
  options.shard_size = absl::GetFlag(FLAGS_shard_size);
  if (options.max_task_attempts < 1 || options.shard_size < 1 ||
      options.default_rate_per_second < 0 ||
      options.default_requests_in_flight < 1 ||
      absl::GetFlag(FLAGS_lease_seconds) < 1) {
    graphmill::LogError(
        "--lease_seconds, --max_task_attempts, --shard_size and "
        "--default_requests_in_flight must be >= 1, --default_rate_limit "
        ">= 0");
    return 64;
  }
  // The uploader and the engine refer to each other only through these
  // callbacks.
  graphmill::coordinator::Engine* engine_for_uploads = nullptr;
  graphmill::coordinator::RunUploader uploader(
      store->get(), &secrets, graphmill::sinks::UploaderOptions(),
      [&engine_for_uploads] {
        if (engine_for_uploads != nullptr)
          engine_for_uploads->NotifyExternalChange();
      });
  options.on_finalized = [&uploader](int64_t run_id) {
    uploader.OnFinalized(run_id);
  };
  options.on_leadership = [&uploader] { uploader.ResumeUnfinished(); };
  graphmill::coordinator::Engine engine(store->get(), &secrets, options);
  engine_for_uploads = &engine;
  // Admin.InstallWebhooks registers the webhook endpoint with providers, also
  // on a coordinator without --webhook_listen (another replica, or one behind
  // the same URL, may receive the deliveries). Each resource is one list and
  // at most one create, within the operator's call.
  graphmill::http::HttpClientOptions install_http;
  install_http.request_timeout = absl::Seconds(15);
  install_http.total_budget = absl::Seconds(30);
  install_http.max_attempts = 3;
  const graphmill::coordinator::WebhookInstaller webhook_installer(
      store->get(), &secrets,
      graphmill::coordinator::DefaultWebhookHandlers(install_http));
  graphmill::coordinator::AdminService admin(store->get(), &engine, &secrets,
                                             &uploader, &webhook_installer);
  graphmill::coordinator::GraphService graph(
      store->get(), &engine,
      {.authorizer = &authorizer,
       .max_subscriptions_per_caller =
           absl::GetFlag(FLAGS_max_subscriptions_per_caller)});
  graphmill::coordinator::WorkerGatewayService gateway(&engine);

  // Issue 14: Prometheus metrics (docs/operations.md, "Metrics and alerts").
  auto metrics_server = graphmill::coordinator::ServeCoordinatorMetrics(
      absl::GetFlag(FLAGS_metrics_listen));
  if (!metrics_server.ok()) {
    graphmill::LogError("--metrics_listen: ",
                        metrics_server.status().message());
    return 64;
  }
  if (*metrics_server != nullptr) {
    graphmill::LogInfo("serving metrics on port ", (*metrics_server)->port(),
                       " (", absl::GetFlag(FLAGS_metrics_listen),
                       ") at /metrics");
  }

  // Issue 16: provider webhooks (coordinator/webhooks; docs/design.md,
  // "Webhooks").
  std::unique_ptr<graphmill::coordinator::WebhookReceiver> webhook_receiver;
  std::unique_ptr<graphmill::coordinator::WebhookServer> webhook_server;
  if (!absl::GetFlag(FLAGS_webhook_listen).empty()) {
    if (absl::GetFlag(FLAGS_webhook_max_body_bytes) < 1 ||
        !(absl::GetFlag(FLAGS_webhook_rate_per_instance) > 0)) {
      graphmill::LogError(
          "--webhook_max_body_bytes must be >= 1 and "
          "--webhook_rate_per_instance > 0");
      return 64;
    }
    // A CircleCI delivery's reads must end well within the provider's wait
    // for an answer.
    graphmill::http::HttpClientOptions webhook_http;
    webhook_http.request_timeout = absl::Seconds(10);
    webhook_http.total_budget = absl::Seconds(20);
    webhook_http.max_attempts = 2;
    webhook_receiver =
        std::make_unique<graphmill::coordinator::WebhookReceiver>(
            store->get(), &secrets,
            graphmill::coordinator::DefaultWebhookHandlers(webhook_http),
            graphmill::coordinator::WebhookReceiverOptions{
                .clock = clock,
                .rate_per_instance =
                    absl::GetFlag(FLAGS_webhook_rate_per_instance),
                .on_change = [&engine] { engine.NotifyExternalChange(); }});
    auto started = graphmill::coordinator::WebhookServer::Start(
        {.listen = absl::GetFlag(FLAGS_webhook_listen),
         .tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file),
         .tls_key_file = absl::GetFlag(FLAGS_tls_key_file),
         .insecure_plaintext = absl::GetFlag(FLAGS_insecure_plaintext),
         .max_body_bytes = absl::GetFlag(FLAGS_webhook_max_body_bytes)},
        webhook_receiver.get());
    if (!started.ok()) {
      graphmill::LogError(started.status().message());
      return 64;
    }
    webhook_server = *std::move(started);
    graphmill::LogInfo("receiving webhooks on port ", webhook_server->port(),
                       " (", absl::GetFlag(FLAGS_webhook_listen), ", ",
                       webhook_server->description(), ") at /webhooks/<id>");
  }

  // grpc.health.v1.Health (open to probes without a token) and server
  // reflection (v1alpha and v1; admin and reader tokens); see
  // coordinator/probes.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  graphmill::coordinator::AddServerReflection(&builder);
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), security->credentials,
                           &port);
  builder.RegisterService(&admin);
  builder.RegisterService(&graph);
  builder.RegisterService(&gateway);
  // gRPC's 4 MiB default would refuse a worker batch or request carrying one
  // entity with MBs of raw data; see common/grpc_limits.h. Sends keep gRPC's
  // default (no limit): Graph replies are bounded by the services themselves.
  builder.SetMaxReceiveMessageSize(graphmill::kMaxGrpcMessageBytes);
  // Notice dead workers promptly even if they stop sending heartbeats without
  // closing.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    graphmill::LogError("cannot listen on ", absl::GetFlag(FLAGS_listen));
    return 1;
  }
  // The probe port: health only, plaintext on any address (a health status
  // is no secret, and kubelet's gRPC probe speaks no TLS).
  std::unique_ptr<grpc::Server> probe_server;
  int probe_port = 0;
  if (!absl::GetFlag(FLAGS_health_listen).empty()) {
    grpc::ServerBuilder probe_builder;
    probe_builder.AddListeningPort(absl::GetFlag(FLAGS_health_listen),
                                   grpc::InsecureServerCredentials(),
                                   &probe_port);
    probe_server = probe_builder.BuildAndStart();
    if (probe_server == nullptr || probe_port == 0) {
      graphmill::LogError("--health_listen: cannot listen on ",
                          absl::GetFlag(FLAGS_health_listen));
      return 64;
    }
    graphmill::LogInfo("serving grpc.health.v1 on port ", probe_port, " (",
                       absl::GetFlag(FLAGS_health_listen), ", plaintext)");
  }
  // SERVING while a cheap store query answers (checked every 5 s),
  // NOT_SERVING once it fails and from SIGTERM on.
  graphmill::coordinator::HealthReporterOptions health_options{
      .services = {graphmill::v1::Admin::service_full_name(),
                   graphmill::v1::Graph::service_full_name(),
                   graphmill::v1::WorkerGateway::service_full_name()},
      .clock = clock};
  if (probe_server != nullptr) {
    health_options.mirrors.push_back(probe_server->GetHealthCheckService());
  }
  graphmill::coordinator::HealthReporter health(
      server->GetHealthCheckService(),
      [&store] { return (*store)->HasAdminToken().status(); }, health_options);
  health.Start();
  engine.Start();
  uploader.Start();
  graphmill::LogInfo(
      "serving on port ", port, " (", security->description, ") with store ",
      graphmill::coordinator::RedactConnectionUri(absl::GetFlag(FLAGS_store)));
  if (!absl::GetFlag(FLAGS_port_file).empty() &&
      !WritePortFile(absl::GetFlag(FLAGS_port_file), port)) {
    graphmill::LogError("cannot write ", absl::GetFlag(FLAGS_port_file));
    return 1;
  }
  const int signal_number = WaitForShutdownSignal();
  graphmill::LogInfo("signal ", signal_number, ": shutting down");
  health.StartDraining();
  server->Shutdown(absl::ToChronoTime(clock->Now() + absl::Seconds(5)));
  if (probe_server != nullptr) probe_server->Shutdown();
  if (webhook_server != nullptr) webhook_server->Stop();
  engine.Stop();
  return 0;
}
