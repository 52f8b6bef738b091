// Implementation of tests/e2e/cluster.h.
#include "tests/e2e/cluster.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/redact.h"
#include "coordinator/store/testing/postgres_server.h"
#include "gtest/gtest.h"
#include "worker/runtime/channel.h"

namespace graphmill::testing {
namespace {

constexpr char kOpenssl[] = "/usr/bin/openssl";

std::string ReadTrimmed(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(buffer.str()));
}

absl::Status WritePrivateFile(const std::string& path,
                              const std::string& content) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << content;
    if (!out) return absl::InternalError("cannot write " + path);
  }
  chmod(path.c_str(), 0600);
  return absl::OkStatus();
}

absl::Status Openssl(const std::vector<std::string>& args) {
  CommandResult result = RunCommand(kOpenssl, args, absl::Seconds(30));
  if (result.exit_code != 0) {
    return absl::InternalError(absl::StrCat("openssl ", args[0], " failed (",
                                            result.exit_code, "): ", result.err,
                                            " (is the openssl package "
                                            "installed? tools/setup)"));
  }
  return absl::OkStatus();
}

}  // namespace

FakeServer Fake(const std::string& name, std::vector<std::string> flags) {
  FakeServer fake;
  fake.binary = absl::StrCat("tests/fakes/", name, "/fake_", name);
  for (const std::string& flag : flags) {
    if (!absl::StartsWith(flag, "--token=")) continue;
    for (absl::string_view entry :
         absl::StrSplit(absl::string_view(flag).substr(8), ',')) {
      fake.secrets.emplace_back(entry.substr(0, entry.find(':')));
    }
  }
  fake.flags = std::move(flags);
  return fake;
}

std::string StoreName(ClusterStore store) {
  switch (store) {
    case ClusterStore::kSqlite:
      return "sqlite";
    case ClusterStore::kPostgres:
      return "postgres";
  }
  return "unknown";
}

std::string StoreParamName(const ::testing::TestParamInfo<ClusterStore>& info) {
  return StoreName(info.param);
}

std::vector<ClusterStore> StoresUnderTest() {
  const char* value = std::getenv("GRAPHMILL_E2E_STORES");
  if (value == nullptr) return {ClusterStore::kSqlite, ClusterStore::kPostgres};
  std::vector<ClusterStore> stores;
  for (absl::string_view name : absl::StrSplit(value, ',')) {
    if (name == "sqlite") {
      stores.push_back(ClusterStore::kSqlite);
    } else if (name == "postgres") {
      stores.push_back(ClusterStore::kPostgres);
    } else {
      // Called while gtest instantiates the suites: no test to fail yet.
      std::cerr << "GRAPHMILL_E2E_STORES='" << value
                << "': expected sqlite, postgres or sqlite,postgres\n";
      std::exit(2);
    }
  }
  return stores;
}

Cluster::Cluster(ClusterOptions options)
    : options_(std::move(options)),
      dir_(NewTempDir("cluster")),
      coordinator_ports_(std::max(1, options_.coordinators), 0),
      coordinators_(std::max(1, options_.coordinators)) {
  // The key that encrypts secret config values at rest (a fixed test key: 32
  // bytes, hex).
  std::ofstream key(dir_ + "/secret.key");
  key << "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
  key.close();
  chmod((dir_ + "/secret.key").c_str(), 0600);
}

Cluster::~Cluster() {
  for (auto& worker : workers_) {
    if (worker) worker->Stop();
  }
  for (auto& coordinator : coordinators_) {
    if (coordinator) coordinator->Stop();
  }
  for (auto& [name, fake] : fakes_) fake->Stop();
  if (!postgres_database_.empty()) {
    absl::StatusOr<coordinator::testing::PostgresServer*> server =
        coordinator::testing::SharedPostgresServer();
    if (server.ok()) {
      absl::Status dropped = (*server)->DropDatabase(postgres_database_);
      EXPECT_TRUE(dropped.ok()) << dropped;
    }
  }
  ExpectNoSecretsInLogs();
}

