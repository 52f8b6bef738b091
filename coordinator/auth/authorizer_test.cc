// The authorization table and its check: every RPC of the Admin, Graph and
// WorkerGateway services × {no token, wrong token, admin, reader, worker},
// against a real server on loopback for each transport the coordinator
// serves (TLS from a throwaway CA, loopback plaintext, --insecure_plaintext).
#include "coordinator/auth/authorizer.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/channel_arguments.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/tls.h"
#include "coordinator/auth/server_security.h"
#include "coordinator/auth/test_certs.h"
#include "gmock/gmock.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "graphmill/v1/worker.grpc.pb.h"
#include "gtest/gtest.h"

namespace graphmill::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAdminToken[] = "gm_admin-secret-0001";
constexpr char kReaderToken[] = "gm_reader-secret-0002";
constexpr char kWorkerToken[] = "gm_worker-secret-0003";
constexpr char kWrongToken[] = "gm_not-a-known-token";

class FakeVerifier : public TokenVerifier {
 public:
  absl::StatusOr<Caller> Verify(absl::string_view token) const override {
    if (token == kAdminToken) return Caller{"ops", Role::kAdmin};
    if (token == kReaderToken) return Caller{"dashboards", Role::kReader};
    if (token == kWorkerToken) return Caller{"pool-a", Role::kWorker};
    return absl::UnauthenticatedError("unknown or revoked token");
  }
};

// What each RPC allows, written out independently of the table.
const std::map<std::string, std::set<Role>>& ExpectedRoles() {
  static const auto* const expected = [] {
    const std::set<Role> admin = {Role::kAdmin};
    const std::set<Role> readers = {Role::kAdmin, Role::kReader};
    const std::set<Role> workers = {Role::kAdmin, Role::kWorker};
    return new std::map<std::string, std::set<Role>>{
        {"/graphmill.v1.Admin/ListIntegrations", readers},
        {"/graphmill.v1.Admin/GetInstance", readers},
        {"/graphmill.v1.Admin/ListInstances", readers},
        {"/graphmill.v1.Admin/GetRun", readers},
        {"/graphmill.v1.Admin/ListRuns", readers},
        {"/graphmill.v1.Admin/WatchRun", readers},
        {"/graphmill.v1.Admin/CreateInstance", admin},
        {"/graphmill.v1.Admin/UpdateInstance", admin},
        {"/graphmill.v1.Admin/DeleteInstance", admin},
        {"/graphmill.v1.Admin/ValidateInstance", admin},
        {"/graphmill.v1.Admin/InstallWebhooks", admin},
        {"/graphmill.v1.Admin/StartRun", admin},
        {"/graphmill.v1.Admin/CancelRun", admin},
        {"/graphmill.v1.Admin/RetryUpload", admin},
        {"/graphmill.v1.Admin/CreateToken", admin},
        {"/graphmill.v1.Admin/ListTokens", admin},
        {"/graphmill.v1.Admin/RevokeToken", admin},
        {"/graphmill.v1.Graph/ListEntities", readers},
        {"/graphmill.v1.Graph/ListRelationships", readers},
        {"/graphmill.v1.Graph/GetEntity", readers},
        {"/graphmill.v1.Graph/ListNeighbors", readers},
        {"/graphmill.v1.Graph/Subscribe", readers},
        {"/graphmill.v1.Graph/GetSnapshot", readers},
        {"/graphmill.v1.WorkerGateway/Connect", workers},
        {"/graphmill.v1.WorkerGateway/SubmitResults", workers},
        {"/graphmill.v1.WorkerGateway/ReadEntities", workers},
        {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", readers},
        {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
         readers},
    };
  }();
  return *expected;
}

// Every method of the services the coordinator serves, from the generated
// descriptors (so an RPC added to the protocol shows up here by itself).
std::vector<std::string> ServedMethods() {
  std::vector<std::string> methods;
  for (const char* name :
       {v1::Admin::service_full_name(), v1::Graph::service_full_name(),
        v1::WorkerGateway::service_full_name()}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            name);
    EXPECT_NE(service, nullptr) << name;
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      methods.push_back(
          absl::StrCat("/", name, "/", service->method(i)->name()));
    }
  }
  return methods;
}

TEST(MethodTableTest, EveryServedMethodHasARowWithTheExpectedRoles) {
  const std::vector<std::string> methods = ServedMethods();
  EXPECT_GE(methods.size(), 25u);
  for (const std::string& method : methods) {
    SCOPED_TRACE(method);
    ASSERT_TRUE(ExpectedRoles().contains(method))
        << "a new RPC: decide who may call it, here and in the table";
    const std::optional<MethodRule> rule = FindMethodRule(method);
    ASSERT_TRUE(rule.has_value()) << "not in MethodTable(): nobody may call it";
    EXPECT_FALSE(rule->open);
  }
}

