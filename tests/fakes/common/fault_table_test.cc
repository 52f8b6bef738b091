// Tests of fault_table.h with a small fake-like Fault: the shared syntax
// (parsing, errors, printing) and the table's matching and use counting.
#include "tests/fakes/common/fault_table.h"

#include "gtest/gtest.h"

namespace graphmill::fakes::common {
namespace {

enum class Kind { kStatus, kLatency, kReset };

struct TestFault {
  std::string route = "*";
  Kind kind = Kind::kStatus;
  int status = 500;
  int times = -1;
  std::string resource;
  int retry_after_seconds = 1;
  int delay_ms = 0;
  bool loud = false;  // the extra parameter "loud=yes"
};

// Like TestFault but without a resource.
struct PlainFault {
  std::string route = "*";
  Kind kind = Kind::kStatus;
  int status = 500;
  int times = -1;
  int retry_after_seconds = 1;
  int delay_ms = 0;
};

FaultSyntax<TestFault> TestSyntax() {
  FaultSyntax<TestFault> syntax;
  syntax.is_known_route = [](absl::string_view route) {
    return route == "me" || route == "items";
  };
  syntax.named_kinds = {{"latency", Kind::kLatency}, {"reset", Kind::kReset}};
  syntax.extra_params = {"loud"};
  syntax.set_extra_param = [](TestFault& fault, absl::string_view,
                              absl::string_view value) {
    if (value != "yes") return absl::InvalidArgumentError("loud must be yes");
    fault.loud = true;
    return absl::OkStatus();
  };
  syntax.append_extra_params = [](const TestFault& fault, std::string& out) {
    if (fault.loud) out += ":loud=yes";
  };
  return syntax;
}

TEST(FaultSyntaxTest, ParsesSharedParameters) {
  absl::StatusOr<TestFault> fault = TestSyntax().Parse(
      "items:429:times=2:retry_after=none:resource=a%3Ab:loud=yes");
  ASSERT_TRUE(fault.ok()) << fault.status();
  EXPECT_EQ(fault->route, "items");
  EXPECT_EQ(fault->kind, Kind::kStatus);
  EXPECT_EQ(fault->status, 429);
  EXPECT_EQ(fault->times, 2);
  EXPECT_EQ(fault->retry_after_seconds, -1);
  EXPECT_EQ(fault->resource, "a:b");
  EXPECT_TRUE(fault->loud);
}

TEST(FaultSyntaxTest, RoundTripsThroughText) {
  const FaultSyntax<TestFault> syntax = TestSyntax();
  for (const char* spec :
       {"items:429:times=2:retry_after=1", "me:404:resource=a%3Ab%2Cc%25",
        "*:latency:ms=50", "me:reset:times=1", "me:500:loud=yes",
        "*:429:retry_after=none"}) {
    absl::StatusOr<TestFault> fault = syntax.Parse(spec);
    ASSERT_TRUE(fault.ok()) << spec << ": " << fault.status();
    EXPECT_EQ(syntax.ToString(*fault), spec);
  }
}

TEST(FaultSyntaxTest, RejectsBadSpecsNamingThePart) {
  struct Case {
    const char* spec;
    const char* message;
  };
  for (const Case& c : {
           Case{"nope:500", "unknown fault route 'nope'"},
           Case{"me", "fault 'me' is not ROUTE:KIND[:KEY=VALUE]..."},
           Case{"me:200",
                "unknown fault kind '200' (want a status 400-599, "
                "latency or reset)"},
           Case{"me:teapot", "unknown fault kind 'teapot'"},
           Case{"me:500:times=-1",
                "fault 'me:500:times=-1': fault parameter 'times' needs a "
                "non-negative integer, got '-1'"},
           Case{"me:500:color=red",
                "unknown fault parameter 'color' (want times, resource, "
                "retry_after, loud or ms)"},
           Case{"me:500:times", "parameter 'times' is not KEY=VALUE"},
           Case{"me:500:kind=latency", "'kind' is positional"},
           Case{"*:latency", "fault '*:latency': latency needs ms=N"},
           Case{"me:500:loud=no", "loud must be yes"},
       }) {
    absl::StatusOr<TestFault> fault = TestSyntax().Parse(c.spec);
    ASSERT_FALSE(fault.ok()) << c.spec;
    EXPECT_EQ(fault.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(fault.status().message().find(c.message), std::string::npos)
        << fault.status();
  }
}

TEST(FaultSyntaxTest, WithoutResourceMemberResourceIsUnknown) {
  FaultSyntax<PlainFault> syntax;
  syntax.is_known_route = [](absl::string_view) { return true; };
  syntax.named_kinds = {{"latency", Kind::kLatency}};
  absl::StatusOr<PlainFault> fault = syntax.Parse("x:500:resource=a");
  ASSERT_FALSE(fault.ok());
  EXPECT_NE(fault.status().message().find("(want times, retry_after or ms)"),
            std::string::npos)
      << fault.status();
  EXPECT_NE(syntax.Parse("x:999").status().message().find(
                "(want a status 400-599 or latency)"),
            std::string::npos);
}

TEST(FaultSyntaxTest, ListSplitsOnCommasAndFailsOnAnyBadPiece) {
  const FaultSyntax<TestFault> syntax = TestSyntax();
  absl::StatusOr<std::vector<TestFault>> faults =
      syntax.ParseList("me:500, items:429:times=1,");
  ASSERT_TRUE(faults.ok()) << faults.status();
  ASSERT_EQ(faults->size(), 2u);
  EXPECT_EQ((*faults)[1].route, "items");
  EXPECT_FALSE(syntax.ParseList("me:500,bogus").ok());
}

TEST(FaultTableTest, TimesLimitsFiringsPerFault) {
  FaultTable<TestFault> table;
  table.Add(*TestSyntax().Parse("items:429:times=2"));
  auto any = [](const TestFault&) { return true; };
  EXPECT_TRUE(table.Decide("items", any).response.has_value());
  EXPECT_FALSE(table.Decide("me", any).response.has_value());
  EXPECT_TRUE(table.Decide("items", any).response.has_value());
  EXPECT_FALSE(table.Decide("items", any).response.has_value());
  EXPECT_EQ(table.Snapshot()[0].fired, 2);
}

TEST(FaultTableTest, ResourcePredicateRestrictsMatches) {
  FaultTable<TestFault> table;
  table.Add(*TestSyntax().Parse("items:404:resource=a"));
  auto about = [](absl::string_view resource) {
    return [resource](const TestFault& fault) {
      return fault.resource == resource;
    };
  };
  EXPECT_FALSE(table.Decide("items", about("b")).response.has_value());
  EXPECT_TRUE(table.Decide("items", about("a")).response.has_value());
  EXPECT_EQ(table.Snapshot()[0].fired, 1);
}

TEST(FaultTableTest, FirstResponseFaultWinsAndLatencyAdds) {
  const FaultSyntax<TestFault> syntax = TestSyntax();
  FaultTable<TestFault> table;
  table.Add(*syntax.Parse("*:latency:ms=10"));
  table.Add(*syntax.Parse("me:500:times=1"));
  table.Add(*syntax.Parse("*:403:times=1"));
  table.Add(*syntax.Parse("me:latency:ms=5"));
  auto any = [](const TestFault&) { return true; };

  FaultDecision<TestFault> first = table.Decide("me", any);
  EXPECT_EQ(first.delay_ms, 15);
  ASSERT_TRUE(first.response.has_value());
  EXPECT_EQ(first.response->status, 500);

  // The 403 was not consumed by the first request, so it applies now.
  FaultDecision<TestFault> second = table.Decide("me", any);
  ASSERT_TRUE(second.response.has_value());
  EXPECT_EQ(second.response->status, 403);
  EXPECT_FALSE(table.Decide("me", any).response.has_value());

  table.Clear();
  EXPECT_EQ(table.Decide("me", any).delay_ms, 0);
  EXPECT_TRUE(table.Snapshot().empty());
}

TEST(JoinAlternativesTest, JoinsWithCommasAndOr) {
  EXPECT_EQ(JoinAlternatives({"a"}), "a");
  EXPECT_EQ(JoinAlternatives({"a", "b"}), "a or b");
  EXPECT_EQ(JoinAlternatives({"a", "b", "c"}), "a, b or c");
}

}  // namespace
}  // namespace graphmill::fakes::common
