// Implementation of payload.h with RapidJSON.
#include "tests/fakes/jupiterone/payload.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::fakes::jupiterone {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

ApiError BadRequest(std::string code, std::string message) {
  return ApiError{400, std::move(code), std::move(message)};
}

absl::string_view View(const rapidjson::Value& value) {
  return absl::string_view(value.GetString(), value.GetStringLength());
}

bool IsNonEmptyString(const rapidjson::Value* value) {
  return value != nullptr && value->IsString() && value->GetStringLength() > 0;
}

const rapidjson::Value* Member(const rapidjson::Value& object,
                               const char* name) {
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// Parses `body` into `document`; an empty body is an empty object when
// `empty_ok`.
std::optional<ApiError> ParseObject(absl::string_view body, bool empty_ok,
                                    rapidjson::Document& document) {
  if (body.empty() && empty_ok) {
    document.SetObject();
    return std::nullopt;
  }
  document.Parse(body.data(), body.size());
  if (document.HasParseError()) {
    return BadRequest("INVALID_JSON", "request body is not valid JSON");
  }
  if (!document.IsObject()) {
    return BadRequest("INVALID_JSON", "request body must be a JSON object");
  }
  return std::nullopt;
}

bool IsPrimitive(const rapidjson::Value& value) {
  return value.IsNull() || value.IsBool() || value.IsNumber() ||
         value.IsString();
}

// Null, a primitive, or an array of primitives.
bool IsPropertyValue(const rapidjson::Value& value) {
  if (IsPrimitive(value)) return true;
  if (!value.IsArray()) return false;
  for (const rapidjson::Value& element : value.GetArray()) {
    if (!IsPrimitive(element)) return false;
  }
  return true;
}

// Why `object` (entities[index] or relationships[index]) is invalid; empty if
// it is valid.
std::string ObjectProblem(const rapidjson::Value& object, ObjectKind kind) {
  if (!object.IsObject()) return " is not an object";
  if (!IsNonEmptyString(Member(object, "_key"))) {
    return "._key is required (a non-empty string)";
  }
  if (!IsNonEmptyString(Member(object, "_type"))) {
    return "._type is required (a non-empty string)";
  }
  const rapidjson::Value* class_value = Member(object, "_class");
  if (kind == ObjectKind::kEntity && class_value != nullptr &&
      class_value->IsArray()) {
    if (class_value->Empty()) return "._class must not be an empty array";
    for (const rapidjson::Value& element : class_value->GetArray()) {
      if (!IsNonEmptyString(&element)) {
        return "._class must hold non-empty strings";
      }
    }
  } else if (!IsNonEmptyString(class_value)) {
    return kind == ObjectKind::kEntity
               ? "._class is required (a non-empty string or array of them)"
               : "._class is required (a non-empty string)";
  }
  if (kind == ObjectKind::kRelationship) {
    const rapidjson::Value* mapping = Member(object, "_mapping");
    if (mapping != nullptr) {
      if (!mapping->IsObject()) return "._mapping must be an object";
    } else {
      for (const char* end : {"_fromEntityKey", "_toEntityKey"}) {
        if (!IsNonEmptyString(Member(object, end))) {
          return absl::StrCat(".", end,
                              " is required (a non-empty string) unless "
                              "_mapping is given");
        }
      }
    }
  }
  for (const auto& member : object.GetObject()) {
    const absl::string_view name = View(member.name);
    if (name.empty()) return " has a property with an empty name";
    if (name == "_class") continue;
    if (kind == ObjectKind::kRelationship && name == "_mapping") continue;
    if (kind == ObjectKind::kEntity && name == "_rawData") {
      if (!member.value.IsArray()) return "._rawData must be an array";
      std::set<std::string> names;
      for (rapidjson::SizeType i = 0; i < member.value.Size(); ++i) {
        const rapidjson::Value& entry = member.value[i];
        const std::string where = absl::StrCat("._rawData[", i, "]");
        if (!entry.IsObject()) return absl::StrCat(where, " is not an object");
        const rapidjson::Value* entry_name = Member(entry, "name");
        if (!IsNonEmptyString(entry_name)) {
          return absl::StrCat(where, ".name is required (a non-empty string)");
        }
        const rapidjson::Value* raw = Member(entry, "rawData");
        if (raw == nullptr || !(raw->IsObject() || raw->IsString())) {
          return absl::StrCat(where,
                              ".rawData is required (an object or a string)");
        }
        if (!names.insert(std::string(View(*entry_name))).second) {
          return absl::StrCat(where, ".name '", View(*entry_name),
                              "' repeats (DUPLICATE_RAW_DATA_NAME)");
        }
      }
      continue;
    }
    if (!IsPropertyValue(member.value)) {
      return absl::StrCat(".", name,
                          " must be null, a primitive or an array of "
                          "primitives");
    }
  }
  return "";
}

void WriteCanonical(const rapidjson::Value& value, JsonWriter& writer) {
  if (value.IsObject()) {
    std::vector<const rapidjson::Value::Member*> members;
    members.reserve(value.MemberCount());
    for (const auto& member : value.GetObject()) members.push_back(&member);
    std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
      return View(a->name) < View(b->name);
    });
    writer.StartObject();
    for (const auto* member : members) {
      writer.Key(member->name.GetString(), member->name.GetStringLength());
      WriteCanonical(member->value, writer);
    }
    writer.EndObject();
  } else if (value.IsArray()) {
    writer.StartArray();
    for (const rapidjson::Value& element : value.GetArray()) {
      WriteCanonical(element, writer);
    }
    writer.EndArray();
  } else {
    value.Accept(writer);
  }
}

}  // namespace

