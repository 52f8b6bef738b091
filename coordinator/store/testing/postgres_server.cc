// Implementation of coordinator/store/testing/postgres_server.h.
#include "coordinator/store/testing/postgres_server.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "tests/testing/process.h"

namespace graphmill::coordinator::testing {
namespace {

using ::graphmill::testing::Process;
using ::graphmill::testing::ProcessOptions;

constexpr char kBin[] = "/usr/lib/postgresql/15/bin";
constexpr char kUser[] = "graphmill";  // the superuser initdb creates

bool Executable(const std::string& path) {
  return access(path.c_str(), X_OK) == 0;
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  if (all.size() > 2000) all = all.substr(all.size() - 2000);
  return all;
}

// Runs `argv` to completion with stdout and stderr appended to `log`;
// INTERNAL with the end of `log` if it fails.
absl::Status Run(const std::vector<std::string>& argv, const std::string& log) {
  GM_ASSIGN_OR_RETURN(
      std::unique_ptr<Process> process,
      Process::Start(argv[0], {argv.begin() + 1, argv.end()}, log));
  if (process->Wait(absl::InfiniteDuration()) == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(
      "'", absl::StrJoin(argv, " "), "' failed; its log ends:\n", Tail(log)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  const std::string bin = kBin;
  for (const char* tool : {"initdb", "pg_ctl", "postgres"}) {
    if (!Executable(absl::StrCat(bin, "/", tool))) {
      return absl::FailedPreconditionError(absl::StrCat(
          bin, "/", tool, " is missing: install PostgreSQL 15 (tools/setup)"));
    }
  }
  // Under /tmp, not TEST_TMPDIR: the `postgres` user must reach it, and a
  // unix socket path must stay under 108 bytes.
  char path[] = "/tmp/graphmill-pg-XXXXXX";
  if (mkdtemp(path) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer(path));
  const std::string& dir = server->directory_;
  if (geteuid() == 0) {
    // PostgreSQL refuses to run as root: the directory goes to `postgres`
    // (readable by all, so any client reaches the socket) and the tools run
    // as that user.
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, but there is no 'postgres' user to run the test "
          "server as (install postgresql-15)");
    }
    for (const char* runuser : {"/usr/sbin/runuser", "/sbin/runuser"}) {
      if (Executable(runuser)) {
        server->run_as_ = {runuser, "-u", "postgres", "--"};
        break;
      }
    }
    if (server->run_as_.empty()) {
      return absl::FailedPreconditionError("runuser (util-linux) is missing");
    }
    if (chown(dir.c_str(), user->pw_uid, user->pw_gid) != 0) {
      return absl::InternalError(
          absl::StrCat("chown ", dir, ": ", std::strerror(errno)));
    }
  }
  chmod(dir.c_str(), 0755);

  // The guardian: waits for the pipe to close (the destructor closes it; the
  // kernel does when this process dies), then stops the server and removes
  // the directory. Its own session, so a signal to the test's process group
  // does not take it first.
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::vector<std::string> guardian = {
      "/bin/sh", "-c", "read ignored; dir=$1; shift; \"$@\"; rm -rf \"$dir\"",
      "guardian", dir};
  guardian.insert(guardian.end(), server->run_as_.begin(),
                  server->run_as_.end());
  guardian.insert(guardian.end(), {bin + "/pg_ctl", "-D", dir + "/data", "-m",
                                   "immediate", "-w", "stop"});
  ProcessOptions guardian_options;
  guardian_options.stdin_fd = pipe_fds[0];
  guardian_options.new_session = true;
  // It cleans up after this process, so it must outlive it.
  guardian_options.die_with_parent = false;
  absl::StatusOr<std::unique_ptr<Process>> guardian_process = Process::Start(
      guardian[0], {guardian.begin() + 1, guardian.end()}, guardian_options);
  close(pipe_fds[0]);
  if (!guardian_process.ok()) {
    close(pipe_fds[1]);
    return guardian_process.status();
  }
  server->guardian_ = *std::move(guardian_process);
  server->guardian_pipe_ = pipe_fds[1];

  std::vector<std::string> initdb = server->run_as_;
  initdb.insert(initdb.end(), {bin + "/initdb", "-D", dir + "/data", "-U",
                               kUser, "-A", "trust", "-E", "UTF8", "--locale=C",
                               "--no-sync", "--no-instructions"});
  GM_RETURN_IF_ERROR(Run(initdb, dir + "/initdb.log"));
  GM_RETURN_IF_ERROR(server->PgCtl({"start"}));
  {
    absl::MutexLock lock(&server->mu_);
    GM_ASSIGN_OR_RETURN(server->admin_,
                        PgConnection::Open(server->Uri("postgres")));
  }
  return server;
}

absl::Status PostgresServer::PgCtl(const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = run_as_;
  argv.push_back(absl::StrCat(kBin, "/pg_ctl"));
  argv.insert(argv.end(),
              {"-D", directory_ + "/data", "-l", directory_ + "/server.log",
               "-w", "-t", "60", "-o",
               // Only the socket in the directory; durability is not wanted.
               absl::StrCat("-k ", directory_,
                            " -c listen_addresses='' -c fsync=off "
                            "-c synchronous_commit=off "
                            "-c full_page_writes=off")});
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  absl::Status status = Run(argv, directory_ + "/pg_ctl.log");
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat(status.message(),
                                            "\nthe server log ends:\n",
                                            Tail(directory_ + "/server.log")));
  }
  return absl::OkStatus();
}

PostgresServer::~PostgresServer() {
  {
    absl::MutexLock lock(&mu_);
    admin_.reset();
  }
  if (guardian_pipe_ >= 0) close(guardian_pipe_);
  if (guardian_ != nullptr) {
    guardian_->Wait(absl::InfiniteDuration());
  } else {
    rmdir(directory_.c_str());
  }
}

std::string PostgresServer::Uri(const std::string& database) const {
  return absl::StrCat("postgresql:///", database, "?host=", directory_,
                      "&user=", kUser);
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase(
    const std::string& name, const std::string& template_database) {
  for (const std::string* database : {&name, &template_database}) {
    for (char c : *database) {
      if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
        return absl::InvalidArgumentError(
            absl::StrCat("database name '", *database, "': use [a-z0-9_]"));
      }
    }
  }
  absl::MutexLock lock(&mu_);
  GM_RETURN_IF_ERROR(admin_->Execute(absl::StrCat("CREATE DATABASE ", name,
                                                  " ENCODING 'UTF8' TEMPLATE ",
                                                  template_database)));
  return Uri(name);
}

absl::Status PostgresServer::DropDatabase(const std::string& name) {
  absl::MutexLock lock(&mu_);
  return admin_->Execute(
      absl::StrCat("DROP DATABASE IF EXISTS ", name, " WITH (FORCE)"));
}

absl::Status PostgresServer::Restart() {
  return PgCtl({"-m", "fast", "restart"});
}

absl::StatusOr<PostgresServer*> SharedPostgresServer() {
  // Destroyed, so the server stopped, when the process exits.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> server =
      PostgresServer::Start();
  if (!server.ok()) return server.status();
  return server->get();
}

}  // namespace graphmill::coordinator::testing
