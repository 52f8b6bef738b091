// Provider JSON readers and the createIntegrationEntity-style entity builder.
#include "worker/integrations/common/entity_builder.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "common/redact.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::worker {

std::string ToJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<std::string> StringField(const rapidjson::Value& object,
                                       const char* name) {
  if (!object.IsObject()) return std::nullopt;
  auto member = object.FindMember(name);
  if (member == object.MemberEnd() || !member->value.IsString()) {
    return std::nullopt;
  }
  return std::string(member->value.GetString(),
                     member->value.GetStringLength());
}

const rapidjson::Value* ObjectField(const rapidjson::Value& object,
                                    const char* name) {
  if (!object.IsObject()) return nullptr;
  auto member = object.FindMember(name);
  if (member == object.MemberEnd() || !member->value.IsObject()) return nullptr;
  return &member->value;
}

absl::Status NotAnObjectError(absl::string_view provider,
                              absl::string_view kind) {
  return absl::InvalidArgumentError(
      absl::StrCat(provider, " ", kind, " is not a JSON object"));
}

absl::StatusOr<std::string> RequiredStringField(const rapidjson::Value& object,
                                                const char* field,
                                                absl::string_view provider,
                                                absl::string_view kind) {
  if (!object.IsObject()) return NotAnObjectError(provider, kind);
  std::optional<std::string> value = StringField(object, field);
  if (!value.has_value() || value->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(provider, " ", kind, " has no string '", field,
                     "': ", QuoteJsonWholeTokens(ToJson(object))));
  }
  return *value;
}

std::string StringProperty(const v1::Entity& entity, absl::string_view name) {
  auto it = entity.properties().find(std::string(name));
  if (it == entity.properties().end() ||
      it->second.kind_case() != v1::Value::kStringValue) {
    return "";
  }
  return it->second.string_value();
}

EntityBuilder::EntityBuilder(absl::string_view type,
                             absl::string_view class_name, std::string key,
                             const rapidjson::Value& source)
    : source_(source) {
  entity_.set_key(std::move(key));
  entity_.set_type(std::string(type));
  entity_.add_classes(std::string(class_name));
}

void EntityBuilder::Set(const char* property, v1::Value value) {
  (*entity_.mutable_properties())[property] = std::move(value);
}

void EntityBuilder::Copy(const char* property, const char* field) {
  if (!source_.IsObject()) return;
  auto member = source_.FindMember(field);
  if (member == source_.MemberEnd()) return;
  const rapidjson::Value& value = member->value;
  if (value.IsString()) {
    Set(property, StringValue(absl::string_view(value.GetString(),
                                                value.GetStringLength())));
  } else if (value.IsBool()) {
    Set(property, BoolValue(value.GetBool()));
  } else if (value.IsInt64()) {
    Set(property, IntValue(value.GetInt64()));
  } else if (value.IsNumber()) {
    Set(property, DoubleValue(value.GetDouble()));
  } else if (value.IsNull()) {
    Set(property, NullValue());
  }
}

void EntityBuilder::Timestamp(const char* property, const char* field) {
  std::optional<std::string> text = StringField(source_, field);
  if (!text.has_value()) return;
  std::optional<int64_t> millis = ParseTimestampMs(*text);
  if (millis.has_value()) Set(property, IntValue(*millis));
}

void EntityBuilder::Name(absl::string_view name) {
  Set("name", StringValue(name));
  Set("displayName", StringValue(name));
}

v1::Entity EntityBuilder::Build(std::string raw_json) {
  v1::RawData* raw = entity_.add_raw_data();
  raw->set_name("default");
  raw->set_json(std::move(raw_json));
  return std::move(entity_);
}

v1::Entity EntityBuilder::Build() { return Build(ToJson(source_)); }

}  // namespace graphmill::worker
