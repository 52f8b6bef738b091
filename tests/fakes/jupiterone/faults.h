// Fault injection for the fake JupiterOne server: the fault description, its
// text syntax, and the thread-safe table that decides which fault (if any) a
// request gets.
//
// Text syntax (flags, the control endpoint and tests share it):
//   ROUTE:KIND[:KEY=VALUE]...
// ROUTE is a route name (kRouteNames) or "*"; KIND is an HTTP status 400-599
// or "latency"; KEYs are times (first K matching requests), retry_after (429;
// seconds, or "none" to omit the header) and ms (latency, required). Examples:
// "entities:413:times=1", "*:429:times=2:retry_after=1", "finalize:500",
// "create-job:401", "relationships:latency:ms=200".
#ifndef GRAPHMILL_TESTS_FAKES_JUPITERONE_FAULTS_H_
#define GRAPHMILL_TESTS_FAKES_JUPITERONE_FAULTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/fakes/common/fault_table.h"

namespace graphmill::fakes::jupiterone {

// Route names, as used by counters and faults.
inline constexpr const char* kRouteNames[] = {
    "create-job", "get-job",  "entities", "relationships",
    "events",     "finalize", "abort"};

enum class FaultKind {
  kStatus,   // an error response {"error": {code, message}} with `status`
  kLatency,  // delay_ms before answering; combines with one other fault
};

struct Fault {
  std::string route = "*";  // a kRouteNames entry or "*"
  FaultKind kind = FaultKind::kStatus;
  int status = 500;  // kStatus only
  int times = -1;  // fires on the first `times` matching requests; -1 = always
  int retry_after_seconds = 1;  // 429 only; < 0 omits Retry-After
  int delay_ms = 0;             // kLatency only
};

// Parses one fault in the text syntax above. INVALID_ARGUMENT names the bad
// part.
absl::StatusOr<Fault> ParseFault(absl::string_view spec);
// Parses a comma-separated list (empty pieces ignored).
absl::StatusOr<std::vector<Fault>> ParseFaultList(absl::string_view specs);
// Sets one KEY=VALUE parameter (also "route" and "kind"); used by the JSON
// control endpoint.
absl::Status SetFaultParam(Fault& fault, absl::string_view key,
                           absl::string_view value);
// The text syntax of `fault`; parsing it gives back the fields that matter for
// its kind.
std::string FaultToString(const Fault& fault);
// The syntax above, for the shared control endpoints (tests/fakes/common).
const common::FaultSyntax<Fault>& GetFaultSyntax();

using FaultDecision = common::FaultDecision<Fault>;

// Thread-safe list of active faults, in insertion order (Add, Clear,
// Snapshot and Entry come from the shared table).
class FaultTable : public common::FaultTable<Fault> {
 public:
  // Matches a request to `route` against the faults and consumes one use of
  // each fault that fires.
  FaultDecision Decide(absl::string_view route);
};

}  // namespace graphmill::fakes::jupiterone

#endif  // GRAPHMILL_TESTS_FAKES_JUPITERONE_FAULTS_H_
