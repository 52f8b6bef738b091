// Implementation of coordinator/run/merge.h.
#include "coordinator/run/merge.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "common/status_macros.h"

namespace graphmill::coordinator {

absl::Status CheckWorkerEvents(
    const google::protobuf::RepeatedPtrField<v1::Event>& events) {
  for (const v1::Event& event : events) {
    if (event.name().empty() || event.name().size() > kMaxEventNameBytes ||
        !std::all_of(event.name().begin(), event.name().end(), [](char c) {
          return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
        })) {
      return absl::InvalidArgumentError(
          absl::StrCat("events.name must be 1 to ", kMaxEventNameBytes,
                       " characters of a-z, 0-9 and '_' (got ",
                       event.name().size(), " bytes)"));
    }
    if (event.description().size() > kMaxEventDescriptionBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("events.description of '", event.name(), "' is ",
                       event.description().size(), " bytes, over the limit of ",
                       kMaxEventDescriptionBytes));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckIncompleteness(
    const google::protobuf::RepeatedPtrField<v1::Incompleteness>& entries) {
  for (const v1::Incompleteness& entry : entries) {
    if (entry.type().empty() == entry.scope().empty()) {
      return absl::InvalidArgumentError(
          "outcome.incomplete: exactly one of type and scope must be set");
    }
    if (entry.type().size() > kMaxReportedKeyBytes ||
        entry.scope().size() > kMaxReportedKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("outcome.incomplete: type and scope are at most ",
                       kMaxReportedKeyBytes, " bytes"));
    }
    if (entry.reason().empty() ||
        entry.reason().size() > kMaxEventDescriptionBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "outcome.incomplete.reason must be 1 to ", kMaxEventDescriptionBytes,
          " bytes (got ", entry.reason().size(), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckScopes(const v1::ResultBatch& batch) {
  if ((batch.entity_scopes_size() != 0 &&
       batch.entity_scopes_size() != batch.entities_size()) ||
      (batch.relationship_scopes_size() != 0 &&
       batch.relationship_scopes_size() != batch.relationships_size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch: entity_scopes (", batch.entity_scopes_size(),
        ") and relationship_scopes (", batch.relationship_scopes_size(),
        ") must be empty or as many as entities (", batch.entities_size(),
        ") and relationships (", batch.relationships_size(), ")"));
  }
  return absl::OkStatus();
}

bool AllObjectsValid(const v1::ResultBatch& batch) {
  bool all_valid = true;
  for (const v1::Entity& entity : batch.entities())
    all_valid &= ValidateEntity(entity).ok();
  for (const v1::Relationship& relationship : batch.relationships())
    all_valid &= ValidateRelationship(relationship).ok();
  return all_valid;
}

v1::ResultBatch ValidObjects(const v1::ResultBatch& batch) {
  v1::ResultBatch valid;
  *valid.mutable_events() = batch.events();
  auto reject = [&](const absl::Status& status) {
    v1::Event* event = valid.add_events();
    event->set_level(v1::EVENT_LEVEL_WARN);
    event->set_name("object_rejected");
    event->set_description(
        absl::StrCat(status.message(), "; the object was not stored"));
  };
  for (int i = 0; i < batch.entities_size(); ++i) {
    absl::Status status = ValidateEntity(batch.entities(i));
    if (!status.ok()) {
      reject(status);
      continue;
    }
    *valid.add_entities() = batch.entities(i);
    if (batch.entity_scopes_size() > 0)
      valid.add_entity_scopes(batch.entity_scopes(i));
  }
  for (int i = 0; i < batch.relationships_size(); ++i) {
    absl::Status status = ValidateRelationship(batch.relationships(i));
    if (!status.ok()) {
      reject(status);
      continue;
    }
    *valid.add_relationships() = batch.relationships(i);
    if (batch.relationship_scopes_size() > 0)
      valid.add_relationship_scopes(batch.relationship_scopes(i));
  }
  return valid;
}

absl::StatusOr<CheckedOutcome> CheckOutcome(const v1::TaskOutcome& outcome,
                                            const Redactor& redactor) {
  CheckedOutcome checked;
  checked.succeeded = outcome.status() == v1::TASK_OUTCOME_STATUS_SUCCEEDED;
  std::string error = outcome.error();
  if (!checked.succeeded && error.empty())
    error = "the task failed without an error message";
  if (outcome.status() == v1::TASK_OUTCOME_STATUS_INVALID_CONFIG)
    error = absl::StrCat("invalid config: ", error);
  GM_RETURN_IF_ERROR(CheckIncompleteness(outcome.incomplete()));
  if (error.size() > kMaxEventDescriptionBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("outcome.error is ", error.size(),
                     " bytes, over the limit of ", kMaxEventDescriptionBytes));
  }
  checked.error = redactor.Redact(error);
  checked.incomplete.assign(outcome.incomplete().begin(),
                            outcome.incomplete().end());
  for (v1::Incompleteness& entry : checked.incomplete)
    entry.set_reason(redactor.Redact(entry.reason()));
  return checked;
}

void Redactors::Set(const std::string& instance_id, Redactor redactor) {
  absl::MutexLock lock(&mu_);
  redactors_[instance_id] = std::move(redactor);
}

Redactor Redactors::For(const std::string& instance_id) const {
  absl::MutexLock lock(&mu_);
  auto found = redactors_.find(instance_id);
  return found == redactors_.end() ? Redactor() : found->second;
}

absl::StatusOr<int64_t> Merger::AcceptBatch(const v1::TaskAttempt& attempt,
                                            const v1::ResultBatch& in) {
  GM_RETURN_IF_ERROR(CheckWorkerEvents(in.events()));
  const v1::ResultBatch* checked = &in;
  v1::ResultBatch redacted;
  if (in.events_size() > 0) {
    GM_ASSIGN_OR_RETURN(TaskRecord task, store_->GetTask(attempt.task_id()));
    const Redactor redactor = redactors_->For(task.instance_id);
    redacted = in;
    for (v1::Event& event : *redacted.mutable_events())
      event.set_description(redactor.Redact(event.description()));
    checked = &redacted;
  }
  GM_RETURN_IF_ERROR(CheckScopes(*checked));
  // Invalid objects never reach the graph; each is reported with its key and
  // the rule.
  if (AllObjectsValid(*checked)) {
    GM_RETURN_IF_ERROR(store_->StageBatch(attempt, *checked, clock_->NowMs()));
    return checked->entities_size() + checked->relationships_size();
  }
  const v1::ResultBatch valid = ValidObjects(*checked);
  GM_RETURN_IF_ERROR(store_->StageBatch(attempt, valid, clock_->NowMs()));
  return valid.entities_size() + valid.relationships_size();
}

absl::StatusOr<CheckedOutcome> Merger::CheckAttemptOutcome(
    const v1::TaskAttempt& attempt, const v1::TaskOutcome& outcome,
    TaskRecord* task) {
  GM_ASSIGN_OR_RETURN(*task, store_->GetTask(attempt.task_id()));
  return CheckOutcome(outcome, redactors_->For(task->instance_id));
}

}  // namespace graphmill::coordinator
