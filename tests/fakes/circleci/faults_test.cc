// Tests of faults.h: this fake's routes, kinds and parameters (the shared
// syntax and table are tested in tests/fakes/common/fault_table_test.cc).
// matching (the generic syntax and table are tested in tests/fakes/common).
#include "tests/fakes/circleci/faults.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::fakes {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

TEST(ParseFaultTest, ParsesStatusWithParameters) {
  absl::StatusOr<Fault> fault =
      ParseFault("pipeline:429:times=2:retry_after=3:quota=51");
  ASSERT_TRUE(fault.ok()) << fault.status();
  EXPECT_EQ(fault->route, "pipeline");
  EXPECT_EQ(fault->kind, FaultKind::kStatus);
  EXPECT_EQ(fault->status, 429);
  EXPECT_EQ(fault->times, 2);
  EXPECT_EQ(fault->retry_after_seconds, 3);
  EXPECT_EQ(fault->ratelimit_limit, 51);
}

TEST(ParseFaultTest, ParsesEveryKind) {
  EXPECT_EQ(ParseFault("*:malformed")->kind, FaultKind::kMalformedBody);
  EXPECT_EQ(ParseFault("envvar:truncated")->kind, FaultKind::kTruncatedBody);
  EXPECT_EQ(ParseFault("me:reset")->kind, FaultKind::kConnectionReset);
  EXPECT_EQ(ParseFault("context:repeat_token")->kind,
            FaultKind::kRepeatPageToken);
  absl::StatusOr<Fault> latency = ParseFault("*:latency:ms=250");
  ASSERT_TRUE(latency.ok());
  EXPECT_EQ(latency->kind, FaultKind::kLatency);
  EXPECT_EQ(latency->delay_ms, 250);
  EXPECT_EQ(ParseFault("restrictions:403")->status, 403);
  EXPECT_EQ(ParseFault("project:429:retry_after=none")->retry_after_seconds,
            -1);
  absl::StatusOr<Fault> echo = ParseFault("envvar:echo_token");
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->kind, FaultKind::kEchoToken);
  EXPECT_EQ(echo->echo_form, EchoForm::kRaw);
}

TEST(ParseFaultTest, ParsesEveryEchoForm) {
  const std::vector<std::pair<const char*, EchoForm>> forms = {
      {"raw", EchoForm::kRaw},
      {"upper", EchoForm::kUpper},
      {"lower", EchoForm::kLower},
      {"base64", EchoForm::kBase64},
      {"base64url", EchoForm::kBase64Url},
      {"urlencoded", EchoForm::kUrlEncoded},
      {"urlencoded_lower", EchoForm::kUrlEncodedLower},
      {"all", EchoForm::kAll}};
  for (const auto& [name, form] : forms) {
    absl::StatusOr<Fault> fault =
        ParseFault(absl::StrCat("pipeline:echo_token:form=", name));
    ASSERT_TRUE(fault.ok()) << name << ": " << fault.status();
    EXPECT_EQ(fault->echo_form, form) << name;
  }
}

TEST(ParseFaultTest, ResourceIsDecoded) {
  absl::StatusOr<Fault> fault =
      ParseFault("project:404:resource=gh/acme/a%3Ab");
  ASSERT_TRUE(fault.ok());
  EXPECT_EQ(fault->resource, "gh/acme/a:b");
  absl::StatusOr<Fault> again = ParseFault(FaultToString(*fault));
  ASSERT_TRUE(again.ok()) << FaultToString(*fault);
  EXPECT_EQ(again->resource, "gh/acme/a:b");
}

TEST(ParseFaultTest, RoundTripsThroughText) {
  for (const char* spec :
       {"pipeline:429:times=2:retry_after=1",
        "project:404:resource=gh/acme/api", "*:latency:ms=50",
        "workflow-jobs:reset:times=1", "pipeline:repeat_token", "me:500",
        "collaborations:malformed", "envvar:echo_token",
        "context-envvar:echo_token:times=1:resource=abc:form=urlencoded_lower",
        "*:echo_token:form=all"}) {
    absl::StatusOr<Fault> fault = ParseFault(spec);
    ASSERT_TRUE(fault.ok()) << spec << ": " << fault.status();
    EXPECT_EQ(FaultToString(*fault), spec);
  }
}

