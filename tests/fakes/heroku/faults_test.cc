// Tests of faults.h: this fake's routes, kinds and parameters (the shared
// syntax and table are tested in tests/fakes/common/fault_table_test.cc).
#include "tests/fakes/heroku/faults.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace graphmill::fakes::heroku {
namespace {

TEST(ParseFaultTest, ReadsEveryKindAndParameter) {
  absl::StatusOr<Fault> fault =
      ParseFault("team-apps:429:times=2:retry_after=3:resource=a%3Ab");
  ASSERT_TRUE(fault.ok()) << fault.status();
  EXPECT_EQ(fault->route, "team-apps");
  EXPECT_EQ(fault->kind, FaultKind::kStatus);
  EXPECT_EQ(fault->status, 429);
  EXPECT_EQ(fault->times, 2);
  EXPECT_EQ(fault->retry_after_seconds, 3);
  EXPECT_EQ(fault->resource, "a:b");

  fault = ParseFault("*:503:body=html");
  ASSERT_TRUE(fault.ok()) << fault.status();
  EXPECT_TRUE(fault->html_body);
  EXPECT_EQ(fault->retry_after_seconds, -1);

  fault = ParseFault("account:latency:ms=25");
  ASSERT_TRUE(fault.ok()) << fault.status();
  EXPECT_EQ(fault->kind, FaultKind::kLatency);
  EXPECT_EQ(fault->delay_ms, 25);

  EXPECT_EQ(ParseFault("app-addons:malformed")->kind,
            FaultKind::kMalformedBody);
  EXPECT_EQ(ParseFault("user:truncated")->kind, FaultKind::kTruncatedBody);
  EXPECT_EQ(ParseFault("rate-limits:reset")->kind, FaultKind::kConnectionReset);
}

TEST(ParseFaultTest, RejectsBadSpecs) {
  for (const char* spec :
       {"", "team-apps", "pipeline:500", "team-apps:200", "team-apps:600",
        "team-apps:boom", "team-apps:500:times=-1", "team-apps:500:times",
        "team-apps:500:color=red", "team-apps:latency",
        "team-apps:500:body=xml", "team-apps:500:route=user",
        "team-apps:429:retry_after=soon"}) {
    EXPECT_FALSE(ParseFault(spec).ok()) << spec;
  }
}

TEST(ParseFaultTest, TextSyntaxRoundTrips) {
  for (const char* spec :
       {"team-apps:429:times=2:resource=x%3Ay%2Cz:retry_after=none",
        "*:500:body=html", "account:latency:ms=10", "user:reset:times=1",
        "app-addons:403:resource=my-app"}) {
    absl::StatusOr<Fault> fault = ParseFault(spec);
    ASSERT_TRUE(fault.ok()) << spec;
    absl::StatusOr<Fault> again = ParseFault(FaultToString(*fault));
    ASSERT_TRUE(again.ok()) << FaultToString(*fault);
    EXPECT_EQ(FaultToString(*again), FaultToString(*fault));
    EXPECT_EQ(again->resource, fault->resource);
  }
}

TEST(FaultTableTest, TimesRoutesAndResources) {
  FaultTable table;
  table.Add(*ParseFault("team-apps:500:times=2:resource=team-x"));
  const std::vector<std::string> team_x = {"team-x", "id-x"};
  const std::vector<std::string> team_y = {"team-y", "id-y"};
  EXPECT_FALSE(table.Decide("team-apps", team_y).response.has_value());
  EXPECT_FALSE(table.Decide("team-members", team_x).response.has_value());
  EXPECT_TRUE(table.Decide("team-apps", team_x).response.has_value());
  EXPECT_TRUE(table.Decide("team-apps", team_x).response.has_value());
  EXPECT_FALSE(table.Decide("team-apps", team_x).response.has_value());
  EXPECT_EQ(table.Snapshot()[0].fired, 2);
}

}  // namespace
}  // namespace graphmill::fakes::heroku
