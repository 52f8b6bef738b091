// What the HTTP client's tests share: a cpp-httplib server and a raw TCP
// server on 127.0.0.1, fast deterministic options on a FakeClock, a closed
// port and gzip. For tests only.
#ifndef GRAPHMILL_COMMON_HTTP_HTTP_CLIENT_TEST_UTIL_H_
#define GRAPHMILL_COMMON_HTTP_HTTP_CLIENT_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/testing/fake_clock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace graphmill::http::testing {

// A cpp-httplib server on 127.0.0.1 with an ephemeral port: register handlers
// on `http`, then Start(). Counts requests.
class TestServer {
 public:
  TestServer() {
    // Keep-alive connections each hold a worker thread; leave room for the
    // 8-thread test.
    http.new_task_queue = [] { return new httplib::ThreadPool(32); };
    http.set_keep_alive_max_count(1000);
    // httplib writes headers and body separately: without this, Nagle and
    // delayed ACKs add 40 ms to each response.
    http.set_tcp_nodelay(true);
  }
  ~TestServer() {
    http.stop();
    if (thread_.joinable()) thread_.join();
  }

  void Start() {
    port_ = http.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { http.listen_after_bind(); });
    // stop() is a no-op until the listen loop runs, so wait for it.
    for (int i = 0; i < 500 && !http.is_running(); ++i)
      absl::SleepFor(absl::Milliseconds(2));
    ASSERT_TRUE(http.is_running());
  }

  std::string Url(absl::string_view path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }

  httplib::Server http;
  std::atomic<int> requests{0};

 private:
  int port_ = 0;
  std::thread thread_;
};

// A TCP listener that answers every connection with fixed bytes, then closes it
// (with a reset if asked). For the failures a well-behaved HTTP server cannot
// produce.
class RawServer {
 public:
  RawServer(std::string response, bool reset)
      : response_(std::move(response)), reset_(reset) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&address),
             sizeof(address)) != 0 ||
        listen(listener_, 16) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address),
                    &length) != 0) {
      ADD_FAILURE() << "raw server cannot listen";
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~RawServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(listener_);
  }

  std::string Url(absl::string_view path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }
  int connections() const { return connections_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd listening{listener_, POLLIN, 0};
      if (poll(&listening, 1, 20) <= 0) continue;
      const int connection = accept(listener_, nullptr, nullptr);
      if (connection < 0) continue;
      ++connections_;
      ReadRequestHead(connection);
      if (!response_.empty()) {
        [[maybe_unused]] ssize_t sent =
            send(connection, response_.data(), response_.size(), MSG_NOSIGNAL);
      }
      if (reset_) {
        linger abort_on_close{1, 0};  // close() then sends RST instead of FIN
        setsockopt(connection, SOL_SOCKET, SO_LINGER, &abort_on_close,
                   sizeof(abort_on_close));
      }
      close(connection);
    }
  }

  static void ReadRequestHead(int connection) {
    std::string received;
    char buffer[4096];
    while (received.find("\r\n\r\n") == std::string::npos) {
      pollfd readable{connection, POLLIN, 0};
      if (poll(&readable, 1, 2000) <= 0) return;
      const ssize_t bytes = recv(connection, buffer, sizeof(buffer), 0);
      if (bytes <= 0) return;
      received.append(buffer, static_cast<size_t>(bytes));
    }
  }

  const std::string response_;
  const bool reset_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// Fast, deterministic options: backoff 100 ms doubling to 1 s, jitter pinned to
// the top.
HttpClientOptions TestOptions(FakeClock* clock);

// A port nobody listens on: bound, then closed.
int ClosedPort();

// `text` gzip-compressed.
std::string Gzip(absl::string_view text);

}  // namespace graphmill::http::testing

#endif  // GRAPHMILL_COMMON_HTTP_HTTP_CLIENT_TEST_UTIL_H_
