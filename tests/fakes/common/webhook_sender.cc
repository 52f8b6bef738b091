// Implementation of webhook_sender.h.
#include "tests/fakes/common/webhook_sender.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::fakes::common {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

struct ParsedUrl {
  std::string origin;  // "http://host:port", as httplib::Client takes it
  std::string path;    // "/hooks?x=1"; "/" when the URL has none
};

// http(s)://host[:port][/path][?query]; no user info, no fragment.
std::optional<ParsedUrl> ParseUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return std::nullopt;
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  const absl::string_view rest = url.substr(scheme_end + 3);
  const size_t authority_end = rest.find_first_of("/?");
  const absl::string_view authority = rest.substr(0, authority_end);
  if (authority.empty() ||
      authority.find_first_of("@ #\t\r\n") != absl::string_view::npos) {
    return std::nullopt;
  }
  const size_t colon = authority.rfind(':');
  const size_t bracket = authority.rfind(']');
  if (colon != absl::string_view::npos &&
      (bracket == absl::string_view::npos || colon > bracket)) {
    int port = 0;
    if (colon == 0 || !absl::SimpleAtoi(authority.substr(colon + 1), &port) ||
        port < 1 || port > 65535) {
      return std::nullopt;
    }
  }
  ParsedUrl parsed;
  parsed.origin = absl::StrCat(scheme, "://", authority);
  absl::string_view path = authority_end == absl::string_view::npos
                               ? absl::string_view()
                               : rest.substr(authority_end);
  if (path.find_first_of(" #\r\n") != absl::string_view::npos) {
    return std::nullopt;
  }
  parsed.path = path.empty()     ? std::string("/")
                : path[0] == '?' ? absl::StrCat("/", path)
                                 : std::string(path);
  return parsed;
}

void WriteString(JsonWriter& w, absl::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// The target a POST /_control/webhooks body describes.
absl::StatusOr<WebhookTarget> TargetFromJson(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError(
        "webhook: the body must be a JSON object with \"url\" and \"secret\"");
  }
  WebhookTarget target;
  bool has_url = false;
  bool has_secret = false;
  for (const auto& member : doc.GetObject()) {
    const std::string key(member.name.GetString(),
                          member.name.GetStringLength());
    const rapidjson::Value& value = member.value;
    if (key == "events") {
      if (!value.IsArray()) {
        return absl::InvalidArgumentError(
            "webhook: \"events\" must be an array of strings");
      }
      for (const rapidjson::Value& event : value.GetArray()) {
        if (!event.IsString()) {
          return absl::InvalidArgumentError(
              "webhook: \"events\" must be an array of strings");
        }
        target.events.emplace_back(event.GetString(), event.GetStringLength());
      }
      continue;
    }
    std::string* field = key == "url"      ? &target.url
                         : key == "secret" ? &target.secret
                         : key == "name"   ? &target.name
                         : key == "scope"  ? &target.scope
                                           : nullptr;
    if (field == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook: unknown member \"", key, "\""));
    }
    if (!value.IsString()) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook: \"", key, "\" must be a string"));
    }
    field->assign(value.GetString(), value.GetStringLength());
    has_url = has_url || key == "url";
    has_secret = has_secret || key == "secret";
  }
  if (!has_url)
    return absl::InvalidArgumentError("webhook: \"url\" is required");
  if (!has_secret) {
    return absl::InvalidArgumentError("webhook: \"secret\" is required");
  }
  return target;
}

std::string ResultsJson(const std::vector<DeliveryResult>& results) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("statuses");
  w.StartArray();
  for (const DeliveryResult& result : results) w.Int(result.status);
  w.EndArray();
  w.Key("targets");
  w.StartArray();
  for (const DeliveryResult& result : results) WriteString(w, result.target_id);
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

void SendJsonBody(int status, std::string body, httplib::Response& res) {
  res.status = status;
  res.set_content(std::move(body), "application/json");
}

}  // namespace

std::string RandomUuid() {
  thread_local absl::BitGen gen;
  const uint64_t high = absl::Uniform<uint64_t>(gen);
  const uint64_t low = absl::Uniform<uint64_t>(gen);
  return absl::StrFormat(
      "%08x-%04x-4%03x-%04x-%012x", high >> 32, (high >> 16) & 0xffff,
      high & 0xfff, ((low >> 48) & 0x3fff) | 0x8000, low & 0xffffffffffffULL);
}

std::string IsoMillis(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

std::string IsoSeconds(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

WebhookSender::WebhookSender(WebhookSenderOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<WebhookTarget> WebhookSender::Add(WebhookTarget target) {
  if (!ParseUrl(target.url).has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "webhook: \"url\" must be an http:// or https:// URL with a host, got "
        "'",
        target.url, "'"));
  }
  if (target.secret.empty()) {
    return absl::InvalidArgumentError("webhook: \"secret\" must not be empty");
  }
  for (const std::string& event : target.events) {
    if (!options_.known_events.empty() &&
        std::find(options_.known_events.begin(), options_.known_events.end(),
                  event) == options_.known_events.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "webhook: \"events\" has an unknown event '", event, "'"));
    }
  }
  if (target.id.empty()) target.id = RandomUuid();
  target.created_at = absl::Now();
  target.deliveries = 0;
  target.last_status = 0;
  absl::MutexLock lock(&mutex_);
  for (const WebhookTarget& existing : targets_) {
    if (existing.id == target.id) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook: \"id\" '", target.id, "' is in use"));
    }
  }
  targets_.push_back(target);
  return target;
}

bool WebhookSender::Remove(absl::string_view id) {
  absl::MutexLock lock(&mutex_);
  const size_t before = targets_.size();
  std::erase_if(targets_,
                [id](const WebhookTarget& target) { return target.id == id; });
  return targets_.size() != before;
}

