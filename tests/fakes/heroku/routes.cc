// Implementation of routes.h.
#include "tests/fakes/heroku/routes.h"

#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace graphmill::fakes::heroku {
namespace {

constexpr char kAnyScope[] =
    "global identity read read-protected write write-protected";
constexpr char kReadScopes[] =
    "global read read-protected write write-protected";

constexpr RouteInfo kRoutes[kRouteCount] = {
    {"account", "/account", "global identity", "", "", ""},
    {"rate-limits", "/account/rate-limits", kAnyScope, "", "", ""},
    {"enterprise-accounts", "/enterprise-accounts", kReadScopes,
     "id, name, updated_at", "", ""},
    {"account-members",
     "/enterprise-accounts/{enterprise_account_identity}/members", kReadScopes,
     "id", "", "Couldn't find that enterprise account."},
    {"account-teams",
     "/enterprise-accounts/{enterprise_account_identity}/teams", kReadScopes,
     "id, name, updated_at", "", "Couldn't find that enterprise account."},
    {"team-members", "/teams/{team_identity}/members", "global", "email, id",
     "", "Couldn't find that team."},
    {"team-apps", "/teams/{team_identity}/apps", kReadScopes,
     "id, name, updated_at", "region", "Couldn't find that team."},
    {"app-addons", "/apps/{app_identity}/addons", kReadScopes, "id, name",
     "addon_service, plan", "Couldn't find that app."},
    {"user", "/users/{account_identity}", kReadScopes, "", "",
     "Couldn't find that user."},
    {"app-webhooks", "/apps/{app_identity}/webhooks", kReadScopes, "", "",
     "Couldn't find that app."},
    {"app-webhook-create", "/apps/{app_identity}/webhooks",
     "global write write-protected", "", "", "Couldn't find that app."},
};

// Decodes %XX escapes; a malformed escape is kept literally.
std::string PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
        hex(text[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

const RouteInfo& Info(Route route) {
  static constexpr RouteInfo kUnmatched = {"unmatched", "", "", "", "", ""};
  const int index = static_cast<int>(route);
  return index >= 0 && index < kRouteCount ? kRoutes[index] : kUnmatched;
}

std::vector<std::string> RangeFields(Route route) {
  if (route == Route::kNone) return {};
  return absl::StrSplit(Info(route).accept_ranges, ", ", absl::SkipEmpty());
}

RouteMatch MatchRoute(absl::string_view method, absl::string_view raw_path) {
  RouteMatch match;
  if (method == "POST") {
    const std::vector<absl::string_view> parts = absl::StrSplit(raw_path, '/');
    if (parts.size() == 4 && parts[0].empty() && parts[1] == "apps" &&
        !parts[2].empty() && parts[3] == "webhooks") {
      match.route = Route::kAppWebhookCreate;
      match.identity = PercentDecode(parts[2]);
    }
    return match;
  }
  if (method != "GET") return match;
  if (raw_path == "/account") {
    match.route = Route::kAccount;
  } else if (raw_path == "/account/rate-limits") {
    match.route = Route::kRateLimits;
  } else if (raw_path == "/enterprise-accounts") {
    match.route = Route::kEnterpriseAccounts;
  } else {
    const std::vector<absl::string_view> parts =
        absl::StrSplit(raw_path, '/');  // "", collection, identity[, child]
    if (parts.size() < 3 || !parts[0].empty() || parts[2].empty()) {
      return match;
    }
    const absl::string_view collection = parts[1];
    const absl::string_view child = parts.size() == 4 ? parts[3] : "";
    if (parts.size() == 4 && collection == "enterprise-accounts" &&
        child == "members") {
      match.route = Route::kAccountMembers;
    } else if (parts.size() == 4 && collection == "enterprise-accounts" &&
               child == "teams") {
      match.route = Route::kAccountTeams;
    } else if (parts.size() == 4 && collection == "teams" &&
               child == "members") {
      match.route = Route::kTeamMembers;
    } else if (parts.size() == 4 && collection == "teams" && child == "apps") {
      match.route = Route::kTeamApps;
    } else if (parts.size() == 4 && collection == "apps" && child == "addons") {
      match.route = Route::kAppAddons;
    } else if (parts.size() == 4 && collection == "apps" &&
               child == "webhooks") {
      match.route = Route::kAppWebhooks;
    } else if (parts.size() == 3 && collection == "users") {
      match.route = Route::kUser;
    } else {
      return match;
    }
    match.identity = PercentDecode(parts[2]);
  }
  return match;
}

Route RouteByName(absl::string_view name) {
  for (int i = 0; i < kRouteCount; ++i) {
    if (name == kRouteNames[i]) return static_cast<Route>(i);
  }
  return Route::kNone;
}

}  // namespace graphmill::fakes::heroku
