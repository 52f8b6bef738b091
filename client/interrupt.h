// Turns SIGINT (Ctrl-C) into a callback, so a long-lived stream can end
// quietly instead of the process being killed mid-line.
#ifndef GRAPHMILL_CLIENT_INTERRUPT_H_
#define GRAPHMILL_CLIENT_INTERRUPT_H_

#include <csignal>
#include <functional>
#include <thread>

namespace graphmill::cli {

// While in scope, SIGINT runs `on_interrupt` on a helper thread (the signal
// handler itself only writes to a pipe), once per signal. The previous
// disposition is restored on destruction. At most one may exist at a time in a
// process; if the pipe cannot be made, SIGINT keeps its default behaviour.
class ScopedInterruptHandler {
 public:
  explicit ScopedInterruptHandler(std::function<void()> on_interrupt);
  ~ScopedInterruptHandler();
  ScopedInterruptHandler(const ScopedInterruptHandler&) = delete;
  ScopedInterruptHandler& operator=(const ScopedInterruptHandler&) = delete;

 private:
  std::function<void()> on_interrupt_;
  int read_fd_ = -1;
  int write_fd_ = -1;
  bool installed_ = false;
  struct sigaction previous_ {};
  std::thread thread_;
};

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_INTERRUPT_H_
