// Implementation of client/json_output.h.
#include "client/json_output.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/graph_json.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "graphmill/v1/graph.pb.h"

namespace graphmill::cli {
namespace {

using google::protobuf::FieldDescriptor;

constexpr char kTypeUrlPrefix[] = "type.googleapis.com";
using google::protobuf::Message;

bool IsGraphObject(const google::protobuf::Descriptor* type) {
  return type == v1::Entity::descriptor() ||
         type == v1::Relationship::descriptor();
}

std::string GraphObjectToJson(const Message& object, bool include_raw_data) {
  if (object.GetDescriptor() == v1::Entity::descriptor()) {
    return EntityToJson(static_cast<const v1::Entity&>(object),
                        include_raw_data);
  }
  return RelationshipToJson(static_cast<const v1::Relationship&>(object));
}

}  // namespace

std::string ToJson(const Message& message, bool include_raw_data) {
  if (IsGraphObject(message.GetDescriptor())) {
    return GraphObjectToJson(message, include_raw_data);
  }
  // Graph-object fields are taken out of a copy, which protobuf prints, and
  // spliced back in flat after its fields.
  std::unique_ptr<Message> rest(message.New());
  rest->CopyFrom(message);
  const google::protobuf::Reflection* reflection = rest->GetReflection();
  std::vector<std::pair<std::string, std::string>> flat;
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->is_repeated() ||
        field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        !IsGraphObject(field->message_type()) ||
        !reflection->HasField(*rest, field)) {
      continue;
    }
    flat.emplace_back(field->json_name(),
                      GraphObjectToJson(reflection->GetMessage(*rest, field),
                                        include_raw_data));
    reflection->ClearField(rest.get(), field);
  }

  // What MessageToJsonString does, but from a deterministic serialization:
  // map entries then come sorted by key, so the same message always prints
  // the same line (scripts may diff or compare them).
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    rest->SerializeToCodedStream(&coded);
  }
  static google::protobuf::util::TypeResolver* const resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          kTypeUrlPrefix, google::protobuf::DescriptorPool::generated_pool());
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::BinaryToJsonString(
           resolver, absl::StrCat(kTypeUrlPrefix, "/", message.GetTypeName()),
           binary, &json, options)
           .ok() ||
      json.empty() || json.back() != '}') {
    return absl::StrCat("{\"error\":\"cannot convert ", message.GetTypeName(),
                        " to JSON\"}");
  }
  json.pop_back();
  for (const auto& [name, object] : flat) {
    // Field names are identifiers: nothing to escape.
    absl::StrAppend(&json, json.size() > 1 ? "," : "", "\"", name,
                    "\":", object);
  }
  json.push_back('}');
  return json;
}

std::string JsonLine(const Message& message, bool include_raw_data) {
  return absl::StrCat(ToJson(message, include_raw_data), "\n");
}

}  // namespace graphmill::cli
