// Heroku API objects to graphmill entities and relationships.
#include "worker/integrations/heroku/converters.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "common/redact.h"
#include "worker/integrations/common/entity_builder.h"
#include "worker/integrations/heroku/names.h"

namespace graphmill::worker::heroku {
namespace {

absl::Status NotAnObject(absl::string_view kind) {
  return NotAnObjectError("Heroku", kind);
}

// `object` quoted in an error: at most kMaxQuotedBytes, cut between JSON
// tokens. An item may be megabytes and may echo the API key, which the client
// that handed it out redacts (a string is quoted whole or not at all, so it
// can).
std::string Quote(const rapidjson::Value& object) {
  return QuoteJsonWholeTokens(ToJson(object));
}

// The non-empty string `id` of `object`; INVALID_ARGUMENT naming `kind`
// otherwise.
absl::StatusOr<std::string> RequiredId(const rapidjson::Value& object,
                                       absl::string_view kind) {
  return RequiredStringField(object, "id", "Heroku", kind);
}

// createdOn/updatedOn from the item's created_at/updated_at.
void SetTimestamps(EntityBuilder& builder) {
  builder.Timestamp("createdOn", "created_at");
  builder.Timestamp("updatedOn", "updated_at");
}

}  // namespace

absl::StatusOr<v1::Entity> AccountEntity(const rapidjson::Value& account) {
  absl::StatusOr<std::string> id = RequiredId(account, "enterprise account");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kAccountType, "Account", *id, account);
  builder.Set("id", StringValue(*id));
  builder.Name(StringField(account, "name").value_or(*id));
  SetTimestamps(builder);
  return builder.Build();
}

absl::StatusOr<std::string> MemberUserId(const rapidjson::Value& member) {
  if (!member.IsObject()) return NotAnObject("enterprise account member");
  const rapidjson::Value* user = ObjectField(member, "user");
  std::optional<std::string> id =
      user == nullptr ? std::nullopt : StringField(*user, "id");
  if (!id.has_value() || id->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Heroku enterprise account member has no string "
                     "'user.id': ",
                     Quote(member)));
  }
  return *id;
}

absl::StatusOr<v1::Entity> AccountMemberEntity(
    const rapidjson::Value& member,
    const std::vector<std::string>& account_ids) {
  absl::StatusOr<std::string> user_id = MemberUserId(member);
  if (!user_id.ok()) return user_id.status();
  if (account_ids.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "account member '", *user_id, "' belongs to no enterprise account"));
  }
  const std::optional<std::string> email =
      StringField(*ObjectField(member, "user"), "email");
  EntityBuilder builder(kAccountMemberType, "User", *user_id, member);
  // The reference overwrites the membership id with the user id.
  builder.Set("id", StringValue(*user_id));
  builder.Name(email.value_or(*user_id));
  if (email.has_value()) builder.Set("username", StringValue(*email));
  builder.Set("enterpriseAccountId", StringValue(account_ids.front()));
  builder.Set(kEnterpriseAccountIdsProperty, StringListValue(account_ids));
  // Heroku's member items carry no timestamps: nothing is set unless a future
  // API version sends some.
  SetTimestamps(builder);
  return builder.Build();
}

absl::StatusOr<v1::Entity> TeamEntity(const rapidjson::Value& team,
                                      absl::string_view account_id) {
  absl::StatusOr<std::string> id = RequiredId(team, "team");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kTeamType, "Team", *id, team);
  builder.Set("id", StringValue(*id));
  builder.Name(StringField(team, "name").value_or(*id));
  SetTimestamps(builder);
  builder.Set("enterpriseAccountId", StringValue(account_id));
  return builder.Build();
}

absl::StatusOr<v1::Entity> ApplicationEntity(const rapidjson::Value& app,
                                             absl::string_view team_id) {
  absl::StatusOr<std::string> id = RequiredId(app, "app");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kApplicationType, "Application", *id, app);
  builder.Set("id", StringValue(*id));
  builder.Name(StringField(app, "name").value_or(*id));
  SetTimestamps(builder);
  builder.Set("teamId", StringValue(team_id));
  // owner: app.owner?.email, else null.
  const rapidjson::Value* owner = ObjectField(app, "owner");
  std::optional<std::string> owner_email =
      owner == nullptr ? std::nullopt : StringField(*owner, "email");
  builder.Set("owner", owner_email.has_value() ? StringValue(*owner_email)
                                               : NullValue());
  return builder.Build();
}

absl::StatusOr<v1::Entity> AddonEntity(const rapidjson::Value& addon,
                                       absl::string_view app_id) {
  absl::StatusOr<std::string> id = RequiredId(addon, "add-on");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kAddonType, "Service", *id, addon);
  builder.Set("id", StringValue(*id));
  builder.Name(StringField(addon, "name").value_or(*id));
  SetTimestamps(builder);
  builder.Set("applicationId", StringValue(app_id));
  builder.Set("category", StringListValue({"platform"}));
  std::vector<std::string> endpoints;
  if (std::optional<std::string> web_url = StringField(addon, "web_url")) {
    endpoints.push_back(*std::move(web_url));
  }
  builder.Set("endpoints", StringListValue(endpoints));
  builder.Set("function", StringListValue({}));
  return builder.Build();
}

absl::StatusOr<TeamMembership> ParseTeamMember(const rapidjson::Value& member) {
  if (!member.IsObject()) return NotAnObject("team member");
  const rapidjson::Value* user = ObjectField(member, "user");
  std::optional<std::string> user_id =
      user == nullptr ? std::nullopt : StringField(*user, "id");
  if (!user_id.has_value() || user_id->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Heroku team member has no string 'user.id': ", Quote(member)));
  }
  TeamMembership membership{*std::move(user_id), std::nullopt};
  auto role = member.FindMember("role");
  if (role != member.MemberEnd()) {
    membership.role =
        role->value.IsString()
            ? StringValue(absl::string_view(role->value.GetString(),
                                            role->value.GetStringLength()))
            : NullValue();
  }
  return membership;
}

v1::Relationship Relate(absl::string_view from_key, absl::string_view from_type,
                        absl::string_view class_name, absl::string_view to_key,
                        absl::string_view to_type) {
  return DirectRelationship(from_key, from_type, class_name, to_key, to_type);
}

v1::Relationship TeamHasMemberRelationship(
    absl::string_view team_key, absl::string_view member_key,
    const std::optional<v1::Value>& role) {
  v1::Relationship relationship =
      Relate(team_key, kTeamType, "HAS", member_key, kAccountMemberType);
  if (role.has_value()) (*relationship.mutable_properties())["role"] = *role;
  return relationship;
}

std::vector<std::string> StringListProperty(const v1::Entity& entity,
                                            absl::string_view name) {
  std::vector<std::string> values;
  auto it = entity.properties().find(std::string(name));
  if (it == entity.properties().end()) return values;
  if (it->second.kind_case() == v1::Value::kStringValue) {
    values.push_back(it->second.string_value());
  } else if (it->second.kind_case() == v1::Value::kListValue) {
    for (const v1::Value& value : it->second.list_value().values()) {
      if (value.kind_case() == v1::Value::kStringValue) {
        values.push_back(value.string_value());
      }
    }
  }
  return values;
}

}  // namespace graphmill::worker::heroku
