// The Heroku step build-team-to-member-relationships, declared with its
// handler: GET /teams/{id}/members per team; team HAS member (with `role`) for
// each member who is an enterprise account member. A 403 (the key lacks the
// `global` scope) affects that team only.
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/log.h"
#include "rapidjson/document.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/names.h"
#include "worker/integrations/heroku/steps/step.h"

namespace graphmill::worker::heroku {
namespace {

absl::Status BuildTeamMembers(Step& step) {
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> members =
      ReadKeysById(step.context, kAccountMemberType);
  if (!members.ok()) return members.status();
  absl::StatusOr<std::vector<Parent>> teams =
      ReadParents(step.context, kTeamType);
  if (!teams.ok()) return teams.status();
  LogInfo("heroku step ", step.id, ": ", teams->size(),
          " teams to fetch members for");

  return step.FanOut(teams->size(), [&](size_t i) -> absl::Status {
    const Parent& team = (*teams)[i];
    int unknown = 0;
    absl::Status listed = step.client.ListTeamMembers(
        team.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<TeamMembership> membership = ParseTeamMember(item);
          if (!membership.ok()) return membership.status();
          auto member = members->find(membership->user_id);
          if (member == members->end()) {
            // Not an enterprise account member: skip this one only (the
            // reference dropped the rest of the team).
            ++unknown;
            return absl::OkStatus();
          }
          return step.AddRelationshipOnce(
              TeamHasMemberRelationship(team.key, member->second,
                                        membership->role),
              team.key);
        });
    if (unknown > 0) {
      LogInfo("heroku step ", step.id, ": ", unknown, " members of ",
              team.Describe("team"),
              " are not enterprise account members; skipped");
    }
    if (http::HttpErrorKindOf(listed) == http::HttpErrorKind::kPermission) {
      step.Warn(kMissingScopeEvent,
                absl::StrCat("Could not fetch team members. Missing required "
                             "OAuth scope (endpoint=",
                             step.client.TeamMembersUrl(team.id),
                             ", scope=global) for ", team.Describe("team"),
                             ": ", listed.message()));
      step.context.MarkScopeIncomplete(
          team.key, Step::MissingReason(listed, "GET /teams/{id}/members"));
      return absl::OkStatus();
    }
    return step.WarnIfMissingPermission(
        listed, absl::StrCat("members of ", team.Describe("team")),
        "GET /teams/{id}/members", team.key);
  });
}

}  // namespace

const StepSpec& BuildTeamMembersStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepBuildTeamMembers,
      .name = "Build Team-to-Member Relationships",
      .depends_on = {kStepFetchTeams, kStepFetchAccountMembers},
      .relationships = {{kTeamHasMemberType, "HAS", kTeamType,
                         kAccountMemberType}},
      // The one build step that calls the API (GET /teams/{id}/members), so
      // it shards over teams.
      .parent_type = kTeamType,
      .run = &BuildTeamMembers,
  };
  return *spec;
}

}  // namespace graphmill::worker::heroku
