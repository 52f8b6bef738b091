#include "common/redact.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Looks like a CircleCI token; holds characters that percent-encoding and
// base64 treat specially.
constexpr char kToken[] = "CCIPAT_Ab3/x+y=z 9~Q?w";

TEST(RedactorTest, RawFormInAnyCase) {
  const Redactor redactor({kToken});
  EXPECT_EQ(redactor.Redact(absl::StrCat("a ", kToken, " b")), "a *** b");
  EXPECT_EQ(redactor.Redact("x ccipat_ab3/x+y=z 9~q?w y"), "x *** y");
  EXPECT_EQ(redactor.Redact("x CCIPAT_AB3/X+Y=Z 9~Q?W y"), "x *** y");
}

TEST(RedactorTest, PercentEncodedForms) {
  const Redactor redactor({kToken});
  // Upper- and lower-case hex, '+' or %20 for the space, and unreserved
  // characters left raw or encoded.
  EXPECT_EQ(redactor.Redact("?t=CCIPAT_Ab3%2Fx%2By%3Dz%209~Q%3Fw&u=1"),
            "?t=***&u=1");
  EXPECT_EQ(redactor.Redact("?t=CCIPAT_Ab3%2fx%2by%3dz+9%7EQ%3fw&u=1"),
            "?t=***&u=1");
  EXPECT_EQ(redactor.Redact("%43%43IPAT_Ab3/x+y=z%209~Q?w"), "***");
}

TEST(RedactorTest, Base64FormsOfTheSecretAlone) {
  const Redactor redactor({kToken});
  const std::string standard = absl::Base64Escape(kToken);
  const std::string web_safe =
      absl::StrReplaceAll(standard, {{"+", "-"}, {"/", "_"}});
  ASSERT_NE(standard, web_safe);  // the token's bytes need '+' or '/'
  for (const std::string& form :
       {standard, web_safe, absl::WebSafeBase64Escape(kToken),
        std::string(absl::StripSuffix(standard, "="))}) {
    const std::string redacted = redactor.Redact(absl::StrCat("<", form, ">"));
    EXPECT_EQ(redacted, "<***>") << form;
  }
  // URL-encoded base64 too.
  std::string encoded = standard;
  absl::StrReplaceAll({{"+", "%2B"}, {"/", "%2F"}, {"=", "%3D"}}, &encoded);
  EXPECT_EQ(redactor.Redact(encoded), "***");
}

TEST(RedactorTest, Base64OfTheSecretInsideBasicAuthCredentials) {
  const Redactor redactor({kToken});
  // Each prefix length puts the secret at another base64 alignment.
  const std::pair<std::string, std::string> around[] = {
      {"", ":"}, {":", ""}, {"user:", ""}, {"us:", ":x"}, {"u:", ""}};
  for (const auto& [before, after] : around) {
    const std::string plain = absl::StrCat(before, kToken, after);
    for (const std::string& encoded :
         {absl::Base64Escape(plain), absl::WebSafeBase64Escape(plain)}) {
      const std::string redacted = redactor.Redact(encoded);
      EXPECT_THAT(redacted, HasSubstr("***")) << plain;
      // Left: the encoding of the bytes around the secret, plus at most two
      // characters each side that mix them with the secret's edges.
      const size_t around_chars =
          (8 * (before.size() + after.size()) + 5) / 6 + 2;
      EXPECT_LE(redacted.size(), around_chars + 3 + 4)
          << plain << " -> " << redacted;
    }
  }
}

TEST(RedactorTest, SeveralSecretsAndOverlaps) {
  const Redactor redactor({"first-secret", "secret-second"});
  EXPECT_EQ(redactor.Redact("a first-secret b secret-second c"),
            "a *** b *** c");
  // Overlapping matches are redacted as a whole: no tail survives.
  EXPECT_EQ(redactor.Redact("x first-secret-second y"), "x *** y");
}

TEST(RedactorTest, ShortAndEmptySecretsAreIgnored) {
  const Redactor redactor({"", "abc"});
  EXPECT_TRUE(redactor.empty());
  EXPECT_EQ(redactor.Redact("abc abc"), "abc abc");
  EXPECT_FALSE(Redactor({"abcd"}).empty());
  EXPECT_EQ(Redactor({"abcd"}).Redact("xABCDx"), "x***x");
}

