// Pure functions from one CircleCI API object to one graphmill entity or
// relationship, with the reference's keys, classes and properties
// (shared/spec/circleci.md §4-§5).
//
// Each entity gets `displayName` = `name`, timestamps in epoch ms, and the
// provider object as its "default" raw data. A source object missing the string
// `id` (or `name`/`variable` for env vars) gives INVALID_ARGUMENT naming the
// object kind; nothing else is required.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CONVERTERS_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CONVERTERS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graphmill/v1/graph.pb.h"
#include "rapidjson/document.h"
#include "worker/integrations/common/entity_builder.h"

namespace graphmill::worker::circleci {

namespace v1 = ::graphmill::v1;

// Keys. Env-var keys are scoped to their parent, unlike the reference's (see
// README.md).
std::string AccountKey(absl::string_view user_id);
std::string UserGroupKey(absl::string_view id);
std::string UserKey(absl::string_view id);
std::string PipelineKey(absl::string_view id);
std::string WorkflowKey(absl::string_view id);
std::string JobKey(absl::string_view id);
std::string ProjectKey(absl::string_view id);
std::string ProjectEnvVarKey(absl::string_view project_id,
                             absl::string_view name);
std::string ContextKey(absl::string_view id);
std::string ContextEnvVarKey(absl::string_view context_id,
                             absl::string_view variable);

// The account, from config: raw data {login, id}.
v1::Entity AccountEntity(absl::string_view user_id, absl::string_view login);
// A /me/collaborations item.
absl::StatusOr<v1::Entity> UserGroupEntity(
    const rapidjson::Value& collaboration);
// The /me object.
absl::StatusOr<v1::Entity> UserEntity(const rapidjson::Value& me);
// A /pipeline item (name = id, as the reference does).
absl::StatusOr<v1::Entity> PipelineEntity(const rapidjson::Value& pipeline);
// A /pipeline/{id}/workflow item.
absl::StatusOr<v1::Entity> WorkflowEntity(const rapidjson::Value& workflow);
// A /workflow/{id}/job item.
absl::StatusOr<v1::Entity> JobEntity(const rapidjson::Value& job);
// A /project/{slug} object (slug kept in raw data only, as the reference).
absl::StatusOr<v1::Entity> ProjectEntity(const rapidjson::Value& project);
// A /project/{slug}/envvar item of the given project. The masked `value` is
// dropped from the raw data and never becomes a property.
absl::StatusOr<v1::Entity> ProjectEnvVarEntity(const rapidjson::Value& env_var,
                                               absl::string_view project_id,
                                               absl::string_view project_slug);
// A /context item.
absl::StatusOr<v1::Entity> ContextEntity(const rapidjson::Value& context);
// A /context/{id}/environment-variable item of context `context_id`. Any
// `value` a server might send is dropped too.
absl::StatusOr<v1::Entity> ContextEnvVarEntity(const rapidjson::Value& env_var,
                                               absl::string_view context_id);

// `from` -[HAS|USES]-> `to`, built as the reference's createDirectRelationship.
v1::Relationship HasRelationship(const v1::Entity& from, const v1::Entity& to);
v1::Relationship HasRelationship(absl::string_view from_key,
                                 absl::string_view from_type,
                                 absl::string_view to_key,
                                 absl::string_view to_type);
v1::Relationship UsesRelationship(absl::string_view from_key,
                                  absl::string_view from_type,
                                  absl::string_view to_key,
                                  absl::string_view to_type);

// A string property of `entity` ("" when absent or not a string); see
// common/entity_builder.h.
using ::graphmill::worker::StringProperty;

// The project's slug, read from its "default" raw data (the slug is not a
// property). INVALID_ARGUMENT naming the key when the raw data holds none.
absl::StatusOr<std::string> ProjectSlugOf(const v1::Entity& project);

// `value` serialized as compact JSON; see common/entity_builder.h.
using ::graphmill::worker::ToJson;

}  // namespace graphmill::worker::circleci

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CONVERTERS_H_
