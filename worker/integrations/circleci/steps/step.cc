// Implementation of steps/step.h: the Step every CircleCI handler gets, and
// the shared reads.
#include "worker/integrations/circleci/steps/step.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/common/entity_builder.h"

namespace graphmill::worker::circleci {
namespace {

// "Could not fetch <resource> (HTTP 403): ...".
std::string DescribeMissingPermission(absl::string_view resource,
                                      const absl::Status& error) {
  return absl::StrCat(
      "Could not fetch ", resource, " (HTTP ", http::HttpStatusOf(error),
      "): make sure the API token belongs to a user with access to it.");
}

constexpr TaskStepOptions kTaskStepOptions = {"circleci", kMaxInFlightRequests,
                                              &DescribeMissingPermission};

}  // namespace

Step::Step(absl::string_view id, std::vector<std::string> declared_types,
           const CircleCiConfig& config, CircleCiClient& client,
           StepContext& context)
    : TaskStep(kTaskStepOptions, id, std::move(declared_types), context),
      config(config),
      client(client) {}

absl::StatusOr<std::vector<v1::Entity>> ReadEntities(StepContext& context,
                                                     absl::string_view type) {
  std::vector<v1::Entity> entities;
  absl::Status status =
      context.ForEachEntity(type, [&](const v1::Entity& entity) {
        entities.push_back(entity);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return entities;
}

absl::StatusOr<absl::flat_hash_set<std::string>> ReadKeys(
    StepContext& context, absl::string_view type) {
  absl::flat_hash_set<std::string> keys;
  absl::Status status =
      context.ForEachEntity(type, [&](const v1::Entity& entity) {
        keys.insert(entity.key());
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return keys;
}

absl::StatusOr<std::vector<Organization>> ReadOrganizations(
    StepContext& context) {
  std::vector<Organization> organizations;
  absl::Status status =
      context.ForEachEntity(kUserGroupType, [&](const v1::Entity& group) {
        std::string slug = StringProperty(group, "slug");
        if (!slug.empty()) organizations.push_back({group.key(), slug});
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return organizations;
}

bool IsFinishedWorkflowStatus(absl::string_view status) {
  return status == "success" || status == "failed" || status == "error" ||
         status == "canceled" || status == "unauthorized" ||
         status == "not_run";
}

int64_t IntProperty(const v1::Entity& entity, absl::string_view name) {
  auto it = entity.properties().find(std::string(name));
  if (it == entity.properties().end() ||
      it->second.kind_case() != v1::Value::kIntValue) {
    return 0;
  }
  return it->second.int_value();
}

absl::StatusOr<std::map<std::string, v1::Entity>> KnownByKey(
    StepContext& context, absl::string_view type) {
  std::map<std::string, v1::Entity> known;
  absl::Status status = context.ForEachKnownEntity(
      type, [&](const v1::Entity& entity, const std::string&) {
        known.emplace(entity.key(), entity);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return known;
}

absl::StatusOr<std::map<std::string, std::vector<v1::Entity>>> KnownByScope(
    StepContext& context, absl::string_view type) {
  std::map<std::string, std::vector<v1::Entity>> known;
  absl::Status status = context.ForEachKnownEntity(
      type, [&](const v1::Entity& entity, const std::string& scope) {
        known[scope].push_back(entity);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return known;
}

void ReportCarried(Step& step, size_t carried, size_t total,
                   absl::string_view what) {
  step.context.AddEvent(
      v1::EVENT_LEVEL_INFO, "incremental_carry",
      absl::StrCat("incremental run: ", carried, " of ", total, " ", what,
                   " carried forward from the graph"));
}

}  // namespace graphmill::worker::circleci
