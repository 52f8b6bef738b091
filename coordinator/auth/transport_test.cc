// The coordinator's transport with real certificates made at test time: TLS
// files replaced while serving are used by new connections, a server that
// requires client certificates refuses workers without one, clients check the
// server's name, and loopback plaintext refuses other peers.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/tls.h"
#include "coordinator/auth/authorizer.h"
#include "coordinator/auth/server_security.h"
#include "coordinator/auth/test_certs.h"
#include "gmock/gmock.h"
#include "graphmill/v1/worker.grpc.pb.h"
#include "gtest/gtest.h"
#include "worker/runtime/channel.h"

namespace graphmill::coordinator {
namespace {

using ::testing::HasSubstr;
using testing::PemPair;
using testing::TestCa;
using testing::WriteFileAtomically;

constexpr char kWorkerToken[] = "gm_worker-token-for-transport";

class FakeVerifier : public TokenVerifier {
 public:
  absl::StatusOr<Caller> Verify(absl::string_view token) const override {
    if (token == kWorkerToken) return Caller{"pool-a", Role::kWorker};
    return absl::UnauthenticatedError("unknown or revoked token");
  }
};

// A WorkerGateway whose ReadEntities records who called and ends at once.
class Gateway final : public v1::WorkerGateway::Service {
 public:
  explicit Gateway(const Authorizer* authorizer) : authorizer_(authorizer) {}

  grpc::Status ReadEntities(grpc::ServerContext* context,
                            const v1::ReadEntitiesRequest*,
                            grpc::ServerWriter<v1::EntityBatch>*) override {
    absl::StatusOr<Caller> caller = authorizer_->CallerOf(*context);
    absl::MutexLock lock(&mutex_);
    last_caller_ = caller.ok() ? caller->token_name : "?";
    return grpc::Status::OK;
  }

  std::string last_caller() {
    absl::MutexLock lock(&mutex_);
    return last_caller_;
  }

 private:
  const Authorizer* const authorizer_;
  absl::Mutex mutex_;
  std::string last_caller_ ABSL_GUARDED_BY(mutex_);
};

// ReadEntities through `channel`; the status.
grpc::Status ReadEntities(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::WorkerGateway::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  auto reader = stub->ReadEntities(&context, v1::ReadEntitiesRequest());
  v1::EntityBatch batch;
  while (reader->Read(&batch)) {
  }
  return reader->Finish();
}

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(
        ::testing::TempDir(), "/transport-",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(system(absl::StrCat("mkdir -p '", dir_, "'").c_str()), 0);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  std::string Path(const std::string& name) { return dir_ + "/" + name; }

  void Write(const std::string& name, const std::string& content) {
    ASSERT_TRUE(WriteFileAtomically(Path(name), content).ok());
  }

  // Issues a server certificate for 127.0.0.1 from `ca` into server.crt/.key.
  void WriteServerCert(const TestCa& ca, std::vector<std::string> names = {
                                             "IP:127.0.0.1", "DNS:localhost"}) {
    absl::StatusOr<PemPair> pair = ca.Issue("coordinator", names, false);
    ASSERT_TRUE(pair.ok()) << pair.status();
    // Key first: a reload between the two renames sees a mismatched pair at
    // worst, which gRPC skips until the next check.
    Write("server.key", pair->key);
    Write("server.crt", pair->cert);
  }

  void StartServer(ServerSecurityOptions options) {
    absl::StatusOr<ServerSecurity> security =
        MakeServerSecurity(options, &authorizer_);
    ASSERT_TRUE(security.ok()) << security.status();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options.listen, security->credentials, &port_);
    builder.RegisterService(&gateway_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
  }

  void StartTlsServer(const std::string& client_ca = "") {
    ServerSecurityOptions options;
    options.listen = "127.0.0.1:0";
    options.tls.cert_file = Path("server.crt");
    options.tls.key_file = Path("server.key");
    options.tls.client_ca_file = client_ca;
    options.tls.refresh_interval = absl::Seconds(1);
    StartServer(options);
  }

  // A worker's channel, as graphmill-worker makes it; each call makes new
  // credentials and so a new connection.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> WorkerChannel(
      ClientTlsOptions tls, const std::string& host = "127.0.0.1") {
    worker::CoordinatorConnection connection;
    connection.address = absl::StrCat(host, ":", port_);
    connection.tls = std::move(tls);
    connection.token = kWorkerToken;
    worker::CoordinatorChannelOptions options;
    options.connect_timeout = absl::Seconds(2);
    return worker::ConnectCoordinator(connection, options);
  }

  grpc::Status ReadWithCa(const std::string& ca_file) {
    ClientTlsOptions tls;
    tls.ca_file = ca_file;
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = WorkerChannel(tls);
    EXPECT_TRUE(channel.ok()) << channel.status();
    if (!channel.ok()) return grpc::Status(grpc::StatusCode::UNKNOWN, "");
    return ReadEntities(*channel);
  }

