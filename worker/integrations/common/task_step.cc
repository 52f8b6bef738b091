// The per-task step helper and parent reading.
#include "worker/integrations/common/task_step.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/log.h"
#include "worker/integrations/common/entity_builder.h"
#include "worker/integrations/common/fan_out.h"

namespace graphmill::worker {

bool IsPermissionOrNotFound(const absl::Status& status) {
  const http::HttpErrorKind kind = http::HttpErrorKindOf(status);
  return kind == http::HttpErrorKind::kPermission ||
         kind == http::HttpErrorKind::kNotFound;
}

bool KeySet::Insert(const std::string& key) {
  absl::MutexLock lock(&mutex_);
  return keys_.insert(key).second;
}

TaskStep::TaskStep(const TaskStepOptions& options, absl::string_view step_id,
                   std::vector<std::string> declared_types,
                   StepContext& context)
    : id(step_id),
      context(context),
      options_(options),
      declared_types_(std::move(declared_types)) {}

absl::Status TaskStep::AddEntityOnce(v1::Entity entity,
                                     absl::string_view scope) {
  if (!added_.Insert(entity.key())) return absl::OkStatus();
  return context.AddEntity(std::move(entity), scope);
}

absl::Status TaskStep::AddRelationshipOnce(v1::Relationship relationship,
                                           absl::string_view scope) {
  if (!added_.Insert(relationship.key())) return absl::OkStatus();
  return context.AddRelationship(std::move(relationship), scope);
}

bool TaskStep::CanCarry() const {
  for (const std::string& type : declared_types_) {
    if (!context.CanCarry(type)) return false;
  }
  return !declared_types_.empty();
}

absl::Status TaskStep::FanOut(size_t count,
                              const std::function<absl::Status(size_t)>& task) {
  // The coordinator's share of the credential's requests in flight, else the
  // integration's default.
  const int given = context.max_requests_in_flight();
  const int in_flight = given > 0 ? given : options_.max_in_flight_requests;
  return RunConcurrently(
      count, in_flight, task, [this] { return context.cancelled(); },
      [this, in_flight] {
        const int share = context.max_requests_in_flight();
        return share > 0 ? share : in_flight;
      });
}

void TaskStep::Warn(absl::string_view name, absl::string_view description) {
  LogWarn(options_.integration, " step ", id, ": ",
          context.Redact(description));
  context.AddEvent(v1::EVENT_LEVEL_WARN, name, description);
}

std::string TaskStep::MissingReason(const absl::Status& error,
                                    absl::string_view listing) {
  return absl::StrCat("HTTP ", http::HttpStatusOf(error), " on ", listing);
}

absl::Status TaskStep::WarnIfMissingPermission(const absl::Status& error,
                                               absl::string_view resource,
                                               absl::string_view listing,
                                               absl::string_view scope) {
  if (error.ok() || !IsPermissionOrNotFound(error)) return error;
  Warn(kMissingPermissionEvent,
       options_.describe_missing_permission(resource, error));
  const std::string reason = MissingReason(error, listing);
  if (!scope.empty()) {
    context.MarkScopeIncomplete(scope, reason);
  } else {
    for (const std::string& type : declared_types_) {
      context.MarkPartial(type, reason);
    }
  }
  return absl::OkStatus();
}

std::string ParentEntity::Describe(absl::string_view kind) const {
  return absl::StrCat(kind, " '", name, "' (", id, ")");
}

absl::StatusOr<ParentEntity> ParentOf(const v1::Entity& entity) {
  std::string id = StringProperty(entity, "id");
  if (id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("entity '", entity.key(), "' has no 'id' property"));
  }
  return ParentEntity{entity.key(), std::move(id),
                      StringProperty(entity, "name")};
}

absl::StatusOr<std::vector<ParentEntity>> ReadParents(StepContext& context,
                                                      absl::string_view type) {
  std::vector<ParentEntity> parents;
  absl::Status status = context.ForEachEntity(
      type, [&](const v1::Entity& entity) -> absl::Status {
        absl::StatusOr<ParentEntity> parent = ParentOf(entity);
        if (!parent.ok()) return parent.status();
        parents.push_back(*std::move(parent));
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return parents;
}

}  // namespace graphmill::worker
