#include "worker/integrations/heroku/webhook.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/hmac.h"
#include "rapidjson/document.h"
#include "worker/integrations/common/entity_builder.h"
#include "worker/integrations/common/task_http_options.h"
#include "worker/integrations/heroku/client.h"
#include "worker/integrations/heroku/config.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/names.h"

namespace graphmill::worker::heroku {
namespace {

constexpr char kSignatureHeader[] = "heroku-webhook-hmac-sha256";

void AddEntity(WebhookChange& change, v1::Entity entity,
               const std::string& scope) {
  *change.objects.add_entities() = std::move(entity);
  change.objects.add_entity_scopes(scope);
}

void AddRelationship(WebhookChange& change, v1::Relationship relationship) {
  // The build steps' relationships are unscoped.
  *change.objects.add_relationships() = std::move(relationship);
  change.objects.add_relationship_scopes("");
}

// An app as fetch-team-apps stores it (scoped to its team) and team OWNS app
// as build-team-to-application-relationships makes it. Apps outside a team
// are not in the graph (the steps list teams' apps only).
absl::Status ApplyApp(const rapidjson::Value& data, WebhookChange& change) {
  const std::string team_id = WebhookString(data, {"team", "id"});
  if (team_id.empty()) {
    change.ignored = true;
    return absl::OkStatus();
  }
  absl::StatusOr<v1::Entity> app = ApplicationEntity(data, team_id);
  if (!app.ok()) return app.status();
  AddRelationship(
      change, Relate(team_id, kTeamType, "OWNS", app->key(), kApplicationType));
  AddEntity(change, *std::move(app), team_id);
  return absl::OkStatus();
}

// An add-on as fetch-app-addons stores it (scoped to its app) and app HAS
// add-on as build-application-to-addon-relationships makes it.
absl::Status ApplyAddon(const rapidjson::Value& data, WebhookChange& change) {
  const std::string app_id = WebhookString(data, {"app", "id"});
  if (app_id.empty()) return MissingWebhookField("Heroku", "data.app.id");
  absl::StatusOr<v1::Entity> addon = AddonEntity(data, app_id);
  if (!addon.ok()) return addon.status();
  AddRelationship(change, Relate(app_id, kApplicationType, "HAS", addon->key(),
                                 kAddonType));
  AddEntity(change, *std::move(addon), app_id);
  return absl::OkStatus();
}

}  // namespace

HerokuWebhookHandler::HerokuWebhookHandler(http::HttpClientOptions http_options)
    : http_options_(WithConnectionPool(std::move(http_options))) {}

absl::string_view HerokuWebhookHandler::signature_header() const {
  return kSignatureHeader;
}

absl::Status HerokuWebhookHandler::Verify(const WebhookHeaders& headers,
                                          absl::string_view body,
                                          absl::string_view secret) const {
  auto header = headers.find(kSignatureHeader);
  if (header == headers.end()) {
    return absl::UnauthenticatedError(
        absl::StrCat("missing ", kSignatureHeader, " header"));
  }
  if (!ConstantTimeEquals(header->second, HmacSha256Base64(secret, body))) {
    return absl::UnauthenticatedError(absl::StrCat(
        kSignatureHeader, " does not match the body and the webhook secret"));
  }
  return absl::OkStatus();
}

absl::StatusOr<WebhookChange> HerokuWebhookHandler::Resolve(
    const InstanceConfig&, absl::string_view body, int64_t) const {
  rapidjson::Document event;
  event.Parse(body.data(), body.size());
  if (event.HasParseError() || !event.IsObject()) {
    return NotAnObjectError("Heroku", "webhook body");
  }
  WebhookChange change;
  change.event_id = WebhookString(event, {"id"});
  if (change.event_id.empty()) return MissingWebhookField("Heroku", "id");
  const std::string resource = WebhookString(event, {"resource"});
  const std::string action = WebhookString(event, {"action"});
  change.event_type = absl::StrCat("api:", resource, " ", action);
  if (resource != "app" && resource != "addon") {
    change.ignored = true;  // e.g. addon-attachment: not in the graph
    return change;
  }
  // The event's time orders it: the data is the resource as of then.
  const std::string created_at = WebhookString(event, {"created_at"});
  if (created_at.empty()) return MissingWebhookField("Heroku", "created_at");
  absl::StatusOr<int64_t> as_of = WebhookTimeMs(created_at, "created_at");
  if (!as_of.ok()) return as_of.status();
  // Heroku stamps whole seconds: the change happened somewhere in that
  // second, and the delivery's data is as of its end. Taking the start would
  // let a run that began later in the same second, which may have read the
  // resource before the change, win over the webhook.
  change.as_of_ms = *as_of % 1000 == 0 ? *as_of + 999 : *as_of;
  const std::string id = WebhookString(event, {"data", "id"});
  if (id.empty()) return MissingWebhookField("Heroku", "data.id");
  const rapidjson::Value& data = *ObjectField(event, "data");
  if (action == "destroy") {
    // Keys are the resource ids (shared/spec: `_key` = id).
    change.deleted_entity_keys.push_back(id);
    return change;
  }
  if (action != "create" && action != "update") {
    return absl::InvalidArgumentError(absl::StrCat("Heroku webhook: action '",
                                                   action,
                                                   "' is not create, update or "
                                                   "destroy"));
  }
  absl::Status applied =
      resource == "app" ? ApplyApp(data, change) : ApplyAddon(data, change);
  if (!applied.ok()) return applied;
  return change;
}

absl::string_view HerokuWebhookHandler::install_entity_type() const {
  return kApplicationType;
}

absl::StatusOr<bool> HerokuWebhookHandler::Install(
    const InstanceConfig& config, const v1::Entity& entity,
    absl::string_view url) const {
  if (entity.type() != kApplicationType) {
    return absl::InvalidArgumentError(absl::StrCat(
        "entity '", entity.key(), "' is not a ", kApplicationType));
  }
  absl::StatusOr<std::string> app_id = WebhookResourceId(entity);
  if (!app_id.ok()) return app_id.status();
  absl::StatusOr<std::string> secret = WebhookSecret(config);
  if (!secret.ok()) return secret.status();
  absl::StatusOr<HerokuConfig> parsed = ParseConfig(config);
  if (!parsed.ok()) return parsed.status();
  // The secret is in the create's body only, but an answer may echo it.
  const http::HttpClientOptions options = WithRedacted(http_options_, *secret);
  http::HttpClientOptions once = options;
  once.max_attempts = 1;
  HerokuClient client(parsed->base_url, parsed->api_key, options);
  HerokuClient creator(parsed->base_url, parsed->api_key, once);
  return InstallWebhookOnce(
      [&]() -> absl::StatusOr<bool> {
        bool found = false;
        absl::Status listed =
            client.ListAppWebhooks(*app_id, [&](const rapidjson::Value& item) {
              found = found || StringField(item, "url") == url;
              return absl::OkStatus();
            });
        if (!listed.ok()) return listed;
        return found;
      },
      [&] { return creator.CreateAppWebhook(*app_id, url, *secret).status(); });
}

}  // namespace graphmill::worker::heroku
