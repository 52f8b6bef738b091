// Tests of tests/testing/process.h with /bin/sh as the child.
#include "tests/testing/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/time/clock.h"

namespace graphmill::testing {
namespace {

constexpr char kSh[] = "/bin/sh";

// A pipe whose write end the test holds: a child reading its read end as stdin
// blocks until the test writes or closes it, so tests need no sleeps to keep a
// child running.
class Pipe {
 public:
  Pipe() { EXPECT_EQ(pipe2(fds_, O_CLOEXEC), 0); }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  int read_end() const { return fds_[0]; }
  void Write(const std::string& text) {
    ASSERT_EQ(write(fds_[1], text.data(), text.size()),
              static_cast<ssize_t>(text.size()));
  }
  void CloseRead() {
    if (fds_[0] >= 0) close(fds_[0]);
    fds_[0] = -1;
  }
  void CloseWrite() {
    if (fds_[1] >= 0) close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Waits until the log contains `text` (the child says it is ready).
bool WaitForLog(const Process& process, const std::string& text) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (absl::StrContains(process.Log(), text)) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

TEST(ProcessTest, LogGetsStdoutAndStderrAndWaitGivesTheExitCode) {
  const std::string log = NewTempDir("process") + "/log";
  auto process =
      Process::Start(kSh, {"-c", "echo out; echo err >&2; exit 3"}, log);
  ASSERT_TRUE(process.ok()) << process.status();
  EXPECT_EQ((*process)->Wait(absl::InfiniteDuration()), 3);
  EXPECT_EQ((*process)->term_signal(), 0);
  EXPECT_FALSE((*process)->running());
  EXPECT_EQ((*process)->Log(), "out\nerr\n");
}

TEST(ProcessTest, StderrCanGoToItsOwnFile) {
  const std::string dir = NewTempDir("process");
  ProcessOptions options;
  options.log_path = dir + "/out";
  options.stderr_path = dir + "/err";
  auto process = Process::Start(kSh, {"-c", "echo out; echo err >&2"}, options);
  ASSERT_TRUE(process.ok()) << process.status();
  EXPECT_EQ((*process)->Wait(absl::InfiniteDuration()), 0);
  EXPECT_EQ(ReadAll(dir + "/out"), "out\n");
  EXPECT_EQ(ReadAll(dir + "/err"), "err\n");
}

TEST(ProcessTest, StdinFromAFileOrADescriptorElseEmpty) {
  const std::string dir = NewTempDir("process");
  std::ofstream(dir + "/in") << "from a file\n";
  ProcessOptions from_file;
  from_file.log_path = dir + "/file.log";
  from_file.stdin_path = dir + "/in";
  auto file_reader = Process::Start(kSh, {"-c", "cat"}, from_file);
  ASSERT_TRUE(file_reader.ok()) << file_reader.status();
  EXPECT_EQ((*file_reader)->Wait(absl::InfiniteDuration()), 0);
  EXPECT_EQ((*file_reader)->Log(), "from a file\n");

  Pipe pipe;
  ProcessOptions from_pipe;
  from_pipe.log_path = dir + "/pipe.log";
  from_pipe.stdin_fd = pipe.read_end();
  auto pipe_reader = Process::Start(kSh, {"-c", "cat"}, from_pipe);
  ASSERT_TRUE(pipe_reader.ok()) << pipe_reader.status();
  pipe.CloseRead();
  pipe.Write("through a pipe\n");
  pipe.CloseWrite();
  EXPECT_EQ((*pipe_reader)->Wait(absl::InfiniteDuration()), 0);
  EXPECT_EQ((*pipe_reader)->Log(), "through a pipe\n");

  auto no_input = Process::Start(kSh, {"-c", "cat; echo end"}, dir + "/none");
  ASSERT_TRUE(no_input.ok()) << no_input.status();
  EXPECT_EQ((*no_input)->Wait(absl::InfiniteDuration()), 0);
  EXPECT_EQ((*no_input)->Log(), "end\n");
}

TEST(ProcessTest, EnvironmentIsTheTestsWithOverrides) {
  ASSERT_EQ(setenv("GRAPHMILL_PROCESS_TEST_KEPT", "kept", 1), 0);
  ASSERT_EQ(setenv("GRAPHMILL_PROCESS_TEST_REPLACED", "old", 1), 0);
  ProcessOptions options;
  options.log_path = NewTempDir("process") + "/log";
  options.env = {{"GRAPHMILL_PROCESS_TEST_REPLACED", "new"},
                 {"GRAPHMILL_PROCESS_TEST_ADDED", "added"}};
  auto process = Process::Start(
      kSh,
      {"-c",
       "echo $GRAPHMILL_PROCESS_TEST_KEPT $GRAPHMILL_PROCESS_TEST_REPLACED "
       "$GRAPHMILL_PROCESS_TEST_ADDED; env | grep -c "
       "^GRAPHMILL_PROCESS_TEST_REPLACED="},
      options);
  ASSERT_TRUE(process.ok()) << process.status();
  EXPECT_EQ((*process)->Wait(absl::InfiniteDuration()), 0);
  EXPECT_EQ((*process)->Log(), "kept new added\n1\n");
}

TEST(ProcessTest, NewSessionOnlyWhenAsked) {
  for (bool new_session : {false, true}) {
    Pipe pipe;
    ProcessOptions options;
    options.stdin_fd = pipe.read_end();
    options.new_session = new_session;
    auto process = Process::Start(kSh, {"-c", "read line"}, options);
    ASSERT_TRUE(process.ok()) << process.status();
    const pid_t pid = (*process)->pid();
    // Until the child reads, it runs; its session is set before exec.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (getsid(pid) == getsid(0) && new_session && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    EXPECT_EQ(getsid(pid) == pid, new_session);
    EXPECT_EQ(getsid(pid) == getsid(0), !new_session);
    pipe.Write("\n");
    EXPECT_EQ((*process)->Wait(absl::InfiniteDuration()), 0);
  }
}

TEST(ProcessTest, WaitTimesOutAndStopEscalatesToSigkill) {
  Pipe pipe;
  ProcessOptions options;
  options.log_path = NewTempDir("process") + "/log";
  options.stdin_fd = pipe.read_end();
  auto process = Process::Start(
      kSh, {"-c", "trap '' TERM; echo ready; read line"}, options);
  ASSERT_TRUE(process.ok()) << process.status();
  ASSERT_TRUE(WaitForLog(**process, "ready"));
  EXPECT_EQ((*process)->Wait(absl::Milliseconds(20)), -1);
  EXPECT_TRUE((*process)->running());
  EXPECT_EQ((*process)->Stop(absl::Milliseconds(50)), 128 + SIGKILL);
  EXPECT_EQ((*process)->term_signal(), SIGKILL);
  EXPECT_FALSE((*process)->running());
  EXPECT_FALSE((*process)->Signal(SIGTERM));
}

TEST(ProcessTest, StopEndsAChildThatHonoursSigterm) {
  Pipe pipe;
  ProcessOptions options;
  options.stdin_fd = pipe.read_end();
  auto process = Process::Start(kSh, {"-c", "read line"}, options);
  ASSERT_TRUE(process.ok()) << process.status();
  EXPECT_EQ((*process)->Stop(), 128 + SIGTERM);
  EXPECT_EQ((*process)->term_signal(), SIGTERM);
}

TEST(ProcessTest, ChildDiesWithTheThreadThatStartedItUnlessTold) {
  for (bool die_with_parent : {true, false}) {
    Pipe pipe;
    ProcessOptions options;
    options.log_path = NewTempDir("process") + "/log";
    options.stdin_fd = pipe.read_end();
    options.die_with_parent = die_with_parent;
    std::unique_ptr<Process> process;
    std::thread starter([&] {
      auto started = Process::Start(
          kSh, {"-c", "echo ready; read line; echo $line"}, options);
      ASSERT_TRUE(started.ok()) << started.status();
      process = *std::move(started);
      ASSERT_TRUE(WaitForLog(*process, "ready"));
    });
    starter.join();
    ASSERT_NE(process, nullptr);
    if (die_with_parent) {
      EXPECT_EQ(process->Wait(absl::InfiniteDuration()), 128 + SIGKILL);
    } else {
      pipe.Write("still here\n");
      EXPECT_EQ(process->Wait(absl::InfiniteDuration()), 0);
      EXPECT_EQ(process->Log(), "ready\nstill here\n");
    }
  }
}

TEST(ProcessTest, ABinaryThatCannotRunExits127) {
  auto process = Process::Start("/nonexistent/binary", {}, "");
  ASSERT_TRUE(process.ok()) << process.status();
  EXPECT_EQ((*process)->Wait(absl::InfiniteDuration()), 127);
}

TEST(ProcessTest, AnUnwritableLogIsAnError) {
  auto process = Process::Start(kSh, {"-c", "true"}, "/nonexistent/dir/log");
  ASSERT_FALSE(process.ok());
  EXPECT_TRUE(
      absl::StrContains(process.status().message(), "/nonexistent/dir/log"))
      << process.status();
}

TEST(ProcessTest, RunCommandCapturesOutputAndKillsOnTimeout) {
  CommandResult done =
      RunCommand(kSh, {"-c", "echo out; echo err >&2; exit 4"});
  EXPECT_EQ(done.exit_code, 4);
  EXPECT_EQ(done.out, "out\n");
  EXPECT_EQ(done.err, "err\n");

  // The timeout itself is under test: the child would run for a minute.
  const absl::Time start = absl::Now();
  CommandResult stuck = RunCommand(kSh, {"-c", "echo started; exec sleep 60"},
                                   absl::Milliseconds(200));
  EXPECT_EQ(stuck.exit_code, -1);
  EXPECT_EQ(stuck.out, "started\n");
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST(ProcessTest, WaitForPortFile) {
  const std::string dir = NewTempDir("process");
  std::ofstream(dir + "/port") << "4242\n";
  absl::StatusOr<int> port = WaitForPortFile(dir + "/port", absl::Seconds(1));
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, 4242);
  EXPECT_EQ(
      WaitForPortFile(dir + "/absent", absl::Milliseconds(50)).status().code(),
      absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace graphmill::testing
