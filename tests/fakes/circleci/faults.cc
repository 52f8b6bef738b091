// Implementation of faults.h: the CircleCI routes, kinds and the quota
// parameter on top of the shared syntax (tests/fakes/common/fault_table.h).
#include "tests/fakes/circleci/faults.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace graphmill::fakes {

const common::FaultSyntax<Fault>& GetFaultSyntax() {
  static const common::FaultSyntax<Fault>* const syntax = [] {
    auto* syntax = new common::FaultSyntax<Fault>;
    syntax->is_known_route = [](absl::string_view route) {
      for (const char* name : kRouteNames) {
        if (route == name) return true;
      }
      return false;
    };
    syntax->named_kinds = {{"malformed", FaultKind::kMalformedBody},
                           {"truncated", FaultKind::kTruncatedBody},
                           {"latency", FaultKind::kLatency},
                           {"reset", FaultKind::kConnectionReset},
                           {"repeat_token", FaultKind::kRepeatPageToken}};
    syntax->extra_params = {"quota"};
    syntax->set_extra_param = [](Fault& fault, absl::string_view key,
                                 absl::string_view value) -> absl::Status {
      absl::StatusOr<int> quota = common::ParseNonNegativeParam(key, value);
      if (!quota.ok()) return quota.status();
      fault.ratelimit_limit = *quota;
      return absl::OkStatus();
    };
    syntax->append_extra_params = [](const Fault& fault, std::string& out) {
      if (fault.kind == FaultKind::kStatus && fault.status == 429 &&
          fault.ratelimit_limit >= 0) {
        absl::StrAppend(&out, ":quota=", fault.ratelimit_limit);
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
                                 absl::string_view resource) {
  return common::FaultTable<Fault>::Decide(route, [&](const Fault& fault) {
    return fault.resource.empty() || fault.resource == resource;
  });
}

}  // namespace graphmill::fakes
