// Implementation of payloads.h with RapidJSON writers.
#include "tests/fakes/heroku/payloads.h"

#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::fakes::heroku {
namespace {

// A thin wrapper so each payload reads like the JSON it writes.
class Json {
 public:
  Json() : writer_(buffer_) {}

  Json& Key(absl::string_view key) {
    writer_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    return *this;
  }
  Json& Str(absl::string_view value) {
    writer_.String(value.data(),
                   static_cast<rapidjson::SizeType>(value.size()));
    return *this;
  }
  // A string, or null when empty.
  Json& StrOrNull(absl::string_view value) {
    return value.empty() ? Null() : Str(value);
  }
  Json& Bool(bool value) {
    writer_.Bool(value);
    return *this;
  }
  Json& Int(int64_t value) {
    writer_.Int64(value);
    return *this;
  }
  Json& Null() {
    writer_.Null();
    return *this;
  }
  Json& Begin() {
    writer_.StartObject();
    return *this;
  }
  Json& End() {
    writer_.EndObject();
    return *this;
  }
  Json& BeginArray() {
    writer_.StartArray();
    return *this;
  }
  Json& EndArray() {
    writer_.EndArray();
    return *this;
  }
  // {"id":..,"name":..} under `key`.
  Json& IdName(absl::string_view key, absl::string_view id,
               absl::string_view name) {
    return Key(key).Begin().Key("id").Str(id).Key("name").Str(name).End();
  }
  std::string Take() {
    return std::string(buffer_.GetString(), buffer_.GetSize());
  }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

const char* PermissionDescription(absl::string_view name) {
  if (name == "view") return "View enterprise account members and teams.";
  if (name == "create") return "Create teams under the enterprise account.";
  if (name == "manage") return "Manage enterprise account members and teams.";
  if (name == "billing") return "View enterprise account usage.";
  return "";
}

struct Action {
  const char* id;
  const char* label;
  const char* action;  // nullptr = null
  const char* url;     // nullptr = null
};

// The recorded actions of the two recorded services; the others have none.
constexpr Action kPapertrailActions[] = {
    {"53a683dd-3da3-47f0-adbe-db7977ac0a07", "All Events", "events", nullptr},
    {"2397c8f0-369c-472f-97f0-7dfc052c4a3a", "Dashboard", "dashboard", nullptr},
    {"23c422f0-0999-45fd-a041-0d88de65b43e", "Settings", "settings", nullptr}};
constexpr Action kPostgresActions[] = {
    {"d1af3379-32c7-44bd-a4b1-ccadf026102f", "Create Dataclip", nullptr,
     "http://dataclips.heroku.com/clips/"
     "new?heroku_resource_id=:resource_id&heroku_id=:resource_uuid"},
    {"dc443dae-a897-4397-a824-27b8863fa1ba", "Upgrade instructions", nullptr,
     "https://devcenter.heroku.com/articles/"
     "upgrading-heroku-postgres-databases"},
    {"0edce16f-590b-4bd7-8745-8b51c323f6db", "Capture backup", nullptr,
     "https://data.heroku.com/datastore/"
     ":resource_uuid?heroku_action=capture_backup"}};

void WriteActions(Json& json, int service) {
  json.Key("actions").BeginArray();
  auto write = [&json](const Action& action) {
    json.Begin().Key("id").Str(action.id).Key("label").Str(action.label);
    json.Key("action");
    action.action ? json.Str(action.action) : json.Null();
    json.Key("url");
    action.url ? json.Str(action.url) : json.Null();
    json.Key("requires_owner").Null().End();
  };
  if (service == 0) {
    for (const Action& action : kPapertrailActions) write(action);
  } else if (service == 1) {
    for (const Action& action : kPostgresActions) write(action);
  }
  json.EndArray();
}

}  // namespace

std::string ErrorJson(absl::string_view id, absl::string_view message) {
  Json json;
  json.Begin().Key("id").Str(id).Key("message").Str(message).End();
  return json.Take();
}

std::string EnterpriseAccountJson(const EnterpriseAccount& account,
                                  bool admin) {
  Json json;
  json.Begin()
      .Key("id")
      .Str(account.id)
      .Key("created_at")
      .Str(account.created_at)
      .Key("name")
      .Str(account.name)
      .Key("updated_at")
      .Str(account.updated_at);
  json.Key("permissions").BeginArray();
  if (admin) {
    for (const char* permission : {"view", "create", "manage", "billing"}) {
      json.Str(permission);
    }
  } else {
    json.Str("view");
  }
  json.EndArray();
  json.Key("trial").Bool(account.trial).Key("identity_provider");
  if (account.identity_provider.has_value()) {
    const IdentityProvider& idp = *account.identity_provider;
    json.Begin().Key("id").Str(idp.id).Key("name").Str(idp.name);
    json.Key("owner")
        .Begin()
        .Key("id")
        .Str(idp.owner_id)
        .Key("name")
        .Str(idp.owner_name)
        .Key("type")
        .Str("team")
        .End()
        .End();
  } else {
    json.Null();
  }
  json.End();
  return json.Take();
}

std::string AccountMemberJson(const Dataset& data,
                              const AccountMember& member) {
  const EnterpriseAccount& account = data.accounts[member.account];
  const User& user = data.users[member.user];
  Json json;
  json.Begin().IdName("enterprise_account", account.id, account.name);
  json.Key("id").Str(member.id);
  json.Key("permissions").BeginArray();
  for (const std::string& permission : member.permissions) {
    json.Begin()
        .Key("description")
        .Str(PermissionDescription(permission))
        .Key("name")
        .Str(permission)
        .End();
  }
  json.EndArray();
  json.Key("user")
      .Begin()
      .Key("email")
      .Str(user.email)
      .Key("id")
      .Str(user.id)
      .End();
  json.Key("two_factor_authentication").Bool(member.two_factor_authentication);
  json.Key("identity_provider");
  if (account.identity_provider.has_value() && user.federated) {
    const IdentityProvider& idp = *account.identity_provider;
    json.Begin()
        .Key("id")
        .Str(idp.id)
        .Key("name")
        .Str(idp.owner_name)
        .Key("redacted")
        .Bool(false);
    json.Key("owner")
        .Begin()
        .Key("id")
        .Str(idp.owner_id)
        .Key("name")
        .Str(idp.owner_name)
        .Key("type")
        .Str("team")
        .End()
        .End();
  } else {
    json.Null();
  }
  json.End();
  return json.Take();
}

std::string TeamJson(const Dataset& data, const Team& team,
                     absl::string_view role) {
  const EnterpriseAccount& account = data.accounts[team.account];
  Json json;
  json.Begin()
      .Key("id")
      .Str(team.id)
      .Key("created_at")
      .Str(team.created_at)
      .Key("credit_card_collections")
      .Bool(true)
      .Key("default")
      .Bool(team.default_team);
  json.IdName("enterprise_account", account.id, account.name);
  json.Key("identity_provider");
  if (account.identity_provider.has_value()) {
    json.Begin()
        .Key("id")
        .Str(account.identity_provider->id)
        .Key("slug")
        .Str(account.identity_provider->name)
        .End();
  } else {
    json.Null();
  }
  json.Key("membership_limit")
      .Int(team.membership_limit)
      .Key("name")
      .Str(team.name)
      .Key("provisioned_licenses")
      .Bool(true)
      .Key("role")
      .Str(role)
      .Key("type")
      .Str("team")
      .Key("updated_at")
      .Str(team.updated_at)
      .End();
  return json.Take();
}

std::string TeamMemberJson(const Dataset& data, const TeamMember& member) {
  const User& user = data.users[member.user];
  Json json;
  json.Begin()
      .Key("id")
      .Str(member.id)
      .Key("created_at")
      .Str(member.created_at)
      .Key("email")
      .Str(user.email)
      .Key("federated")
      .Bool(user.federated)
      .Key("identity_provider")
      .Null()
      .Key("role")
      .Str(member.role)
      .Key("updated_at")
      .Str(member.updated_at);
  json.Key("user")
      .Begin()
      .Key("id")
      .Str(user.id)
      .Key("email")
      .Str(user.email)
      .Key("name")
      .Str(user.name)
      .End()
      .End();
  return json.Take();
}

std::string AppJson(const Dataset& data, const App& app) {
  const Team& team = data.teams[app.team];
  const Stack& stack = kStacks[app.stack];
  const Region& region = kRegions[app.region];
  Json json;
  json.Begin()
      .Key("acm")
      .Bool(true)
      .Key("archived_at")
      .Null()
      .Key("buildpack_provided_description")
      .StrOrNull(app.buildpack_description);
  json.IdName("build_stack", stack.id, stack.name);
  json.Key("created_at")
      .Str(app.created_at)
      .Key("id")
      .Str(app.id)
      .Key("git_url")
      .Str(absl::StrCat("https://git.heroku.com/", app.name, ".git"))
      .Key("maintenance")
      .Bool(false)
      .Key("name")
      .Str(app.name);
  json.Key("owner")
      .Begin()
      .Key("email")
      .Str(TeamOwnerEmail(team))
      .Key("id")
      .Str(team.id)
      .End();
  json.IdName("region", region.id, region.name);
  json.IdName("organization", team.id, team.name);
  json.IdName("team", team.id, team.name);
  json.Key("space").Null().Key("internal_routing").Null();
  json.Key("released_at").Str(app.released_at).Key("repo_size");
  app.repo_size > 0 ? json.Int(app.repo_size) : json.Null();
  json.Key("slug_size");
  app.slug_size > 0 ? json.Int(app.slug_size) : json.Null();
  json.IdName("stack", stack.id, stack.name);
  json.Key("updated_at")
      .Str(app.updated_at)
      .Key("web_url")
      .Str(absl::StrCat("https://", app.name, ".herokuapp.com/"))
      .Key("joined")
      .Bool(false)
      .Key("legacy_id")
      .Str(app.legacy_id)
      .Key("locked")
      .Bool(false)
      .End();
  return json.Take();
}

std::string AddonJson(const Dataset& data, const Addon& addon) {
  const App& app = data.apps[addon.app];
  const AddonService& service = kAddonServices[addon.service];
  Json json;
  json.Begin();
  WriteActions(json, addon.service);
  json.IdName("app", app.id, app.name);
  json.Key("config_vars").BeginArray().Str(service.config_var).EndArray();
  json.Key("created_at")
      .Str(addon.created_at)
      .Key("id")
      .Str(addon.id)
      .Key("name")
      .Str(addon.name);
  json.IdName("addon_service", service.id, service.name);
  json.IdName("plan", service.plan_id, service.plan_name);
  json.Key("billing_entity")
      .Begin()
      .Key("id")
      .Str(app.id)
      .Key("name")
      .Str(app.name)
      .Key("type")
      .Str("app")
      .End();
  json.Key("provider_id")
      .Str(addon.provider_id)
      .Key("state")
      .Str("provisioned")
      .Key("updated_at")
      .Str(addon.updated_at)
      .Key("web_url")
      .Str(absl::StrCat("https://addons-sso.heroku.com/apps/", app.id,
                        "/addons/", addon.id));
  json.Key("billed_price")
      .Begin()
      .Key("cents")
      .Int(0)
      .Key("contract")
      .Bool(false)
      .Key("unit")
      .Str("month")
      .End()
      .End();
  return json.Take();
}

std::string UserAccountJson(const User& user) {
  Json json;
  json.Begin()
      .Key("allow_tracking")
      .Bool(true)
      .Key("beta")
      .Bool(false)
      .Key("email")
      .Str(user.email)
      .Key("federated")
      .Bool(user.federated)
      .Key("id")
      .Str(user.id)
      .Key("identity_provider")
      .Null()
      .Key("last_login")
      .StrOrNull(user.last_login)
      .Key("name")
      .StrOrNull(user.name)
      .Key("sms_number")
      .Null()
      .Key("two_factor_authentication")
      .Bool(user.two_factor_authentication)
      .Key("verified")
      .Bool(true)
      .Key("created_at")
      .Str(user.created_at)
      .Key("updated_at")
      .Str(user.updated_at)
      .Key("suspended_at")
      .Null()
      .Key("default_organization")
      .Null()
      .Key("default_team")
      .Null()
      .Key("delinquent_at")
      .Null()
      .End();
  return json.Take();
}

std::string RateLimitsJson(int remaining) {
  Json json;
  json.Begin().Key("remaining").Int(remaining).End();
  return json.Take();
}

}  // namespace graphmill::fakes::heroku
