#include "coordinator/webhooks/webhook_server.h"

#include <httplib.h>

#include <atomic>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/tls.h"
#include "coordinator/definitions.h"

namespace graphmill::coordinator {
namespace {

constexpr char kPathPrefix[] = "/webhooks/";

// host and port of "host:port" or "[v6]:port".
absl::StatusOr<std::pair<std::string, int>> SplitListen(
    const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--webhook_listen: '", listen, "' is not host:port"));
  }
  std::string host = listen.substr(0, colon);
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  return std::make_pair(host, port);
}

void Send(const WebhookReply& reply, httplib::Response& res) {
  res.status = reply.http_status;
  if (reply.http_status == 429) res.set_header("Retry-After", "1");
  res.set_content(reply.body, "application/json");
}

}  // namespace

absl::StatusOr<std::unique_ptr<WebhookServer>> WebhookServer::Start(
    const WebhookServerOptions& options, WebhookReceiver* receiver) {
  auto address = SplitListen(options.listen);
  if (!address.ok()) return address.status();
  const bool tls =
      !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  std::unique_ptr<WebhookServer> server(new WebhookServer());
  if (tls) {
    if (absl::Status pair =
            CheckKeyPair(options.tls_cert_file, "--tls_cert_file",
                         options.tls_key_file, "--tls_key_file");
        !pair.ok()) {
      return pair;
    }
    auto ssl = std::make_unique<httplib::SSLServer>(
        options.tls_cert_file.c_str(), options.tls_key_file.c_str());
    if (!ssl->is_valid()) {
      return absl::InvalidArgumentError(
          "--webhook_listen: cannot serve TLS with --tls_cert_file and "
          "--tls_key_file");
    }
    server->server_ = std::move(ssl);
    server->description_ = "TLS";
  } else {
    if (!IsLoopbackAddress(options.listen) && !options.insecure_plaintext) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--webhook_listen ", options.listen,
          " is not a loopback address: give --tls_cert_file and "
          "--tls_key_file (or --insecure_plaintext, e.g. behind an Ingress "
          "that terminates TLS)"));
    }
    server->server_ = std::make_unique<httplib::Server>();
    server->description_ = "plaintext";
  }
  httplib::Server& http = *server->server_;
  http.new_task_queue = [threads = options.threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  http.set_payload_max_length(static_cast<size_t>(options.max_body_bytes));
  http.set_read_timeout(10, 0);
  http.set_write_timeout(10, 0);
  http.Post(R"(/webhooks/([^/]+))", [receiver](const httplib::Request& req,
                                               httplib::Response& res) {
    const std::string instance_id = req.matches[1];
    if (!IsValidInstanceId(instance_id)) {
      res.status = 404;
      res.set_content(R"({"status":"not_found","message":"no such endpoint"})",
                      "application/json");
      return;
    }
    worker::WebhookHeaders headers;
    for (const auto& [name, value] : req.headers) {
      headers[absl::AsciiStrToLower(name)] = value;
    }
    Send(receiver->Receive(instance_id, headers, req.body), res);
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(R"({"status":"error","message":"internal error"})",
                        "application/json");
      });
  const auto& [host, port] = *address;
  if (port == 0) {
    server->port_ = http.bind_to_any_port(host);
  } else if (http.bind_to_port(host, port)) {
    server->port_ = port;
  }
  if (server->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("--webhook_listen: cannot bind ", options.listen));
  }
  auto listen_returned = std::make_shared<std::atomic<bool>>(false);
  server->thread_ = std::thread([&http, listen_returned] {
    http.listen_after_bind();
    listen_returned->store(true);
  });
  // stop() does nothing until the accept loop runs: wait for it, so Stop
  // always stops.
  while (!http.is_running()) {
    if (listen_returned->load()) {
      server->thread_.join();
      return absl::UnavailableError(
          absl::StrCat("--webhook_listen: cannot listen on ", options.listen));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return server;
}

WebhookServer::~WebhookServer() { Stop(); }

void WebhookServer::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace graphmill::coordinator
