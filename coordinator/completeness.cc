// Implementation of coordinator/completeness.h.
#include "coordinator/completeness.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace graphmill::coordinator {
namespace {

// At most this many reasons are spelled out per type; the rest are counted.
constexpr size_t kMaxReasonsPerType = 3;
// A step's error is quoted up to this many characters in a reason.
constexpr size_t kMaxQuotedErrorChars = 200;

// One thing that makes a type incomplete.
struct Cause {
  DeletionRule rule;
  bool error;
  std::string reason;
};

std::string Quote(absl::string_view text) {
  if (text.size() <= kMaxQuotedErrorChars) return std::string(text);
  // Cut on a UTF-8 character boundary.
  size_t end = kMaxQuotedErrorChars;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return absl::StrCat(text.substr(0, end), "…");
}

TypeCompleteness Combine(std::vector<Cause> causes) {
  TypeCompleteness verdict;
  if (causes.empty()) return verdict;
  // Errors first: they are what an operator has to act on.
  std::stable_sort(
      causes.begin(), causes.end(),
      [](const Cause& a, const Cause& b) { return a.error && !b.error; });
  std::vector<std::string> reasons;
  for (const Cause& cause : causes) {
    verdict.rule = std::max(verdict.rule, cause.rule);
    verdict.error |= cause.error;
    if (std::find(reasons.begin(), reasons.end(), cause.reason) ==
        reasons.end()) {
      reasons.push_back(cause.reason);
    }
  }
  const size_t more = reasons.size() > kMaxReasonsPerType
                          ? reasons.size() - kMaxReasonsPerType
                          : 0;
  reasons.resize(std::min(reasons.size(), kMaxReasonsPerType));
  verdict.reason = absl::StrJoin(reasons, "; ");
  if (more > 0) absl::StrAppend(&verdict.reason, "; and ", more, " more");
  return verdict;
}

// The step's declared types with their `partial` flag.
std::vector<std::pair<std::string, bool>> TypesOf(
    const v1::StepDefinition& step) {
  std::vector<std::pair<std::string, bool>> types;
  for (const v1::DeclaredEntityType& type : step.entities()) {
    types.emplace_back(type.type(), type.partial());
  }
  for (const v1::DeclaredRelationshipType& type : step.relationships()) {
    types.emplace_back(type.type(), type.partial());
  }
  return types;
}

// Steps in an order where each comes after its dependencies (definitions are
// checked acyclic when loaded; a dependency on an unknown step is ignored).
std::vector<const v1::StepDefinition*> TopologicalOrder(
    const v1::IntegrationDefinition& definition) {
  absl::flat_hash_map<std::string, const v1::StepDefinition*> by_id;
  for (const v1::StepDefinition& step : definition.steps()) {
    by_id[step.id()] = &step;
  }
  std::vector<const v1::StepDefinition*> order;
  absl::flat_hash_map<std::string, int> state;  // 1 visiting, 2 done
  std::vector<std::pair<const v1::StepDefinition*, int>> stack;
  for (const v1::StepDefinition& root : definition.steps()) {
    if (state[root.id()] != 0) continue;
    stack.push_back({&root, 0});
    state[root.id()] = 1;
    while (!stack.empty()) {
      // By value: push_back below may move the stack's elements.
      const v1::StepDefinition* step = stack.back().first;
      const int next = stack.back().second;
      if (next < step->depends_on_size()) {
        ++stack.back().second;
        const std::string& dependency = step->depends_on(next);
        auto found = by_id.find(dependency);
        if (found != by_id.end() && state[dependency] == 0) {
          state[dependency] = 1;
          stack.push_back({found->second, 0});
        }
        continue;
      }
      state[step->id()] = 2;
      order.push_back(step);
      stack.pop_back();
    }
  }
  return order;
}

// Causes that apply to every type of the step, from its own record.
std::vector<Cause> StepCauses(const v1::StepDefinition& step,
                              const StepRecord* record) {
  std::vector<Cause> causes;
  if (record == nullptr) {
    causes.push_back({DeletionRule::kKeepAll, true, "step did not run"});
    return causes;
  }
  switch (record->status) {
    case v1::STEP_STATUS_SUCCESS:
      break;
    case v1::STEP_STATUS_FAILURE:
      causes.push_back({DeletionRule::kKeepAll, true,
                        absl::StrCat("step '", step.id(), "' failed",
                                     record->error.empty() ? "" : ": ",
                                     Quote(record->error))});
      break;
    case v1::STEP_STATUS_PARTIAL:
      // The failed dependency's types propagate with their reasons; this one
      // stands in when they do not (e.g. a dependency's error had no type).
      causes.push_back({DeletionRule::kKeepAll, true,
                        absl::StrCat("step '", step.id(),
                                     "' ran after a dependency failed")});
      break;
    case v1::STEP_STATUS_DISABLED:
      causes.push_back({DeletionRule::kKeepAll, false,
                        absl::StrCat("step '", step.id(), "' disabled")});
      break;
    default:
      causes.push_back({DeletionRule::kKeepAll, true,
                        absl::StrCat("step '", step.id(), "' did not finish")});
      break;
  }
  for (const ScopeGap& gap : record->scope_gaps) {
    causes.push_back(
        {DeletionRule::kScopedOnly, true,
         absl::StrCat(gap.reason, " for ", gap.count, " ",
                      gap.scope_type.empty() ? "parent" : gap.scope_type,
                      gap.count == 1 ? "" : " entities")});
  }
  return causes;
}

}  // namespace

