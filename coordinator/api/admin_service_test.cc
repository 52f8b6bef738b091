// AdminService codes over a real store and engine: cancelling a run that does
// not exist is NOT_FOUND; one that has ended stays FAILED_PRECONDITION; the
// runs of an unknown instance are NOT_FOUND. (Every RPC with an unknown
// instance, against the coordinator binary: tests/e2e/operator_cli_test.)
#include "coordinator/api/admin_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "coordinator/auth/tokens.h"
#include "coordinator/engine.h"
#include "coordinator/instances.h"

namespace graphmill::coordinator {
namespace {

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok());
    store_ = *std::move(store);
    engine_ =
        std::make_unique<Engine>(store_.get(), &secrets_, EngineOptions());
    service_ = std::make_unique<AdminService>(store_.get(), engine_.get(),
                                              &secrets_, nullptr);
  }

  grpc::Status Cancel(int64_t run_id) {
    grpc::ServerContext context;
    v1::CancelRunRequest request;
    request.set_run_id(run_id);
    v1::Run response;
    return service_->CancelRun(&context, &request, &response);
  }

  InstanceSecrets secrets_{std::nullopt};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<AdminService> service_;
};

TEST_F(AdminServiceTest, CancelOfAnUnknownRunIsNotFound) {
  grpc::Status status = Cancel(999);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "run 999 not found");
}

TEST_F(AdminServiceTest, CancelOfAnEndedRunIsFailedPrecondition) {
  v1::Instance instance;
  instance.set_id("ended");
  instance.set_integration("test");
  ASSERT_TRUE(store_->CreateInstance(instance).ok());
  v1::IntegrationDefinition definition;
  definition.set_name("test");
  definition.set_version("1");
  definition.add_steps()->set_id("only");
  auto run =
      store_->CreateRun("ended", definition, v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2).ok());
  grpc::Status status = Cancel(*run);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("run ", *run, " is not active"));
}

TEST_F(AdminServiceTest, ListRunsOfAnUnknownInstanceIsNotFound) {
  grpc::ServerContext context;
  v1::ListRunsRequest request;
  request.set_instance_id("nope");
  v1::ListRunsResponse response;
  grpc::Status status = service_->ListRuns(&context, &request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "instance 'nope' not found");
  // Without an instance: every run, none yet.
  request.clear_instance_id();
  grpc::ServerContext all;
  EXPECT_TRUE(service_->ListRuns(&all, &request, &response).ok());
  EXPECT_EQ(response.runs_size(), 0);
}

// --- Tokens ---

grpc::Status CreateToken(AdminService& service, const std::string& name,
                         v1::TokenRole role,
                         v1::CreateTokenResponse* response) {
  grpc::ServerContext context;
  v1::CreateTokenRequest request;
  request.set_name(name);
  request.set_role(role);
  return service.CreateToken(&context, &request, response);
}

