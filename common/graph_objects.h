// Building and validating graph objects the way JupiterOne's SDK does: property
// values, timestamps, relationship keys and types, and the data-model
// validation rules.
#ifndef GRAPHMILL_COMMON_GRAPH_OBJECTS_H_
#define GRAPHMILL_COMMON_GRAPH_OBJECTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "graphmill/v1/graph.pb.h"

namespace graphmill {

namespace v1 = ::graphmill::v1;

v1::Value NullValue();
v1::Value BoolValue(bool value);
v1::Value IntValue(int64_t value);
v1::Value DoubleValue(double value);
v1::Value StringValue(absl::string_view value);
v1::Value StringListValue(const std::vector<std::string>& values);

// Parses an ISO-8601/RFC 3339 timestamp ("2024-03-21T10:00:00.123Z") into epoch
// milliseconds. Returns nullopt for an empty or unparsable string (the SDK then
// leaves the property unset).
std::optional<int64_t> ParseTimestampMs(absl::string_view text);

// "<fromKey>|<class lower-case>|<toKey>".
std::string RelationshipKey(absl::string_view from_key,
                            absl::string_view class_name,
                            absl::string_view to_key);

// "<fromType>_<class lower>_<toType minus the leading '_' segments it shares
// with fromType>", keeping at least toType's last segment: (aws_iam_user, HAS,
// aws_iam_group) gives "aws_iam_user_has_group".
std::string RelationshipType(absl::string_view from_type,
                             absl::string_view class_name,
                             absl::string_view to_type);

// A direct relationship as createDirectRelationship builds it: key and type
// generated, class upper-cased, displayName = class.
v1::Relationship DirectRelationship(absl::string_view from_key,
                                    absl::string_view from_type,
                                    absl::string_view class_name,
                                    absl::string_view to_key,
                                    absl::string_view to_type);
v1::Relationship DirectRelationship(const v1::Entity& from,
                                    absl::string_view class_name,
                                    const v1::Entity& to);

// True if `name` matches ^(_|tag\.)?[A-Za-z0-9. -]+$.
bool IsValidPropertyName(absl::string_view name);

// Data-model rules (ARCHITECTURE.md §2): `_key` >= 10 characters, `_type` >= 3,
// at least one class, `name` and `displayName` present, property names valid,
// Service has `category` and `function`. INVALID_ARGUMENT names the key and the
// rule broken.
absl::Status ValidateEntity(const v1::Entity& entity);

// `_key` >= 10, `_type` >= 3, a class, both endpoints, primitive properties
// only, valid names.
absl::Status ValidateRelationship(const v1::Relationship& relationship);

}  // namespace graphmill

#endif  // GRAPHMILL_COMMON_GRAPH_OBJECTS_H_
