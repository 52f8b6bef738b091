// Heroku API objects to graphmill entities and relationships.
#include "worker/integrations/heroku/converters.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "worker/integrations/heroku/definition.h"

namespace graphmill::worker::heroku {
namespace {

// The string member `name` of `object`, if it is one.
std::optional<std::string> StringField(const rapidjson::Value& object,
                                       const char* name) {
  if (!object.IsObject()) return std::nullopt;
  auto member = object.FindMember(name);
  if (member == object.MemberEnd() || !member->value.IsString()) {
    return std::nullopt;
  }
  return std::string(member->value.GetString(),
                     member->value.GetStringLength());
}

// The object member `name` of `object`, or nullptr.
const rapidjson::Value* ObjectField(const rapidjson::Value& object,
                                    const char* name) {
  if (!object.IsObject()) return nullptr;
  auto member = object.FindMember(name);
  if (member == object.MemberEnd() || !member->value.IsObject()) return nullptr;
  return &member->value;
}

absl::Status NotAnObject(absl::string_view kind) {
  return absl::InvalidArgumentError(
      absl::StrCat("Heroku ", kind, " is not a JSON object"));
}

absl::StatusOr<std::string> RequiredId(const rapidjson::Value& object,
                                       absl::string_view kind) {
  if (!object.IsObject()) return NotAnObject(kind);
  std::optional<std::string> id = StringField(object, "id");
  if (!id.has_value() || id->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Heroku ", kind, " has no string 'id': ", ToJson(object)));
  }
  return *id;
}

// Builds one entity the way createIntegrationEntity does: `_class` as a list,
// the source as "default" raw data, displayName = name.
class EntityBuilder {
 public:
  EntityBuilder(absl::string_view type, absl::string_view class_name,
                std::string key, const rapidjson::Value& source)
      : source_(source) {
    entity_.set_key(std::move(key));
    entity_.set_type(std::string(type));
    entity_.add_classes(std::string(class_name));
  }

  void Set(const char* property, v1::Value value) {
    (*entity_.mutable_properties())[property] = std::move(value);
  }

  // getTime(created_at): epoch ms; unset when absent, null or unparsable.
  void Timestamp(const char* property, const char* field) {
    std::optional<std::string> text = StringField(source_, field);
    if (!text.has_value()) return;
    std::optional<int64_t> millis = ParseTimestampMs(*text);
    if (millis.has_value()) Set(property, IntValue(*millis));
  }

  // createdOn/updatedOn from the item's created_at/updated_at.
  void Timestamps() {
    Timestamp("createdOn", "created_at");
    Timestamp("updatedOn", "updated_at");
  }

  // name and displayName (the SDK defaults displayName to name).
  void Name(absl::string_view name) {
    Set("name", StringValue(name));
    Set("displayName", StringValue(name));
  }

  v1::Entity Build() {
    v1::RawData* raw = entity_.add_raw_data();
    raw->set_name("default");
    raw->set_json(ToJson(source_));
    return std::move(entity_);
  }

 private:
  const rapidjson::Value& source_;
  v1::Entity entity_;
};

}  // namespace

std::string ToJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<v1::Entity> AccountEntity(const rapidjson::Value& account) {
  absl::StatusOr<std::string> id = RequiredId(account, "enterprise account");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kAccountType, "Account", *id, account);
  builder.Set("id", StringValue(*id));
  builder.Name(StringField(account, "name").value_or(*id));
  builder.Timestamps();
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
                     ToJson(member)));
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
  builder.Timestamps();
  return builder.Build();
}

absl::StatusOr<v1::Entity> TeamEntity(const rapidjson::Value& team,
                                      absl::string_view account_id) {
  absl::StatusOr<std::string> id = RequiredId(team, "team");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kTeamType, "Team", *id, team);
  builder.Set("id", StringValue(*id));
  builder.Name(StringField(team, "name").value_or(*id));
  builder.Timestamps();
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
  builder.Timestamps();
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
  builder.Timestamps();
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
        "Heroku team member has no string 'user.id': ", ToJson(member)));
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

std::string StringProperty(const v1::Entity& entity, absl::string_view name) {
  auto it = entity.properties().find(std::string(name));
  if (it == entity.properties().end() ||
      it->second.kind_case() != v1::Value::kStringValue) {
    return "";
  }
  return it->second.string_value();
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
