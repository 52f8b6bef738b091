// Implementation of client/interrupt.h: the self-pipe trick, since a signal
// handler may call write() but not gRPC.
#include "client/interrupt.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>

namespace graphmill::cli {
namespace {

constexpr char kInterruptByte = 'i';

// The pipe the handler writes to; -1 when no handler is installed.
std::atomic<int> interrupt_fd{-1};

void OnSigint(int) {
  const int saved_errno = errno;
  const int fd = interrupt_fd.load();
  if (fd >= 0) {
    // Nothing useful can be done if the pipe is full: a byte is already there.
    [[maybe_unused]] const ssize_t written = write(fd, &kInterruptByte, 1);
  }
  errno = saved_errno;
}

}  // namespace

ScopedInterruptHandler::ScopedInterruptHandler(
    std::function<void()> on_interrupt)
    : on_interrupt_(std::move(on_interrupt)) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  thread_ = std::thread([this] {
    char byte = 0;
    while (true) {
      const ssize_t n = read(read_fd_, &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      // End of file: the destructor closed the write end.
      if (n <= 0) return;
      on_interrupt_();
    }
  });
  interrupt_fd.store(write_fd_);
  struct sigaction action {};
  action.sa_handler = OnSigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  installed_ = sigaction(SIGINT, &action, &previous_) == 0;
}

ScopedInterruptHandler::~ScopedInterruptHandler() {
  if (installed_) sigaction(SIGINT, &previous_, nullptr);
  interrupt_fd.store(-1);
  if (write_fd_ >= 0) close(write_fd_);
  if (thread_.joinable()) thread_.join();
  if (read_fd_ >= 0) close(read_fd_);
}

}  // namespace graphmill::cli
