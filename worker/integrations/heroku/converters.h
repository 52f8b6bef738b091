// Pure functions from one Heroku API object to one graphmill entity or
// relationship, with the reference's keys, classes and properties
// (shared/spec/heroku.md §4-§5).
//
// Keys are the Heroku ids as they are (the reference's). Each entity gets
// `displayName` = `name`, timestamps in epoch ms (absent when the source has
// none or they do not parse), and the API item as its "default" raw data. An
// item that is not an object or lacks its string id (`user.id` for account
// members) gives INVALID_ARGUMENT naming the object kind.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_CONVERTERS_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_CONVERTERS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graphmill/v1/graph.pb.h"
#include "rapidjson/document.h"
#include "worker/integrations/common/entity_builder.h"

namespace graphmill::worker::heroku {

namespace v1 = ::graphmill::v1;

// The property listing every enterprise account a member belongs to (sorted),
// a graphmill addition; `enterpriseAccountId` is its first element.
inline constexpr char kEnterpriseAccountIdsProperty[] = "enterpriseAccountIds";

// A /enterprise-accounts item.
absl::StatusOr<v1::Entity> AccountEntity(const rapidjson::Value& account);

// The user id of a /enterprise-accounts/{id}/members item (`user.id`).
absl::StatusOr<std::string> MemberUserId(const rapidjson::Value& member);

// A /enterprise-accounts/{id}/members item of the user who belongs to the
// enterprise accounts `account_ids` (non-empty, sorted, unique). `member` must
// be the item listed under account_ids[0], which becomes `enterpriseAccountId`
// so the entity is the same whichever account is read first. Keyed by the
// user id; `name` and `username` are the user's email.
absl::StatusOr<v1::Entity> AccountMemberEntity(
    const rapidjson::Value& member,
    const std::vector<std::string>& account_ids);

// A /enterprise-accounts/{id}/teams item of account `account_id`.
absl::StatusOr<v1::Entity> TeamEntity(const rapidjson::Value& team,
                                      absl::string_view account_id);

// A /teams/{id}/apps item of team `team_id`; `owner` is the owner's email, or
// null.
absl::StatusOr<v1::Entity> ApplicationEntity(const rapidjson::Value& app,
                                             absl::string_view team_id);

// A /apps/{id}/addons item of application `app_id`: a Service with
// category ['platform'], endpoints [web_url] and function [].
absl::StatusOr<v1::Entity> AddonEntity(const rapidjson::Value& addon,
                                       absl::string_view app_id);

// A /teams/{id}/members item: the user id (`user.id`) and the `role` as a
// property value (null when Heroku sends null; absent when it sends none).
struct TeamMembership {
  std::string user_id;
  std::optional<v1::Value> role;
};
absl::StatusOr<TeamMembership> ParseTeamMember(const rapidjson::Value& member);

// `team` -HAS-> `member`, with the member's `role` when known.
v1::Relationship TeamHasMemberRelationship(
    absl::string_view team_key, absl::string_view member_key,
    const std::optional<v1::Value>& role);

// A direct relationship from -`class_name`-> to, as createDirectRelationship.
v1::Relationship Relate(absl::string_view from_key, absl::string_view from_type,
                        absl::string_view class_name, absl::string_view to_key,
                        absl::string_view to_type);

// A string property of `entity` ("" when absent or not a string); see
// common/entity_builder.h.
using ::graphmill::worker::StringProperty;
// A string-list property of `entity` (a single string counts as a list of one;
// empty when absent).
std::vector<std::string> StringListProperty(const v1::Entity& entity,
                                            absl::string_view name);

// `value` serialized as compact JSON; see common/entity_builder.h.
using ::graphmill::worker::ToJson;

}  // namespace graphmill::worker::heroku

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_CONVERTERS_H_
