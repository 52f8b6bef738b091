// Runs a fake's httplib server on 127.0.0.1 in a thread of its own: thread
// pool, TCP_NODELAY, long-lived keep-alive connections, every method to one
// handler, bind, and a start that returns only once the accept loop runs.
#ifndef GRAPHMILL_TESTS_FAKES_COMMON_SERVER_THREAD_H_
#define GRAPHMILL_TESTS_FAKES_COMMON_SERVER_THREAD_H_

#include <httplib.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/status/status.h"

namespace graphmill::fakes::common {

struct ServerThreadOptions {
  std::string name;   // for errors, e.g. "fake CircleCI"
  int port = 0;       // 0 picks an ephemeral port
  int threads = 256;  // request-handling threads (one per open connection)
  // Requests served on one kept-alive connection before the server closes it.
  // cpp-httplib's default is 5, which made every client reconnect after five
  // requests and benchmarks measure handshakes; clients that reuse connections
  // (HttpClient's pool) should see the reuse a provider API allows.
  size_t keep_alive_max_count = 100'000;
  // The JSON body of the 500 answered when the handler throws.
  std::string internal_error_body;
};

// Not thread-safe: Start and Stop from one thread.
class ServerThread {
 public:
  // `server` must outlive this object; configure anything else on it (e.g.
  // timeouts) before Start.
  explicit ServerThread(httplib::Server& server) : server_(server) {}
  ~ServerThread() { Stop(); }
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;

  // Routes GET, POST, PUT, PATCH and DELETE of every path to `handler`, binds
  // 127.0.0.1:options.port and serves until Stop. UNAVAILABLE names the port
  // when binding or listening fails.
  absl::Status Start(const ServerThreadOptions& options,
                     httplib::Server::Handler handler);
  // Stops serving and joins the thread; idempotent.
  void Stop();
  // The bound port, or -1 before a successful Start.
  int port() const { return port_; }

 private:
  httplib::Server& server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
  int port_ = -1;
};

}  // namespace graphmill::fakes::common

#endif  // GRAPHMILL_TESTS_FAKES_COMMON_SERVER_THREAD_H_