const char* ObjectKindPlural(ObjectKind kind) {
  return kind == ObjectKind::kEntity ? "entities" : "relationships";
}

Parsed<std::vector<ReceivedObject>> ParseUploadBody(absl::string_view body,
                                                    ObjectKind kind) {
  rapidjson::Document document;
  if (std::optional<ApiError> error = ParseObject(body, false, document)) {
    return *error;
  }
  const char* plural = ObjectKindPlural(kind);
  const rapidjson::Value* list = Member(document, plural);
  if (list == nullptr || !list->IsArray()) {
    return BadRequest(kind == ObjectKind::kEntity ? "ENTITY_IS_NOT_ARRAY"
                                                  : "RELATIONSHIP_IS_NOT_ARRAY",
                      absl::StrCat("\"", plural, "\" should be an array"));
  }
  std::vector<ReceivedObject> objects;
  objects.reserve(list->Size());
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const rapidjson::Value& object = (*list)[i];
    const std::string problem = ObjectProblem(object, kind);
    if (!problem.empty()) {
      return BadRequest("INVALID_GRAPH_OBJECT",
                        absl::StrCat(plural, "[", i, "]", problem));
    }
    objects.push_back(ReceivedObject{std::string(View(object["_key"])),
                                     std::string(View(object["_type"])),
                                     CanonicalJson(object)});
  }
  return objects;
}

Parsed<CreateJobRequest> ParseCreateJobBody(absl::string_view body) {
  rapidjson::Document document;
  if (std::optional<ApiError> error = ParseObject(body, false, document)) {
    return *error;
  }
  CreateJobRequest request;
  auto text = [&](const char* name, std::string& out) -> bool {
    const rapidjson::Value* value = Member(document, name);
    if (value == nullptr || value->IsNull()) return true;
    if (!value->IsString()) return false;
    out = std::string(View(*value));
    return true;
  };
  for (auto [name, out] :
       {std::pair<const char*, std::string*>{"source", &request.source},
        {"integrationInstanceId", &request.integration_instance_id},
        {"integrationJobId", &request.integration_job_id},
        {"scope", &request.scope}}) {
    if (!text(name, *out)) {
      return BadRequest("INVALID_SYNC_JOB_CONFIG",
                        absl::StrCat("\"", name, "\" must be a string"));
    }
  }
  const std::string& source = request.source;
  if (source == "integration-managed" || source == "integration-external") {
    if (request.integration_instance_id.empty()) {
      return BadRequest(
          "INVALID_SYNC_JOB_CONFIG",
          absl::StrCat("\"integrationInstanceId\" is required for source \"",
                       source, "\""));
    }
  } else if (source == "api") {
    if (request.scope.empty()) {
      return BadRequest("INVALID_SYNC_JOB_CONFIG",
                        "\"scope\" is required for source \"api\"");
    }
  } else if (source == "system-internal") {
    if (request.integration_instance_id.empty() || request.scope.empty()) {
      return BadRequest("INVALID_SYNC_JOB_CONFIG",
                        "source \"system-internal\" needs \"scope\" and "
                        "\"integrationInstanceId\"");
    }
  } else {
    return BadRequest(
        "INVALID_SYNC_JOB_CONFIG",
        absl::StrCat("\"source\" must be integration-managed, "
                     "integration-external, api or system-internal, got \"",
                     source, "\""));
  }
  return request;
}

