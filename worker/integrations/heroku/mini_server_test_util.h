// A minimal HTTP/1.1 server on 127.0.0.1 for the Heroku tests (client and
// webhook install), since cpp-httplib refuses Heroku's Range headers. For
// tests only.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_MINI_SERVER_TEST_UTIL_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_MINI_SERVER_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace graphmill::worker::heroku::testing {

// A minimal HTTP/1.1 server on 127.0.0.1 (ephemeral port), one connection at
// a time, each closed after its response. Not cpp-httplib: that library
// answers any Range header that is not a byte range with 416 before a handler
// runs, and Heroku's ranges ("id ..; max=1000") are not byte ranges.
class MiniServer {
 public:
  struct Request {
    std::string method;
    std::string path;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;                            // Content-Length bytes

    std::string Header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };
  struct Reply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  using Handler = std::function<Reply(const Request&)>;

  explicit MiniServer(Handler handler) : handler_(std::move(handler)) {
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
      ADD_FAILURE() << "mini server cannot listen";
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~MiniServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(listener_);
  }

  std::string BaseUrl() const {
    return absl::StrCat("http://127.0.0.1:", port_);
  }
  std::vector<Request> requests() {
    absl::MutexLock lock(&mutex_);
    return requests_;
  }
  std::vector<std::string> Paths() {
    std::vector<std::string> paths;
    for (const Request& request : requests()) paths.push_back(request.path);
    return paths;
  }
  std::vector<std::string> HeaderValues(const std::string& name) {
    std::vector<std::string> values;
    for (const Request& request : requests()) {
      values.push_back(request.Header(name));
    }
    return values;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd listening{listener_, POLLIN, 0};
      if (poll(&listening, 1, 20) <= 0) continue;
      const int connection = accept(listener_, nullptr, nullptr);
      if (connection < 0) continue;
      std::optional<Request> request = ReadRequest(connection);
      if (request.has_value()) {
        {
          absl::MutexLock lock(&mutex_);
          requests_.push_back(*request);
        }
        const Reply reply = handler_(*request);
        std::string text =
            absl::StrCat("HTTP/1.1 ", reply.status,
                         " X\r\nContent-Length: ", reply.body.size(),
                         "\r\nConnection: close\r\n");
        for (const auto& [name, value] : reply.headers) {
          absl::StrAppend(&text, name, ": ", value, "\r\n");
        }
        absl::StrAppend(&text, "\r\n", reply.body);
        [[maybe_unused]] ssize_t sent =
            send(connection, text.data(), text.size(), MSG_NOSIGNAL);
      }
      close(connection);
    }
  }

  static std::optional<Request> ReadRequest(int connection) {
    std::string received;
    char buffer[4096];
    while (received.find("\r\n\r\n") == std::string::npos) {
      pollfd readable{connection, POLLIN, 0};
      if (poll(&readable, 1, 2000) <= 0) return std::nullopt;
      const ssize_t bytes = recv(connection, buffer, sizeof(buffer), 0);
      if (bytes <= 0) return std::nullopt;
      received.append(buffer, static_cast<size_t>(bytes));
    }
    const size_t head_end = received.find("\r\n\r\n");
    std::vector<std::string> lines =
        absl::StrSplit(received.substr(0, head_end), "\r\n");
    std::vector<std::string> request_line = absl::StrSplit(lines[0], ' ');
    if (request_line.size() < 2) return std::nullopt;
    Request request;
    request.method = request_line[0];
    request.path = request_line[1];
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == std::string::npos) continue;
      request.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
          std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    }
    size_t length = 0;
    if (!absl::SimpleAtoi(request.Header("content-length"), &length)) {
      length = 0;
    }
    request.body = received.substr(head_end + 4);
    while (request.body.size() < length) {
      pollfd readable{connection, POLLIN, 0};
      if (poll(&readable, 1, 2000) <= 0) return std::nullopt;
      const ssize_t bytes = recv(connection, buffer, sizeof(buffer), 0);
      if (bytes <= 0) return std::nullopt;
      request.body.append(buffer, static_cast<size_t>(bytes));
    }
    return request;
  }

  const Handler handler_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  absl::Mutex mutex_;
  std::vector<Request> requests_ ABSL_GUARDED_BY(mutex_);
};

using Reply = MiniServer::Reply;
using Request = MiniServer::Request;

inline Reply Json(
    int status, std::string body,
    std::vector<std::pair<std::string, std::string>> headers = {}) {
  headers.emplace_back("Content-Type", "application/json");
  return Reply{status, std::move(headers), std::move(body)};
}

}  // namespace graphmill::worker::heroku::testing

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_MINI_SERVER_TEST_UTIL_H_
