// The Heroku Platform API routes the fake serves: names (for counters and
// faults), path templates, accepted OAuth scopes and Range fields.
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_ROUTES_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_ROUTES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace graphmill::fakes::heroku {

enum class Route {
  kNone = -1,
  kAccount,             // /account
  kRateLimits,          // /account/rate-limits (free)
  kEnterpriseAccounts,  // /enterprise-accounts
  kAccountMembers,      // /enterprise-accounts/{id|name}/members
  kAccountTeams,        // /enterprise-accounts/{id|name}/teams
  kTeamMembers,         // /teams/{id|name}/members
  kTeamApps,            // /teams/{id|name}/apps
  kAppAddons,           // /apps/{id|name}/addons
  kUser,                // /users/{id|email}
  kAppWebhooks,         // GET /apps/{id|name}/webhooks
  kAppWebhookCreate,    // POST /apps/{id|name}/webhooks
};
inline constexpr int kRouteCount = 11;

// Route names, indexed by Route, as used by counters and faults.
inline constexpr const char* kRouteNames[kRouteCount] = {
    "account",       "rate-limits",  "enterprise-accounts", "account-members",
    "account-teams", "team-members", "team-apps",           "app-addons",
    "user",          "app-webhooks", "app-webhook-create"};

struct RouteInfo {
  const char* name;
  const char* template_path;  // e.g. "/teams/{team_identity}/apps"
  // Space-separated OAuth scopes that may call it (OAuth-Scope-Accepted).
  const char* accepted_scopes;
  // Range fields ("id, name, updated_at"); empty for single-object routes.
  const char* accept_ranges;
  const char* content_expansion;  // empty = no Content-Expansion header
  const char* not_found;          // 404 message when the identity is unknown
};
// kNone gives {"unmatched", "", ...}.
const RouteInfo& Info(Route route);

// The Accept-Ranges fields of `route`, split.
std::vector<std::string> RangeFields(Route route);

struct RouteMatch {
  Route route = Route::kNone;
  std::string identity;  // the decoded {id|name} path segment, if any
};

// Classifies a GET of `raw_path` (no query), or a POST of
// /apps/{id|name}/webhooks. Other methods and unknown paths give Route::kNone.
RouteMatch MatchRoute(absl::string_view method, absl::string_view raw_path);

// The Route called `name`, or kNone.
Route RouteByName(absl::string_view name);

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_ROUTES_H_