TEST(ParseFaultTest, RejectsBadSpecsNamingThePart) {
  struct Case {
    const char* spec;
    const char* mentions;
  };
  for (const Case& c :
       {Case{"pipelines:500", "pipelines"}, Case{"me", "ROUTE:KIND"},
        Case{"me:200", "200"}, Case{"me:teapot", "teapot"},
        Case{"me:500:times=-1", "times"}, Case{"me:500:color=red", "color"},
        Case{"me:500:times", "times"}, Case{"*:latency", "ms"},
        Case{"me:echo_token:form=rot13", "rot13"},
        Case{"me:echo_token:form=", "urlencoded_lower"}}) {
    absl::StatusOr<Fault> fault = ParseFault(c.spec);
    ASSERT_FALSE(fault.ok()) << c.spec;
    EXPECT_EQ(fault.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(fault.status().message().find(c.mentions), std::string::npos)
        << fault.status();
  }
}

TEST(EchoTokenTest, FormsSpellTheToken) {
  const std::string token = "e2e/Tok+en.9A?~";
  EXPECT_THAT(EchoTokenForms(token, EchoForm::kRaw), ElementsAre(token));
  EXPECT_THAT(EchoTokenForms(token, EchoForm::kUpper),
              ElementsAre("E2E/TOK+EN.9A?~"));
  EXPECT_THAT(EchoTokenForms(token, EchoForm::kLower),
              ElementsAre("e2e/tok+en.9a?~"));
  EXPECT_THAT(EchoTokenForms(token, EchoForm::kBase64),
              ElementsAre("ZTJlL1Rvaytlbi45QT9+"));
  EXPECT_THAT(EchoTokenForms(token, EchoForm::kBase64Url),
              ElementsAre("ZTJlL1Rvaytlbi45QT9-"));
  EXPECT_THAT(EchoTokenForms(token, EchoForm::kUrlEncoded),
              ElementsAre("e2e%2FTok%2Ben.9A%3F~"));
  EXPECT_THAT(EchoTokenForms(token, EchoForm::kUrlEncodedLower),
              ElementsAre("e2e%2fTok%2ben.9A%3f~"));
  // Padding: standard base64 keeps it, the URL-safe form drops it.
  EXPECT_THAT(EchoTokenForms("ab/", EchoForm::kBase64), ElementsAre("YWIv"));
  EXPECT_THAT(EchoTokenForms("a?", EchoForm::kBase64), ElementsAre("YT8="));
  EXPECT_THAT(EchoTokenForms("a?", EchoForm::kBase64Url), ElementsAre("YT8"));

  std::vector<std::string> singles;
  for (int form = 0; form < static_cast<int>(EchoForm::kAll); ++form) {
    singles.push_back(
        EchoTokenForms(token, static_cast<EchoForm>(form)).front());
  }
  EXPECT_THAT(EchoTokenForms(token, EchoForm::kAll), ElementsAreArray(singles));
}

TEST(EchoTokenTest, BodyShapeFollowsTheRoute) {
  EXPECT_EQ(EchoTokenBody("pipeline", "t\"ok", EchoForm::kRaw),
            R"({"next_page_token":null,"items":[{"id":5,"token":"t\"ok"}]})");
  EXPECT_EQ(EchoTokenBody("workflow-jobs", "tok", EchoForm::kAll),
            absl::StrCat(R"({"next_page_token":null,"items":[)",
                         R"({"id":5,"token":"tok"},{"id":6,"token":"TOK"},)",
                         R"({"id":7,"token":"tok"},{"id":8,"token":"dG9r"},)",
                         R"({"id":9,"token":"dG9r"},{"id":10,"token":"tok"},)",
                         R"({"id":11,"token":"tok"}]})"));
  EXPECT_EQ(EchoTokenBody("collaborations", "tok", EchoForm::kUpper),
            R"([{"id":5,"token":"TOK"}])");
  EXPECT_EQ(EchoTokenBody("me", "tok", EchoForm::kAll),
            R"({"id":5,"token":"tok"})");
  EXPECT_EQ(EchoTokenBody("project", "tok", EchoForm::kLower),
            R"({"id":5,"token":"tok"})");
}

TEST(FaultTableTest, ResourceRestrictsMatches) {
  FaultTable table;
  table.Add(*ParseFault("project:404:resource=gh/acme/api"));
  EXPECT_FALSE(table.Decide("project", "gh/acme/web").response.has_value());
  ASSERT_TRUE(table.Decide("project", "gh/acme/api").response.has_value());
}

}  // namespace
}  // namespace graphmill::fakes
