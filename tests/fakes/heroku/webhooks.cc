// Implementation of webhooks.h.
#include "tests/fakes/heroku/webhooks.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hmac.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::fakes::heroku {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr char kVersion[] = "application/vnd.heroku+json; version=3";

void Str(Writer& w, const char* key, absl::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void IdObject(Writer& w, const char* key, absl::string_view id) {
  w.Key(key);
  w.StartObject();
  Str(w, "id", id);
  w.EndObject();
}

}  // namespace

std::vector<std::string> WebhookIncludes() {
  return {
      "api:addon-attachment", "api:addon",        "api:app",  "api:build",
      "api:collaborator",     "api:domain",       "api:dyno", "api:formation",
      "api:release",          "api:sni-endpoint", "dyno"};
}

HerokuEvent MakeEvent(Change change, absl::Time now, const User& actor) {
  HerokuEvent event;
  event.change = std::move(change);
  event.id = common::RandomUuid();
  event.time = common::IsoSeconds(now);
  event.actor_email = actor.email;
  event.actor_id = actor.id;
  return event;
}

std::string HerokuEventBody(const HerokuEvent& event,
                            absl::string_view webhook_id,
                            absl::string_view delivery_id,
                            absl::string_view attempt_id) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Str(w, "id", event.id);
  Str(w, "action", event.change.action);
  w.Key("actor");
  w.StartObject();
  Str(w, "email", event.actor_email);
  Str(w, "id", event.actor_id);
  w.EndObject();
  Str(w, "created_at", event.time);
  w.Key("data");
  w.RawValue(event.change.data.data(), event.change.data.size(),
             rapidjson::kObjectType);
  w.Key("previous_data");
  w.StartObject();
  w.EndObject();
  Str(w, "published_at", event.time);
  Str(w, "resource", event.change.resource);
  w.Key("sequence");
  w.Null();
  Str(w, "updated_at", event.time);
  Str(w, "version", kVersion);
  w.Key("webhook_metadata");
  w.StartObject();
  IdObject(w, "attempt", attempt_id);
  IdObject(w, "delivery", delivery_id);
  w.Key("event");
  w.StartObject();
  Str(w, "id", event.id);
  Str(w, "include", event.change.include());
  w.EndObject();
  IdObject(w, "webhook", webhook_id);
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

common::WebhookMessage HerokuWebhookMessage(
    const HerokuEvent& event, const common::WebhookTarget& target) {
  const std::string delivery_id = common::RandomUuid();
  common::WebhookMessage message;
  message.body =
      HerokuEventBody(event, target.id, delivery_id, common::RandomUuid());
  message.headers = {{"Content-Type", "application/json"},
                     {"Heroku-Webhook-Hmac-SHA256",
                      HmacSha256Base64(target.secret, message.body)},
                     {"Heroku-Webhook-Id", delivery_id}};
  if (auto it = target.attributes.find("authorization");
      it != target.attributes.end()) {
    message.headers.emplace_back("Authorization", it->second);
  }
  return message;
}

absl::StatusOr<common::WebhookTarget> WebhookFromApiBody(
    absl::string_view body, const App& app, std::string* generated_secret) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError(
        "Invalid params: the body must be a JSON object.");
  }
  common::WebhookTarget target;
  target.scope = app.id;
  auto include = doc.FindMember("include");
  if (include == doc.MemberEnd() || !include->value.IsArray() ||
      include->value.Empty()) {
    return absl::InvalidArgumentError(
        "Invalid params: include must be a non-empty array of entity names.");
  }
  const std::vector<std::string> known = WebhookIncludes();
  for (const rapidjson::Value& name : include->value.GetArray()) {
    if (!name.IsString() || std::find(known.begin(), known.end(),
                                      name.GetString()) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Invalid params: include has an unknown entity ",
          name.IsString() ? absl::StrCat("'", name.GetString(), "'")
                          : std::string("(not a string)"),
          "."));
    }
    if (std::find(target.events.begin(), target.events.end(),
                  name.GetString()) == target.events.end()) {
      target.events.emplace_back(name.GetString());
    }
  }
  auto level = doc.FindMember("level");
  if (level == doc.MemberEnd() || !level->value.IsString() ||
      (std::string(level->value.GetString()) != "notify" &&
       std::string(level->value.GetString()) != "sync")) {
    return absl::InvalidArgumentError(
        "Invalid params: level must be notify or sync.");
  }
  target.attributes["level"] = level->value.GetString();
  auto url = doc.FindMember("url");
  if (url == doc.MemberEnd() || !url->value.IsString()) {
    return absl::InvalidArgumentError("Invalid params: url is required.");
  }
  target.url = url->value.GetString();
  auto secret = doc.FindMember("secret");
  if (secret != doc.MemberEnd() && !secret->value.IsNull()) {
    if (!secret->value.IsString() || secret->value.GetStringLength() == 0) {
      return absl::InvalidArgumentError(
          "Invalid params: secret must be a non-empty string.");
    }
    target.secret = secret->value.GetString();
  } else {
    target.secret = absl::StrCat(common::RandomUuid(), common::RandomUuid());
    target.secret.erase(
        std::remove(target.secret.begin(), target.secret.end(), '-'),
        target.secret.end());
    if (generated_secret != nullptr) *generated_secret = target.secret;
  }
  auto authorization = doc.FindMember("authorization");
  if (authorization != doc.MemberEnd() && !authorization->value.IsNull()) {
    if (!authorization->value.IsString()) {
      return absl::InvalidArgumentError(
          "Invalid params: authorization must be a string.");
    }
    target.attributes["authorization"] = authorization->value.GetString();
  }
  return target;
}

std::string WebhookApiObject(const common::WebhookTarget& target,
                             const App& app) {
  const std::string time = common::IsoSeconds(target.created_at);
  auto level = target.attributes.find("level");
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("app");
  w.StartObject();
  Str(w, "id", app.id);
  Str(w, "name", app.name);
  w.EndObject();
  Str(w, "created_at", time);
  Str(w, "id", target.id);
  w.Key("include");
  w.StartArray();
  for (const std::string& include : target.events) {
    w.String(include.c_str(), static_cast<rapidjson::SizeType>(include.size()));
  }
  w.EndArray();
  Str(w, "level", level == target.attributes.end() ? "notify" : level->second);
  Str(w, "updated_at", time);
  Str(w, "url", target.url);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace graphmill::fakes::heroku
