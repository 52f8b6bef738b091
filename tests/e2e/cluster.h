// A graphmill deployment for multi-process tests: the fake provider servers a
// test asks for, a coordinator with its store (a SQLite file in a temporary
// directory, or a database on a throwaway PostgreSQL server), N workers, and
// the CLI, all real processes on loopback ephemeral ports. As in production,
// the coordinator serves TLS (certificates from a throwaway CA made with the
// `openssl` CLI; client certificates required unless turned off) and every
// call carries a bearer token: the CLI the bootstrap admin token, workers a
// worker token created with `graphmill token create`.
//
// The cluster knows no provider: a test passes the fakes it needs as
// ClusterOptions::fakes {name -> binary + flags} (Fake() for the fakes under
// tests/fakes) and lists their binaries as `data` of its test target.
#ifndef GRAPHMILL_TESTS_E2E_CLUSTER_H_
#define GRAPHMILL_TESTS_E2E_CLUSTER_H_

#include <grpcpp/channel.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"

namespace graphmill::testing {

// A server the cluster starts before the coordinator, e.g. a fake provider
// API.
struct FakeServer {
  // The binary's path in the workspace (run from the test's runfiles, so the
  // test target lists it in `data`). It is started with --port=0
  // --port_file=PATH and must write the port it listens on to PATH.
  std::string binary;
  // "{ca_file}" in a flag becomes ca_file() (the CA of the coordinator's
  // certificate, made before the first coordinator starts), e.g. for a fake
  // that sends webhooks to the coordinator's TLS endpoint.
  std::vector<std::string> flags;
  // The credentials it accepts: none may appear in any log of the cluster
  // (see Cluster::ExpectNoSecretsInLogs).
  std::vector<std::string> secrets;
};

// tests/fakes/<name>/fake_<name> with `flags`. The fakes there share a token
// flag, --token=KEY[:...][,KEY[:...]...]: the KEYs of every --token= flag are
// the server's secrets.
FakeServer Fake(const std::string& name, std::vector<std::string> flags);

// Where the coordinator keeps its state.
enum class ClusterStore {
  // A SQLite file in the cluster's directory.
  kSqlite,
  // A database of its own on a throwaway PostgreSQL server
  // (coordinator/store/testing/postgres_server.h) that all clusters of the
  // test binary share. The server runs as the `postgres` user when the test
  // runs as root, which the linux-sandbox cannot do: tag such tests
  // "no-sandbox" (as //coordinator/store:store_test is).
  kPostgres,
};

// "sqlite" or "postgres" (for test names and messages).
std::string StoreName(ClusterStore store);

// The stores the e2e suites run against: from the environment variable
// GRAPHMILL_E2E_STORES ("sqlite", "postgres" or "sqlite,postgres"; the test
// targets set it), both when it is unset. Exits the test binary naming the
// value when it names anything else, so a typo cannot run no test.
std::vector<ClusterStore> StoresUnderTest();
// The name of a test parameterized by store (StoreName).
std::string StoreParamName(const ::testing::TestParamInfo<ClusterStore>& info);

struct ClusterOptions {
  int workers = 2;
  // Coordinator replicas on the one store (more than one needs kPostgres).
  // Workers, the CLI and NewChannel() reach them through one gRPC address
  // list (coordinator_address()).
  int coordinators = 1;
  // The fake servers to start, by name (the name only labels their logs and
  // finds their ports: fake_url(name)).
  std::map<std::string, FakeServer> fakes;
  std::vector<std::string> coordinator_flags;
  ClusterStore store = ClusterStore::kSqlite;
  // The coordinator requires client certificates (--tls_client_ca_file); the
  // CLI, workers and NewChannel() present one.
  bool client_certificates = true;
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();

  // Starts the fakes, the coordinator (with a new database when the store is
  // PostgreSQL) and the workers (after creating their worker token); waits
  // until a worker has advertised its integrations.
  absl::Status Start();

  // The first replica (StartCoordinator(0)).
  absl::Status StartCoordinator();
  // SIGTERM (or `signal`) and wait.
  void StopCoordinator(int signal);
  // Starts replica `index` (on the port it had before, if it ran before) and
  // waits until it listens.
  absl::Status StartCoordinator(int index);
  // Sends `signal` to replica `index` and waits for it to exit.
  void StopCoordinator(int index, int signal);
  absl::Status StartWorker(int index);

