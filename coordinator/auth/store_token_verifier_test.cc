#include "coordinator/auth/store_token_verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coordinator/auth/tokens.h"

namespace graphmill::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class StoreTokenVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    verifier_ = std::make_unique<StoreTokenVerifier>(store_.get());
  }

  std::string Create(const std::string& name, v1::TokenRole role) {
    absl::StatusOr<std::string> token = GenerateToken();
    EXPECT_TRUE(token.ok());
    EXPECT_TRUE(store_->CreateToken(name, role, HashToken(*token), 1).ok());
    return *token;
  }

  void ExpectUnknown(const std::string& token) {
    absl::StatusOr<Caller> caller = verifier_->Verify(token);
    ASSERT_FALSE(caller.ok());
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(caller.status().message(), "unknown or revoked token");
  }

  std::unique_ptr<Store> store_;
  std::unique_ptr<StoreTokenVerifier> verifier_;
};

TEST_F(StoreTokenVerifierTest, KnownTokensResolveToTheirCaller) {
  const std::string admin = Create("ops", v1::TOKEN_ROLE_ADMIN);
  const std::string worker = Create("pool-a", v1::TOKEN_ROLE_WORKER);
  const std::string reader = Create("dash", v1::TOKEN_ROLE_READER);
  for (int round = 0; round < 2; ++round) {  // uncached, then cached
    absl::StatusOr<Caller> caller = verifier_->Verify(admin);
    ASSERT_TRUE(caller.ok()) << caller.status();
    EXPECT_EQ(caller->token_name, "ops");
    EXPECT_EQ(caller->role, Role::kAdmin);
    caller = verifier_->Verify(worker);
    ASSERT_TRUE(caller.ok()) << caller.status();
    EXPECT_EQ(caller->token_name, "pool-a");
    EXPECT_EQ(caller->role, Role::kWorker);
    caller = verifier_->Verify(reader);
    ASSERT_TRUE(caller.ok()) << caller.status();
    EXPECT_EQ(caller->role, Role::kReader);
  }
}

TEST_F(StoreTokenVerifierTest, UnknownTokensAreUnauthenticated) {
  const std::string admin = Create("ops", v1::TOKEN_ROLE_ADMIN);
  ExpectUnknown("");
  ExpectUnknown("Bearer " + admin);
  ExpectUnknown(admin.substr(0, admin.size() - 1));
  ExpectUnknown(admin + "x");
  std::string flipped = admin;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  ExpectUnknown(flipped);
  absl::StatusOr<std::string> other = GenerateToken();
  ASSERT_TRUE(other.ok());
  ExpectUnknown(*other);
  // The message never echoes the token.
  absl::StatusOr<Caller> caller = verifier_->Verify(*other);
  EXPECT_THAT(std::string(caller.status().message()),
              Not(HasSubstr(other->substr(3, 10))));
}

TEST_F(StoreTokenVerifierTest, RevocationTakesEffectAtOnce) {
  Create("ops", v1::TOKEN_ROLE_ADMIN);
  const std::string reader = Create("dash", v1::TOKEN_ROLE_READER);
  ASSERT_TRUE(verifier_->Verify(reader).ok());
  ASSERT_TRUE(verifier_->Verify(reader).ok());  // now cached
  ASSERT_TRUE(store_->RevokeToken("dash").ok());
  ExpectUnknown(reader);
  // A new token with the old name is a different token.
  const std::string again = Create("dash", v1::TOKEN_ROLE_READER);
  ExpectUnknown(reader);
  EXPECT_TRUE(verifier_->Verify(again).ok());
}

}  // namespace
}  // namespace graphmill::coordinator
