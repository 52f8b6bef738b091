// Implementation of common/graph_objects.h.
#include "common/graph_objects.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace graphmill {

v1::Value NullValue() {
  v1::Value value;
  value.set_null_value(true);
  return value;
}

v1::Value BoolValue(bool b) {
  v1::Value value;
  value.set_bool_value(b);
  return value;
}

v1::Value IntValue(int64_t i) {
  v1::Value value;
  value.set_int_value(i);
  return value;
}

v1::Value DoubleValue(double d) {
  v1::Value value;
  value.set_double_value(d);
  return value;
}

v1::Value StringValue(absl::string_view s) {
  v1::Value value;
  value.set_string_value(std::string(s));
  return value;
}

v1::Value StringListValue(const std::vector<std::string>& values) {
  v1::Value value;
  v1::ValueList* list = value.mutable_list_value();
  for (const std::string& s : values) list->add_values()->set_string_value(s);
  return value;
}

std::optional<int64_t> ParseTimestampMs(absl::string_view text) {
  if (text.empty()) return std::nullopt;
  absl::Time time;
  std::string error;
  // %Ez accepts "Z" as well as numeric offsets; %E*S takes any fraction of a
  // second.
  if (!absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S%Ez", text, &time, &error)) {
    return std::nullopt;
  }
  return absl::ToUnixMillis(time);
}

std::string RelationshipKey(absl::string_view from_key,
                            absl::string_view class_name,
                            absl::string_view to_key) {
  return absl::StrCat(from_key, "|", absl::AsciiStrToLower(class_name), "|",
                      to_key);
}

std::string RelationshipType(absl::string_view from_type,
                             absl::string_view class_name,
                             absl::string_view to_type) {
  std::vector<absl::string_view> from_parts = absl::StrSplit(from_type, '_');
  std::vector<absl::string_view> to_parts = absl::StrSplit(to_type, '_');
  size_t shared = 0;
  while (shared < from_parts.size() && shared + 1 < to_parts.size() &&
         from_parts[shared] == to_parts[shared]) {
    ++shared;
  }
  std::vector<absl::string_view> rest(to_parts.begin() + shared,
                                      to_parts.end());
  return absl::StrCat(from_type, "_", absl::AsciiStrToLower(class_name), "_",
                      absl::StrJoin(rest, "_"));
}

v1::Relationship DirectRelationship(absl::string_view from_key,
                                    absl::string_view from_type,
                                    absl::string_view class_name,
                                    absl::string_view to_key,
                                    absl::string_view to_type) {
  v1::Relationship relationship;
  const std::string upper = absl::AsciiStrToUpper(class_name);
  relationship.set_key(RelationshipKey(from_key, upper, to_key));
  relationship.set_type(RelationshipType(from_type, upper, to_type));
  relationship.set_class_name(upper);
  relationship.set_from_entity_key(std::string(from_key));
  relationship.set_to_entity_key(std::string(to_key));
  (*relationship.mutable_properties())["displayName"] = StringValue(upper);
  return relationship;
}

v1::Relationship DirectRelationship(const v1::Entity& from,
                                    absl::string_view class_name,
                                    const v1::Entity& to) {
  return DirectRelationship(from.key(), from.type(), class_name, to.key(),
                            to.type());
}

bool IsValidPropertyName(absl::string_view name) {
  if (absl::StartsWith(name, "_")) {
    name.remove_prefix(1);
  } else if (absl::StartsWith(name, "tag.")) {
    name.remove_prefix(4);
  }
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != ' ' && c != '-') {
      return false;
    }
  }
  return true;
}

namespace {

absl::Status Invalid(absl::string_view what, absl::string_view key,
                     absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(what, " '", key, "': ", rule));
}

bool IsPrimitive(const v1::Value& value) {
  return value.kind_case() != v1::Value::kListValue;
}

absl::Status ValidateProperties(
    absl::string_view what, absl::string_view key,
    const google::protobuf::Map<std::string, v1::Value>& properties,
    bool allow_lists) {
  for (const auto& [name, value] : properties) {
    if (!IsValidPropertyName(name)) {
      return Invalid(
          what, key,
          absl::StrCat("property name '", name,
                       "' does not match ^(_|tag\\.)?[A-Za-z0-9. -]+$"));
    }
    if (value.kind_case() == v1::Value::kListValue) {
      if (!allow_lists) {
        return Invalid(what, key,
                       absl::StrCat("property '", name,
                                    "' must be a primitive, not a list"));
      }
      for (const v1::Value& element : value.list_value().values()) {
        if (!IsPrimitive(element)) {
          return Invalid(
              what, key,
              absl::StrCat("property '", name, "' holds a nested list"));
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateEntity(const v1::Entity& entity) {
  if (entity.key().size() < 10) {
    return Invalid("entity", entity.key(),
                   "_key must be at least 10 characters");
  }
  if (entity.type().size() < 3) {
    return Invalid("entity", entity.key(),
                   "_type must be at least 3 characters");
  }
  if (entity.classes().empty()) {
    return Invalid("entity", entity.key(), "_class must not be empty");
  }
  for (const char* required : {"name", "displayName"}) {
    if (!entity.properties().contains(required)) {
      return Invalid(
          "entity", entity.key(),
          absl::StrCat("required property '", required, "' is missing"));
    }
  }
  for (const std::string& class_name : entity.classes()) {
    if (class_name != "Service") continue;
    for (const char* required : {"category", "function"}) {
      if (!entity.properties().contains(required)) {
        return Invalid(
            "entity", entity.key(),
            absl::StrCat("class Service requires property '", required, "'"));
      }
    }
  }
  return ValidateProperties("entity", entity.key(), entity.properties(),
                            /*allow_lists=*/true);
}

absl::Status ValidateRelationship(const v1::Relationship& relationship) {
  const std::string& key = relationship.key();
  if (key.size() < 10) {
    return Invalid("relationship", key, "_key must be at least 10 characters");
  }
  if (relationship.type().size() < 3) {
    return Invalid("relationship", key, "_type must be at least 3 characters");
  }
  if (relationship.class_name().empty()) {
    return Invalid("relationship", key, "_class must not be empty");
  }
  if (relationship.from_entity_key().empty() ||
      relationship.to_entity_key().empty()) {
    return Invalid("relationship", key,
                   "_fromEntityKey and _toEntityKey are required");
  }
  return ValidateProperties("relationship", key, relationship.properties(),
                            /*allow_lists=*/false);
}

}  // namespace graphmill
