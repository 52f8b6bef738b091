// How the CLI connects: where its token comes from, TLS and client
// certificates, plaintext only to loopback, and one-line errors when the
// coordinator refuses the token.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/cli.h"
#include "client/command_line.h"
#include "common/tls.h"
#include "coordinator/auth/test_certs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

EnvLookup FakeEnv(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) {
    auto it = variables.find(name);
    return it == variables.end() ? std::nullopt
                                 : std::optional<std::string>(it->second);
  };
}

std::string TempDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  mkdir(dir.c_str(), 0700);
  return dir;
}

void WriteFile(const std::string& path, const std::string& content) {
  ASSERT_TRUE(testing::WriteFileAtomically(path, content).ok()) << path;
}

TEST(TokenSources, FlagThenEnvironmentThenDefaultFile) {
  const std::string home = TempDir("home");
  mkdir((home + "/.config").c_str(), 0700);
  mkdir((home + "/.config/graphmill").c_str(), 0700);
  WriteFile(home + "/.config/graphmill/token", "gm_from-default-file\n");
  const std::string flag_file = TempDir("flag") + "/token";
  WriteFile(flag_file, "  gm_from-flag-file \n");

  absl::StatusOr<CommandLine> line = ParseCommandLine(
      {"instance", "list", "--token-file", flag_file},
      FakeEnv({{"GRAPHMILL_TOKEN", "gm_from-env"}, {"HOME", home}}));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->token, "gm_from-flag-file");
  EXPECT_EQ(line->token_source, "--token-file " + flag_file);

  line = ParseCommandLine(
      {"instance", "list"},
      FakeEnv({{"GRAPHMILL_TOKEN", "gm_from-env"}, {"HOME", home}}));
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->token, "gm_from-env");
  EXPECT_EQ(line->token_source, "$GRAPHMILL_TOKEN");

  line = ParseCommandLine({"instance", "list"},
                          FakeEnv({{"GRAPHMILL_TOKEN", ""}, {"HOME", home}}));
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->token, "gm_from-default-file");
  EXPECT_EQ(line->token_source, home + "/.config/graphmill/token");

  const std::string xdg = TempDir("xdg");
  mkdir((xdg + "/graphmill").c_str(), 0700);
  WriteFile(xdg + "/graphmill/token", "gm_from-xdg\n");
  line = ParseCommandLine({"instance", "list"},
                          FakeEnv({{"HOME", home}, {"XDG_CONFIG_HOME", xdg}}));
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->token, "gm_from-xdg");

  line = ParseCommandLine({"instance", "list"},
                          FakeEnv({{"HOME", TempDir("empty-home")}}));
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->token, "");
  EXPECT_EQ(line->token_source, "");
}

TEST(TokenSources, BadTokenFilesAreNamedNeverRead) {
  absl::StatusOr<CommandLine> line = ParseCommandLine(
      {"instance", "list", "--token-file", "/no/such/token"}, FakeEnv({}));
  EXPECT_EQ(line.status().message(),
            "--token-file '/no/such/token': cannot read: No such file or "
            "directory");
  const std::string empty = TempDir("empty") + "/token";
  WriteFile(empty, "\n");
  line = ParseCommandLine({"--token-file=" + empty, "instance", "list"},
                          FakeEnv({}));
  EXPECT_THAT(line.status().message(), HasSubstr("file is empty"));
}

TEST(ConnectionFlags, AnywhereOnTheLine) {
  absl::StatusOr<CommandLine> line =
      ParseCommandLine({"--tls-ca-file", "/ca.pem", "run", "list",
                        "--tls-cert-file=/c.pem", "--tls-key-file", "/k.pem"},
                       FakeEnv({}));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->tls.ca_file, "/ca.pem");
  EXPECT_EQ(line->tls.cert_file, "/c.pem");
  EXPECT_EQ(line->tls.key_file, "/k.pem");
  EXPECT_FALSE(line->tls.insecure);
  line = ParseCommandLine({"run", "list", "--insecure"}, FakeEnv({}));
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(line->tls.insecure);
  EXPECT_THAT(UsageText(""), HasSubstr("--tls-ca-file FILE"));
  EXPECT_THAT(UsageText(""), HasSubstr("--token-file FILE"));
}

// Answers every call with `status` (OK: an empty message), recording the
// authorization it was sent.
class Coordinator final : public grpc::CallbackGenericService {
 public:
  void set_status(grpc::Status status) {
    absl::MutexLock lock(&mutex_);
    status_ = std::move(status);
  }
  std::string last_authorization() {
    absl::MutexLock lock(&mutex_);
    return last_authorization_;
  }

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    absl::MutexLock lock(&mutex_);
    auto it = context->client_metadata().find("authorization");
    last_authorization_ =
        it == context->client_metadata().end()
            ? ""
            : std::string(it->second.data(), it->second.size());
    return new Reactor(status_);
  }

 private:
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(grpc::Status status) : status_(std::move(status)) {
      StartRead(&request_);
    }
    void OnReadDone(bool) override {
      if (!status_.ok()) {
        Finish(status_);
        return;
      }
      grpc::Slice empty("");
      response_ = grpc::ByteBuffer(&empty, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::Status status_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

  absl::Mutex mutex_;
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
  std::string last_authorization_ ABSL_GUARDED_BY(mutex_);
};

struct Result {
  int exit_status;
  std::string out;
  std::string err;
};

class CliConnectionTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  void Start(std::shared_ptr<grpc::ServerCredentials> credentials) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port);
    builder.RegisterCallbackGenericService(&coordinator_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    server_address_ = absl::StrCat("127.0.0.1:", port);
  }

  Result Run(std::vector<std::string> args,
             std::map<std::string, std::string> env = {}) {
    env.try_emplace("GRAPHMILL_SERVER", server_address_);
    CliEnvironment environment{
        .env = FakeEnv(env),
        .out_is_terminal = false,
        .now_ms = [] { return int64_t{0}; },
    };
    std::ostringstream out;
    std::ostringstream err;
    const int status = RunCli(args, out, err, environment);
    return {status, out.str(), err.str()};
  }

  Coordinator coordinator_;
  std::unique_ptr<grpc::Server> server_;
  std::string server_address_;
};

