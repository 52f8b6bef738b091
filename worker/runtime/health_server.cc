// Implementation of worker/runtime/health_server.h.
#include "worker/runtime/health_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace graphmill::worker {
namespace {

// "HOST:PORT", "[V6]:PORT", ":PORT" -> host ("0.0.0.0" when empty) and port.
absl::Status SplitHostPort(absl::string_view listen, std::string* host,
                           int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), port) || *port < 0 ||
      *port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--health_listen '", listen,
                     "': expected HOST:PORT, e.g. 0.0.0.0:8080"));
  }
  absl::string_view name = listen.substr(0, colon);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  *host = name.empty() ? "0.0.0.0" : std::string(name);
  return absl::OkStatus();
}

}  // namespace

HealthServer::HealthServer() : server_(std::make_unique<httplib::Server>()) {}

absl::StatusOr<std::unique_ptr<HealthServer>> HealthServer::Start(
    const std::string& listen, std::function<Readiness()> readiness) {
  std::string host;
  int port = 0;
  if (absl::Status status = SplitHostPort(listen, &host, &port); !status.ok()) {
    return status;
  }
  std::unique_ptr<HealthServer> health(new HealthServer());
  health->readiness_ = std::move(readiness);
  httplib::Server& server = *health->server_;
  // Probes are small and few: a couple of threads, short keep-alive, so an
  // idle kept-alive connection cannot hold every thread.
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  server.set_keep_alive_timeout(2);
  // httplib's default also sets SO_REUSEPORT, which would let a second worker
  // bind the same port and answer half the probes; a port in use must fail.
  server.set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  HealthServer* self = health.get();
  server.Get(
      "/readyz", [self](const httplib::Request&, httplib::Response& res) {
        const Readiness readiness = self->readiness_();
        res.status = readiness.ready ? 200 : 503;
        res.set_content(absl::StrCat(readiness.reason, "\n"), "text/plain");
      });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) {
      res.set_content("not found: GET /healthz or /readyz\n", "text/plain");
    }
  });
  if (port == 0) {
    health->port_ = server.bind_to_any_port(host);
  } else if (server.bind_to_port(host, port)) {
    health->port_ = port;
  } else {
    health->port_ = -1;
  }
  if (health->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("--health_listen '", listen, "': cannot bind ", host, ":",
                     port, " (in use, or not an address of this host)"));
  }
  health->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->listen_returned_.store(true);
  });
  // stop() does nothing until the accept loop runs: wait for it, so the
  // destructor can always stop the server.
  while (!server.is_running()) {
    if (health->listen_returned_.load()) {
      health->thread_.join();
      return absl::UnavailableError(
          absl::StrCat("--health_listen '", listen, "': cannot listen"));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return health;
}

HealthServer::~HealthServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace graphmill::worker
