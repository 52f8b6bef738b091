// Implementation of har_replay.h.
#include "tests/fakes/circleci/har_replay.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "tests/fakes/circleci/url_util.h"

namespace graphmill::fakes {
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

// "https://circleci.com/api/v2/x?y" -> "/api/v2/x?y".
std::string TargetOf(absl::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != absl::string_view::npos) {
    const size_t slash = url.find('/', scheme + 3);
    url = slash == absl::string_view::npos ? absl::string_view("/")
                                           : url.substr(slash);
  }
  return std::string(url.substr(0, url.find('#')));
}

}  // namespace

std::string ReplayKey(absl::string_view method, absl::string_view raw_path,
                      absl::string_view raw_query) {
  QueryParams params = ParseQuery(raw_query);
  std::sort(params.begin(), params.end());
  std::vector<std::string> pieces;
  pieces.reserve(params.size());
  for (const auto& [key, value] : params) {
    pieces.push_back(
        absl::StrCat(PercentEncode(key), "=", PercentEncode(value)));
  }
  return absl::StrCat(absl::AsciiStrToUpper(method), " ",
                      NormalizeEscapes(raw_path), "?",
                      absl::StrJoin(pieces, "&"));
}

absl::StatusOr<std::unique_ptr<HarReplay>> HarReplay::Load(
    const std::vector<std::string>& paths) {
  std::unique_ptr<HarReplay> replay(new HarReplay());
  for (const std::string& path : paths) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) {
      std::vector<std::string> files;
      for (const auto& item :
           std::filesystem::directory_iterator(path, error)) {
        if (item.path().extension() == ".har")
          files.push_back(item.path().string());
      }
      if (error) {
        return absl::NotFoundError(
            absl::StrCat("cannot list recordings directory '", path,
                         "': ", error.message()));
      }
      std::sort(files.begin(), files.end());
      for (const std::string& file : files) {
        if (absl::Status status = replay->LoadFile(file); !status.ok())
          return status;
      }
    } else if (absl::Status status = replay->LoadFile(path); !status.ok()) {
      return status;
    }
  }
  return replay;
}

absl::Status HarReplay::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(
        absl::StrCat("cannot read HAR file '", path, "'"));
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
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

  struct Pending {
    std::string raw_path;
    std::vector<std::pair<int, RecordedResponse>>
        responses;  // (_order, response)
  };
  absl::flat_hash_map<std::string, Pending> pending;
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
    const std::string method = StringMember(*request, "method");
    const std::string url = StringMember(*request, "url");
    const rapidjson::Value* status = Member(*response, "status");
    if (method.empty() || url.empty() || status == nullptr ||
        !status->IsInt() || status->GetInt() < 100) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " lacks request.method, request.url or a response.status"));
    }
    RecordedResponse recorded;
    recorded.status = status->GetInt();
    if (const rapidjson::Value* headers = Member(*response, "headers");
        headers != nullptr && headers->IsArray()) {
      for (const rapidjson::Value& header : headers->GetArray()) {
        std::string name = StringMember(header, "name");
        if (name.empty() || IsDroppedHeader(name)) continue;
        recorded.headers.emplace_back(std::move(name),
                                      StringMember(header, "value"));
      }
    }
    if (const rapidjson::Value* content = Member(*response, "content")) {
      recorded.body = StringMember(*content, "text");
      if (StringMember(*content, "encoding") == "base64") {
        std::string decoded;
        if (!absl::Base64Unescape(recorded.body, &decoded)) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, " has invalid base64 content"));
        }
        recorded.body = std::move(decoded);
      }
    }
    const rapidjson::Value* order = Member(entry, "_order");
    const int order_value =
        order != nullptr && order->IsInt() ? order->GetInt() : 0;

    auto [raw_path, raw_query] = SplitTarget(TargetOf(url));
    Pending& slot = pending[ReplayKey(method, raw_path, raw_query)];
    slot.raw_path = raw_path;
    slot.responses.emplace_back(order_value, std::move(recorded));
    ++entry_count_;
  }

  for (auto& [key, slot] : pending) {
    if (by_key_.contains(key)) {
      shadowed_count_ += static_cast<int64_t>(slot.responses.size());
      continue;
    }
    std::stable_sort(
        slot.responses.begin(), slot.responses.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    Recorded& recorded = by_key_[key];
    recorded.raw_path = slot.raw_path;
    for (auto& [order, response] : slot.responses) {
      recorded.responses.push_back(std::move(response));
    }
  }
  files_.push_back(path);
  return absl::OkStatus();
}

const RecordedResponse* HarReplay::Find(absl::string_view method,
                                        absl::string_view raw_path,
                                        absl::string_view raw_query) {
  auto it = by_key_.find(ReplayKey(method, raw_path, raw_query));
  if (it == by_key_.end()) return nullptr;
  Recorded& recorded = it->second;
  absl::MutexLock lock(&mutex_);
  const size_t index = std::min(recorded.next, recorded.responses.size() - 1);
  if (recorded.next < recorded.responses.size()) ++recorded.next;
  return &recorded.responses[index];
}

std::vector<std::string> HarReplay::raw_paths() const {
  std::vector<std::string> paths;
  paths.reserve(by_key_.size());
  for (const auto& [key, recorded] : by_key_)
    paths.push_back(recorded.raw_path);
  return paths;
}

}  // namespace graphmill::fakes