TEST(MethodTableTest, TableMatchesTheExpectedRolesRowByRow) {
  for (const MethodRule& rule : MethodTable()) {
    SCOPED_TRACE(rule.method);
    if (rule.open) {
      EXPECT_EQ(rule.method, "/grpc.health.v1.Health/*");
      EXPECT_TRUE(rule.roles.empty());
      continue;
    }
    auto expected = ExpectedRoles().find(std::string(rule.method));
    ASSERT_NE(expected, ExpectedRoles().end());
    for (Role role : {Role::kAdmin, Role::kReader, Role::kWorker}) {
      EXPECT_EQ(rule.roles.Contains(role), expected->second.contains(role))
          << RoleName(role);
    }
  }
  EXPECT_EQ(MethodTable().size(), ExpectedRoles().size() + 1);
}

TEST(MethodTableTest, UnknownMethodsHaveNoRuleAndHealthIsOpen) {
  EXPECT_FALSE(FindMethodRule("/graphmill.v1.Admin/DropEverything"));
  EXPECT_FALSE(FindMethodRule("/graphmill.v1.Admin/*"));
  EXPECT_FALSE(FindMethodRule("/grpc.reflection.v1alpha.ServerReflection/*"));
  EXPECT_FALSE(FindMethodRule(""));
  EXPECT_FALSE(FindMethodRule("/"));
  EXPECT_FALSE(FindMethodRule("/grpc.health.v1.HealthX/Check"));
  EXPECT_FALSE(FindMethodRule("/grpc.health.v1/Health/Check"));
  for (const char* method :
       {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"}) {
    std::optional<MethodRule> rule = FindMethodRule(method);
    ASSERT_TRUE(rule.has_value()) << method;
    EXPECT_TRUE(rule->open);
  }
}

TEST(AuthorizerTest, CheckParsesTheBearerHeader) {
  FakeVerifier verifier;
  Authorizer authorizer(&verifier);
  const char* method = "/graphmill.v1.Graph/ListEntities";
  const std::string bearer = absl::StrCat("Bearer ", kReaderToken);
  auto ok = authorizer.Check(method, {bearer});
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_TRUE(ok->has_value());
  EXPECT_EQ((*ok)->token_name, "dashboards");
  const std::string lower = absl::StrCat("bearer  ", kReaderToken, " ");
  EXPECT_TRUE(authorizer.Check(method, {lower}).ok());

  for (const std::vector<absl::string_view>& bad :
       std::vector<std::vector<absl::string_view>>{
           {},
           {kReaderToken},
           {"Bearer"},
           {"Bearer "},
           {absl::StrCat("Basic ", kReaderToken)},
           {absl::StrCat("Bearer ", kReaderToken, " extra")},
           {bearer, bearer},
           {absl::StrCat("Bearer ", kWrongToken)}}) {
    auto status = authorizer.Check(method, bad).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
    EXPECT_THAT(status.message(), Not(HasSubstr(kReaderToken)));
    EXPECT_THAT(status.message(), Not(HasSubstr(kWrongToken)));
  }
}

TEST(AuthorizerTest, DenialNamesTheTokenRoleAndMethod) {
  FakeVerifier verifier;
  Authorizer authorizer(&verifier);
  const std::string bearer = absl::StrCat("Bearer ", kReaderToken);
  absl::Status status =
      authorizer.Check("/graphmill.v1.Admin/StartRun", {bearer}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message(),
            "token 'dashboards' has role reader, which may not call "
            "/graphmill.v1.Admin/StartRun (allowed: admin)");
  status = authorizer.Check("/graphmill.v1.Admin/Nope", {bearer}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("not in the coordinator's "
                                          "authorization table"));
}

TEST(AuthorizerTest, VerifierFailuresKeepTheirCode) {
  class Broken : public TokenVerifier {
    absl::StatusOr<Caller> Verify(absl::string_view) const override {
      return absl::UnavailableError("store is closed");
    }
  } verifier;
  Authorizer authorizer(&verifier);
  absl::Status status = authorizer
                            .Check("/graphmill.v1.Admin/ListRuns",
                                   {absl::StrCat("Bearer ", kAdminToken)})
                            .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "cannot check the bearer token: store is closed");
}

// ---- Against a real server.

