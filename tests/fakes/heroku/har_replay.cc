// Implementation of har_replay.h.
#include "tests/fakes/heroku/har_replay.h"

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
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace graphmill::fakes::heroku {
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

// "https://api.heroku.com/x?y" -> "/x?y".
std::string TargetOf(absl::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != absl::string_view::npos) {
    const size_t slash = url.find('/', scheme + 3);
    url = slash == absl::string_view::npos ? absl::string_view("/")
                                           : url.substr(slash);
  }
  return std::string(url.substr(0, url.find('#')));
}

// "id  ..;max=1000" and "id ..; max=1000" are the same Range.
std::string NormalizeRange(absl::string_view range) {
  std::string out;
  for (const char c : absl::StripAsciiWhitespace(range)) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) continue;
    out.push_back(c);
  }
  return out;
}

std::string ExactKey(absl::string_view method, absl::string_view target,
                     absl::string_view range, bool unauthorized) {
  return absl::StrCat(absl::AsciiStrToUpper(method), "\n", target, "\n",
                      NormalizeRange(range), "\n", unauthorized ? "401" : "ok");
}

std::string AnyRangeKey(absl::string_view method, absl::string_view target,
                        bool unauthorized) {
  return absl::StrCat(absl::AsciiStrToUpper(method), "\n", target, "\n",
                      unauthorized ? "401" : "ok");
}

}  // namespace

absl::StatusOr<std::unique_ptr<HarReplay>> HarReplay::Load(
    const std::vector<std::string>& paths) {
  std::unique_ptr<HarReplay> replay(new HarReplay());
  for (const std::string& path : paths) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) {
      std::vector<std::string> files;
      for (const auto& item :
           std::filesystem::directory_iterator(path, error)) {
        if (item.path().extension() == ".har") {
          files.push_back(item.path().string());
        }
      }
      if (error) {
        return absl::NotFoundError(
            absl::StrCat("cannot list recordings directory '", path,
                         "': ", error.message()));
      }
      std::sort(files.begin(), files.end());
      for (const std::string& file : files) {
        if (absl::Status status = replay->LoadFile(file); !status.ok()) {
          return status;
        }
      }
    } else if (absl::Status status = replay->LoadFile(path); !status.ok()) {
      return status;
    }
  }
  return replay;
}

absl::Status HarReplay::LoadFile(const std::string& path) {
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

  struct Pending {
    std::string path;
    std::string any_range_key;
    std::vector<std::pair<int, RecordedResponse>> responses;  // (_order, ..)
  };
  std::vector<std::string> pending_order;  // keys, in first-seen order
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
    std::string range;
    if (const rapidjson::Value* headers = Member(*request, "headers");
        headers != nullptr && headers->IsArray()) {
      for (const rapidjson::Value& header : headers->GetArray()) {
        if (absl::EqualsIgnoreCase(StringMember(header, "name"), "range")) {
          range = StringMember(header, "value");
        }
      }
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

    const std::string target = TargetOf(url);
    const bool unauthorized = recorded.status == 401;
    const std::string key = ExactKey(method, target, range, unauthorized);
    auto [slot, inserted] = pending.try_emplace(key);
    if (inserted) {
      pending_order.push_back(key);
      slot->second.path = target.substr(0, target.find('?'));
      slot->second.any_range_key = AnyRangeKey(method, target, unauthorized);
    }
    slot->second.responses.emplace_back(order_value, std::move(recorded));
    ++entry_count_;
  }

  for (const std::string& key : pending_order) {
    Pending& slot = pending[key];
    if (by_key_.contains(key)) {
      shadowed_count_ += static_cast<int64_t>(slot.responses.size());
      continue;
    }
    std::stable_sort(
        slot.responses.begin(), slot.responses.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    Recorded& recorded = by_key_[key];
    recorded.path = slot.path;
    for (auto& [order, response] : slot.responses) {
      recorded.responses.push_back(std::move(response));
    }
    any_range_.try_emplace(slot.any_range_key, key);
  }
  files_.push_back(path);
  return absl::OkStatus();
}

const RecordedResponse* HarReplay::Next(const std::string& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return nullptr;
  Recorded& recorded = it->second;
  absl::MutexLock lock(&mutex_);
  const size_t index = std::min(recorded.next, recorded.responses.size() - 1);
  if (recorded.next < recorded.responses.size()) ++recorded.next;
  return &recorded.responses[index];
}

const RecordedResponse* HarReplay::Find(absl::string_view method,
                                        absl::string_view target,
                                        absl::string_view range,
                                        bool authenticated) {
  for (const bool unauthorized : {false, true}) {
    if (!unauthorized && !authenticated) continue;
    if (const RecordedResponse* exact =
            Next(ExactKey(method, target, range, unauthorized))) {
      return exact;
    }
    auto any = any_range_.find(AnyRangeKey(method, target, unauthorized));
    if (any != any_range_.end()) return Next(any->second);
  }
  return nullptr;
}

std::vector<std::string> HarReplay::paths() const {
  std::vector<std::string> out;
  out.reserve(by_key_.size());
  for (const auto& [key, recorded] : by_key_) out.push_back(recorded.path);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace graphmill::fakes::heroku