TEST(RedactorTest, SecretHoldingPercentAppearingRaw) {
  // Read greedily as "%25" -> '%', the raw text would not match.
  const Redactor redactor({"pass%25word"});
  EXPECT_EQ(redactor.Redact("[pass%25word]"), "[***]");
  EXPECT_EQ(redactor.Redact("[pass%2525word]"), "[***]");
}

TEST(RedactorTest, TextWithoutSecretsIsUnchanged) {
  const Redactor redactor({kToken});
  const std::string text = "GET https://circleci.com/api/v2/me: HTTP 401 %zz +";
  EXPECT_EQ(redactor.Redact(text), text);
  EXPECT_EQ(Redactor().Redact(text), text);
}

TEST(RedactorTest, StatusKeepsCodeAndPayloadsRedacted) {
  const Redactor redactor({kToken});
  absl::Status status =
      absl::PermissionDeniedError(absl::StrCat("token ", kToken, " denied"));
  status.SetPayload("type.test/kind", absl::Cord("7"));
  status.SetPayload("type.test/echo", absl::Cord(kToken));
  const absl::Status redacted = redactor.RedactStatus(status);
  EXPECT_EQ(redacted.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(redacted.message(), "token *** denied");
  EXPECT_EQ(redacted.GetPayload("type.test/kind"), absl::Cord("7"));
  EXPECT_EQ(redacted.GetPayload("type.test/echo"), absl::Cord("***"));
  EXPECT_TRUE(redactor.RedactStatus(absl::OkStatus()).ok());
}

TEST(QuoteProviderBodyTest, ShortTextIsRedactedWhole) {
  const Redactor redactor({kToken});
  EXPECT_EQ(QuoteProviderBody(absl::StrCat("{\"token\":\"", kToken, "\"}\n"),
                              redactor),
            "{\"token\":\"***\"} ");
}

TEST(QuoteProviderBodyTest, LongTextIsCutWithItsSize) {
  const std::string body(5000, 'b');
  const std::string quote = QuoteProviderBody(body, Redactor());
  EXPECT_EQ(quote, absl::StrCat(std::string(200, 'b'), "… (5000 bytes)"));
}

TEST(QuoteProviderBodyTest, RedactsBeforeCutting) {
  const Redactor redactor({kToken});
  // The token straddles byte 200: cut first, its first half would remain.
  const std::string body =
      absl::StrCat(std::string(190, 'x'), kToken, std::string(1000, 'y'));
  const std::string quote = QuoteProviderBody(body, redactor);
  EXPECT_THAT(quote, StartsWith(absl::StrCat(std::string(190, 'x'), "***y")));
  EXPECT_THAT(quote, Not(HasSubstr("CCIPAT")));
  const std::string suffix = absl::StrCat("… (", body.size(), " bytes)");
  EXPECT_THAT(quote, EndsWith(suffix));
  EXPECT_EQ(quote.size(), 200 + suffix.size());
}

TEST(QuoteProviderBodyTest, CutsOnAUtf8Boundary) {
  // 'é' is two bytes; 199 'a' put one across the limit.
  const std::string body = absl::StrCat(std::string(199, 'a'), "éééé");
  const std::string quote = QuoteProviderBody(body, Redactor());
  EXPECT_EQ(quote, absl::StrCat(std::string(199, 'a'), "… (207 bytes)"));
}

TEST(QuoteJsonWholeTokensTest, NeverCutsAString) {
  const std::string json =
      absl::StrCat(R"({"id":5,"pad":")", std::string(170, 'p'),
                   R"(","token":")", kToken, R"(","more":1})");
  const std::string quote = QuoteJsonWholeTokens(json);
  // The token's string crosses byte 200: it is left out entirely.
  EXPECT_THAT(quote, Not(HasSubstr("CCIPAT")));
  EXPECT_THAT(quote,
              StartsWith(absl::StrCat(R"({"id":5,"pad":")",
                                      std::string(170, 'p'), R"(","token":)")));
  EXPECT_THAT(quote, EndsWith(absl::StrCat("… (", json.size(), " bytes)")));
  EXPECT_EQ(QuoteJsonWholeTokens(R"({"a":"b"})"), R"({"a":"b"})");
}

TEST(QuoteJsonWholeTokensTest, EscapedQuotesStayInsideTheString) {
  const std::string json =
      absl::StrCat(R"({"a":"\"x\",)", std::string(300, 'q'), R"("})");
  EXPECT_EQ(QuoteJsonWholeTokens(json),
            absl::StrCat(R"({"a":)", "… (", json.size(), " bytes)"));
}

}  // namespace
}  // namespace graphmill
