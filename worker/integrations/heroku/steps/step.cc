// Implementation of steps/step.h: the Step every Heroku handler gets, and the
// shared reads and joins.
#include "worker/integrations/heroku/steps/step.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "worker/integrations/common/entity_builder.h"
#include "worker/integrations/heroku/converters.h"

namespace graphmill::worker::heroku {
namespace {

// "Could not fetch <resource> (<HTTP error>): ...".
std::string DescribeMissingPermission(absl::string_view resource,
                                      const absl::Status& error) {
  return absl::StrCat("Could not fetch ", resource, " (", error.message(),
                      "): make sure the API key's user may read it.");
}

constexpr TaskStepOptions kTaskStepOptions = {"heroku", kMaxInFlightRequests,
                                              &DescribeMissingPermission};

}  // namespace

Step::Step(absl::string_view id, std::vector<std::string> declared_types,
           HerokuClient& client, StepContext& context)
    : TaskStep(kTaskStepOptions, id, std::move(declared_types), context),
      client(client) {}

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ReadKeysById(
    StepContext& context, absl::string_view type) {
  absl::flat_hash_map<std::string, std::string> keys;
  absl::Status status =
      context.ForEachEntity(type, [&](const v1::Entity& entity) {
        keys.emplace(StringProperty(entity, "id"), entity.key());
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return keys;
}

absl::Status JoinOnParentId(Step& step, absl::string_view parent_type,
                            absl::string_view class_name,
                            absl::string_view child_type,
                            absl::string_view parent_id_property) {
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> parents =
      ReadKeysById(step.context, parent_type);
  if (!parents.ok()) return parents.status();
  return step.context.ForEachEntity(
      child_type, [&](const v1::Entity& child) -> absl::Status {
        auto parent = parents->find(StringProperty(child, parent_id_property));
        if (parent == parents->end()) return absl::OkStatus();
        return step.AddRelationshipOnce(Relate(
            parent->second, parent_type, class_name, child.key(), child_type));
      });
}

}  // namespace graphmill::worker::heroku