std::vector<std::string> Cluster::Secrets() const {
  std::vector<std::string> secrets;
  for (const auto& [name, fake] : options_.fakes) {
    secrets.insert(secrets.end(), fake.secrets.begin(), fake.secrets.end());
  }
  for (const std::string& file :
       {admin_token_file(), worker_token_file(), reader_token_file()}) {
    std::ifstream in(file);
    std::string token;
    if (std::getline(in, token) && !token.empty()) secrets.push_back(token);
  }
  return secrets;
}

void Cluster::ExpectNoSecretsInLogs() const {
  for (const std::string& secret : Secrets()) {
    const Redactor redactor({secret});
    for (const std::string& path : logs_) {
      std::ifstream in(path);
      std::stringstream buffer;
      buffer << in.rdbuf();
      const std::string log = buffer.str();
      // Redaction changes the text only where a form of the secret is.
      EXPECT_EQ(redactor.Redact(log), log)
          << "a secret (" << secret.size() << " characters, starting '"
          << secret.substr(0, 3) << "') appears in " << path;
    }
  }
}

absl::Status Cluster::StartFake(const std::string& name,
                                const FakeServer& fake) {
  const std::string port_file = absl::StrCat(dir_, "/", name, ".port");
  std::vector<std::string> flags = {"--port=0", "--port_file=" + port_file};
  for (const std::string& flag : fake.flags) {
    flags.push_back(absl::StrReplaceAll(flag, {{"{ca_file}", ca_file()}}));
  }
  const std::string log = absl::StrCat(dir_, "/", name, ".log");
  logs_.push_back(log);
  absl::StatusOr<std::unique_ptr<Process>> started =
      Process::Start(Runfile(fake.binary), flags, log);
  if (!started.ok()) return started.status();
  Process& process = *(fakes_[name] = *std::move(started));
  absl::StatusOr<int> port = WaitForPortFile(port_file, absl::Seconds(20));
  if (!port.ok()) {
    return absl::Status(port.status().code(),
                        absl::StrCat("fake '", name, "' (", fake.binary,
                                     "): ", port.status().message(),
                                     "; its log:\n", process.Log()));
  }
  fake_ports_[name] = *port;
  return absl::OkStatus();
}

