// Implementation of http_server.h.
#include "tests/fakes/heroku/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <string>

namespace graphmill::fakes::heroku {
namespace {

constexpr int kMaxRequestsPerConnection = 1000;
constexpr int kIdlePollMs = 50;
// Same length as "Range:", so a body that happens to hold such a line keeps
// its Content-Length.
constexpr char kRangeHeader[] = "range:";
constexpr char kRenamedHeader[] = "X-Rng:";
constexpr char kRenamedName[] = "X-Rng";

thread_local int current_socket = -1;

bool WaitFor(int fd, short events, int timeout_ms) {
  pollfd item{fd, events, 0};
  while (true) {
    const int ready = poll(&item, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    return ready > 0 && (item.revents & (events | POLLHUP | POLLERR)) != 0;
  }
}

void AddressOf(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage address{};
  socklen_t size = sizeof(address);
  const int result =
      peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size)
           : getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  if (result != 0 || address.ss_family != AF_INET) return;
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
  ip = text;
  port = ntohs(v4->sin_port);
}

// A socket stream that renames every "Range:" header line (any case) to
// "X-Rng:". A possible "Range:" prefix at the end of a read is held back until
// the next bytes decide it.
class RangeRenamingStream : public httplib::Stream {
 public:
  RangeRenamingStream(int fd, int read_timeout_ms, int write_timeout_ms)
      : fd_(fd),
        read_timeout_ms_(read_timeout_ms),
        write_timeout_ms_(write_timeout_ms) {}

  bool has_buffered() const { return !ready_.empty(); }

  bool is_readable() const override {
    return !ready_.empty() || WaitFor(fd_, POLLIN, read_timeout_ms_);
  }
  bool is_writable() const override {
    return WaitFor(fd_, POLLOUT, write_timeout_ms_);
  }

  ssize_t read(char* ptr, size_t size) override {
    while (ready_.empty()) {
      if (!WaitFor(fd_, POLLIN, read_timeout_ms_)) return -1;
      char buffer[4096];
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      if (n == 0) {
        if (carry_.empty()) return 0;
        ready_.swap(carry_);
        break;
      }
      Rename(std::string(buffer, static_cast<size_t>(n)));
    }
    const size_t count = std::min(size, ready_.size());
    ready_.copy(ptr, count);
    ready_.erase(0, count);
    return static_cast<ssize_t>(count);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    while (true) {
      const ssize_t n = send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(fd_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(fd_, false, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  void Rename(std::string data) {
    if (!carry_.empty()) {
      data.insert(0, carry_);
      carry_.clear();
    }
    size_t i = 0;
    while (i < data.size()) {
      if (at_line_start_) {
        size_t matched = 0;
        while (matched < 6 && i + matched < data.size() &&
               std::tolower(static_cast<unsigned char>(data[i + matched])) ==
                   kRangeHeader[matched]) {
          ++matched;
        }
        if (matched == 6) {
          ready_.append(kRenamedHeader);
          i += 6;
          at_line_start_ = false;
          continue;
        }
        if (i + matched == data.size()) {
          carry_ = data.substr(i);
          return;
        }
        at_line_start_ = false;
      }
      ready_.push_back(data[i]);
      at_line_start_ = data[i] == '\n';
      ++i;
    }
  }

  const int fd_;
  const int read_timeout_ms_;
  const int write_timeout_ms_;
  std::string ready_;  // renamed bytes not yet handed out
  std::string carry_;  // a possible "Range:" prefix, undecided
  bool at_line_start_ = true;
};

// Puts the header back under its real name before the handlers see it.
void RestoreRange(httplib::Request& req) {
  auto it = req.headers.find(kRenamedName);
  if (it == req.headers.end()) return;
  std::string value = it->second;
  req.headers.erase(it);
  req.headers.emplace("Range", std::move(value));
}

}  // namespace

int HttpServer::CurrentSocket() { return current_socket; }

bool HttpServer::process_and_close_socket(socket_t sock) {
  bool ok = false;
  {
    RangeRenamingStream stream(
        sock,
        static_cast<int>(read_timeout_sec_ * 1000 + read_timeout_usec_ / 1000),
        static_cast<int>(write_timeout_sec_ * 1000 +
                         write_timeout_usec_ / 1000));
    current_socket = sock;
    const auto idle_limit = std::chrono::seconds(keep_alive_timeout_sec_);
    for (int left = kMaxRequestsPerConnection; left > 0; --left) {
      // Wait for the next request, giving up when the server stops.
      const auto idle_since = std::chrono::steady_clock::now();
      bool readable = stream.has_buffered();
      while (!readable && svr_sock_ != INVALID_SOCKET &&
             std::chrono::steady_clock::now() - idle_since < idle_limit) {
        readable = WaitFor(sock, POLLIN, kIdlePollMs);
      }
      if (!readable || svr_sock_ == INVALID_SOCKET) break;
      bool connection_closed = false;
      ok = process_request(stream, left == 1, connection_closed, RestoreRange);
      if (!ok || connection_closed) break;
    }
    current_socket = -1;
  }
  shutdown(sock, SHUT_RDWR);
  close(sock);
  return ok;
}

}  // namespace graphmill::fakes::heroku
