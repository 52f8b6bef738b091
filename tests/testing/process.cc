// Implementation of tests/testing/process.h with fork/exec and waitpid.
#include "tests/testing/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

extern char** environ;

namespace graphmill::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// The test's environment with `overrides` set.
std::vector<std::string> Environment(
    const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string variable = *entry;
    if (!overrides.contains(variable.substr(0, variable.find('='))))
      env.push_back(variable);
  }
  for (const auto& [name, value] : overrides)
    env.push_back(absl::StrCat(name, "=", value));
  return env;
}

// Opens `path` (or /dev/null when empty) close-on-exec: the child gets it
// through dup2 only, and children started concurrently do not inherit it.
int OpenForChild(const std::string& path, int flags) {
  if (path.empty()) return open("/dev/null", flags | O_CLOEXEC);
  return open(path.c_str(), flags | O_CLOEXEC, 0600);
}

// The raw wait status, or -1 on a waitpid error, -2 on timeout.
int WaitWithTimeout(pid_t pid, absl::Duration timeout) {
  int status = 0;
  if (timeout == absl::InfiniteDuration()) {
    pid_t done;
    while ((done = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    return done == pid ? status : -1;
  }
  // No waitpid with a deadline: poll.
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return -1;
    if (absl::Now() >= deadline) return -2;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

}  // namespace

std::string Runfile(const std::string& workspace_path) {
  const char* root = std::getenv("TEST_SRCDIR");
  return absl::StrCat(root ? root : ".", "/graphmill/", workspace_path);
}

std::string NewTempDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* root = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(root ? root : "/tmp", "/", name, "-",
                                        getpid(), "-", counter++);
  mkdir(path.c_str(), 0700);
  return path;
}

absl::StatusOr<std::unique_ptr<Process>> Process::Start(
    const std::string& binary, const std::vector<std::string>& args,
    const std::string& log_path) {
  ProcessOptions options;
  options.log_path = log_path;
  return Start(binary, args, options);
}

absl::StatusOr<std::unique_ptr<Process>> Process::Start(
    const std::string& binary, const std::vector<std::string>& args,
    const ProcessOptions& options) {
  // Everything the child needs is prepared here: between fork and exec a
  // multi-threaded parent's child may only make async-signal-safe calls (no
  // allocation).
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv = Pointers(argv_strings);
  std::vector<std::string> env_strings = Environment(options.env);
  std::vector<char*> envp = Pointers(env_strings);

  const int flags = O_WRONLY | O_CREAT | O_APPEND;
  const int out = OpenForChild(options.log_path, flags);
  const int err = options.stderr_path.empty()
                      ? -1
                      : OpenForChild(options.stderr_path, flags);
  const int in =
      options.stdin_fd >= 0 ? -1 : OpenForChild(options.stdin_path, O_RDONLY);
  auto close_all = [&] {
    for (int fd : {out, err, in}) {
      if (fd >= 0) close(fd);
    }
  };
  const std::string* failed = nullptr;
  if (out < 0) failed = &options.log_path;
  if (!options.stderr_path.empty() && err < 0) failed = &options.stderr_path;
  if (options.stdin_fd < 0 && in < 0) failed = &options.stdin_path;
  if (failed != nullptr) {
    const int error = errno;
    close_all();
    return absl::InternalError(absl::StrCat("cannot open '", *failed, "' for ",
                                            binary, ": ",
                                            std::strerror(error)));
  }

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close_all();
    return absl::InternalError(
        absl::StrCat("fork for ", binary, ": ", std::strerror(error)));
  }
  if (pid == 0) {
    if (options.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      // The parent may have died before prctl took effect.
      if (getppid() != parent) _exit(127);
    }
    if (options.new_session) setsid();
    dup2(options.stdin_fd >= 0 ? options.stdin_fd : in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err >= 0 ? err : out, STDERR_FILENO);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close_all();
  return std::unique_ptr<Process>(new Process(pid, options.log_path));
}

Process::~Process() {
  if (pid_ > 0) Stop();
}

bool Process::Signal(int signal) { return pid_ > 0 && kill(pid_, signal) == 0; }

int Process::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return exit_code_;
  const int status = WaitWithTimeout(pid_, timeout);
  if (status == -2) return -1;
  if (status == -1) {
    exit_code_ = -1;  // not our child any more: nothing to wait for
  } else if (WIFSIGNALED(status)) {
    term_signal_ = WTERMSIG(status);
    exit_code_ = 128 + term_signal_;
  } else {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_ = -1;
  return exit_code_;
}

int Process::Stop(absl::Duration grace) {
  if (pid_ <= 0) return exit_code_;
  Signal(SIGTERM);
  int code = Wait(grace);
  if (code == -1 && pid_ > 0) {
    Signal(SIGKILL);
    code = Wait(absl::InfiniteDuration());
  }
  return code;
}

std::string Process::Log() const { return ReadFile(log_path_); }

absl::StatusOr<int> WaitForPortFile(const std::string& path,
                                    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int port = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(path)), &port) &&
        port > 0) {
      return port;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "no port in ", path, " after ", absl::FormatDuration(timeout)));
}

CommandResult RunCommand(const std::string& binary,
                         const std::vector<std::string>& args,
                         absl::Duration timeout) {
  const std::string dir = NewTempDir("command");
  ProcessOptions options;
  options.log_path = dir + "/out";
  options.stderr_path = dir + "/err";
  CommandResult result;
  absl::StatusOr<std::unique_ptr<Process>> process =
      Process::Start(binary, args, options);
  if (!process.ok()) {
    result.err = std::string(process.status().message());
    return result;
  }
  result.exit_code = (*process)->Wait(timeout);
  if (result.exit_code == -1) {
    (*process)->Signal(SIGKILL);
    (*process)->Wait(absl::InfiniteDuration());
  }
  result.out = ReadFile(options.log_path);
  result.err = ReadFile(options.stderr_path);
  return result;
}

}  // namespace graphmill::testing
