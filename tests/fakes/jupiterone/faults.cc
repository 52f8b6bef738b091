// Implementation of faults.h: the JupiterOne routes and kinds on top of the
// shared syntax (tests/fakes/common/fault_table.h).
#include "tests/fakes/jupiterone/faults.h"

namespace graphmill::fakes::jupiterone {

const common::FaultSyntax<Fault>& GetFaultSyntax() {
  static const common::FaultSyntax<Fault>* const syntax = [] {
    auto* syntax = new common::FaultSyntax<Fault>;
    syntax->is_known_route = [](absl::string_view route) {
      for (const char* name : kRouteNames) {
        if (route == name) return true;
      }
      return false;
    };
    syntax->named_kinds = {{"latency", FaultKind::kLatency}};
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

FaultDecision FaultTable::Decide(absl::string_view route) {
  return common::FaultTable<Fault>::Decide(route,
                                           [](const Fault&) { return true; });
}

}  // namespace graphmill::fakes::jupiterone
