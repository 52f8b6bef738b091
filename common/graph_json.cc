// Implementation of common/graph_json.h with RapidJSON's writer.
#include "common/graph_json.h"

#include <algorithm>
#include <map>
#include <vector>

#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteValue(const v1::Value& value, Writer& writer) {
  switch (value.kind_case()) {
    case v1::Value::kBoolValue:
      writer.Bool(value.bool_value());
      break;
    case v1::Value::kIntValue:
      writer.Int64(value.int_value());
      break;
    case v1::Value::kDoubleValue:
      writer.Double(value.double_value());
      break;
    case v1::Value::kStringValue:
      writer.String(
          value.string_value().data(),
          static_cast<rapidjson::SizeType>(value.string_value().size()));
      break;
    case v1::Value::kListValue:
      writer.StartArray();
      for (const v1::Value& element : value.list_value().values()) {
        WriteValue(element, writer);
      }
      writer.EndArray();
      break;
    case v1::Value::kNullValue:
    case v1::Value::KIND_NOT_SET:
      writer.Null();
      break;
  }
}

void WriteString(const std::string& s, Writer& writer) {
  writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// Properties in name order, so output is stable.
void WriteProperties(
    const google::protobuf::Map<std::string, v1::Value>& properties,
    Writer& writer) {
  std::vector<const std::string*> names;
  names.reserve(properties.size());
  for (const auto& [name, value] : properties) names.push_back(&name);
  std::sort(names.begin(), names.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  for (const std::string* name : names) {
    WriteString(*name, writer);
    WriteValue(properties.at(*name), writer);
  }
}

}  // namespace

std::string EntityToJson(const v1::Entity& entity, bool include_raw_data) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("_key");
  WriteString(entity.key(), writer);
  writer.Key("_type");
  WriteString(entity.type(), writer);
  writer.Key("_class");
  writer.StartArray();
  for (const std::string& c : entity.classes()) WriteString(c, writer);
  writer.EndArray();
  WriteProperties(entity.properties(), writer);
  if (include_raw_data && entity.raw_data_size() > 0) {
    writer.Key("_rawData");
    writer.StartArray();
    for (const v1::RawData& raw : entity.raw_data()) {
      writer.StartObject();
      writer.Key("name");
      WriteString(raw.name(), writer);
      writer.Key("rawData");
      rapidjson::Document document;
      document.Parse(raw.json().data(), raw.json().size());
      if (document.HasParseError()) {
        WriteString(raw.json(), writer);
      } else {
        document.Accept(writer);
      }
      writer.EndObject();
    }
    writer.EndArray();
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string RelationshipToJson(const v1::Relationship& relationship) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  writer.Key("_key");
  WriteString(relationship.key(), writer);
  writer.Key("_type");
  WriteString(relationship.type(), writer);
  writer.Key("_class");
  WriteString(relationship.class_name(), writer);
  writer.Key("_fromEntityKey");
  WriteString(relationship.from_entity_key(), writer);
  writer.Key("_toEntityKey");
  WriteString(relationship.to_entity_key(), writer);
  WriteProperties(relationship.properties(), writer);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string PropertiesToJson(
    const google::protobuf::Map<std::string, v1::Value>& properties) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  WriteProperties(properties, writer);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string ValueToJson(const v1::Value& value) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  WriteValue(value, writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace graphmill
