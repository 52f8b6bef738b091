// Tests of faults.h: the text syntax and the fault table.
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

TEST(ParseFaultListTest, SplitsOnCommas) {
  absl::StatusOr<std::vector<Fault>> faults =
      ParseFaultList("account:500:times=1, ,team-apps:latency:ms=5");
  ASSERT_TRUE(faults.ok()) << faults.status();
  ASSERT_EQ(faults->size(), 2u);
  EXPECT_EQ((*faults)[1].route, "team-apps");
  EXPECT_FALSE(ParseFaultList("account:500,nope").ok());
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

TEST(FaultTableTest, LatenciesAddUpAndOnlyTheFirstResponseFaultFires) {
  FaultTable table;
  table.Add(*ParseFault("*:latency:ms=5"));
  table.Add(*ParseFault("account:503:times=1"));
  table.Add(*ParseFault("account:latency:ms=7"));
  table.Add(*ParseFault("account:500:times=1"));
  FaultDecision first = table.Decide("account", {});
  EXPECT_EQ(first.delay_ms, 12);
  ASSERT_TRUE(first.response.has_value());
  EXPECT_EQ(first.response->status, 503);
  FaultDecision second = table.Decide("account", {});
  ASSERT_TRUE(second.response.has_value());
  EXPECT_EQ(second.response->status, 500);
  EXPECT_FALSE(table.Decide("account", {}).response.has_value());
  const std::vector<FaultTable::Entry> entries = table.Snapshot();
  EXPECT_EQ(entries[0].fired, 3);
  EXPECT_EQ(entries[1].fired, 1);
  EXPECT_EQ(entries[3].fired, 1);
  table.Clear();
  EXPECT_TRUE(table.Snapshot().empty());
}

}  // namespace
}  // namespace graphmill::fakes::heroku
