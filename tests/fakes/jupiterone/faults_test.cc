// Tests of faults.h: this fake's routes, kinds and parameters (the shared
// syntax and table are tested in tests/fakes/common/fault_table_test.cc).
// matching (the generic syntax and table are tested in tests/fakes/common).
#include "tests/fakes/jupiterone/faults.h"

#include "gtest/gtest.h"

namespace graphmill::fakes::jupiterone {
namespace {

TEST(ParseFaultTest, ParsesStatusWithParameters) {
  absl::StatusOr<Fault> fault =
      ParseFault("entities:429:times=2:retry_after=3");
  ASSERT_TRUE(fault.ok()) << fault.status();
  EXPECT_EQ(fault->route, "entities");
  EXPECT_EQ(fault->kind, FaultKind::kStatus);
  EXPECT_EQ(fault->status, 429);
  EXPECT_EQ(fault->times, 2);
  EXPECT_EQ(fault->retry_after_seconds, 3);
}

TEST(ParseFaultTest, ParsesLatencyAndRetryAfterNone) {
  absl::StatusOr<Fault> latency = ParseFault("*:latency:ms=250");
  ASSERT_TRUE(latency.ok());
  EXPECT_EQ(latency->kind, FaultKind::kLatency);
  EXPECT_EQ(latency->delay_ms, 250);
  EXPECT_EQ(ParseFault("finalize:429:retry_after=none")->retry_after_seconds,
            -1);
}

TEST(ParseFaultTest, RoundTripsThroughText) {
  for (const char* spec :
       {"entities:413:times=1", "*:429:times=2:retry_after=1",
        "*:latency:ms=50", "create-job:401", "relationships:500:times=3",
        "abort:503", "get-job:429:retry_after=none", "events:403"}) {
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
       {Case{"entity:500", "entity"}, Case{"entities", "ROUTE:KIND"},
        Case{"entities:200", "200"}, Case{"entities:reset", "reset"},
        Case{"entities:500:times=-1", "times"},
        Case{"entities:500:color=red", "color"},
        Case{"entities:500:times", "times"}, Case{"*:latency", "ms"},
        Case{"*:500:route=abort", "positional"}}) {
    absl::StatusOr<Fault> fault = ParseFault(c.spec);
    ASSERT_FALSE(fault.ok()) << c.spec;
    EXPECT_EQ(fault.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(fault.status().message().find(c.mentions), std::string::npos)
        << fault.status();
  }
}

TEST(FaultTableTest, RouteMustMatch) {
  FaultTable table;
  table.Add(*ParseFault("relationships:413"));
  EXPECT_FALSE(table.Decide("entities").response.has_value());
  EXPECT_TRUE(table.Decide("relationships").response.has_value());
  EXPECT_TRUE(table.Decide("relationships").response.has_value());
}

}  // namespace
}  // namespace graphmill::fakes::jupiterone