Parsed<std::vector<std::string>> ParseFinalizeBody(absl::string_view body) {
  rapidjson::Document document;
  if (std::optional<ApiError> error = ParseObject(body, true, document)) {
    return *error;
  }
  std::vector<std::string> types;
  const rapidjson::Value* partial = Member(document, "partialDatasets");
  if (partial == nullptr || partial->IsNull()) return types;
  if (!partial->IsObject()) {
    return BadRequest("INVALID_PARTIAL_DATASETS",
                      "\"partialDatasets\" must be an object");
  }
  const rapidjson::Value* list = Member(*partial, "types");
  if (list == nullptr) return types;
  if (!list->IsArray()) {
    return BadRequest("INVALID_PARTIAL_DATASETS",
                      "\"partialDatasets.types\" must be an array");
  }
  for (const rapidjson::Value& type : list->GetArray()) {
    if (!IsNonEmptyString(&type)) {
      return BadRequest("INVALID_PARTIAL_DATASETS",
                        "\"partialDatasets.types\" must hold non-empty "
                        "strings");
    }
    types.emplace_back(View(type));
  }
  return types;
}

Parsed<AbortRequest> ParseAbortBody(absl::string_view body) {
  rapidjson::Document document;
  if (std::optional<ApiError> error = ParseObject(body, true, document)) {
    return *error;
  }
  AbortRequest request;
  const rapidjson::Value* reason = Member(document, "reason");
  if (reason != nullptr && !reason->IsNull()) {
    if (!reason->IsString()) {
      return BadRequest("INVALID_ABORT", "\"reason\" must be a string");
    }
    request.reason = std::string(View(*reason));
  }
  const rapidjson::Value* terminal = Member(document, "terminalStatus");
  if (terminal != nullptr && !terminal->IsNull()) {
    const absl::string_view value =
        terminal->IsString() ? View(*terminal) : absl::string_view();
    if (value != "ABORTED" && value != "ERROR_BAD_DATA" &&
        value != "ABORTED_DUE_TO_INVALID_CONFIGURATION") {
      return BadRequest("INVALID_ABORT",
                        "\"terminalStatus\" must be ABORTED, ERROR_BAD_DATA "
                        "or ABORTED_DUE_TO_INVALID_CONFIGURATION");
    }
    request.terminal_status = std::string(value);
  }
  return request;
}

Parsed<std::vector<std::pair<std::string, std::string>>> ParseEventsBody(
    absl::string_view body) {
  rapidjson::Document document;
  if (std::optional<ApiError> error = ParseObject(body, false, document)) {
    return *error;
  }
  const rapidjson::Value* list = Member(document, "events");
  if (list == nullptr || !list->IsArray()) {
    return BadRequest("INVALID_EVENTS", "\"events\" should be an array");
  }
  std::vector<std::pair<std::string, std::string>> events;
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const rapidjson::Value& event = (*list)[i];
    const rapidjson::Value* name =
        event.IsObject() ? Member(event, "name") : nullptr;
    const rapidjson::Value* description =
        event.IsObject() ? Member(event, "description") : nullptr;
    if (!IsNonEmptyString(name) || description == nullptr ||
        !description->IsString()) {
      return BadRequest(
          "INVALID_EVENTS",
          absl::StrCat("events[", i, "] needs string name and description"));
    }
    events.emplace_back(View(*name), View(*description));
  }
  return events;
}

std::string CanonicalJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  WriteCanonical(value, writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string ErrorBody(const ApiError& error) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("error");
  writer.StartObject();
  writer.Key("code");
  writer.String(error.code.data(),
                static_cast<rapidjson::SizeType>(error.code.size()));
  writer.Key("message");
  writer.String(error.message.data(),
                static_cast<rapidjson::SizeType>(error.message.size()));
  writer.EndObject();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace graphmill::fakes::jupiterone
