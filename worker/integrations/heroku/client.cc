// Heroku Platform API endpoints and Range pagination.
#include "worker/integrations/heroku/client.h"

#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/redact.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "worker/integrations/common/task_http_options.h"

namespace graphmill::worker::heroku {
HerokuClient::HerokuClient(std::string base_url, std::string api_key,
                           http::HttpClientOptions options)
    : base_url_(std::move(base_url)),
      headers_({{"Authorization", absl::StrCat("Bearer ", api_key)},
                {"Accept", "application/vnd.heroku+json; version=3"},
                {"User-Agent", "graphmill-heroku/1.0"}}),
      http_(WithRedacted(std::move(options), api_key)) {}

std::string HerokuClient::Redact(absl::string_view text) const {
  return http_.Redact(text);
}

absl::Status HerokuClient::ListPages(const std::string& url,
                                     const ItemVisitor& visit) {
  // Ranges already asked for: a server that hands back an earlier range would
  // otherwise loop forever.
  std::set<std::string> requested = {kFirstRange};
  std::string range = kFirstRange;
  for (int page = 1;; ++page) {
    // Destroyed after the page's response and document: returns their memory
    // when the page was large.
    http::ScopedMemoryTrim trim;
    http::HttpHeaders headers = headers_;
    headers.emplace_back("Range", range);
    absl::StatusOr<http::HttpResponse> response = http_.Get(url, headers);
    if (!response.ok()) return response.status();
    trim.Note(response->body.size());
    rapidjson::Document document;
    document.Parse(response->body.data(), response->body.size());
    // The document owns copies of its strings: the body is not needed while
    // the items are visited (Next-Range is in the headers).
    std::string().swap(response->body);
    if (document.HasParseError()) {
      return http::MalformedBodyError(
          Redact(url),
          absl::StrCat("page ", page, " is not JSON (parse error at byte ",
                       document.GetErrorOffset(), ")"));
    }
    if (!document.IsArray()) {
      return http::MalformedBodyError(
          Redact(url), absl::StrCat("page ", page, " is not a JSON array"));
    }
    for (const rapidjson::Value& item : document.GetArray()) {
      // Converters quote the item, which may echo the API key they cannot
      // know: redacted here, before the error leaves the step.
      absl::Status status = redactor().RedactStatus(visit(item));
      if (!status.ok()) return status;
    }
    // Heroku sends Next-Range with 206; heroku-client follows it on any 2xx,
    // and so do we.
    std::optional<std::string> next = response->Header("Next-Range");
    if (!next.has_value() || next->empty()) return absl::OkStatus();
    if (!requested.insert(*next).second) {
      // The header is the provider's: quoted like a body.
      return absl::DataLossError(Redact(
          absl::StrCat("Heroku returned an already requested Next-Range '",
                       QuoteProviderBody(*next, redactor()), "' on page ", page,
                       " of GET ", url, "; stopped to avoid an endless loop")));
    }
    range = *std::move(next);
  }
}

absl::Status HerokuClient::CheckAccount() {
  return http_.Get(absl::StrCat(base_url_, "/account"), headers_).status();
}

std::string HerokuClient::AccountsUrl() const {
  return absl::StrCat(base_url_, "/enterprise-accounts");
}
std::string HerokuClient::AccountMembersUrl(
    absl::string_view account_id) const {
  return absl::StrCat(base_url_, "/enterprise-accounts/",
                      http::UrlEncode(account_id), "/members");
}
std::string HerokuClient::AccountTeamsUrl(absl::string_view account_id) const {
  return absl::StrCat(base_url_, "/enterprise-accounts/",
                      http::UrlEncode(account_id), "/teams");
}
std::string HerokuClient::TeamAppsUrl(absl::string_view team_id) const {
  return absl::StrCat(base_url_, "/teams/", http::UrlEncode(team_id), "/apps");
}
std::string HerokuClient::TeamMembersUrl(absl::string_view team_id) const {
  return absl::StrCat(base_url_, "/teams/", http::UrlEncode(team_id),
                      "/members");
}
std::string HerokuClient::AppAddonsUrl(absl::string_view app_id) const {
  return absl::StrCat(base_url_, "/apps/", http::UrlEncode(app_id), "/addons");
}
std::string HerokuClient::AppWebhooksUrl(absl::string_view app_id) const {
  return absl::StrCat(base_url_, "/apps/", http::UrlEncode(app_id),
                      "/webhooks");
}

absl::Status HerokuClient::ListEnterpriseAccounts(const ItemVisitor& visit) {
  return ListPages(AccountsUrl(), visit);
}
absl::Status HerokuClient::ListEnterpriseAccountMembers(
    absl::string_view account_id, const ItemVisitor& visit) {
  return ListPages(AccountMembersUrl(account_id), visit);
}
absl::Status HerokuClient::ListEnterpriseAccountTeams(
    absl::string_view account_id, const ItemVisitor& visit) {
  return ListPages(AccountTeamsUrl(account_id), visit);
}
absl::Status HerokuClient::ListTeamApps(absl::string_view team_id,
                                        const ItemVisitor& visit) {
  return ListPages(TeamAppsUrl(team_id), visit);
}
absl::Status HerokuClient::ListTeamMembers(absl::string_view team_id,
                                           const ItemVisitor& visit) {
  return ListPages(TeamMembersUrl(team_id), visit);
}
absl::Status HerokuClient::ListAppAddons(absl::string_view app_id,
                                         const ItemVisitor& visit) {
  return ListPages(AppAddonsUrl(app_id), visit);
}

absl::Status HerokuClient::ListAppWebhooks(absl::string_view app_id,
                                           const ItemVisitor& visit) {
  return ListPages(AppWebhooksUrl(app_id), visit);
}

absl::StatusOr<std::string> HerokuClient::CreateAppWebhook(
    absl::string_view app_id, absl::string_view url, absl::string_view secret) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  auto string = [&](absl::string_view text) {
    json.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  };
  json.StartObject();
  json.Key("include");
  json.StartArray();
  for (const char* include : {"api:app", "api:addon", "api:addon-attachment"}) {
    string(include);
  }
  json.EndArray();
  json.Key("level");
  string("notify");
  json.Key("url");
  string(url);
  json.Key("secret");
  string(secret);
  json.EndObject();

  const std::string endpoint = AppWebhooksUrl(app_id);
  http::HttpHeaders headers = headers_;
  headers.emplace_back("Content-Type", "application/json");
  absl::StatusOr<http::HttpResponse> response =
      http_.Post(endpoint, headers, buffer.GetString());
  if (!response.ok()) return response.status();
  rapidjson::Document created;
  created.Parse(response->body.data(), response->body.size());
  if (created.HasParseError() || !created.IsObject()) {
    return http::MalformedBodyError(Redact(endpoint),
                                    "the answer is not a JSON object");
  }
  auto id = created.FindMember("id");
  if (id == created.MemberEnd() || !id->value.IsString()) {
    return http::MalformedBodyError(Redact(endpoint),
                                    "the created webhook has no string 'id'");
  }
  return std::string(id->value.GetString(), id->value.GetStringLength());
}

}  // namespace graphmill::worker::heroku
