// A throwaway PostgreSQL 15 server for tests: initdb in a new directory under
// /tmp, trust authentication, listening only on a unix socket in that
// directory (no TCP), fsync off. When the test runs as root the server runs as
// the `postgres` user (PostgreSQL refuses root). A guardian process stops the
// server and removes the directory when the test process exits, however it
// exits (even killed); the destructor does the same at once.
#ifndef GRAPHMILL_COORDINATOR_STORE_TESTING_POSTGRES_SERVER_H_
#define GRAPHMILL_COORDINATOR_STORE_TESTING_POSTGRES_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/store/postgres.h"
#include "tests/testing/process.h"

namespace graphmill::coordinator::testing {

class PostgresServer {
 public:
  // Creates and starts a server. FAILED_PRECONDITION if PostgreSQL 15 is not
  // installed (tools/setup installs it); INTERNAL with the end of the
  // server's log if it does not start.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  // Stops the server and removes its directory.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Creates a database (`name`: lower-case letters, digits and '_') as a copy
  // of `template_database` (template0: empty) and returns its URI. A template
  // must have no open connections.
  absl::StatusOr<std::string> CreateDatabase(
      const std::string& name,
      const std::string& template_database = "template0");
  // Drops the database, closing its connections.
  absl::Status DropDatabase(const std::string& name);
  // The libpq URI of `database`: postgresql:///database?host=<dir>&user=...
  std::string Uri(const std::string& database) const;

  // Stops the server (fast shutdown: connections are closed) and starts it
  // again on the same data, e.g. to test that clients reconnect.
  absl::Status Restart();

  const std::string& directory() const { return directory_; }

 private:
  explicit PostgresServer(std::string directory)
      : directory_(std::move(directory)) {}
  // Runs `pg_ctl <arguments>` as the server's user; its output goes to
  // <dir>/pg_ctl.log.
  absl::Status PgCtl(const std::vector<std::string>& arguments);
  // The argv prefix that runs a command as the server's user (empty when
  // not root).
  std::vector<std::string> run_as_;
  std::string directory_;
  std::unique_ptr<::graphmill::testing::Process> guardian_;
  int guardian_pipe_ = -1;  // closing it tells the guardian to clean up
  absl::Mutex mu_;
  std::unique_ptr<PgConnection> admin_ ABSL_GUARDED_BY(mu_);
};

// The server shared by all tests of the binary: started on first use (from a
// thread that lives as long as the tests), stopped when the process exits.
absl::StatusOr<PostgresServer*> SharedPostgresServer();

}  // namespace graphmill::coordinator::testing

#endif  // GRAPHMILL_COORDINATOR_STORE_TESTING_POSTGRES_SERVER_H_
