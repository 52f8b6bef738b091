// Tests of auth.h: token specs, Authorization parsing and scope matching.
#include "tests/fakes/heroku/auth.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::fakes::heroku {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseTokenSpecTest, ReadsScopesRoleAndEmail) {
  absl::StatusOr<TokenSpec> admin = ParseTokenSpec("t1:global:admin");
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(admin->token, "t1");
  EXPECT_THAT(admin->scopes, ElementsAre("global"));
  EXPECT_EQ(admin->role, EnterpriseRole::kAdmin);
  EXPECT_EQ(admin->email, "");

  absl::StatusOr<TokenSpec> member =
      ParseTokenSpec("t2:read+identity+read:member:someone@example.com");
  ASSERT_TRUE(member.ok()) << member.status();
  EXPECT_THAT(member->scopes, ElementsAre("read", "identity"));
  EXPECT_EQ(member->role, EnterpriseRole::kMember);
  EXPECT_EQ(member->email, "someone@example.com");
}

TEST(ParseTokenSpecTest, RejectsBadSpecsWithoutRepeatingTheToken) {
  for (const char* spec :
       {"secret-value", "secret-value:global", ":global:admin",
        "secret-value:root:admin", "secret-value:global:owner",
        "secret-value::admin", "secret-value:global:admin:e:extra"}) {
    absl::StatusOr<TokenSpec> token = ParseTokenSpec(spec);
    EXPECT_FALSE(token.ok()) << spec;
    EXPECT_THAT(std::string(token.status().message()),
                Not(HasSubstr("secret-value")))
        << spec;
  }
}

TEST(DescribeTokenTest, HidesTheToken) {
  TokenSpec spec = *ParseTokenSpec("hunter2:read+write:member:a@b.c");
  EXPECT_EQ(DescribeToken(spec), "***:read+write:member:a@b.c");
}

TEST(TokenFromAuthorizationTest, AcceptsBearerAndBothBasicForms) {
  EXPECT_EQ(TokenFromAuthorization("Bearer abc-123"), "abc-123");
  EXPECT_EQ(TokenFromAuthorization("bearer   abc-123 "), "abc-123");
  EXPECT_EQ(TokenFromAuthorization("Basic " + absl::Base64Escape(":abc-123")),
            "abc-123");
  EXPECT_EQ(TokenFromAuthorization(
                "basic " + absl::Base64Escape("me@example.com:abc-123")),
            "abc-123");
}

TEST(TokenFromAuthorizationTest, RejectsMalformedHeaders) {
  EXPECT_EQ(TokenFromAuthorization(""), std::nullopt);
  EXPECT_EQ(TokenFromAuthorization("Bearer"), std::nullopt);
  EXPECT_EQ(TokenFromAuthorization("Bearer "), std::nullopt);
  EXPECT_EQ(TokenFromAuthorization("Token abc"), std::nullopt);
  EXPECT_EQ(TokenFromAuthorization("Basic !!!not-base64"), std::nullopt);
  EXPECT_EQ(TokenFromAuthorization("Basic " + absl::Base64Escape("no-colon")),
            std::nullopt);
  EXPECT_EQ(TokenFromAuthorization("Basic " + absl::Base64Escape("user:")),
            std::nullopt);
}

TEST(ScopeAllowedTest, NeedsOneSharedScope) {
  const std::vector<std::string> read = {"read"};
  const std::vector<std::string> global = {"global"};
  const std::vector<std::string> identity_read = {"identity", "read"};
  EXPECT_FALSE(ScopeAllowed(read, "global"));
  EXPECT_TRUE(ScopeAllowed(global, "global"));
  EXPECT_FALSE(ScopeAllowed(read, "global identity"));
  EXPECT_TRUE(ScopeAllowed(identity_read, "global identity"));
  EXPECT_TRUE(
      ScopeAllowed(read, "global read read-protected write write-protected"));
}

}  // namespace
}  // namespace graphmill::fakes::heroku
