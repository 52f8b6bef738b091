// The Heroku Platform API endpoints the integration reads, with Range
// pagination, and the two that register an app's webhook (for the
// coordinator's webhook install). Retries, timeouts and error classification
// are HttpClient's; this class builds URLs, headers and bodies, follows
// Next-Range and parses JSON.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_CLIENT_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_CLIENT_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http_client.h"
#include "common/redact.h"
#include "rapidjson/document.h"

namespace graphmill::worker::heroku {

// The first page of every list: all fields sorted by id, the largest page.
inline constexpr char kFirstRange[] = "id ..; max=1000";

// Called once per list item, in the order Heroku returns them; a non-OK status
// stops the listing and is returned redacted (items may echo the API key, and
// converters quote them).
using ItemVisitor = std::function<absl::Status(const rapidjson::Value& item)>;

// Thread-safe (HttpClient is); one client serves a whole task, fan-out threads
// included. Errors are HttpClient's (HttpErrorKindOf tells 401/403/404/...
// apart), kMalformedBody for a body that is not the JSON expected, or
// DATA_LOSS when Heroku repeats a Next-Range, or a visitor's. No message holds
// the API key in any form common/redact.h covers. A page's memory is given
// back once it is visited (ScopedMemoryTrim).
class HerokuClient {
 public:
  // `base_url` has no trailing '/', e.g. "https://api.heroku.com". Requests
  // carry `Authorization: Bearer <api_key>` and the version 3 Accept header;
  // `options.redact` gets the API key added.
  HerokuClient(std::string base_url, std::string api_key,
               http::HttpClientOptions options);
  HerokuClient(const HerokuClient&) = delete;
  HerokuClient& operator=(const HerokuClient&) = delete;

  // GET /account (the invocation check; the body is ignored).
  absl::Status CheckAccount();
  // GET /enterprise-accounts.
  absl::Status ListEnterpriseAccounts(const ItemVisitor& visit);
  // GET /enterprise-accounts/{id}/members.
  absl::Status ListEnterpriseAccountMembers(absl::string_view account_id,
                                            const ItemVisitor& visit);
  // GET /enterprise-accounts/{id}/teams.
  absl::Status ListEnterpriseAccountTeams(absl::string_view account_id,
                                          const ItemVisitor& visit);
  // GET /teams/{id}/apps.
  absl::Status ListTeamApps(absl::string_view team_id,
                            const ItemVisitor& visit);
  // GET /teams/{id}/members (Heroku accepts only the `global` scope here).
  absl::Status ListTeamMembers(absl::string_view team_id,
                               const ItemVisitor& visit);
  // GET /apps/{id}/addons.
  absl::Status ListAppAddons(absl::string_view app_id,
                             const ItemVisitor& visit);

  // GET /apps/{id}/webhooks: the app's webhooks ({"id", "url", "include",
  // "level", ...}).
  absl::Status ListAppWebhooks(absl::string_view app_id,
                               const ItemVisitor& visit);
  // POST /apps/{id}/webhooks: a webhook for api:app, api:addon and
  // api:addon-attachment events at level "notify", sent to `url` and signed
  // with `secret`; the created webhook's id (201, or any 2xx). The secret
  // travels only in the body, which HttpClient never quotes; put it in
  // options.redact too, so that an answer echoing it is redacted. Retried per
  // the options like every request: build the client with max_attempts = 1
  // for it, since a repeated create registers a second webhook (or fails).
  absl::StatusOr<std::string> CreateAppWebhook(absl::string_view app_id,
                                               absl::string_view url,
                                               absl::string_view secret);

  // The URL of each list, for callers' messages (ids path-encoded).
  std::string AccountsUrl() const;
  std::string AccountMembersUrl(absl::string_view account_id) const;
  std::string AccountTeamsUrl(absl::string_view account_id) const;
  std::string TeamAppsUrl(absl::string_view team_id) const;
  std::string TeamMembersUrl(absl::string_view team_id) const;
  std::string AppAddonsUrl(absl::string_view app_id) const;
  std::string AppWebhooksUrl(absl::string_view app_id) const;

  // `text` with the API key redacted (HttpClient::Redact), for callers' own
  // messages.
  std::string Redact(absl::string_view text) const;
  // The client's Redactor (of the API key), e.g. for a step's whole status.
  const Redactor& redactor() const { return http_.redactor(); }
  const std::string& base_url() const { return base_url_; }

 private:
  // Lists `url` from Range kFirstRange, following Next-Range (on 200 or 206)
  // until a page has none.
  absl::Status ListPages(const std::string& url, const ItemVisitor& visit);

  const std::string base_url_;
  const http::HttpHeaders headers_;  // without Range
  http::HttpClient http_;
};

}  // namespace graphmill::worker::heroku

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_CLIENT_H_