  std::string dir_;
  FakeVerifier verifier_;
  Authorizer authorizer_{&verifier_};
  Gateway gateway_{&authorizer_};
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(TransportTest, WorkerOverTlsSendsItsToken) {
  absl::StatusOr<TestCa> ca = TestCa::Create("graphmill test CA");
  ASSERT_TRUE(ca.ok());
  WriteServerCert(*ca);
  Write("ca.crt", ca->cert_pem());
  StartTlsServer();
  grpc::Status status = ReadWithCa(Path("ca.crt"));
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(gateway_.last_caller(), "pool-a");
}

TEST_F(TransportTest, ReplacedCertificateIsServedToNewConnections) {
  absl::StatusOr<TestCa> old_ca = TestCa::Create("old CA");
  absl::StatusOr<TestCa> new_ca = TestCa::Create("new CA");
  ASSERT_TRUE(old_ca.ok() && new_ca.ok());
  Write("old-ca.crt", old_ca->cert_pem());
  Write("new-ca.crt", new_ca->cert_pem());
  WriteServerCert(*old_ca);
  StartTlsServer();
  ASSERT_TRUE(ReadWithCa(Path("old-ca.crt")).ok());
  EXPECT_FALSE(ReadWithCa(Path("new-ca.crt")).ok());

  // cert-manager renews the certificate (here: from another CA, so the test
  // can tell which one is served).
  WriteServerCert(*new_ca);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  bool renewed = false;
  while (!renewed && absl::Now() < deadline) {
    renewed = ReadWithCa(Path("new-ca.crt")).ok();
    if (!renewed) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(renewed) << "the new certificate was not served within 20 s";
  EXPECT_FALSE(ReadWithCa(Path("old-ca.crt")).ok());
}

TEST_F(TransportTest, ClientChecksTheServersName) {
  absl::StatusOr<TestCa> ca = TestCa::Create("graphmill test CA");
  ASSERT_TRUE(ca.ok());
  WriteServerCert(*ca, {"DNS:coordinator.example"});
  Write("ca.crt", ca->cert_pem());
  StartTlsServer();
  grpc::Status status = ReadWithCa(Path("ca.crt"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

TEST_F(TransportTest, PlaintextClientCannotTalkToTlsServer) {
  absl::StatusOr<TestCa> ca = TestCa::Create("graphmill test CA");
  ASSERT_TRUE(ca.ok());
  WriteServerCert(*ca);
  StartTlsServer();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      WorkerChannel(ClientTlsOptions());
  ASSERT_TRUE(channel.ok());
  EXPECT_EQ(ReadEntities(*channel).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(gateway_.last_caller(), "");
}

TEST_F(TransportTest, MutualTlsRefusesWorkersWithoutAClientCertificate) {
  absl::StatusOr<TestCa> ca = TestCa::Create("server CA");
  absl::StatusOr<TestCa> client_ca = TestCa::Create("worker CA");
  absl::StatusOr<TestCa> other_ca = TestCa::Create("somebody else's CA");
  ASSERT_TRUE(ca.ok() && client_ca.ok() && other_ca.ok());
  WriteServerCert(*ca);
  Write("ca.crt", ca->cert_pem());
  Write("client-ca.crt", client_ca->cert_pem());
  absl::StatusOr<PemPair> good = client_ca->Issue("worker-1", {}, true);
  absl::StatusOr<PemPair> foreign = other_ca->Issue("worker-2", {}, true);
  ASSERT_TRUE(good.ok() && foreign.ok());
  Write("good.crt", good->cert);
  Write("good.key", good->key);
  Write("foreign.crt", foreign->cert);
  Write("foreign.key", foreign->key);
  StartTlsServer(Path("client-ca.crt"));

  ClientTlsOptions tls;
  tls.ca_file = Path("ca.crt");
  absl::StatusOr<std::shared_ptr<grpc::Channel>> without = WorkerChannel(tls);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(ReadEntities(*without).error_code(), grpc::StatusCode::UNAVAILABLE);

  tls.cert_file = Path("foreign.crt");
  tls.key_file = Path("foreign.key");
  absl::StatusOr<std::shared_ptr<grpc::Channel>> foreign_channel =
      WorkerChannel(tls);
  ASSERT_TRUE(foreign_channel.ok());
  EXPECT_EQ(ReadEntities(*foreign_channel).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(gateway_.last_caller(), "");

  tls.cert_file = Path("good.crt");
  tls.key_file = Path("good.key");
  absl::StatusOr<std::shared_ptr<grpc::Channel>> with = WorkerChannel(tls);
  ASSERT_TRUE(with.ok());
  grpc::Status status = ReadEntities(*with);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(gateway_.last_caller(), "pool-a");
}

TEST_F(TransportTest, WorkerRefusesPlaintextToOtherHostsAndBadFiles) {
  port_ = 7400;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      WorkerChannel(ClientTlsOptions(), "10.1.2.3");
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(channel.status().message(), HasSubstr("--tls_ca_file"));
  EXPECT_THAT(channel.status().message(), HasSubstr("--insecure"));
  ClientTlsOptions insecure;
  insecure.insecure = true;
  EXPECT_TRUE(WorkerChannel(insecure, "10.1.2.3").ok());
  ClientTlsOptions missing;
  missing.ca_file = Path("no-such-ca.crt");
  channel = WorkerChannel(missing);
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(channel.status().message(), HasSubstr("--tls_ca_file"));
}

// The first IPv4 address of this machine that is not loopback, if any.
std::string NonLoopbackAddress() {
  ifaddrs* addresses = nullptr;
  if (getifaddrs(&addresses) != 0) return "";
  std::string found;
  for (ifaddrs* a = addresses; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    if (!IsLoopbackAddress(text)) found = text;
  }
  freeifaddrs(addresses);
  return found;
}

// LocalServerCredentials(LOCAL_TCP) accepts only loopback peers, even when it
// listens on every interface.
TEST_F(TransportTest, LoopbackPlaintextRefusesOtherPeers) {
  const std::string address = NonLoopbackAddress();
  if (address.empty()) GTEST_SKIP() << "no non-loopback IPv4 address";
  absl::StatusOr<ServerSecurity> security = MakeServerSecurity(
      {.listen = "127.0.0.1:0", .tls = {}, .insecure_plaintext = false},
      &authorizer_);
  ASSERT_TRUE(security.ok());
  grpc::ServerBuilder builder;
  // Bound to every interface on purpose: only the credentials refuse.
  builder.AddListeningPort("0.0.0.0:0", security->credentials, &port_);
  builder.RegisterService(&gateway_);
  server_ = builder.BuildAndStart();
  ASSERT_NE(server_, nullptr);
  ClientTlsOptions insecure;
  insecure.insecure = true;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> remote =
      WorkerChannel(insecure, address);
  ASSERT_TRUE(remote.ok());
  EXPECT_EQ(ReadEntities(*remote).error_code(), grpc::StatusCode::UNAVAILABLE);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> local =
      WorkerChannel(ClientTlsOptions());
  ASSERT_TRUE(local.ok());
  grpc::Status status = ReadEntities(*local);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(ServerSecurityTest, NonLoopbackPlaintextIsRefusedByName) {
  FakeVerifier verifier;
  Authorizer authorizer(&verifier);
  for (const char* listen :
       {"0.0.0.0:7400", "[::]:7400", "10.0.0.5:7400", "coordinator:7400"}) {
    absl::StatusOr<ServerSecurity> security = MakeServerSecurity(
        {.listen = listen, .tls = {}, .insecure_plaintext = false},
        &authorizer);
    EXPECT_EQ(security.status().code(), absl::StatusCode::kInvalidArgument)
        << listen;
    for (const char* flag :
         {"--tls_cert_file", "--tls_key_file", "--insecure_plaintext"}) {
      EXPECT_THAT(security.status().message(), HasSubstr(flag)) << listen;
    }
    security = MakeServerSecurity(
        {.listen = listen, .tls = {}, .insecure_plaintext = true}, &authorizer);
    ASSERT_TRUE(security.ok()) << listen;
    EXPECT_THAT(security->warning, HasSubstr("PLAINTEXT"));
  }
  for (const char* listen : {"127.0.0.1:0", "localhost:7400", "[::1]:7400"}) {
    absl::StatusOr<ServerSecurity> security = MakeServerSecurity(
        {.listen = listen, .tls = {}, .insecure_plaintext = false},
        &authorizer);
    ASSERT_TRUE(security.ok()) << listen << ": " << security.status();
    EXPECT_EQ(security->warning, "");
  }
}

TEST(ServerSecurityTest, InconsistentTlsFlagsAreNamed) {
  FakeVerifier verifier;
  Authorizer authorizer(&verifier);
  ServerSecurityOptions options;
  options.listen = "0.0.0.0:7400";
  options.tls.cert_file = "/x/server.crt";
  EXPECT_THAT(MakeServerSecurity(options, &authorizer).status().message(),
              HasSubstr("--tls_cert_file and --tls_key_file go together"));
  options.tls = {};
  options.tls.client_ca_file = "/x/ca.crt";
  EXPECT_THAT(MakeServerSecurity(options, &authorizer).status().message(),
              HasSubstr("--tls_client_ca_file needs"));
  options.tls = {};
  options.tls.cert_file = "/no/such/server.crt";
  options.tls.key_file = "/no/such/server.key";
  absl::Status status = MakeServerSecurity(options, &authorizer).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("--tls_cert_file '/no/such/server.crt': cannot read"));
}

}  // namespace
}  // namespace graphmill::coordinator
