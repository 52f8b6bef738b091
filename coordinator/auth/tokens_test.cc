#include "coordinator/auth/tokens.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"

namespace graphmill::coordinator {
namespace {

TEST(TokensTest, TokensArePrefixedBase64UrlOf256Bits) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<std::string> token = GenerateToken();
    ASSERT_TRUE(token.ok()) << token.status();
    ASSERT_EQ(token->size(), kTokenLength);
    ASSERT_TRUE(absl::StartsWith(*token, "gm_"));
    std::string bytes;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(token->substr(3), &bytes));
    EXPECT_EQ(bytes.size(), 32u);
    for (char c : token->substr(3)) {
      EXPECT_TRUE(absl::ascii_isalnum(c) || c == '-' || c == '_') << *token;
    }
    seen.insert(*token);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(TokensTest, HashIsSha256) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(absl::BytesToHexString(HashToken("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashToken("gm_x").size(), 32u);
  EXPECT_NE(HashToken("gm_x"), HashToken("gm_y"));
}

TEST(TokensTest, HashesEqual) {
  const std::string a = HashToken("a");
  EXPECT_TRUE(HashesEqual(a, HashToken("a")));
  EXPECT_FALSE(HashesEqual(a, HashToken("b")));
  EXPECT_FALSE(HashesEqual(a, a.substr(0, 31)));
  EXPECT_FALSE(HashesEqual("", ""));
}

TEST(TokensTest, TokenNames) {
  for (const char* name : {"a", "0", "ci-reader", "pool_a.2", "x-"}) {
    EXPECT_TRUE(IsValidTokenName(name)) << name;
  }
  EXPECT_TRUE(IsValidTokenName(std::string(64, 'a')));
  for (const char* name :
       {"", "-a", ".a", "_a", "A", "ci reader", "ci/x", "é", "a:b"}) {
    EXPECT_FALSE(IsValidTokenName(name)) << name;
  }
  EXPECT_FALSE(IsValidTokenName(std::string(65, 'a')));
}

TEST(TokensTest, Roles) {
  for (Role role : {Role::kAdmin, Role::kReader, Role::kWorker}) {
    EXPECT_EQ(RoleFromProto(RoleToProto(role)), role);
  }
  EXPECT_EQ(RoleFromProto(v1::TOKEN_ROLE_UNSPECIFIED), std::nullopt);
  EXPECT_EQ(RoleFromProto(static_cast<v1::TokenRole>(99)), std::nullopt);
  EXPECT_EQ(RoleName(Role::kAdmin), "admin");
  EXPECT_EQ(RoleName(Role::kReader), "reader");
  EXPECT_EQ(RoleName(Role::kWorker), "worker");
}

}  // namespace
}  // namespace graphmill::coordinator
