// JSON bodies of the fake Heroku API, one function per resource, with the
// field sets and order of the HAR recordings (shared/spec/heroku.md §6, §8.8).
// Pure functions; the output is compact JSON.
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_PAYLOADS_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_PAYLOADS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "tests/fakes/heroku/dataset.h"

namespace graphmill::fakes::heroku {

// {"id":..,"message":..}, Heroku's error body.
std::string ErrorJson(absl::string_view id, absl::string_view message);

// An /enterprise-accounts item. `admin` selects the caller's permissions
// (all four, or just "view").
std::string EnterpriseAccountJson(const EnterpriseAccount& account, bool admin);

// An /enterprise-accounts/{id}/members item: no created_at/updated_at.
std::string AccountMemberJson(const Dataset& data, const AccountMember& member);

// An /enterprise-accounts/{id}/teams item; `role` is the caller's role.
std::string TeamJson(const Dataset& data, const Team& team,
                     absl::string_view role);

// A /teams/{id}/members item.
std::string TeamMemberJson(const Dataset& data, const TeamMember& member);

// A /teams/{id}/apps item (owner, organization and team are the team).
std::string AppJson(const Dataset& data, const App& app);

// An /apps/{id}/addons item.
std::string AddonJson(const Dataset& data, const Addon& addon);

// The /account (and /users/{id}) object for `user`.
std::string UserAccountJson(const User& user);

// {"remaining":N}, the /account/rate-limits object.
std::string RateLimitsJson(int remaining);

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_PAYLOADS_H_
