// Tests of faults.h: this fake's routes, kinds and parameters (the shared
// syntax and table are tested in tests/fakes/common/fault_table_test.cc).
// matching (the generic syntax and table are tested in tests/fakes/common).
#include "tests/fakes/circleci/faults.h"

#include "gtest/gtest.h"

namespace graphmill::fakes {
namespace {

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
        "collaborations:malformed"}) {
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
        Case{"me:500:times", "times"}, Case{"*:latency", "ms"}}) {
    absl::StatusOr<Fault> fault = ParseFault(c.spec);
    ASSERT_FALSE(fault.ok()) << c.spec;
    EXPECT_EQ(fault.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(fault.status().message().find(c.mentions), std::string::npos)
        << fault.status();
  }
}

TEST(FaultTableTest, ResourceRestrictsMatches) {
  FaultTable table;
  table.Add(*ParseFault("project:404:resource=gh/acme/api"));
  EXPECT_FALSE(table.Decide("project", "gh/acme/web").response.has_value());
  ASSERT_TRUE(table.Decide("project", "gh/acme/api").response.has_value());
}

}  // namespace
}  // namespace graphmill::fakes