TEST_F(CliConnectionTest, RefusedTokensSayWhereTheTokenCameFrom) {
  Start(grpc::InsecureServerCredentials());
  coordinator_.set_status(
      grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing bearer token"));
  Result result = Run({"integration", "list"}, {{"HOME", TempDir("nohome")}});
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_EQ(result.err,
            "graphmill: UNAUTHENTICATED: missing bearer token (no token sent: "
            "none in --token-file, $GRAPHMILL_TOKEN or "
            "~/.config/graphmill/token)\n");

  coordinator_.set_status(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                       "unknown or revoked token"));
  result = Run({"integration", "list"}, {{"GRAPHMILL_TOKEN", "gm_secret"}});
  EXPECT_EQ(result.err,
            "graphmill: UNAUTHENTICATED: unknown or revoked token (token from "
            "$GRAPHMILL_TOKEN)\n");
  EXPECT_EQ(coordinator_.last_authorization(), "Bearer gm_secret");

  coordinator_.set_status(
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                   "token 'dash' has role reader, which may not call "
                   "/graphmill.v1.Admin/StartRun (allowed: admin)"));
  const std::string file = TempDir("denied") + "/token";
  WriteFile(file, "gm_secret\n");
  result = Run({"run", "start", "x", "--token-file", file});
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_EQ(result.err,
            absl::StrCat("graphmill: PERMISSION_DENIED: token 'dash' has role "
                         "reader, which may not call "
                         "/graphmill.v1.Admin/StartRun (allowed: admin) "
                         "(token from --token-file ",
                         file, ")\n"));
  EXPECT_THAT(result.err, Not(HasSubstr("gm_secret")));
}

TEST_F(CliConnectionTest, PlaintextOnlyToLoopback) {
  Result result = Run({"--server", "10.20.30.40:7400", "integration", "list"});
  EXPECT_EQ(result.exit_status, kExitUsage);
  EXPECT_THAT(result.err, HasSubstr("graphmill: coordinator address "
                                    "'10.20.30.40:7400' is not a loopback "
                                    "address"));
  EXPECT_THAT(result.err, HasSubstr("--tls-ca-file"));
  EXPECT_THAT(result.err, HasSubstr("--insecure"));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1);
}

TEST_F(CliConnectionTest, TlsWithTheCoordinatorsCa) {
  const std::string dir = TempDir("cli-tls");
  absl::StatusOr<testing::TestCa> ca = testing::TestCa::Create("cli test CA");
  ASSERT_TRUE(ca.ok());
  absl::StatusOr<testing::PemPair> server =
      ca->Issue("coordinator", {"IP:127.0.0.1"}, false);
  absl::StatusOr<testing::PemPair> client = ca->Issue("operator", {}, true);
  ASSERT_TRUE(server.ok() && client.ok());
  WriteFile(dir + "/ca.crt", ca->cert_pem());
  WriteFile(dir + "/server.crt", server->cert);
  WriteFile(dir + "/server.key", server->key);
  WriteFile(dir + "/client.crt", client->cert);
  WriteFile(dir + "/client.key", client->key);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      TlsServerCredentials({.cert_file = dir + "/server.crt",
                            .key_file = dir + "/server.key",
                            .client_ca_file = dir + "/ca.crt"});
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  Start(*credentials);

  Result result = Run({"integration", "list", "--tls-ca-file", dir + "/ca.crt",
                       "--tls-cert-file", dir + "/client.crt", "--tls-key-file",
                       dir + "/client.key"},
                      {{"GRAPHMILL_TOKEN", "gm_t"}});
  EXPECT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_EQ(coordinator_.last_authorization(), "Bearer gm_t");

  // No client certificate: the handshake fails.
  result = Run({"integration", "list", "--tls-ca-file", dir + "/ca.crt"});
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_THAT(result.err, HasSubstr("graphmill: cannot reach coordinator at"));

  // Plaintext to a TLS coordinator: a hint.
  result = Run({"integration", "list"});
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_THAT(result.err, HasSubstr("(if it serves TLS, give --tls-ca-file)"));

  result = Run({"integration", "list", "--tls-ca-file", dir + "/missing.crt"});
  EXPECT_EQ(result.exit_status, kExitUsage);
  EXPECT_THAT(result.err,
              HasSubstr("graphmill: --tls-ca-file '" + dir +
                        "/missing.crt': cannot read: No such file"));
}

}  // namespace
}  // namespace graphmill::cli
