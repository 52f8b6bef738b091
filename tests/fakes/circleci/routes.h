// Maps a raw CircleCI API v2 path to a route name and the resource it is about.
#ifndef GRAPHMILL_TESTS_FAKES_CIRCLECI_ROUTES_H_
#define GRAPHMILL_TESTS_FAKES_CIRCLECI_ROUTES_H_

#include <string>

#include "absl/strings/string_view.h"
#include "tests/fakes/circleci/url_util.h"

namespace graphmill::fakes {

struct RouteMatch {
  std::string name;      // a kRouteNames entry; empty when no route matches
  std::string resource;  // decoded org slug, project slug or id; "" for
                         // me/collaborations
  std::string template_path;  // for the x-route header, e.g.
                              // "/api/v2/project/:project-slug"
};

// `api_path` is the raw (undecoded) path after "/api/v2", e.g.
// "/project/gh%2Fa%2Fb/envvar". A project slug must be one %2F-escaped segment:
// "/project/gh/a/b" matches nothing. Only GET has routes, but for POST
// /webhook ("webhook-create"; GET /webhook is "webhook-list", its resource the
// scope-id).
RouteMatch ClassifyRoute(absl::string_view method, absl::string_view api_path,
                         const QueryParams& query);

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_CIRCLECI_ROUTES_H_
