// Implementation of server_thread.h.
#include "tests/fakes/common/server_thread.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/fakes/common/fast_gzip.h"

namespace graphmill::fakes::common {

absl::Status ServerThread::Start(const ServerThreadOptions& options,
                                 httplib::Server::Handler handler) {
  const int threads = std::max(1, options.threads);
  server_.new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  // Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK add
  // ~40 ms to every response on a kept-alive connection.
  server_.set_tcp_nodelay(true);
  server_.set_keep_alive_max_count(options.keep_alive_max_count);
  // Compressed here, in the handler: httplib compresses (brotli) before any
  // post-routing handler runs.
  httplib::Server::Handler compressing = [handler = std::move(handler)](
                                             const httplib::Request& req,
                                             httplib::Response& res) {
    handler(req, res);
    CompressResponse(req, res);
  };
  server_.Get(".*", compressing);
  server_.Post(".*", compressing);
  server_.Put(".*", compressing);
  server_.Patch(".*", compressing);
  server_.Delete(".*", compressing);
  server_.set_exception_handler(
      [body = options.internal_error_body](
          const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(body, "application/json");
      });
  if (options.port == 0) {
    port_ = server_.bind_to_any_port("127.0.0.1");
  } else if (server_.bind_to_port("127.0.0.1", options.port)) {
    port_ = options.port;
  } else {
    port_ = -1;
  }
  if (port_ <= 0) {
    port_ = -1;
    return absl::UnavailableError(
        absl::StrCat(options.name, " cannot bind 127.0.0.1:", options.port));
  }
  thread_ = std::thread([this] {
    server_.listen_after_bind();
    listen_returned_.store(true);
  });
  // stop() is a no-op until the accept loop runs, so wait for it before
  // handing out a server whose destructor must be able to stop it.
  while (!server_.is_running()) {
    if (listen_returned_.load()) {
      return absl::UnavailableError(
          absl::StrCat(options.name, " could not listen on 127.0.0.1:", port_));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return absl::OkStatus();
}

void ServerThread::Stop() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace graphmill::fakes::common
