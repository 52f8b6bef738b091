// A graphmill deployment for multi-process tests: a fake CircleCI API, a
// coordinator with a SQLite store in a temporary directory, N workers, and the
// CLI, all real processes on loopback ephemeral ports. As in production, the
// coordinator serves TLS (certificates from a throwaway CA made with the
// `openssl` CLI; client certificates required unless turned off) and every
// call carries a bearer token: the CLI the bootstrap admin token, workers a
// worker token created with `graphmill token create`.
#ifndef GRAPHMILL_TESTS_E2E_CLUSTER_H_
#define GRAPHMILL_TESTS_E2E_CLUSTER_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/testing/process.h"

namespace graphmill::testing {

struct ClusterOptions {
  int workers = 2;
  // Extra flags for the fake CircleCI server (e.g. sizes, --fault).
  std::vector<std::string> circleci_flags;
  std::vector<std::string> coordinator_flags;
  std::string circleci_token = "e2e-token-5f2c9a71";
  // Flags for a fake Heroku server; empty: none is started.
  std::vector<std::string> heroku_flags;
  // Flags for a fake JupiterOne synchronization API; empty: none is started.
  std::vector<std::string> jupiterone_flags;
  // The coordinator requires client certificates (--tls_client_ca_file); the
  // CLI, workers and NewChannel() present one.
  bool client_certificates = true;
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();

  // Starts the fake, the coordinator and the workers (after creating their
  // worker token); waits until a worker has advertised the circleci
  // integration.
  absl::Status Start();

  absl::Status StartCoordinator();
  // SIGTERM (or `signal`) and wait.
  void StopCoordinator(int signal);
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
  // Runs the CLI and returns one parsed line per JSON object printed (--output
  // json).
  std::vector<std::string> CliJsonLines(std::vector<std::string> args);

  const std::string& dir() const { return dir_; }
  std::string circleci_base_url() const;
  // "http://127.0.0.1:PORT" of the fake CircleCI, for its /_control endpoints.
  std::string circleci_root_url() const;
  std::string coordinator_address() const;
  // "http://127.0.0.1:PORT" of the fake Heroku / JupiterOne (when started).
  std::string heroku_base_url() const;
  std::string jupiterone_base_url() const;
  const ClusterOptions& options() const { return options_; }
  Process* coordinator() { return coordinator_.get(); }
  // Files holding the tokens (mode 0600): the coordinator's bootstrap admin
  // token, and the worker and reader tokens Start() creates.
  std::string admin_token_file() const { return dir_ + "/admin.token"; }
  std::string worker_token_file() const { return dir_ + "/worker.token"; }
  std::string reader_token_file() const { return dir_ + "/reader.token"; }
  // The CA that signed the coordinator's certificate (and the clients').
  std::string ca_file() const { return dir_ + "/tls/ca.crt"; }
  std::vector<std::unique_ptr<Process>>& workers() { return workers_; }
  // Every secret this cluster handed out: the fakes' API keys (CircleCI's,
  // and each key in a `--token=KEY[:...],...` flag of the Heroku and
  // JupiterOne fakes) and the admin, worker and reader tokens.
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
  int circleci_port_ = 0;
  int coordinator_port_ = 0;
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
  // Starts tests/fakes/<name>/fake_<name> with --port=0 and waits for its port.
  absl::Status StartFake(const std::string& name,
                         const std::vector<std::string>& flags,
                         std::unique_ptr<Process>* process, int* port);

  int heroku_port_ = 0;
  int jupiterone_port_ = 0;
  std::unique_ptr<Process> circleci_;
  std::unique_ptr<Process> heroku_;
  std::unique_ptr<Process> jupiterone_;
  std::unique_ptr<Process> coordinator_;
  std::vector<std::unique_ptr<Process>> workers_;
  std::vector<std::string> logs_;
};

}  // namespace graphmill::testing

#endif  // GRAPHMILL_TESTS_E2E_CLUSTER_H_
