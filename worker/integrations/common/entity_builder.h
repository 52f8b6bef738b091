// Shared pieces of the converters: reading provider JSON (string members,
// required ids, compact serialization) and building one entity the way the
// JupiterOne SDK's createIntegrationEntity does.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_COMMON_ENTITY_BUILDER_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_COMMON_ENTITY_BUILDER_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graphmill/v1/graph.pb.h"
#include "rapidjson/document.h"

namespace graphmill::worker {

namespace v1 = ::graphmill::v1;

// `value` serialized as compact JSON.
std::string ToJson(const rapidjson::Value& value);

// The string member `name` of `object`; nullopt when `object` is not an object
// or the member is absent or not a string.
std::optional<std::string> StringField(const rapidjson::Value& object,
                                       const char* name);

// The object member `name` of `object`, or nullptr (same rules as
// StringField). The pointer lives as long as `object`.
const rapidjson::Value* ObjectField(const rapidjson::Value& object,
                                    const char* name);

// INVALID_ARGUMENT "<provider> <kind> is not a JSON object".
absl::Status NotAnObjectError(absl::string_view provider,
                              absl::string_view kind);

// The non-empty string member `field` of `object`. INVALID_ARGUMENT naming
// `provider` and `kind` (e.g. "CircleCI", "pipeline") when `object` is not an
// object, or "<provider> <kind> has no string '<field>': <json>" with the
// object quoted by QuoteJsonWholeTokens (at most ~200 bytes, each string whole
// or not at all, so the caller's Redactor can still find a secret in it).
absl::StatusOr<std::string> RequiredStringField(const rapidjson::Value& object,
                                                const char* field,
                                                absl::string_view provider,
                                                absl::string_view kind);

// A string property of `entity` ("" when absent or not a string).
std::string StringProperty(const v1::Entity& entity, absl::string_view name);

// Builds one entity the way createIntegrationEntity does with `assign`:
// `_class` as a list, the source object as "default" raw data; a source field
// that is absent (undefined in JS) leaves the property unset, null stays null.
// Holds a reference to `source`, which must outlive the builder.
class EntityBuilder {
 public:
  EntityBuilder(absl::string_view type, absl::string_view class_name,
                std::string key, const rapidjson::Value& source);

  // Sets (or replaces) property `property`.
  void Set(const char* property, v1::Value value);

  // Copies a primitive source field (strings, numbers, booleans, null); other
  // kinds and absent fields leave the property unset.
  void Copy(const char* property, const char* field);

  // An ISO-8601 source field as epoch ms; absent, null, empty or unparsable
  // leaves it unset (as parseTimePropertyValue / getTime give undefined).
  void Timestamp(const char* property, const char* field);

  // name and displayName (the SDK defaults displayName to name).
  void Name(absl::string_view name);

  // The entity, with `raw_json` (or the whole source) as "default" raw data.
  // Call once; the builder is spent afterwards.
  v1::Entity Build(std::string raw_json);
  v1::Entity Build();

 private:
  const rapidjson::Value& source_;
  v1::Entity entity_;
};

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_ENTITY_BUILDER_H_
