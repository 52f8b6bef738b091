// Implementation of tests/e2e/process.h with fork/exec and waitpid.
#include "tests/e2e/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace graphmill::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<char*> Argv(const std::string& binary,
                        const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& arg : args)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  return argv;
}

// waitpid with a deadline; returns the raw status or -1.
int WaitWithTimeout(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0) return -1;
    if (absl::Now() >= deadline) return -2;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
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
  const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (log < 0)
    return absl::InternalError(absl::StrCat("cannot open ", log_path));
  std::vector<char*> argv = Argv(binary, args);
  const pid_t pid = fork();
  if (pid < 0) {
    close(log);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    // The child dies with the test, even if the test is killed before it can
    // stop it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, STDIN_FILENO);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(log);
  return std::unique_ptr<Process>(new Process(pid, log_path));
}

Process::~Process() {
  if (pid_ > 0) Stop();
}

void Process::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

int Process::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return exit_code_;
  const int status = WaitWithTimeout(pid_, timeout);
  if (status < 0) return -1;
  exit_code_ = ExitCode(status);
  pid_ = -1;
  return exit_code_;
}

int Process::Stop(absl::Duration grace) {
  if (pid_ <= 0) return exit_code_;
  Signal(SIGTERM);
  int code = Wait(grace);
  if (code == -1 && pid_ > 0) {
    Signal(SIGKILL);
    code = Wait(absl::Seconds(5));
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
  const std::string out_path = dir + "/out";
  const std::string err_path = dir + "/err";
  std::vector<char*> argv = Argv(binary, args);
  CommandResult result;
  const pid_t pid = fork();
  if (pid < 0) return result;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = WaitWithTimeout(pid, timeout);
  if (status == -2) {
    kill(pid, SIGKILL);
    status = WaitWithTimeout(pid, absl::Seconds(5));
    result.exit_code = -1;
  } else {
    result.exit_code = ExitCode(status);
  }
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

}  // namespace graphmill::testing