void WebhookSender::Clear() {
  absl::MutexLock lock(&mutex_);
  targets_.clear();
  last_event_.clear();
}

std::vector<WebhookTarget> WebhookSender::Targets() const {
  absl::MutexLock lock(&mutex_);
  return targets_;
}

std::optional<WebhookTarget> WebhookSender::Find(absl::string_view id) const {
  absl::MutexLock lock(&mutex_);
  for (const WebhookTarget& target : targets_) {
    if (target.id == id) return target;
  }
  return std::nullopt;
}

bool WebhookSender::Matches(const WebhookTarget& target,
                            absl::string_view event, absl::string_view scope) {
  if (!target.scope.empty() && target.scope != scope) return false;
  return target.events.empty() ||
         std::find(target.events.begin(), target.events.end(), event) !=
             target.events.end();
}

std::vector<DeliveryResult> WebhookSender::Deliver(absl::string_view event,
                                                   absl::string_view scope,
                                                   const Render& render) {
  std::vector<WebhookTarget> matching;
  {
    absl::MutexLock lock(&mutex_);
    for (const WebhookTarget& target : targets_) {
      if (Matches(target, event, scope)) matching.push_back(target);
    }
  }
  std::vector<DeliveryResult> results;
  std::vector<Sent> sent;
  for (const WebhookTarget& target : matching) {
    WebhookMessage message = render(target);
    results.push_back(Post(target, message));
    sent.push_back(Sent{target.id, std::move(message)});
  }
  if (!sent.empty()) {
    absl::MutexLock lock(&mutex_);
    last_event_ = std::move(sent);
  }
  return results;
}

std::vector<DeliveryResult> WebhookSender::Redeliver() {
  std::vector<std::pair<WebhookTarget, WebhookMessage>> again;
  {
    absl::MutexLock lock(&mutex_);
    for (const Sent& sent : last_event_) {
      for (const WebhookTarget& target : targets_) {
        if (target.id == sent.target_id)
          again.emplace_back(target, sent.message);
      }
    }
  }
  std::vector<DeliveryResult> results;
  for (const auto& [target, message] : again) {
    results.push_back(Post(target, message));
  }
  return results;
}

DeliveryResult WebhookSender::Post(const WebhookTarget& target,
                                   const WebhookMessage& message) {
  DeliveryResult result;
  result.target_id = target.id;
  const std::optional<ParsedUrl> url = ParseUrl(target.url);
  if (url.has_value()) {
    httplib::Client client(url->origin);
    const int64_t micros = absl::ToInt64Microseconds(options_.timeout);
    client.set_connection_timeout(micros / 1'000'000, micros % 1'000'000);
    client.set_read_timeout(micros / 1'000'000, micros % 1'000'000);
    client.set_write_timeout(micros / 1'000'000, micros % 1'000'000);
    if (absl::StartsWith(url->origin, "https://")) {
      client.enable_server_certificate_verification(target.verify_tls);
      if (!options_.ca_file.empty()) client.set_ca_cert_path(options_.ca_file);
    }
    std::string content_type = "application/json";
    httplib::Headers headers;
    for (const auto& [name, value] : message.headers) {
      if (absl::EqualsIgnoreCase(name, "Content-Type")) {
        content_type = value;
      } else {
        headers.emplace(name, value);
      }
    }
    httplib::Result res =
        client.Post(url->path, headers, message.body, content_type);
    if (res) result.status = res->status;
  }
  absl::MutexLock lock(&mutex_);
  for (WebhookTarget& stored : targets_) {
    if (stored.id == target.id) {
      ++stored.deliveries;
      stored.last_status = result.status;
    }
  }
  return result;
}

std::string WebhookTargetsJson(const std::vector<WebhookTarget>& targets) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("targets");
  w.StartArray();
  for (const WebhookTarget& target : targets) {
    w.StartObject();
    w.Key("id");
    WriteString(w, target.id);
    w.Key("url");
    WriteString(w, target.url);
    w.Key("name");
    WriteString(w, target.name);
    w.Key("events");
    w.StartArray();
    for (const std::string& event : target.events) WriteString(w, event);
    w.EndArray();
    w.Key("scope");
    WriteString(w, target.scope);
    w.Key("deliveries");
    w.Int64(target.deliveries);
    w.Key("last_status");
    w.Int(target.last_status);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

bool HandleWebhookControl(
    const std::string& method, absl::string_view path, const std::string& body,
    WebhookSender& sender,
    const std::function<std::string(absl::string_view message)>& error_body,
    httplib::Response& res) {
  if (path == "webhooks" && method == "GET") {
    SendJsonBody(200, WebhookTargetsJson(sender.Targets()), res);
  } else if (path == "webhooks" && method == "DELETE") {
    sender.Clear();
    SendJsonBody(200, WebhookTargetsJson(sender.Targets()), res);
  } else if (path == "webhooks" && method == "POST") {
    absl::StatusOr<WebhookTarget> target = TargetFromJson(body);
    if (target.ok()) target = sender.Add(*std::move(target));
    if (!target.ok()) {
      SendJsonBody(400, error_body(target.status().message()), res);
      return true;
    }
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    w.Key("id");
    WriteString(w, target->id);
    w.EndObject();
    SendJsonBody(201, std::string(buffer.GetString(), buffer.GetSize()), res);
  } else if (path == "webhooks/redeliver" && method == "POST") {
    SendJsonBody(200, ResultsJson(sender.Redeliver()), res);
  } else {
    return false;
  }
  return true;
}

}  // namespace graphmill::fakes::common
