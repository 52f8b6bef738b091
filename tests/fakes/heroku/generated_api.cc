// Implementation of generated_api.h.
#include "tests/fakes/heroku/generated_api.h"

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/fakes/heroku/payloads.h"
#include "tests/fakes/heroku/range.h"

namespace graphmill::fakes::heroku {
namespace {

uint64_t Fnv1a(absl::string_view text, uint64_t hash) {
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// A quoted 32-hex-digit entity tag, like Heroku's.
std::string ETagOf(absl::string_view body) {
  return absl::StrFormat("\"%016x%016x\"", Fnv1a(body, 0xcbf29ce484222325ULL),
                         Fnv1a(body, 0x84222325cbf29ce4ULL));
}

// A stable UUID-shaped id for a synthesized user.
std::string UuidOf(absl::string_view text) {
  const uint64_t high = Fnv1a(text, 0xcbf29ce484222325ULL);
  const uint64_t low = Fnv1a(text, 0x9e3779b97f4a7c15ULL);
  return absl::StrFormat(
      "%08x-%04x-4%03x-%04x-%012x", high >> 32, (high >> 16) & 0xffff,
      high & 0xfff, ((low >> 48) & 0x3fff) | 0x8000, low & 0xffffffffffffULL);
}

}  // namespace

Reply ErrorReply(int status, absl::string_view id, absl::string_view message) {
  Reply reply;
  reply.status = status;
  reply.body = ErrorJson(id, message);
  return reply;
}

GeneratedApi::GeneratedApi(const Dataset& data)
    : data_(data),
      members_of_account_(data.accounts.size()),
      teams_of_account_(data.accounts.size()),
      members_of_team_(data.teams.size()),
      apps_of_team_(data.teams.size()),
      addons_of_app_(data.apps.size()) {
  for (int i = 0; i < static_cast<int>(data.accounts.size()); ++i) {
    all_accounts_.push_back(i);
    account_by_identity_[data.accounts[i].id] = i;
    account_by_identity_[data.accounts[i].name] = i;
  }
  for (int i = 0; i < static_cast<int>(data.users.size()); ++i) {
    user_by_identity_[data.users[i].id] = i;
    user_by_identity_[data.users[i].email] = i;
  }
  for (int i = 0; i < static_cast<int>(data.account_members.size()); ++i) {
    members_of_account_[data.account_members[i].account].push_back(i);
    account_member_json_.push_back(
        AccountMemberJson(data, data.account_members[i]));
  }
  for (int i = 0; i < static_cast<int>(data.teams.size()); ++i) {
    teams_of_account_[data.teams[i].account].push_back(i);
    team_by_identity_[data.teams[i].id] = i;
    team_by_identity_[data.teams[i].name] = i;
  }
  for (int i = 0; i < static_cast<int>(data.team_members.size()); ++i) {
    members_of_team_[data.team_members[i].team].push_back(i);
    team_member_json_.push_back(TeamMemberJson(data, data.team_members[i]));
  }
  for (int i = 0; i < static_cast<int>(data.apps.size()); ++i) {
    apps_of_team_[data.apps[i].team].push_back(i);
    app_by_identity_[data.apps[i].id] = i;
    app_by_identity_[data.apps[i].name] = i;
    app_json_.push_back(AppJson(data, data.apps[i]));
  }
  for (int i = 0; i < static_cast<int>(data.addons.size()); ++i) {
    addons_of_app_[data.addons[i].app].push_back(i);
    addon_json_.push_back(AddonJson(data, data.addons[i]));
  }
}

template <typename KeyOf, typename Render>
Reply GeneratedApi::ServeList(Route route, absl::string_view range_header,
                              const std::vector<int>& items, KeyOf key_of,
                              Render render) const {
  const std::vector<std::string> fields = RangeFields(route);
  absl::StatusOr<RangeSpec> spec = ParseRange(range_header, fields);
  if (!spec.ok()) {
    Reply reply = ErrorReply(416, "requested_range_not_satisfiable",
                             spec.status().message());
    reply.headers.emplace_back("Accept-Ranges", Info(route).accept_ranges);
    return reply;
  }
  std::vector<absl::string_view> keys;
  keys.reserve(items.size());
  for (const int item : items) keys.push_back(key_of(item, spec->field));
  const RangePage page = SelectPage(*spec, keys);

  Reply reply;
  reply.status = page.status;
  reply.body.push_back('[');
  for (size_t i = 0; i < page.items.size(); ++i) {
    if (i > 0) reply.body.push_back(',');
    // Binds a pre-rendered string or extends the life of a fresh one.
    const auto& json = render(items[page.items[i]]);
    reply.body.append(json);
  }
  reply.body.push_back(']');

  reply.headers.emplace_back("Accept-Ranges", Info(route).accept_ranges);
  if (!page.content_range.empty()) {
    reply.headers.emplace_back("Content-Range", page.content_range);
  }
  if (!page.next_range.empty()) {
    reply.headers.emplace_back("Next-Range", page.next_range);
  }
  if (*Info(route).content_expansion != '\0') {
    reply.headers.emplace_back("Content-Expansion",
                               Info(route).content_expansion);
  }
  reply.headers.emplace_back("ETag", ETagOf(reply.body));
  return reply;
}

User GeneratedApi::AccountUser(const TokenSpec& caller) const {
  if (caller.email.empty()) {
    if (!data_.users.empty()) return data_.users[0];
  } else if (auto it = user_by_identity_.find(caller.email);
             it != user_by_identity_.end()) {
    return data_.users[it->second];
  }
  User user;
  user.email =
      caller.email.empty() ? "graphmill-test@example.com" : caller.email;
  user.id = UuidOf(user.email);
  user.name = user.email.substr(0, user.email.find('@'));
  user.created_at = "2019-01-01T00:00:00Z";
  user.updated_at = "2021-01-01T00:00:00Z";
  user.last_login = user.updated_at;
  return user;
}

const App* GeneratedApi::FindApp(absl::string_view identity) const {
  auto it = app_by_identity_.find(identity);
  return it == app_by_identity_.end() ? nullptr : &data_.apps[it->second];
}

std::vector<std::string> GeneratedApi::ResourceNames(
    const RouteMatch& match) const {
  std::vector<std::string> names;
  if (match.identity.empty()) return names;
  names.push_back(match.identity);
  auto add = [&](const absl::flat_hash_map<std::string, int>& index, auto id_of,
                 auto name_of) {
    auto it = index.find(match.identity);
    if (it == index.end()) return;
    names.push_back(id_of(it->second));
    names.push_back(name_of(it->second));
  };
  switch (match.route) {
    case Route::kAccountMembers:
    case Route::kAccountTeams:
      add(
          account_by_identity_, [&](int i) { return data_.accounts[i].id; },
          [&](int i) { return data_.accounts[i].name; });
      break;
    case Route::kTeamMembers:
    case Route::kTeamApps:
      add(
          team_by_identity_, [&](int i) { return data_.teams[i].id; },
          [&](int i) { return data_.teams[i].name; });
      break;
    case Route::kAppAddons:
    case Route::kAppWebhooks:
    case Route::kAppWebhookCreate:
      add(
          app_by_identity_, [&](int i) { return data_.apps[i].id; },
          [&](int i) { return data_.apps[i].name; });
      break;
    case Route::kUser:
      add(
          user_by_identity_, [&](int i) { return data_.users[i].id; },
          [&](int i) { return data_.users[i].email; });
      break;
    default:
      break;
  }
  return names;
}

Reply GeneratedApi::Serve(const RouteMatch& match, const TokenSpec& caller,
                          absl::string_view range_header) const {
  const bool admin = caller.role == EnterpriseRole::kAdmin;
  auto lookup = [&match](const absl::flat_hash_map<std::string, int>& index) {
    auto it = index.find(match.identity);
    return it == index.end() ? -1 : it->second;
  };
  auto not_found = [&match] {
    return ErrorReply(404, "not_found", Info(match.route).not_found);
  };

  switch (match.route) {
    case Route::kAccount: {
      Reply reply;
      reply.body = UserAccountJson(AccountUser(caller));
      reply.headers.emplace_back("ETag", ETagOf(reply.body));
      return reply;
    }
    case Route::kUser: {
      const int user = lookup(user_by_identity_);
      if (user < 0) return not_found();
      Reply reply;
      reply.body = UserAccountJson(data_.users[user]);
      reply.headers.emplace_back("ETag", ETagOf(reply.body));
      return reply;
    }
    case Route::kEnterpriseAccounts:
      return ServeList(
          match.route, range_header, all_accounts_,
          [this](int i, const std::string& field) -> absl::string_view {
            const EnterpriseAccount& account = data_.accounts[i];
            if (field == "name") return account.name;
            if (field == "updated_at") return account.updated_at;
            return account.id;
          },
          [this, admin](int i) {
            return EnterpriseAccountJson(data_.accounts[i], admin);
          });
    case Route::kAccountMembers: {
      const int account = lookup(account_by_identity_);
      if (account < 0) return not_found();
      return ServeList(
          match.route, range_header, members_of_account_[account],
          [this](int i, const std::string&) -> absl::string_view {
            return data_.account_members[i].id;
          },
          [this](int i) -> const std::string& {
            return account_member_json_[i];
          });
    }
    case Route::kAccountTeams: {
      const int account = lookup(account_by_identity_);
      if (account < 0) return not_found();
      return ServeList(
          match.route, range_header, teams_of_account_[account],
          [this](int i, const std::string& field) -> absl::string_view {
            const Team& team = data_.teams[i];
            if (field == "name") return team.name;
            if (field == "updated_at") return team.updated_at;
            return team.id;
          },
          [this, admin](int i) {
            return TeamJson(data_, data_.teams[i], admin ? "admin" : "member");
          });
    }
    case Route::kTeamMembers: {
      const int team = lookup(team_by_identity_);
      if (team < 0) return not_found();
      return ServeList(
          match.route, range_header, members_of_team_[team],
          [this](int i, const std::string& field) -> absl::string_view {
            const TeamMember& member = data_.team_members[i];
            if (field == "email") return data_.users[member.user].email;
            return member.id;
          },
          [this](int i) -> const std::string& { return team_member_json_[i]; });
    }
    case Route::kTeamApps: {
      const int team = lookup(team_by_identity_);
      if (team < 0) return not_found();
      return ServeList(
          match.route, range_header, apps_of_team_[team],
          [this](int i, const std::string& field) -> absl::string_view {
            const App& app = data_.apps[i];
            if (field == "name") return app.name;
            if (field == "updated_at") return app.updated_at;
            return app.id;
          },
          [this](int i) -> const std::string& { return app_json_[i]; });
    }
    case Route::kAppAddons: {
      const int app = lookup(app_by_identity_);
      if (app < 0) return not_found();
      if (!admin) {
        return ErrorReply(403, "forbidden",
                          "You do not have access to the add-ons of this app. "
                          "An enterprise admin role is required.");
      }
      return ServeList(
          match.route, range_header, addons_of_app_[app],
          [this](int i, const std::string& field) -> absl::string_view {
            const Addon& addon = data_.addons[i];
            if (field == "name") return addon.name;
            return addon.id;
          },
          [this](int i) -> const std::string& { return addon_json_[i]; });
    }
    case Route::kRateLimits:
    case Route::kAppWebhooks:
    case Route::kAppWebhookCreate:  // served by FakeHeroku (webhooks.h)
    case Route::kNone:
      break;
  }
  return ErrorReply(404, "not_found",
                    "The requested API endpoint was not found.");
}

}  // namespace graphmill::fakes::heroku
