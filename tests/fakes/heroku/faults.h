// Fault injection for the fake Heroku server: the fault description, its text
// syntax (the same as the fake CircleCI's), and the thread-safe table that
// decides which fault (if any) a request gets.
//
// Text syntax (flags, the control endpoint and tests share it):
//   ROUTE:KIND[:KEY=VALUE]...
// ROUTE is a route name (kRouteNames) or "*"; KIND is an HTTP status 400-599,
// "malformed", "truncated", "latency" or "reset"; KEYs are times, resource,
// retry_after (429: seconds, or "none", the default), body (status faults:
// "json", the default, or "html") and ms (latency). Examples:
// "team-apps:429:times=2:retry_after=1", "app-addons:403:resource=my-app",
// "*:latency:ms=50", "account:503:body=html", "team-members:reset:times=1".
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_FAULTS_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_FAULTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "tests/fakes/common/fault_table.h"

namespace graphmill::fakes::heroku {

enum class FaultKind {
  kStatus,           // an error response with `status`
  kMalformedBody,    // 200 with a body that is not valid JSON
  kTruncatedBody,    // Content-Length of the full body, half of it, then close
  kLatency,          // delay_ms before answering; combines with one other fault
  kConnectionReset,  // the socket is reset (RST) without any response
};

struct Fault {
  std::string route = "*";  // a kRouteNames entry or "*"
  FaultKind kind = FaultKind::kStatus;
  int status = 500;  // kStatus only
  int times = -1;  // fires on the first `times` matching requests; -1 = always
  // Empty = any; else the {id|name} of the path, matched against the segment
  // as sent and against the id and name it resolves to.
  std::string resource;
  int retry_after_seconds = -1;  // 429 only; < 0 omits Retry-After
  bool html_body = false;        // kStatus: a text/html page instead of JSON
  int delay_ms = 0;              // kLatency only
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
  // Matches a request to `route` whose path identity has the given names (the
  // segment as sent, plus the id and name it resolves to; empty for routes
  // without one) against the faults, and consumes one use of each fault that
  // fires.
  FaultDecision Decide(absl::string_view route,
                       absl::Span<const std::string> resource_names);
};

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_FAULTS_H_
