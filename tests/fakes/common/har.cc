// Implementation of tests/fakes/common/har.h.
#include "tests/fakes/common/har.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace graphmill::fakes::common {
namespace {

bool IsDroppedHeader(absl::string_view name) {
  return absl::EqualsIgnoreCase(name, "content-length") ||
         absl::EqualsIgnoreCase(name, "content-encoding") ||
         absl::EqualsIgnoreCase(name, "transfer-encoding") ||
         absl::EqualsIgnoreCase(name, "connection");
}

const rapidjson::Value* Member(const rapidjson::Value& object,
                               const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string StringMember(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* value = Member(object, name);
  return value != nullptr && value->IsString()
             ? std::string(value->GetString(), value->GetStringLength())
             : std::string();
}

// "https://circleci.com/api/v2/x?y#z" -> "/api/v2/x?y".
std::string TargetOf(absl::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != absl::string_view::npos) {
    const size_t slash = url.find('/', scheme + 3);
    url = slash == absl::string_view::npos ? absl::string_view("/")
                                           : url.substr(slash);
  }
  return std::string(url.substr(0, url.find('#')));
}

std::vector<std::pair<std::string, std::string>> Headers(
    const rapidjson::Value& message, bool drop_framing) {
  std::vector<std::pair<std::string, std::string>> headers;
  const rapidjson::Value* list = Member(message, "headers");
  if (list == nullptr || !list->IsArray()) return headers;
  for (const rapidjson::Value& header : list->GetArray()) {
    std::string name = StringMember(header, "name");
    if (name.empty() || (drop_framing && IsDroppedHeader(name))) continue;
    headers.emplace_back(std::move(name), StringMember(header, "value"));
  }
  return headers;
}

absl::StatusOr<HarFile> ReadHarFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read HAR file '", path, "'"));
  }
  std::stringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  rapidjson::Document doc;
  doc.Parse(content.c_str(), content.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HAR file '", path,
        "' is not JSON: ", rapidjson::GetParseError_En(doc.GetParseError()),
        " at offset ", doc.GetErrorOffset()));
  }
  const rapidjson::Value* log = Member(doc, "log");
  const rapidjson::Value* entries = log ? Member(*log, "entries") : nullptr;
  if (entries == nullptr || !entries->IsArray()) {
    return absl::InvalidArgumentError(
        absl::StrCat("HAR file '", path, "' has no log.entries array"));
  }
  HarFile file;
  file.path = path;
  int index = 0;
  for (const rapidjson::Value& entry : entries->GetArray()) {
    const std::string where =
        absl::StrCat("HAR file '", path, "' entry ", index++);
    const rapidjson::Value* request = Member(entry, "request");
    const rapidjson::Value* response = Member(entry, "response");
    if (request == nullptr || response == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " lacks request or response"));
    }
    HarEntry& parsed = file.entries.emplace_back();
    parsed.method = StringMember(*request, "method");
    const std::string url = StringMember(*request, "url");
    const rapidjson::Value* status = Member(*response, "status");
    if (parsed.method.empty() || url.empty() || status == nullptr ||
        !status->IsInt() || status->GetInt() < 100) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " lacks request.method, request.url or a response.status"));
    }
    parsed.target = TargetOf(url);
    parsed.request_headers = Headers(*request, /*drop_framing=*/false);
    parsed.response.status = status->GetInt();
    parsed.response.headers = Headers(*response, /*drop_framing=*/true);
    if (const rapidjson::Value* body = Member(*response, "content")) {
      parsed.response.body = StringMember(*body, "text");
      if (StringMember(*body, "encoding") == "base64") {
        std::string decoded;
        if (!absl::Base64Unescape(parsed.response.body, &decoded)) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, " has invalid base64 content"));
        }
        parsed.response.body = std::move(decoded);
      }
    }
    const rapidjson::Value* order = Member(entry, "_order");
    parsed.order = order != nullptr && order->IsInt() ? order->GetInt() : 0;
  }
  return file;
}

}  // namespace

absl::StatusOr<std::vector<HarFile>> ReadHarFiles(
    const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> in_directory;
    for (const auto& item : std::filesystem::directory_iterator(path, error)) {
      if (item.path().extension() == ".har") {
        in_directory.push_back(item.path().string());
      }
    }
    if (error) {
      return absl::NotFoundError(absl::StrCat(
          "cannot list recordings directory '", path, "': ", error.message()));
    }
    std::sort(in_directory.begin(), in_directory.end());
    files.insert(files.end(), in_directory.begin(), in_directory.end());
  }
  std::vector<HarFile> result;
  for (const std::string& file : files) {
    absl::StatusOr<HarFile> read = ReadHarFile(file);
    if (!read.ok()) return read.status();
    result.push_back(*std::move(read));
  }
  return result;
}

}  // namespace graphmill::fakes::common