TEST_F(AdminServiceTest, InstallWebhooksNeedsAnInstallerAndAnInstance) {
  grpc::ServerContext context;
  v1::InstallWebhooksRequest request;
  request.set_instance_id("nope");
  request.set_url("https://hooks.example.com");
  v1::InstallWebhooksResponse response;
  // Built without an installer (as before webhooks).
  EXPECT_EQ(
      service_->InstallWebhooks(&context, &request, &response).error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
  // With one, the installer's codes (coordinator/webhooks:
  // webhook_install_test has the rest).
  WebhookInstaller installer(store_.get(), &secrets_, {});
  AdminService with_installer(store_.get(), engine_.get(), &secrets_, nullptr,
                              &installer);
  grpc::Status status =
      with_installer.InstallWebhooks(&context, &request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "instance 'nope' not found");
}

TEST_F(AdminServiceTest, TokensAreCreatedListedAndRevoked) {
  v1::CreateTokenResponse admin;
  ASSERT_TRUE(CreateToken(*service_, "ops", v1::TOKEN_ROLE_ADMIN, &admin).ok());
  EXPECT_EQ(admin.name(), "ops");
  EXPECT_EQ(admin.role(), v1::TOKEN_ROLE_ADMIN);
  EXPECT_EQ(admin.token().substr(0, 3), "gm_");
  EXPECT_EQ(admin.token().size(), 46u);
  v1::CreateTokenResponse reader;
  ASSERT_TRUE(
      CreateToken(*service_, "dash.board", v1::TOKEN_ROLE_READER, &reader)
          .ok());
  EXPECT_NE(reader.token(), admin.token());
  // Only the hash is stored.
  auto found = store_->FindTokenByHash(HashToken(reader.token()));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->name, "dash.board");

  grpc::ServerContext context;
  const v1::ListTokensRequest list_request;
  v1::ListTokensResponse list;
  ASSERT_TRUE(service_->ListTokens(&context, &list_request, &list).ok());
  ASSERT_EQ(list.tokens_size(), 2);
  EXPECT_EQ(list.tokens(0).name(), "dash.board");
  EXPECT_EQ(list.tokens(0).role(), v1::TOKEN_ROLE_READER);
  EXPECT_GT(list.tokens(0).created_at_ms(), 0);
  EXPECT_EQ(list.tokens(1).name(), "ops");
  // Nothing of the tokens themselves is listed.
  const std::string listed = list.SerializeAsString();
  EXPECT_EQ(listed.find(admin.token()), std::string::npos);
  EXPECT_EQ(listed.find(HashToken(admin.token())), std::string::npos);

  v1::RevokeTokenRequest revoke;
  revoke.set_name("dash.board");
  v1::RevokeTokenResponse revoked;
  grpc::ServerContext revoke_context;
  ASSERT_TRUE(service_->RevokeToken(&revoke_context, &revoke, &revoked).ok());
  EXPECT_FALSE(store_->FindTokenByHash(HashToken(reader.token())).ok());
  grpc::ServerContext again_context;
  grpc::Status again = service_->RevokeToken(&again_context, &revoke, &revoked);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(again.error_message(), "token 'dash.board' not found");
  revoke.set_name("ops");
  grpc::ServerContext last_context;
  grpc::Status last = service_->RevokeToken(&last_context, &revoke, &revoked);
  EXPECT_EQ(last.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AdminServiceTest, CreateTokenNamesTheBadField) {
  v1::CreateTokenResponse response;
  struct Case {
    std::string name;
    v1::TokenRole role;
    std::string message;
  };
  for (const Case& bad : std::vector<Case>{
           {"", v1::TOKEN_ROLE_ADMIN, "name is required"},
           {std::string(65, 'a'), v1::TOKEN_ROLE_ADMIN,
            "name is longer than 64 characters"},
           {"CI", v1::TOKEN_ROLE_ADMIN,
            "name 'CI' is not valid: use lower-case letters, digits, '.', "
            "'_' and '-', starting with a letter or digit"},
           {"-ci", v1::TOKEN_ROLE_ADMIN,
            "name '-ci' is not valid: use lower-case letters, digits, '.', "
            "'_' and '-', starting with a letter or digit"},
           {"ci", v1::TOKEN_ROLE_UNSPECIFIED,
            "role is required (admin, reader or worker)"},
           {"ci", static_cast<v1::TokenRole>(7),
            "role 7 is not valid (admin, reader or worker)"},
       }) {
    grpc::Status status = CreateToken(*service_, bad.name, bad.role, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad.message;
    EXPECT_EQ(status.error_message(), bad.message);
  }
  EXPECT_TRUE(response.token().empty());
  ASSERT_TRUE(
      CreateToken(*service_, "ci", v1::TOKEN_ROLE_WORKER, &response).ok());
  v1::CreateTokenResponse duplicate;
  grpc::Status status =
      CreateToken(*service_, "ci", v1::TOKEN_ROLE_WORKER, &duplicate);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message(), "token 'ci' already exists");
  EXPECT_TRUE(duplicate.token().empty());
}

}  // namespace
}  // namespace graphmill::coordinator
