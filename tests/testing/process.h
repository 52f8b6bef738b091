// Child processes for tests that run real binaries: the e2e cluster, the
// binaries' own main tests and the throwaway PostgreSQL server. One place that
// forks, redirects, waits and cleans up, so every test gets the same care
// (children die with the test, a stuck child is killed, logs are kept).
#ifndef GRAPHMILL_TESTS_TESTING_PROCESS_H_
#define GRAPHMILL_TESTS_TESTING_PROCESS_H_

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

// How Process::Start runs the child.
struct ProcessOptions {
  // stdout and stderr are appended to this file (created 0600); "" sends them
  // to /dev/null.
  std::string log_path;
  // When set, stderr goes here instead (appended) and log_path gets stdout
  // only.
  std::string stderr_path;
  // stdin: read from this file; "" (and stdin_fd -1) reads /dev/null.
  std::string stdin_path;
  // stdin: this descriptor of the parent (e.g. a pipe's read end), instead of
  // stdin_path. The caller keeps and closes its own copy.
  int stdin_fd = -1;
  // In a new session (setsid), so a signal to the test's process group does
  // not reach it.
  bool new_session = false;
  // The child gets SIGKILL when the thread that started it ends, so nothing
  // outlives a test that is killed before it can stop its children. False for
  // a child that must outlive the test, e.g. one that cleans up after it.
  bool die_with_parent = true;
  // Variables set (added or replaced) in the child's environment, which is
  // otherwise the test's.
  std::map<std::string, std::string> env;
};

// A child process. Stopped (SIGTERM, then SIGKILL after 5 s) when destroyed
// if it is still running.
class Process {
 public:
  // INTERNAL if the log cannot be opened or fork fails; a binary that cannot
  // be executed exits with 127.
  static absl::StatusOr<std::unique_ptr<Process>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const ProcessOptions& options);
  // stdout and stderr appended to `log_path`.
  static absl::StatusOr<std::unique_ptr<Process>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const std::string& log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Sends `signal` (e.g. SIGKILL to simulate a crash). False if the process
  // has already been waited for or kill() fails.
  bool Signal(int signal);
  // Waits for exit (absl::InfiniteDuration(): as long as it takes); returns
  // the exit code, or 128+signal if killed. -1 on timeout (still running).
  int Wait(absl::Duration timeout);
  // SIGTERM and wait; SIGKILL if it does not exit within `grace`.
  int Stop(absl::Duration grace = absl::Seconds(5));
  bool running() const { return pid_ > 0; }
  // The child's pid while it runs (-1 once waited for).
  pid_t pid() const { return pid_; }
  // Once ended: the signal that killed it, or 0 if it exited.
  int term_signal() const { return term_signal_; }
  const std::string& log_path() const { return log_path_; }
  // The log so far (for failure messages).
  std::string Log() const;

 private:
  Process(pid_t pid, std::string log_path)
      : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  int exit_code_ = -1;
  int term_signal_ = 0;
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

// Runs a command to completion (killed after `timeout`, exit_code -1),
// capturing stdout and stderr.
CommandResult RunCommand(const std::string& binary,
                         const std::vector<std::string>& args,
                         absl::Duration timeout = absl::Seconds(60));

}  // namespace graphmill::testing

#endif  // GRAPHMILL_TESTS_TESTING_PROCESS_H_
