// The non-template helpers of control.h.
#include "tests/fakes/common/control.h"

#include "absl/strings/str_cat.h"

namespace graphmill::fakes::common {

std::string JsonValueText(const rapidjson::Value& value) {
  if (value.IsString()) {
    return std::string(value.GetString(), value.GetStringLength());
  }
  if (value.IsInt64()) return absl::StrCat(value.GetInt64());
  if (value.IsBool()) return value.GetBool() ? "true" : "false";
  return "";
}

std::string CountersJson(const std::map<std::string, int64_t>& counters) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  for (const auto& [name, count] : counters) {
    w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    w.Int64(count);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string FaultsJson(
    const std::vector<std::pair<std::string, int64_t>>& specs_and_fired) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("faults");
  w.StartArray();
  for (const auto& [spec, fired] : specs_and_fired) {
    w.StartObject();
    w.Key("spec");
    w.String(spec.data(), static_cast<rapidjson::SizeType>(spec.size()));
    w.Key("fired");
    w.Int64(fired);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

void SendJson(int status, std::string body, httplib::Response& res) {
  res.status = status;
  res.set_content(std::move(body), "application/json");
}

}  // namespace graphmill::fakes::common
