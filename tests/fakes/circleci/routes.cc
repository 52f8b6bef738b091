// Implementation of routes.h.
#include "tests/fakes/circleci/routes.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"

namespace graphmill::fakes {
namespace {

RouteMatch Match(const char* name, std::string resource,
                 const char* template_path) {
  return RouteMatch{name, std::move(resource), template_path};
}

std::string ParamOrEmpty(const QueryParams& query, absl::string_view name) {
  const std::string* value = FindParam(query, name);
  return value == nullptr ? std::string() : *value;
}

}  // namespace

RouteMatch ClassifyRoute(absl::string_view method, absl::string_view api_path,
                         const QueryParams& query) {
  if (api_path == "/webhook") {
    if (method == "POST") return Match("webhook-create", "", "/api/v2/webhook");
    if (method == "GET") {
      return Match("webhook-list", ParamOrEmpty(query, "scope-id"),
                   "/api/v2/webhook");
    }
    return {};
  }
  if (method != "GET") return {};
  if (api_path == "/me" || api_path == "/me/") {
    return Match("me", "", "/api/v2/me");
  }
  if (api_path == "/me/collaborations") {
    return Match("collaborations", "", "/api/v2/me/collaborations");
  }
  if (api_path == "/pipeline") {
    return Match("pipeline", ParamOrEmpty(query, "org-slug"),
                 "/api/v2/pipeline");
  }
  if (api_path == "/context") {
    return Match("context", ParamOrEmpty(query, "owner-slug"),
                 "/api/v2/context");
  }
  if (api_path.empty() || api_path[0] != '/') return {};
  const std::vector<absl::string_view> parts =
      absl::StrSplit(api_path.substr(1), '/');
  if (parts.size() < 2 || parts[1].empty()) return {};
  std::string resource = PercentDecode(parts[1], false);
  if (parts.size() == 3 && parts[0] == "pipeline" && parts[2] == "workflow") {
    return Match("pipeline-workflows", std::move(resource),
                 "/api/v2/pipeline/:pipeline-id/workflow");
  }
  if (parts.size() == 3 && parts[0] == "workflow" && parts[2] == "job") {
    return Match("workflow-jobs", std::move(resource),
                 "/api/v2/workflow/:id/job");
  }
  if (parts[0] == "project" && parts.size() == 2) {
    return Match("project", std::move(resource),
                 "/api/v2/project/:project-slug");
  }
  if (parts[0] == "project" && parts.size() == 3 && parts[2] == "envvar") {
    return Match("envvar", std::move(resource),
                 "/api/v2/project/:project-slug/envvar");
  }
  if (parts[0] == "context" && parts.size() == 3 &&
      parts[2] == "restrictions") {
    return Match("restrictions", std::move(resource),
                 "/api/v2/context/:context_id/restrictions");
  }
  if (parts[0] == "context" && parts.size() == 3 &&
      parts[2] == "environment-variable") {
    return Match("context-envvar", std::move(resource),
                 "/api/v2/context/:context-id/environment-variable");
  }
  return {};
}

}  // namespace graphmill::fakes
