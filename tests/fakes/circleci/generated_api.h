// Serves a generated Dataset as CircleCI API v2 JSON: pre-rendered items,
// opaque page tokens, CircleCI-like errors.
#ifndef GRAPHMILL_TESTS_FAKES_CIRCLECI_GENERATED_API_H_
#define GRAPHMILL_TESTS_FAKES_CIRCLECI_GENERATED_API_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "tests/fakes/circleci/dataset.h"
#include "tests/fakes/circleci/routes.h"
#include "tests/fakes/circleci/url_util.h"

namespace graphmill::fakes {

struct ApiReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  bool matched =
      true;  // false: no route or recording answered (counted as "unmatched")
};

// 200 with `body` (JSON).
ApiReply OkReply(std::string body);
// {"message": <message>}.
std::string ErrorBody(absl::string_view message);
ApiReply ErrorReply(int status, absl::string_view message);

// Large items on demand: the first `items` items of every list of the
// paginated route `route` get one more member, "padding", a string of `bytes`
// filler characters (what they render from is unchanged, so the entities a
// client makes of them just carry large raw data).
struct ItemPadding {
  std::string route;  // a paginated route name (IsPaddableRoute)
  int64_t bytes = 0;  // 0: no padding
  int items = -1;     // per list; -1: every item
};

// Whether ItemPadding can name `route`: the routes that answer pages.
bool IsPaddableRoute(absl::string_view route);

// Immutable after construction, so thread-safe. Keeps no reference to `data`.
class GeneratedApi {
 public:
  // page_size >= 1. With `pipeline_page_overlap` (and page_size >= 2) a
  // pipeline-feed page after the first repeats the previous page's last item.
  // `padding` applies when it has bytes (its route checked by the caller).
  GeneratedApi(const Dataset& data, int page_size, bool pipeline_page_overlap,
               ItemPadding padding = {});

  // Answers exactly as GeneratedApi(data, <previous's page and padding
  // options>) would,
  // but shares `previous`'s rendered lists whose items (and whatever those
  // render from) are equal in `previous_data` and `data`, so a mutation costs
  // a re-render of what it changed only. `previous_data` must be the dataset
  // `previous` was built from; `previous` may be destroyed afterwards.
  GeneratedApi(const Dataset& data, const GeneratedApi& previous,
               const Dataset& previous_data);

  // Answers a classified GET (route.name non-empty) with its query parameters.
  // Lists honour `page-token`; an unknown token is 404 {"message":"Not Found"};
  // a token past the end of its list (it shrank) gives an empty last page.
  ApiReply Serve(const RouteMatch& route, const QueryParams& query) const;

  // Paginated lists this object rendered itself rather than shared with
  // `previous` (all of them for the first constructor).
  int rendered_lists() const { return rendered_lists_; }

 private:
  struct Index;  // the dataset grouped by parent (generated_api.cc)
  using List = std::shared_ptr<const std::vector<std::string>>;
  using Lists = absl::flat_hash_map<std::string, List>;

  void Build(const Dataset& data, const Dataset* previous_data,
             const GeneratedApi* previous);

  ApiReply ServeList(const RouteMatch& route, const Lists& lists,
                     const QueryParams& query, int overlap,
                     absl::string_view not_found_status_message,
                     int not_found_status) const;

  int page_size_;
  bool pipeline_page_overlap_;
  ItemPadding padding_;
  // `,"padding":"<filler>"`, spliced before an item's closing brace; empty
  // without padding.
  std::string padding_member_;
  int rendered_lists_ = 0;
  std::string me_;
  std::string collaborations_;
  absl::flat_hash_map<std::string, std::string> projects_;  // by slug
  Lists pipeline_feeds_;         // by org slug, newest first
  Lists workflows_by_pipeline_;  // by pipeline id
  Lists jobs_by_workflow_;       // by workflow id
  Lists env_vars_by_project_;    // by project slug
  Lists contexts_by_org_;        // by org slug
  Lists restrictions_by_context_;
  Lists env_vars_by_context_;
};

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_CIRCLECI_GENERATED_API_H_