  // Runs the CLI against the coordinator with the admin token.
  CommandResult Cli(std::vector<std::string> args);
  // Runs the CLI with the token in `token_file` (e.g. reader_token_file()).
  CommandResult CliWithToken(const std::string& token_file,
                             std::vector<std::string> args);
  // The CLI's connection flags (--server, TLS files, --token-file with the
  // admin token), for tests that start the CLI themselves.
  std::vector<std::string> CliFlags() const;
  // A gRPC channel to the coordinator over TLS that sends the admin token
  // (or the token in `token_file`) with every call.
  std::shared_ptr<grpc::Channel> NewChannel(
      const std::string& token_file = "") const;
  // The same to `address` (e.g. one replica's, replica_address()).
  std::shared_ptr<grpc::Channel> NewChannelTo(
      const std::string& address, const std::string& token_file = "") const;
  // Runs the CLI and returns one parsed line per JSON object printed (--output
  // json).
  std::vector<std::string> CliJsonLines(std::vector<std::string> args);

  const std::string& dir() const { return dir_; }
  // "http://127.0.0.1:PORT" of the fake started as `name` (port 0 if there
  // is none: a test that names one it did not start fails to connect).
  std::string fake_url(const std::string& name) const;
  // Where workers and clients reach the coordinator: "127.0.0.1:PORT", or
  // with several replicas "ipv4:127.0.0.1:P1,127.0.0.1:P2,...".
  std::string coordinator_address() const;
  // Replica `index`'s own "127.0.0.1:PORT".
  std::string replica_address(int index) const;
  // The coordinator's --store: the SQLite file, or the PostgreSQL database's
  // URI. Tests may open it themselves while the coordinator is stopped.
  const std::string& store_spec() const { return store_spec_; }
  // What the store keeps at rest, for tests that look for what must not be
  // there (a plaintext secret) and what must (a sanity check): the bytes of
  // the SQLite database and its WAL, or a pg_dump of the PostgreSQL database.
  // Stop the coordinator first, so everything has been written.
  absl::StatusOr<std::string> StoreAtRest() const;
  const ClusterOptions& options() const { return options_; }
  Process* coordinator() { return coordinators_[0].get(); }
  // Replica `index` (null while stopped).
  Process* coordinator(int index) { return coordinators_[index].get(); }
  // Files holding the tokens (mode 0600): the coordinator's bootstrap admin
  // token, and the worker and reader tokens Start() creates.
  std::string admin_token_file() const { return dir_ + "/admin.token"; }
  std::string worker_token_file() const { return dir_ + "/worker.token"; }
  std::string reader_token_file() const { return dir_ + "/reader.token"; }
  // The CA that signed the coordinator's certificate (and the clients').
  std::string ca_file() const { return dir_ + "/tls/ca.crt"; }
  std::vector<std::unique_ptr<Process>>& workers() { return workers_; }
  // Every secret this cluster handed out: the fakes' (FakeServer::secrets)
  // and the admin, worker and reader tokens.
  std::vector<std::string> Secrets() const;
  // A test failure naming the log and the secret's form for every secret of
  // Secrets() found, in any form common/redact covers (raw, any case,
  // percent-encoded, base64), in any process log. Runs when the cluster is
  // destroyed, so every e2e test checks it.
  void ExpectNoSecretsInLogs() const;

  // Every log of every process started so far, for failure messages and secret
  // checks.
  std::string AllLogs() const;

 private:
  ClusterOptions options_;
  std::string dir_;
  // Set by Start() (a database is created then for PostgreSQL).
  std::string store_spec_;
  std::string postgres_database_;
  std::vector<int> coordinator_ports_;  // by replica; 0 until it first listens
  int coordinator_starts_ = 0;
  // A throwaway CA and the coordinator's and clients' certificates, with the
  // openssl CLI (once).
  absl::Status MakeCertificates();
  // The worker and reader tokens (once), created with the admin token.
  absl::Status CreateTokens();
  std::string TlsFile(const std::string& name) const {
    return dir_ + "/tls/" + name;
  }
  bool certificates_made_ = false;
  bool tokens_created_ = false;
  // Starts options_.fakes[name] with --port=0 and waits for its port.
  absl::Status StartFake(const std::string& name, const FakeServer& fake);
  // Sets store_spec_, creating the PostgreSQL database when that is the store.
  absl::Status PrepareStore();

  std::map<std::string, std::unique_ptr<Process>> fakes_;
  std::map<std::string, int> fake_ports_;
  std::vector<std::unique_ptr<Process>> coordinators_;  // by replica
  std::vector<std::unique_ptr<Process>> workers_;
  std::vector<std::string> logs_;
};

}  // namespace graphmill::testing

#endif  // GRAPHMILL_TESTS_E2E_CLUSTER_H_
