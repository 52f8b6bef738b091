// CircleCI API v2 endpoints and pagination.
#include "worker/integrations/circleci/client.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/redact.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "worker/integrations/common/task_http_options.h"

namespace graphmill::worker::circleci {
CircleCiClient::CircleCiClient(std::string base_url, std::string api_key,
                               http::HttpClientOptions options,
                               RunCache* project_cache, int64_t run_id)
    : base_url_(std::move(base_url)),
      headers_({{"Circle-Token", api_key},
                {"Accept", "application/json"},
                {"User-Agent", "graphmill-circleci/1.0"}}),
      http_(WithRedacted(std::move(options), api_key)),
      // Run 0 is no run (an invocation check): nothing to share it with.
      project_cache_(run_id != 0 ? project_cache : nullptr),
      project_key_prefix_(project_cache_ == nullptr
                              ? ""
                              : RunCacheKey(run_id, base_url_, api_key, "")) {}

std::string CircleCiClient::Redact(absl::string_view text) const {
  return http_.Redact(text);
}

absl::Status CircleCiClient::Visit(const ItemVisitor& visit,
                                   const rapidjson::Value& item) const {
  // The visitor's converters quote the item, which may echo the API key; they
  // cannot know it, so its error is redacted here, before it leaves the step.
  return redactor().RedactStatus(visit(item));
}

absl::StatusOr<rapidjson::Document> CircleCiClient::GetJson(
    const std::string& url) {
  http::ScopedMemoryTrim trim;
  return GetJson(url, trim);
}

absl::StatusOr<rapidjson::Document> CircleCiClient::GetJson(
    const std::string& url, http::ScopedMemoryTrim& trim) {
  absl::StatusOr<http::HttpResponse> response = http_.Get(url, headers_);
  if (!response.ok()) return response.status();
  trim.Note(response->body.size());
  rapidjson::Document document;
  // Not parsed in place: the document owns its strings, and the body is freed
  // on return.
  document.Parse(response->body.data(), response->body.size());
  if (document.HasParseError()) {
    return http::MalformedBodyError(
        Redact(url), absl::StrCat("response is not JSON (parse error at byte ",
                                  document.GetErrorOffset(), ")"));
  }
  return document;
}

absl::Status CircleCiClient::ListPages(const std::string& first_url,
                                       const ItemVisitor& visit,
                                       const MorePagesFn& more_pages) {
  // Tokens already followed: CircleCI has served tokens that lead back to an
  // earlier page (circleci-docs#6472); without this guard such a bug would loop
  // forever.
  std::set<std::string> seen_tokens;
  std::string url = first_url;
  for (int page = 1;; ++page) {
    // Destroyed after the page's document: returns its memory when large.
    http::ScopedMemoryTrim trim;
    absl::StatusOr<rapidjson::Document> document = GetJson(url, trim);
    if (!document.ok()) return document.status();
    if (!document->IsObject() || !document->HasMember("items") ||
        !(*document)["items"].IsArray()) {
      return http::MalformedBodyError(
          Redact(url), "expected an object with an 'items' array");
    }
    for (const rapidjson::Value& item : (*document)["items"].GetArray()) {
      absl::Status status = Visit(visit, item);
      if (!status.ok()) return status;
    }
    if (more_pages && !more_pages()) return absl::OkStatus();
    auto token = document->FindMember("next_page_token");
    if (token == document->MemberEnd() || token->value.IsNull()) {
      return absl::OkStatus();
    }
    if (!token->value.IsString()) {
      return http::MalformedBodyError(
          Redact(url), "next_page_token is neither a string nor null");
    }
    std::string next(token->value.GetString(), token->value.GetStringLength());
    if (next.empty()) return absl::OkStatus();
    if (!seen_tokens.insert(next).second) {
      return absl::DataLossError(absl::StrCat(
          "CircleCI returned an already followed next_page_token on page ",
          page, " of ", Redact(first_url),
          "; stopped to avoid an endless loop"));
    }
    url = http::AppendQueryParameter(first_url, "page-token", next);
  }
}

absl::Status CircleCiClient::CheckToken() {
  return GetJson(absl::StrCat(base_url_, "/me/")).status();
}

absl::StatusOr<rapidjson::Document> CircleCiClient::GetMe() {
  const std::string url = absl::StrCat(base_url_, "/me");
  absl::StatusOr<rapidjson::Document> document = GetJson(url);
  if (document.ok() && !document->IsObject()) {
    return http::MalformedBodyError(Redact(url), "expected a JSON object");
  }
  return document;
}

absl::Status CircleCiClient::ListCollaborations(const ItemVisitor& visit) {
  const std::string url = absl::StrCat(base_url_, "/me/collaborations");
  absl::StatusOr<rapidjson::Document> document = GetJson(url);
  if (!document.ok()) return document.status();
  if (!document->IsArray()) {
    return http::MalformedBodyError(Redact(url), "expected a JSON array");
  }
  for (const rapidjson::Value& item : document->GetArray()) {
    absl::Status status = Visit(visit, item);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status CircleCiClient::ListPipelines(absl::string_view org_slug,
                                           const ItemVisitor& visit,
                                           const MorePagesFn& more_pages) {
  return ListPages(
      http::AppendQueryParameter(absl::StrCat(base_url_, "/pipeline"),
                                 "org-slug", org_slug),
      visit, more_pages);
}

absl::Status CircleCiClient::ListPipelineWorkflows(
    absl::string_view pipeline_id, const ItemVisitor& visit) {
  return ListPages(absl::StrCat(base_url_, "/pipeline/",
                                http::UrlEncode(pipeline_id), "/workflow"),
                   visit);
}

absl::Status CircleCiClient::ListWorkflowJobs(absl::string_view workflow_id,
                                              const ItemVisitor& visit) {
  return ListPages(absl::StrCat(base_url_, "/workflow/",
                                http::UrlEncode(workflow_id), "/job"),
                   visit);
}

absl::StatusOr<rapidjson::Document> CircleCiClient::GetProject(
    absl::string_view slug) {
  const std::string url =
      absl::StrCat(base_url_, "/project/", http::UrlEncode(slug));
  if (project_cache_ == nullptr) return ParseObject(url, GetBody(url));
  // Every shard of fetch-projects needs the projects of its pipelines, and a
  // project's pipelines spread over the shards: the first task of the run to
  // ask fetches it, the others take its body. Only a body that parses as a
  // project object is kept.
  absl::StatusOr<RunCache::Value> body = project_cache_->GetOrFetch(
      absl::StrCat(project_key_prefix_, "project/", slug),
      [&]() -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> fetched = GetBody(url);
        if (!fetched.ok()) return fetched;
        absl::Status parsed = ParseObject(url, *fetched).status();
        if (!parsed.ok()) return parsed;
        return fetched;
      });
  if (!body.ok()) return body.status();
  return ParseObject(url, **body);
}

absl::StatusOr<std::string> CircleCiClient::GetBody(const std::string& url) {
  absl::StatusOr<http::HttpResponse> response = http_.Get(url, headers_);
  if (!response.ok()) return response.status();
  return std::move(response->body);
}

absl::StatusOr<rapidjson::Document> CircleCiClient::ParseObject(
    const std::string& url, const absl::StatusOr<std::string>& body) const {
  if (!body.ok()) return body.status();
  rapidjson::Document document;
  document.Parse(body->data(), body->size());
  if (document.HasParseError()) {
    return http::MalformedBodyError(
        Redact(url), absl::StrCat("response is not JSON (parse error at byte ",
                                  document.GetErrorOffset(), ")"));
  }
  if (!document.IsObject()) {
    return http::MalformedBodyError(Redact(url), "expected a JSON object");
  }
  return document;
}

absl::Status CircleCiClient::ListProjectEnvVars(absl::string_view slug,
                                                const ItemVisitor& visit) {
  return ListPages(
      absl::StrCat(base_url_, "/project/", http::UrlEncode(slug), "/envvar"),
      visit);
}

absl::Status CircleCiClient::ListContexts(absl::string_view owner_slug,
                                          const ItemVisitor& visit) {
  return ListPages(
      http::AppendQueryParameter(absl::StrCat(base_url_, "/context"),
                                 "owner-slug", owner_slug),
      visit);
}

absl::Status CircleCiClient::ListContextRestrictions(
    absl::string_view context_id, const ItemVisitor& visit) {
  return ListPages(absl::StrCat(base_url_, "/context/",
                                http::UrlEncode(context_id), "/restrictions"),
                   visit);
}

absl::Status CircleCiClient::ListContextEnvVars(absl::string_view context_id,
                                                const ItemVisitor& visit) {
  return ListPages(
      absl::StrCat(base_url_, "/context/", http::UrlEncode(context_id),
                   "/environment-variable"),
      visit);
}

absl::Status CircleCiClient::ListProjectWebhooks(absl::string_view project_id,
                                                 const ItemVisitor& visit) {
  return ListPages(
      http::AppendQueryParameter(
          http::AppendQueryParameter(absl::StrCat(base_url_, "/webhook"),
                                     "scope-id", project_id),
          "scope-type", "project"),
      visit);
}

absl::StatusOr<std::string> CircleCiClient::CreateProjectWebhook(
    absl::string_view project_id, absl::string_view url,
    absl::string_view signing_secret) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  auto string = [&](absl::string_view text) {
    json.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  };
  json.StartObject();
  json.Key("name");
  string("graphmill");
  json.Key("events");
  json.StartArray();
  string("workflow-completed");
  string("job-completed");
  json.EndArray();
  json.Key("url");
  string(url);
  json.Key("verify-tls");
  json.Bool(true);
  json.Key("signing-secret");
  string(signing_secret);
  json.Key("scope");
  json.StartObject();
  json.Key("id");
  string(project_id);
  json.Key("type");
  string("project");
  json.EndObject();
  json.EndObject();

  const std::string endpoint = absl::StrCat(base_url_, "/webhook");
  http::HttpHeaders headers = headers_;
  headers.emplace_back("Content-Type", "application/json");
  absl::StatusOr<http::HttpResponse> response =
      http_.Post(endpoint, headers, buffer.GetString());
  if (!response.ok()) return response.status();
  absl::StatusOr<rapidjson::Document> created =
      ParseObject(endpoint, response->body);
  if (!created.ok()) return created.status();
  auto id = created->FindMember("id");
  if (id == created->MemberEnd() || !id->value.IsString()) {
    return http::MalformedBodyError(Redact(endpoint),
                                    "the created webhook has no string 'id'");
  }
  return std::string(id->value.GetString(), id->value.GetStringLength());
}

}  // namespace graphmill::worker::circleci