// Answers every call with one message naming the caller ("ops/admin", or
// "none" for a call without one), after reading at most one request. Records
// which methods were reached.
class CallerEcho final : public grpc::CallbackGenericService {
 public:
  explicit CallerEcho(const Authorizer* authorizer) : authorizer_(authorizer) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    {
      absl::MutexLock lock(&mutex_);
      reached_.push_back(context->method());
    }
    absl::StatusOr<Caller> caller = authorizer_->CallerOf(*context);
    return new Reactor(caller.ok() ? absl::StrCat(caller->token_name, "/",
                                                  RoleName(caller->role))
                                   : "none");
  }

  std::vector<std::string> TakeReached() {
    absl::MutexLock lock(&mutex_);
    return std::exchange(reached_, {});
  }

 private:
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(std::string reply) : reply_(std::move(reply)) {
      StartRead(&request_);
    }
    void OnReadDone(bool) override {
      grpc::Slice slice(reply_);
      response_ = grpc::ByteBuffer(&slice, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    std::string reply_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

  const Authorizer* const authorizer_;
  absl::Mutex mutex_;
  std::vector<std::string> reached_ ABSL_GUARDED_BY(mutex_);
};

// One call of `method` with an empty request; the status and the reply.
std::pair<grpc::Status, std::string> Call(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
    const std::string& authorization) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  if (!authorization.empty()) {
    context.AddMetadata("authorization", authorization);
  }
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::CompletionQueue queue;
  auto call = stub.PrepareUnaryCall(&context, method, request, &queue);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(queue.Next(&tag, &ok));
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  std::string reply;
  std::vector<grpc::Slice> slices;
  if (status.ok() && response.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      reply.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  return {status, reply};
}

enum class Transport { kTls, kLoopbackPlaintext, kInsecurePlaintext };

std::string TransportName(const ::testing::TestParamInfo<Transport>& info) {
  switch (info.param) {
    case Transport::kTls:
      return "Tls";
    case Transport::kLoopbackPlaintext:
      return "LoopbackPlaintext";
    case Transport::kInsecurePlaintext:
      return "InsecurePlaintext";
  }
  return "Unknown";
}

class EveryRpcTimesEveryRole : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override {
    ServerSecurityOptions options;
    options.listen = "127.0.0.1:0";
    ClientTlsOptions client;
    if (GetParam() == Transport::kTls) {
      const std::string dir = ::testing::TempDir();
      absl::StatusOr<testing::TestCa> ca = testing::TestCa::Create("test CA");
      ASSERT_TRUE(ca.ok()) << ca.status();
      absl::StatusOr<testing::PemPair> server = ca->Issue(
          "coordinator", {"DNS:localhost", "IP:127.0.0.1"}, /*client=*/false);
      ASSERT_TRUE(server.ok()) << server.status();
      options.tls.cert_file = dir + "/table-server.crt";
      options.tls.key_file = dir + "/table-server.key";
      client.ca_file = dir + "/table-ca.crt";
      ASSERT_TRUE(
          testing::WriteFileAtomically(options.tls.cert_file, server->cert)
              .ok());
      ASSERT_TRUE(
          testing::WriteFileAtomically(options.tls.key_file, server->key).ok());
      ASSERT_TRUE(
          testing::WriteFileAtomically(client.ca_file, ca->cert_pem()).ok());
    } else if (GetParam() == Transport::kInsecurePlaintext) {
      options.listen = "0.0.0.0:0";
      options.insecure_plaintext = true;
      client.insecure = true;
    }
    absl::StatusOr<ServerSecurity> security =
        MakeServerSecurity(options, &authorizer_);
    ASSERT_TRUE(security.ok()) << security.status();
    EXPECT_EQ(security->warning.empty(),
              GetParam() != Transport::kInsecurePlaintext);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(options.listen, security->credentials, &port);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    const std::string target = absl::StrCat("127.0.0.1:", port);
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        CoordinatorChannelCredentials(target, client, FlagStyle::kUnderscore);
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    // One channel (one connection) for every call: the check must hold per
    // call, whatever earlier calls on the connection presented.
    channel_ = grpc::CreateChannel(target, *credentials);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  FakeVerifier verifier_;
  Authorizer authorizer_{&verifier_};
  CallerEcho service_{&authorizer_};
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_P(EveryRpcTimesEveryRole, OnlyTheTableDecides) {
  struct Presented {
    std::string name;
    std::string authorization;
    std::optional<Role> role;  // nullopt: not a valid token
    std::string echo;          // what the handler sees as the caller
  };
  const std::vector<Presented> callers = {
      {"no token", "", std::nullopt, ""},
      {"wrong token", absl::StrCat("Bearer ", kWrongToken), std::nullopt, ""},
      {"admin", absl::StrCat("Bearer ", kAdminToken), Role::kAdmin,
       "ops/admin"},
      {"reader", absl::StrCat("Bearer ", kReaderToken), Role::kReader,
       "dashboards/reader"},
      {"worker", absl::StrCat("Bearer ", kWorkerToken), Role::kWorker,
       "pool-a/worker"},
  };
  std::vector<std::string> methods = ServedMethods();
  // The token RPCs even before the protocol has them, and methods nobody
  // may call.
  for (const char* extra :
       {"/graphmill.v1.Admin/CreateToken", "/graphmill.v1.Admin/ListTokens",
        "/graphmill.v1.Admin/RevokeToken", "/graphmill.v1.Admin/NoSuchRpc",
        "/graphmill.v1.Secret/Anything",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}) {
    if (std::find(methods.begin(), methods.end(), extra) == methods.end()) {
      methods.push_back(extra);
    }
  }
  int calls = 0;
  for (const std::string& method : methods) {
    const auto expected = ExpectedRoles().find(method);
    for (const Presented& caller : callers) {
      SCOPED_TRACE(absl::StrCat(method, " as ", caller.name));
      auto [status, reply] = Call(channel_, method, caller.authorization);
      ++calls;
      const std::vector<std::string> reached = service_.TakeReached();
      if (!caller.role.has_value()) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
            << status.error_message();
        EXPECT_TRUE(reached.empty());
      } else if (expected != ExpectedRoles().end() &&
                 expected->second.contains(*caller.role)) {
        EXPECT_TRUE(status.ok()) << status.error_message();
        EXPECT_EQ(reached, std::vector<std::string>{method});
        EXPECT_EQ(reply, caller.echo);
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << status.error_message();
        EXPECT_TRUE(reached.empty());
        EXPECT_THAT(status.error_message(), HasSubstr(method));
      }
      for (const char* token :
           {kAdminToken, kReaderToken, kWorkerToken, kWrongToken}) {
        EXPECT_THAT(status.error_message(), Not(HasSubstr(token)));
      }
    }
  }
  EXPECT_GE(calls, 27 * 5);
}

TEST_P(EveryRpcTimesEveryRole, HealthNeedsNoToken) {
  for (const std::string& authorization :
       {std::string(), absl::StrCat("Bearer ", kWrongToken),
        absl::StrCat("Bearer ", kReaderToken)}) {
    auto [status, reply] =
        Call(channel_, "/grpc.health.v1.Health/Check", authorization);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(service_.TakeReached(),
              std::vector<std::string>{"/grpc.health.v1.Health/Check"});
  }
}

// Refused before the request is parsed: a request that is not a valid
// protobuf still gets the check's status, and an authorized one reaches the
// real service, which then fails to parse it.
TEST(AuthorizerServerTest, CheckRunsBeforeTheRequestIsParsed) {
  FakeVerifier verifier;
  Authorizer authorizer(&verifier);
  // A real Admin service on a fresh server (no store: never reached with a
  // parsable request here).
  class Admin final : public v1::Admin::Service {
   public:
    grpc::Status ListRuns(grpc::ServerContext*, const v1::ListRunsRequest*,
                          v1::ListRunsResponse*) override {
      return grpc::Status::OK;
    }
  } admin;
  ServerSecurityOptions options;
  options.listen = "127.0.0.1:0";
  absl::StatusOr<ServerSecurity> security =
      MakeServerSecurity(options, &authorizer);
  ASSERT_TRUE(security.ok());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, security->credentials, &port);
  builder.RegisterService(&admin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto send_garbage = [&](const std::string& authorization) {
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    if (!authorization.empty()) {
      context.AddMetadata("authorization", authorization);
    }
    const std::string garbage = "\xff\xff\xff\xff\xff";
    grpc::Slice slice(garbage);
    grpc::ByteBuffer request(&slice, 1);
    grpc::CompletionQueue queue;
    auto call = stub.PrepareUnaryCall(&context, "/graphmill.v1.Admin/ListRuns",
                                      request, &queue);
    call->StartCall();
    grpc::ByteBuffer response;
    grpc::Status status;
    call->Finish(&response, &status, nullptr);
    void* tag;
    bool ok;
    queue.Next(&tag, &ok);
    queue.Shutdown();
    while (queue.Next(&tag, &ok)) {
    }
    return status;
  };
  EXPECT_EQ(send_garbage("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(send_garbage(absl::StrCat("Bearer ", kWorkerToken)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Authorized: the message is parsed, and fails to.
  EXPECT_EQ(send_garbage(absl::StrCat("Bearer ", kReaderToken)).error_code(),
            grpc::StatusCode::INTERNAL);
  server->Shutdown();
}

INSTANTIATE_TEST_SUITE_P(Transports, EveryRpcTimesEveryRole,
                         ::testing::Values(Transport::kTls,
                                           Transport::kLoopbackPlaintext,
                                           Transport::kInsecurePlaintext),
                         TransportName);

}  // namespace
}  // namespace graphmill::coordinator
