// Implementation of faults.h: the Heroku routes, kinds and the body parameter
// on top of the shared syntax (tests/fakes/common/fault_table.h).
#include "tests/fakes/heroku/faults.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/fakes/heroku/routes.h"

namespace graphmill::fakes::heroku {

const common::FaultSyntax<Fault>& GetFaultSyntax() {
  static const common::FaultSyntax<Fault>* const syntax = [] {
    auto* syntax = new common::FaultSyntax<Fault>;
    syntax->is_known_route = [](absl::string_view route) {
      return RouteByName(route) != Route::kNone;
    };
    syntax->named_kinds = {{"malformed", FaultKind::kMalformedBody},
                           {"truncated", FaultKind::kTruncatedBody},
                           {"latency", FaultKind::kLatency},
                           {"reset", FaultKind::kConnectionReset}};
    syntax->extra_params = {"body"};
    syntax->set_extra_param = [](Fault& fault, absl::string_view,
                                 absl::string_view value) -> absl::Status {
      if (value != "json" && value != "html") {
        return absl::InvalidArgumentError(absl::StrCat(
            "fault parameter 'body' must be json or html, got '", value, "'"));
      }
      fault.html_body = value == "html";
      return absl::OkStatus();
    };
    syntax->append_extra_params = [](const Fault& fault, std::string& out) {
      if (fault.kind == FaultKind::kStatus && fault.html_body) {
        absl::StrAppend(&out, ":body=html");
      }
    };
    return syntax;
  }();
  return *syntax;
}

absl::Status SetFaultParam(Fault& fault, absl::string_view key,
                           absl::string_view value) {
  return GetFaultSyntax().SetParam(fault, key, value);
}

absl::StatusOr<Fault> ParseFault(absl::string_view spec) {
  return GetFaultSyntax().Parse(spec);
}

absl::StatusOr<std::vector<Fault>> ParseFaultList(absl::string_view specs) {
  return GetFaultSyntax().ParseList(specs);
}

std::string FaultToString(const Fault& fault) {
  return GetFaultSyntax().ToString(fault);
}

FaultDecision FaultTable::Decide(absl::string_view route,
                                 absl::Span<const std::string> resource_names) {
  return common::FaultTable<Fault>::Decide(route, [&](const Fault& fault) {
    return fault.resource.empty() ||
           std::find(resource_names.begin(), resource_names.end(),
                     fault.resource) != resource_names.end();
  });
}

}  // namespace graphmill::fakes::heroku
