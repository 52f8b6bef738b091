// Implementation of worker/runtime/task_executor.h.
#include "worker/runtime/task_executor.h"

#include <exception>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace graphmill::worker {

namespace {

bool IsCredentialProblem(absl::StatusCode code) {
  return code == absl::StatusCode::kInvalidArgument ||
         code == absl::StatusCode::kUnauthenticated ||
         code == absl::StatusCode::kPermissionDenied;
}

// The status's message, or its code's name when it has none, so an outcome is
// never blank.
std::string MessageOf(const absl::Status& status) {
  if (!status.message().empty()) return std::string(status.message());
  return absl::StatusCodeToString(status.code());
}

v1::TaskOutcome Outcome(v1::TaskOutcomeStatus status, std::string error) {
  v1::TaskOutcome outcome;
  outcome.set_status(status);
  outcome.set_error(std::move(error));
  return outcome;
}

bool HasStep(const v1::IntegrationDefinition& definition,
             absl::string_view step_id) {
  for (const v1::StepDefinition& step : definition.steps()) {
    if (step.id() == step_id) return true;
  }
  return false;
}

// Calls `call`, turning an exception into an INTERNAL status naming `what`.
template <typename Call>
absl::Status Guarded(const std::string& what, Call call) {
  try {
    return call();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, " threw: ", e.what()));
  } catch (...) {
    return absl::InternalError(
        absl::StrCat(what, " threw an unknown exception"));
  }
}

}  // namespace

absl::StatusOr<IntegrationSet> IntegrationSet::Create(
    const std::vector<Integration*>& integrations) {
  if (integrations.empty()) {
    return absl::InvalidArgumentError("the worker has no integrations");
  }
  IntegrationSet set;
  for (Integration* integration : integrations) {
    if (integration == nullptr) {
      return absl::InvalidArgumentError("null integration");
    }
    const std::string& name = integration->definition().name();
    if (!set.by_name_.emplace(name, integration).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("integration '", name, "' is registered twice"));
    }
  }
  return set;
}

absl::StatusOr<Integration*> IntegrationSet::Find(
    absl::string_view name, absl::string_view version) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("this worker has no integration '", name,
                     "' (it has: ", Describe(), ")"));
  }
  const std::string& own_version = it->second->definition().version();
  if (own_version != version) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the task was planned with integration '", name, "' version '", version,
        "' but this worker runs version '", own_version, "'"));
  }
  return it->second;
}

std::vector<const v1::IntegrationDefinition*> IntegrationSet::definitions()
    const {
  std::vector<const v1::IntegrationDefinition*> definitions;
  for (const auto& [name, integration] : by_name_) {
    definitions.push_back(&integration->definition());
  }
  return definitions;
}

std::string IntegrationSet::Describe() const {
  return absl::StrJoin(by_name_, ", ", [](std::string* out, const auto& entry) {
    absl::StrAppend(out, entry.first, " ",
                    entry.second->definition().version());
  });
}

std::string DescribeAssignment(const v1::TaskAssignment& assignment) {
  const std::string integration = absl::StrCat(
      assignment.integration(), " ", assignment.integration_version());
  switch (assignment.kind()) {
    case v1::TASK_KIND_VALIDATE_INVOCATION:
      return absl::StrCat("invocation check of ", integration);
    case v1::TASK_KIND_STEP:
      return absl::StrCat("step ", assignment.step_id(), " of ", integration);
    default:
      return absl::StrCat("task of unknown kind ",
                          static_cast<int>(assignment.kind()), " for ",
                          integration);
  }
}

v1::TaskOutcome ExecuteAssignment(const v1::TaskAssignment& assignment,
                                  const IntegrationSet& integrations,
                                  TaskContext& context) {
  absl::StatusOr<Integration*> found = integrations.Find(
      assignment.integration(), assignment.integration_version());
  if (!found.ok()) {
    return Outcome(v1::TASK_OUTCOME_STATUS_FAILED, MessageOf(found.status()));
  }
  Integration& integration = **found;
  const std::string name = integration.definition().name();
  // Whatever a provider echoes (a token in an error body, say) is removed from
  // everything this task reports: the outcome, its events and its reasons.
  std::vector<std::string> secrets;
  for (const v1::ConfigField& field :
       integration.definition().config_fields()) {
    auto value = context.config().find(field.name());
    if (field.secret() && value != context.config().end()) {
      secrets.push_back(value->second);
    }
  }
  context.SetSecrets(secrets);

  v1::TaskOutcome outcome;
  switch (assignment.kind()) {
    case v1::TASK_KIND_VALIDATE_INVOCATION: {
      const absl::Status status = Guarded(
          absl::StrCat("the invocation check of ", name),
          [&] { return integration.ValidateInvocation(context.config()); });
      if (status.ok()) {
        outcome = Outcome(v1::TASK_OUTCOME_STATUS_SUCCEEDED, "");
      } else if (IsCredentialProblem(status.code())) {
        outcome =
            Outcome(v1::TASK_OUTCOME_STATUS_INVALID_CONFIG, MessageOf(status));
      } else {
        outcome = Outcome(v1::TASK_OUTCOME_STATUS_FAILED, MessageOf(status));
      }
      break;
    }
    case v1::TASK_KIND_STEP: {
      if (!HasStep(integration.definition(), assignment.step_id())) {
        return Outcome(v1::TASK_OUTCOME_STATUS_FAILED,
                       absl::StrCat("integration '", name, "' has no step '",
                                    assignment.step_id(), "'"));
      }
      const absl::Status status = Guarded(
          absl::StrCat("step '", assignment.step_id(), "' of ", name), [&] {
            return integration.ExecuteStep(assignment.step_id(), context);
          });
      outcome = status.ok() ? Outcome(v1::TASK_OUTCOME_STATUS_SUCCEEDED, "")
                            : Outcome(v1::TASK_OUTCOME_STATUS_FAILED,
                                      MessageOf(status));
      break;
    }
    default:
      return Outcome(v1::TASK_OUTCOME_STATUS_FAILED,
                     absl::StrCat("unknown task kind ",
                                  static_cast<int>(assignment.kind())));
  }
  outcome.set_error(context.Redact(outcome.error()));
  for (v1::Incompleteness& entry : context.incomplete()) {
    *outcome.add_incomplete() = std::move(entry);
  }
  return outcome;
}

}  // namespace graphmill::worker
