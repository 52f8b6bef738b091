// Serves the Heroku API routes from a generated Dataset: identity lookup (ids
// or names), the add-on role check, Range pagination and the JSON bodies.
// Authentication, scopes, the rate limit and faults are the caller's
// (FakeHeroku).
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_GENERATED_API_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_GENERATED_API_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "tests/fakes/heroku/auth.h"
#include "tests/fakes/heroku/dataset.h"
#include "tests/fakes/heroku/routes.h"

namespace graphmill::fakes::heroku {

// One HTTP answer, before the server's common headers.
struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
};

// An error reply with Heroku's {"id","message"} body.
Reply ErrorReply(int status, absl::string_view id, absl::string_view message);

// Immutable after construction, so thread-safe.
class GeneratedApi {
 public:
  // Indexes and pre-renders `data`, which must outlive this object.
  explicit GeneratedApi(const Dataset& data);
  GeneratedApi(const GeneratedApi&) = delete;
  GeneratedApi& operator=(const GeneratedApi&) = delete;

  // Answers a GET of `match` (not kNone) by `caller`: 404 not_found for an
  // unknown identity, 403 forbidden for a member-role caller on add-ons, 416
  // for a bad Range (list routes only; /account and /users ignore Range), else
  // 200 or 206 with Accept-Ranges, Content-Range, Next-Range,
  // Content-Expansion and ETag as Heroku sends them. /account/rate-limits is
  // not served here.
  Reply Serve(const RouteMatch& match, const TokenSpec& caller,
              absl::string_view range_header) const;

  // The names a fault's `resource` may use for the request's identity: the
  // segment as sent plus the id and name (or e-mail) it resolves to.
  std::vector<std::string> ResourceNames(const RouteMatch& match) const;

  // The user /account answers with for `caller`: the dataset user with its
  // e-mail, else users[0] when the e-mail is empty, else a synthesized user.
  User AccountUser(const TokenSpec& caller) const;

  // The app `identity` (id or name) names, or null.
  const App* FindApp(absl::string_view identity) const;

 private:
  template <typename KeyOf, typename Render>
  Reply ServeList(Route route, absl::string_view range_header,
                  const std::vector<int>& items, KeyOf key_of,
                  Render render) const;

  const Dataset& data_;
  absl::flat_hash_map<std::string, int> account_by_identity_;
  absl::flat_hash_map<std::string, int> team_by_identity_;
  absl::flat_hash_map<std::string, int> app_by_identity_;
  absl::flat_hash_map<std::string, int> user_by_identity_;
  std::vector<int> all_accounts_;
  std::vector<std::vector<int>> members_of_account_;
  std::vector<std::vector<int>> teams_of_account_;
  std::vector<std::vector<int>> members_of_team_;
  std::vector<std::vector<int>> apps_of_team_;
  std::vector<std::vector<int>> addons_of_app_;
  std::vector<std::string> account_member_json_;
  std::vector<std::string> team_member_json_;
  std::vector<std::string> app_json_;
  std::vector<std::string> addon_json_;
};

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_GENERATED_API_H_
