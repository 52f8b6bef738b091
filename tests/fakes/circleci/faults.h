// Fault injection for the fake CircleCI server: the fault description, its text
// syntax, and the thread-safe table that decides which fault (if any) a request
// gets.
//
// Text syntax (flags, the control endpoint and tests share it):
//   ROUTE:KIND[:KEY=VALUE]...
// ROUTE is a route name (kRouteNames) or "*"; KIND is an HTTP status 400-599,
// "malformed", "truncated", "latency", "reset", "repeat_token" or
// "echo_token"; KEYs are times, resource, retry_after (429; "none" omits the
// header), quota (429; adds x-ratelimit-limit), form (echo_token) and ms
// (latency). Examples: "pipeline:429:times=2:retry_after=1",
// "project:404:resource=gh/acme/api", "*:latency:ms=50",
// "workflow-jobs:reset:times=1", "pipeline:repeat_token",
// "envvar:echo_token:form=base64".
#ifndef GRAPHMILL_TESTS_FAKES_CIRCLECI_FAULTS_H_
#define GRAPHMILL_TESTS_FAKES_CIRCLECI_FAULTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/fakes/common/fault_table.h"

namespace graphmill::fakes {

// Route names, as used by counters and faults.
inline constexpr const char* kRouteNames[] = {"me",
                                              "collaborations",
                                              "pipeline",
                                              "pipeline-workflows",
                                              "workflow-jobs",
                                              "project",
                                              "envvar",
                                              "context",
                                              "restrictions",
                                              "context-envvar",
                                              "webhook-create",
                                              "webhook-list"};

enum class FaultKind {
  kStatus,           // an error response {"message": ...} with `status`
  kMalformedBody,    // 200 with a body that is not valid JSON
  kTruncatedBody,    // Content-Length of the full body, half of it sent, then
                     // close
  kLatency,          // delay_ms before answering; combines with one other fault
  kConnectionReset,  // the socket is reset (RST) without any response
  kRepeatPageToken,  // next_page_token points back at the page just served,
                     // forever
  kEchoToken,        // 200 with items that echo the request's Circle-Token
                     // (`echo_form`) and that no converter accepts
};

// How an echo_token fault spells the token it echoes.
enum class EchoForm {
  kRaw,
  kUpper,            // ASCII upper case
  kLower,            // ASCII lower case
  kBase64,           // standard alphabet, padded
  kBase64Url,        // URL-safe alphabet, unpadded
  kUrlEncoded,       // RFC 3986: all but unreserved bytes as %XX, upper hex
  kUrlEncodedLower,  // the same with lower-case hex
  kAll,              // one item per form above, in that order
};

// The text names of the forms, in EchoForm order ("raw", ..., "all").
inline constexpr const char* kEchoFormNames[] = {"raw",
                                                 "upper",
                                                 "lower",
                                                 "base64",
                                                 "base64url",
                                                 "urlencoded",
                                                 "urlencoded_lower",
                                                 "all"};

// `token` in `form`: one string, or one per single form for kAll.
std::vector<std::string> EchoTokenForms(absl::string_view token, EchoForm form);

// The body an echo_token fault answers on `route` (a kRouteNames entry, or ""
// for an unmatched request): items {"id":5,"token":"<form>"} (ids 5, 6, ...
// for kAll), as a page {"next_page_token":null,"items":[...]} on paginated
// routes, a bare array on collaborations, and the first item alone on the
// single-object routes (me, project).
std::string EchoTokenBody(absl::string_view route, absl::string_view token,
                          EchoForm form);

struct Fault {
  std::string route = "*";  // a kRouteNames entry or "*"
  FaultKind kind = FaultKind::kStatus;
  int status = 500;  // kStatus only
  int times = -1;  // fires on the first `times` matching requests; -1 = always
  std::string
      resource;  // empty = any; else the org slug (pipeline, context),
                 // project slug (project, envvar) or id (the rest), decoded
  int retry_after_seconds = 1;  // 429 only; < 0 omits Retry-After
  int ratelimit_limit =
      -1;  // 429 only; >= 0 adds x-ratelimit-limit (a quota, not a wait)
  int delay_ms = 0;                     // kLatency only
  EchoForm echo_form = EchoForm::kRaw;  // kEchoToken only
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
  // Matches a request to `route` about `resource` against the faults and
  // consumes one use of each fault that fires.
  FaultDecision Decide(absl::string_view route, absl::string_view resource);
};

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_CIRCLECI_FAULTS_H_