bool RunCompleteness::degraded() const {
  return std::any_of(types.begin(), types.end(),
                     [](const auto& entry) { return entry.second.error; });
}

std::vector<v1::IncompleteType> RunCompleteness::IncompleteTypes() const {
  std::vector<v1::IncompleteType> incomplete;
  for (const auto& [type, verdict] : types) {
    if (verdict.complete()) continue;
    v1::IncompleteType& entry = incomplete.emplace_back();
    entry.set_type(type);
    entry.set_reason(verdict.reason);
    entry.set_error(verdict.error);
    entry.set_all_kept(verdict.rule == DeletionRule::kKeepAll);
  }
  return incomplete;
}

std::map<std::string, DeletionRule> RunCompleteness::DeletionRules() const {
  std::map<std::string, DeletionRule> rules;
  for (const auto& [type, verdict] : types) {
    if (verdict.rule != DeletionRule::kDeleteMissing)
      rules[type] = verdict.rule;
  }
  return rules;
}

std::string RunCompleteness::ErrorTypesList() const {
  std::vector<std::string> names;
  for (const auto& [type, verdict] : types) {
    if (verdict.error) names.push_back(type);
  }
  return absl::StrJoin(names, ", ");
}

RunCompleteness ComputeCompleteness(const v1::IntegrationDefinition& definition,
                                    const std::vector<StepRecord>& steps) {
  absl::flat_hash_map<std::string, const StepRecord*> records;
  for (const StepRecord& record : steps) records[record.step_id] = &record;
  absl::flat_hash_map<std::string, const v1::StepDefinition*> by_id;
  for (const v1::StepDefinition& step : definition.steps()) {
    by_id[step.id()] = &step;
  }

  RunCompleteness result;
  for (const v1::StepDefinition* step : TopologicalOrder(definition)) {
    auto found = records.find(step->id());
    const StepRecord* record = found == records.end() ? nullptr : found->second;
    std::vector<Cause> shared = StepCauses(*step, record);

    // What the step read: the entity types of its dependency steps (a
    // definition names as dependencies the steps whose types it reads). An
    // error there makes this step's types incomplete too. Incompleteness of
    // the parent type only costs scopes: the step lists the children of each
    // parent it was given, and children of parents that were not collected
    // have a scope that was not listed, so they are kept. Any other type read
    // may have shaped what the step produced for any scope: nothing of it is
    // deleted.
    for (const std::string& dependency_id : step->depends_on()) {
      auto dependency = by_id.find(dependency_id);
      if (dependency == by_id.end()) continue;
      // Steps read entities only (StepContext::ForEachEntity): a dependency's
      // relationship types cannot shape what this step produces.
      for (const v1::DeclaredEntityType& entity :
           dependency->second->entities()) {
        const std::string& type = entity.type();
        auto verdict = result.types.find(type);
        if (verdict == result.types.end() || !verdict->second.error) continue;
        const bool is_parent = type == step->parent_type();
        shared.push_back(
            {is_parent ? DeletionRule::kScopedOnly : DeletionRule::kKeepAll,
             true,
             absl::StrCat(is_parent ? "parent " : "reads ", type,
                          " incomplete: ", verdict->second.reason)});
      }
    }

    for (const auto& [type, declared_partial] : TypesOf(*step)) {
      std::vector<Cause> causes = shared;
      if (declared_partial) {
        causes.push_back({DeletionRule::kKeepAll, false,
                          "declared partial: the provider's listing of it is "
                          "not exhaustive"});
      }
      if (record != nullptr) {
        auto reported = record->partial_types.find(type);
        if (reported != record->partial_types.end()) {
          causes.push_back({DeletionRule::kKeepAll, true, reported->second});
        }
      }
      result.types[type] = Combine(std::move(causes));
    }
  }
  return result;
}

}  // namespace graphmill::coordinator
