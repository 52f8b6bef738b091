// Test harness for multi-process tests: starts real binaries from the test's
// runfiles, waits for the ports they choose, runs the CLI, and stops everything
// it started.
#ifndef GRAPHMILL_TESTS_E2E_PROCESS_H_
#define GRAPHMILL_TESTS_E2E_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace graphmill::testing {

// Absolute path of a file of this workspace in the test's runfiles, e.g.
// Runfile("coordinator/graphmill-coordinator").
std::string Runfile(const std::string& workspace_path);

// A fresh directory under the test's temporary directory.
std::string NewTempDir(const std::string& name);

// A child process; stdout and stderr go to `log_path`. Stopped (SIGTERM, then
// SIGKILL after 5 s) when destroyed.
class Process {
 public:
  static absl::StatusOr<std::unique_ptr<Process>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const std::string& log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Sends `signal` (e.g. SIGKILL to simulate a crash).
  void Signal(int signal);
  // Waits for exit; returns the exit code, or 128+signal if killed. -1 on
  // timeout.
  int Wait(absl::Duration timeout);
  // SIGTERM and wait; SIGKILL if it does not exit within `grace`.
  int Stop(absl::Duration grace = absl::Seconds(5));
  bool running() const { return pid_ > 0; }
  const std::string& log_path() const { return log_path_; }
  // The log so far (for failure messages).
  std::string Log() const;

 private:
  Process(pid_t pid, std::string log_path)
      : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  int exit_code_ = -1;
  std::string log_path_;
};

// Waits until `path` holds a port number written by a server.
absl::StatusOr<int> WaitForPortFile(const std::string& path,
                                    absl::Duration timeout);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion (killed after `timeout`), capturing stdout and
// stderr.
CommandResult RunCommand(const std::string& binary,
                         const std::vector<std::string>& args,
                         absl::Duration timeout = absl::Seconds(60));

}  // namespace graphmill::testing

#endif  // GRAPHMILL_TESTS_E2E_PROCESS_H_