absl::Status Cluster::PrepareStore() {
  if (!store_spec_.empty()) return absl::OkStatus();
  switch (options_.store) {
    case ClusterStore::kSqlite:
      store_spec_ = dir_ + "/graphmill.db";
      return absl::OkStatus();
    case ClusterStore::kPostgres: {
      absl::StatusOr<coordinator::testing::PostgresServer*> server =
          coordinator::testing::SharedPostgresServer();
      if (!server.ok()) return server.status();
      static std::atomic<int> databases{0};
      const std::string name = absl::StrCat("e2e_", getpid(), "_", databases++);
      absl::StatusOr<std::string> uri = (*server)->CreateDatabase(name);
      if (!uri.ok()) return uri.status();
      postgres_database_ = name;
      store_spec_ = *uri;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown ClusterStore");
}

absl::Status Cluster::MakeCertificates() {
  if (certificates_made_) return absl::OkStatus();
  mkdir((dir_ + "/tls").c_str(), 0700);
  const std::vector<std::string> ec_key = {"-newkey", "ec", "-pkeyopt",
                                           "ec_paramgen_curve:P-256", "-nodes"};
  std::vector<std::string> ca = {"req", "-x509"};
  ca.insert(ca.end(), ec_key.begin(), ec_key.end());
  ca.insert(ca.end(), {"-keyout", TlsFile("ca.key"), "-out", TlsFile("ca.crt"),
                       "-days", "2", "-subj", "/CN=graphmill e2e CA", "-addext",
                       "basicConstraints=critical,CA:TRUE", "-addext",
                       "keyUsage=critical,keyCertSign,cRLSign"});
  if (absl::Status status = Openssl(ca); !status.ok()) return status;
  struct Leaf {
    std::string name;
    std::string extensions;
  };
  const Leaf leaves[] = {
      {"server",
       "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:"
       "localhost\n"},
      {"client", "extendedKeyUsage=clientAuth\n"},
  };
  int serial = 1000;
  for (const Leaf& leaf : leaves) {
    std::vector<std::string> request = {"req", "-new"};
    request.insert(request.end(), ec_key.begin(), ec_key.end());
    request.insert(request.end(), {"-keyout", TlsFile(leaf.name + ".key"),
                                   "-out", TlsFile(leaf.name + ".csr"), "-subj",
                                   "/CN=graphmill e2e " + leaf.name});
    if (absl::Status status = Openssl(request); !status.ok()) return status;
    if (absl::Status status =
            WritePrivateFile(TlsFile(leaf.name + ".ext"),
                             "basicConstraints=critical,CA:FALSE\n"
                             "keyUsage=critical,digitalSignature\n" +
                                 leaf.extensions);
        !status.ok()) {
      return status;
    }
    if (absl::Status status =
            Openssl({"x509", "-req", "-in", TlsFile(leaf.name + ".csr"), "-CA",
                     TlsFile("ca.crt"), "-CAkey", TlsFile("ca.key"),
                     "-set_serial", absl::StrCat(serial++), "-days", "2",
                     "-out", TlsFile(leaf.name + ".crt"), "-extfile",
                     TlsFile(leaf.name + ".ext")});
        !status.ok()) {
      return status;
    }
  }
  certificates_made_ = true;
  return absl::OkStatus();
}

absl::Status Cluster::CreateTokens() {
  if (tokens_created_) return absl::OkStatus();
  const std::pair<const char*, std::string> tokens[] = {
      {"worker", worker_token_file()}, {"reader", reader_token_file()}};
  for (const auto& [role, file] : tokens) {
    CommandResult created =
        Cli({"token", "create", absl::StrCat("e2e-", role), "--role", role});
    if (created.exit_code != 0) {
      return absl::InternalError(absl::StrCat("token create --role ", role,
                                              " failed: ", created.err, "\n",
                                              AllLogs()));
    }
    // The token is alone on the last line of stdout.
    const std::string token(absl::StripAsciiWhitespace(created.out));
    const size_t newline = token.rfind('\n');
    if (absl::Status status = WritePrivateFile(
            file,
            (newline == std::string::npos ? token : token.substr(newline + 1)) +
                "\n");
        !status.ok()) {
      return status;
    }
  }
  tokens_created_ = true;
  return absl::OkStatus();
}

absl::Status Cluster::Start() {
  for (const auto& [name, fake] : options_.fakes) {
    if (absl::Status status = StartFake(name, fake); !status.ok()) {
      return status;
    }
  }
  // The first replica writes the bootstrap admin token; the others find it.
  for (int i = 0; i < static_cast<int>(coordinators_.size()); ++i) {
    if (absl::Status status = StartCoordinator(i); !status.ok()) return status;
  }
  if (absl::Status status = CreateTokens(); !status.ok()) return status;
  workers_.resize(options_.workers);
  for (int i = 0; i < options_.workers; ++i) {
    if (absl::Status status = StartWorker(i); !status.ok()) return status;
  }
  // A worker advertises every integration it has in its hello, and the store
  // is new: any integration listed means a worker is connected.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (!CliJsonLines({"integration", "list"}).empty()) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      "no worker advertised an integration within 20 s:\n" + AllLogs());
}

absl::Status Cluster::StartCoordinator() { return StartCoordinator(0); }

void Cluster::StopCoordinator(int signal) { StopCoordinator(0, signal); }

absl::Status Cluster::StartCoordinator(int index) {
  if (absl::Status status = MakeCertificates(); !status.ok()) return status;
  if (absl::Status status = PrepareStore(); !status.ok()) return status;
  const std::string port_file =
      absl::StrCat(dir_, "/coordinator-", coordinator_starts_, ".port");
  const std::string log =
      absl::StrCat(dir_, "/coordinator-", coordinator_starts_, ".log");
  ++coordinator_starts_;
  logs_.push_back(log);
  // The same port after a restart, so workers find the coordinator again.
  std::vector<std::string> flags = {
      absl::StrCat("--listen=127.0.0.1:", coordinator_ports_[index]),
      "--port_file=" + port_file,
      "--store=" + store_spec_,
      "--secret_key_file=" + dir_ + "/secret.key",
      "--tls_cert_file=" + TlsFile("server.crt"),
      "--tls_key_file=" + TlsFile("server.key"),
      "--admin_token_file=" + admin_token_file()};
  if (options_.client_certificates) {
    flags.push_back("--tls_client_ca_file=" + ca_file());
  }
  flags.insert(flags.end(), options_.coordinator_flags.begin(),
               options_.coordinator_flags.end());
  auto coordinator =
      Process::Start(Runfile("coordinator/graphmill-coordinator"), flags, log);
  if (!coordinator.ok()) return coordinator.status();
  coordinators_[index] = std::move(*coordinator);
  auto port = WaitForPortFile(port_file, absl::Seconds(20));
  if (!port.ok()) return port.status();
  coordinator_ports_[index] = *port;
  return absl::OkStatus();
}

void Cluster::StopCoordinator(int index, int signal) {
  std::unique_ptr<Process>& coordinator = coordinators_[index];
  if (!coordinator) return;
  coordinator->Signal(signal);
  coordinator->Wait(absl::Seconds(10));
  coordinator.reset();
}

absl::Status Cluster::StartWorker(int index) {
  const std::string log =
      absl::StrCat(dir_, "/worker-", index, "-", logs_.size(), ".log");
  logs_.push_back(log);
  std::vector<std::string> flags = {
      "--coordinator=" + coordinator_address(),
      absl::StrCat("--worker_id=e2e-worker-", index), "--capacity=4",
      "--tls_ca_file=" + ca_file(), "--token_file=" + worker_token_file()};
  if (options_.client_certificates) {
    flags.push_back("--tls_cert_file=" + TlsFile("client.crt"));
    flags.push_back("--tls_key_file=" + TlsFile("client.key"));
  }
  auto worker = Process::Start(Runfile("worker/graphmill-worker"), flags, log);
  if (!worker.ok()) return worker.status();
  workers_[index] = std::move(*worker);
  return absl::OkStatus();
}

std::vector<std::string> Cluster::CliFlags() const {
  std::vector<std::string> flags = {"--server=" + coordinator_address(),
                                    "--tls-ca-file=" + ca_file(),
                                    "--token-file=" + admin_token_file()};
  if (options_.client_certificates) {
    flags.push_back("--tls-cert-file=" + TlsFile("client.crt"));
    flags.push_back("--tls-key-file=" + TlsFile("client.key"));
  }
  return flags;
}

CommandResult Cluster::Cli(std::vector<std::string> args) {
  return CliWithToken(admin_token_file(), std::move(args));
}

CommandResult Cluster::CliWithToken(const std::string& token_file,
                                    std::vector<std::string> args) {
  std::vector<std::string> flags = CliFlags();
  for (std::string& flag : flags) {
    if (absl::StartsWith(flag, "--token-file="))
      flag = "--token-file=" + token_file;
  }
  args.insert(args.begin(), flags.begin(), flags.end());
  return RunCommand(Runfile("client/graphmill"), args, absl::Seconds(120));
}

std::shared_ptr<grpc::Channel> Cluster::NewChannel(
    const std::string& token_file) const {
  return NewChannelTo(coordinator_address(), token_file);
}

std::shared_ptr<grpc::Channel> Cluster::NewChannelTo(
    const std::string& address, const std::string& token_file) const {
  worker::CoordinatorConnection connection;
  connection.address = address;
  connection.tls.ca_file = ca_file();
  if (options_.client_certificates) {
    connection.tls.cert_file = TlsFile("client.crt");
    connection.tls.key_file = TlsFile("client.key");
  }
  connection.token =
      ReadTrimmed(token_file.empty() ? admin_token_file() : token_file);
  worker::CoordinatorChannelOptions options;
  options.max_receive_message_bytes = 64 << 20;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      worker::ConnectCoordinator(connection, options);
  if (!channel.ok()) {
    // Tests see the failure on their first call.
    return worker::CreateCoordinatorChannel("127.0.0.1:1");
  }
  return *std::move(channel);
}

std::vector<std::string> Cluster::CliJsonLines(std::vector<std::string> args) {
  args.push_back("--output=json");
  CommandResult result = Cli(args);
  std::vector<std::string> lines;
  for (absl::string_view line :
       absl::StrSplit(result.out, '\n', absl::SkipEmpty())) {
    lines.emplace_back(line);
  }
  return lines;
}

absl::StatusOr<std::string> Cluster::StoreAtRest() const {
  switch (options_.store) {
    case ClusterStore::kSqlite: {
      std::string bytes;
      for (const char* suffix : {"", "-wal"}) {
        std::ifstream in(store_spec_ + suffix, std::ios::binary);
        std::stringstream buffer;
        buffer << in.rdbuf();
        bytes += buffer.str();
      }
      return bytes;
    }
    case ClusterStore::kPostgres: {
      // BYTEA columns (serialized protos) dump as hex by default, where no
      // string could be found; the escape format keeps printable bytes as
      // they are.
      const std::string dir = NewTempDir("pg_dump");
      ProcessOptions options;
      options.log_path = dir + "/dump.sql";
      options.stderr_path = dir + "/dump.err";
      options.env = {{"PGOPTIONS", "-c bytea_output=escape"}};
      absl::StatusOr<std::unique_ptr<Process>> dump =
          Process::Start("/usr/lib/postgresql/15/bin/pg_dump",
                         {"--data-only", "--dbname=" + store_spec_}, options);
      if (!dump.ok()) return dump.status();
      const int code = (*dump)->Wait(absl::Seconds(60));
      std::ifstream out(options.log_path), err(options.stderr_path);
      std::stringstream text, error;
      text << out.rdbuf();
      error << err.rdbuf();
      if (code != 0) {
        return absl::InternalError(
            absl::StrCat("pg_dump failed (", code, "): ", error.str()));
      }
      return text.str();
    }
  }
  return absl::InvalidArgumentError("unknown ClusterStore");
}

std::string Cluster::fake_url(const std::string& name) const {
  const auto port = fake_ports_.find(name);
  return absl::StrCat("http://127.0.0.1:",
                      port == fake_ports_.end() ? 0 : port->second);
}

std::string Cluster::coordinator_address() const {
  if (coordinator_ports_.size() == 1) return replica_address(0);
  std::vector<std::string> addresses;
  for (int i = 0; i < static_cast<int>(coordinator_ports_.size()); ++i) {
    addresses.push_back(replica_address(i));
  }
  return absl::StrCat("ipv4:", absl::StrJoin(addresses, ","));
}

std::string Cluster::replica_address(int index) const {
  return absl::StrCat("127.0.0.1:", coordinator_ports_[index]);
}

std::string Cluster::AllLogs() const {
  std::string all;
  for (const std::string& path : logs_) {
    std::ifstream in(path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    absl::StrAppend(&all, "==== ", path, "\n", buffer.str());
  }
  return all;
}

}  // namespace graphmill::testing
