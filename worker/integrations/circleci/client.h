// The CircleCI API v2 endpoints the integration reads, with pagination, and
// the two that register a project's webhook (for the coordinator's webhook
// install). Retries, timeouts and error classification are HttpClient's; this
// class builds URLs and bodies, follows next_page_token and parses JSON.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CLIENT_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CLIENT_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http_client.h"
#include "common/redact.h"
#include "rapidjson/document.h"
#include "worker/integrations/common/run_cache.h"

namespace graphmill::worker::circleci {

// Called once per list item, in the order CircleCI returns them; a non-OK
// status stops the listing and is returned redacted (items may echo the API
// key, and converters quote them).
using ItemVisitor = std::function<absl::Status(const rapidjson::Value& item)>;
// Called after each page's items were visited: false stops the listing there
// (the pages left are not fetched).
using MorePagesFn = std::function<bool()>;

// Thread-safe (HttpClient is); one client serves a whole step, fan-out threads
// included. Errors are HttpClient's (HttpErrorKindOf tells 401/403/404/...
// apart), or kMalformedBody for a body that is not the JSON expected, or
// DATA_LOSS when CircleCI repeats a page token, or a visitor's. No message
// holds the API key in any form common/redact.h covers. A page's memory is
// given back once it is visited (ScopedMemoryTrim).
class CircleCiClient {
 public:
  // `base_url` has no trailing '/', e.g. "https://circleci.com/api/v2".
  // `options.redact` gets the API key added. With a `project_cache` (which
  // must outlive the client) and a `run_id` other than 0, GetProject fetches
  // each project once per run for every client sharing the cache.
  CircleCiClient(std::string base_url, std::string api_key,
                 http::HttpClientOptions options,
                 RunCache* project_cache = nullptr, int64_t run_id = 0);
  CircleCiClient(const CircleCiClient&) = delete;
  CircleCiClient& operator=(const CircleCiClient&) = delete;

  // GET /me/ (with the trailing slash, as the reference's invocation check).
  absl::Status CheckToken();
  // GET /me: the token's user {name, login, id}.
  absl::StatusOr<rapidjson::Document> GetMe();
  // GET /me/collaborations (a bare array, not paginated): the user's
  // organizations.
  absl::Status ListCollaborations(const ItemVisitor& visit);
  // GET /pipeline?org-slug=: an organization's recent pipelines, newest
  // first; `more_pages` (optional) may stop after any page.
  absl::Status ListPipelines(absl::string_view org_slug,
                             const ItemVisitor& visit,
                             const MorePagesFn& more_pages = nullptr);
  // GET /pipeline/{id}/workflow.
  absl::Status ListPipelineWorkflows(absl::string_view pipeline_id,
                                     const ItemVisitor& visit);
  // GET /workflow/{id}/job.
  absl::Status ListWorkflowJobs(absl::string_view workflow_id,
                                const ItemVisitor& visit);
  // GET /project/{slug} (the slug sent as one %2F-escaped segment). With a
  // project cache: the body another task of the run fetched, if any (a
  // failure, malformed bodies included, is not kept, so the next task asks
  // again).
  absl::StatusOr<rapidjson::Document> GetProject(absl::string_view slug);
  // GET /project/{slug}/envvar: names and masked values (callers must drop the
  // values).
  absl::Status ListProjectEnvVars(absl::string_view slug,
                                  const ItemVisitor& visit);
  // GET /context?owner-slug=: an organization's contexts.
  absl::Status ListContexts(absl::string_view owner_slug,
                            const ItemVisitor& visit);
  // GET /context/{id}/restrictions (experimental in CircleCI's spec).
  absl::Status ListContextRestrictions(absl::string_view context_id,
                                       const ItemVisitor& visit);
  // GET /context/{id}/environment-variable (names only; CircleCI never returns
  // values).
  absl::Status ListContextEnvVars(absl::string_view context_id,
                                  const ItemVisitor& visit);

  // GET /webhook?scope-id=<project id>&scope-type=project: the project's
  // webhooks ({"id", "url", "name", "events", ...}).
  absl::Status ListProjectWebhooks(absl::string_view project_id,
                                   const ItemVisitor& visit);
  // POST /webhook: a webhook named "graphmill" on the project for
  // workflow-completed and job-completed events, sent to `url` (TLS verified)
  // and signed with `signing_secret`; the created webhook's id (201, or any
  // 2xx). The secret travels only in the body, which HttpClient never quotes;
  // put it in options.redact too, so that an answer echoing it is redacted.
  // Retried per the options like every request: build the client with
  // max_attempts = 1 for it, since a repeated create registers a second
  // webhook.
  absl::StatusOr<std::string> CreateProjectWebhook(
      absl::string_view project_id, absl::string_view url,
      absl::string_view signing_secret);

  // `text` with the API key redacted (HttpClient::Redact), for callers' own
  // messages.
  std::string Redact(absl::string_view text) const;
  // The client's Redactor (of the API key), e.g. for a step's whole status.
  const Redactor& redactor() const { return http_.redactor(); }
  const std::string& base_url() const { return base_url_; }

 private:
  absl::StatusOr<rapidjson::Document> GetJson(const std::string& url);
  // Notes the body's size in `trim`, which the caller destroys after the
  // document.
  absl::StatusOr<rapidjson::Document> GetJson(const std::string& url,
                                              http::ScopedMemoryTrim& trim);
  // The body of a 2xx GET of `url`.
  absl::StatusOr<std::string> GetBody(const std::string& url);
  // `body` parsed, or its error; kMalformedBody unless a JSON object.
  absl::StatusOr<rapidjson::Document> ParseObject(
      const std::string& url, const absl::StatusOr<std::string>& body) const;
  // visit(item), its error redacted.
  absl::Status Visit(const ItemVisitor& visit,
                     const rapidjson::Value& item) const;
  // Follows next_page_token from `first_url` to the last page, or until
  // `more_pages` (if set) returns false after a page.
  absl::Status ListPages(const std::string& first_url, const ItemVisitor& visit,
                         const MorePagesFn& more_pages = nullptr);

  const std::string base_url_;
  const http::HttpHeaders headers_;
  http::HttpClient http_;
  RunCache* const project_cache_;  // null: none
  // RunCacheKey of this run and credential, without the resource.
  const std::string project_key_prefix_;
};

}  // namespace graphmill::worker::circleci

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CLIENT_H_
