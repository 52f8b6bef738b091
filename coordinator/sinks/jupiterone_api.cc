// Implementation of coordinator/sinks/jupiterone_api.h.
#include "coordinator/sinks/jupiterone_api.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::sinks {
namespace {

constexpr char kJobsPath[] = "/persister/synchronization/jobs";

std::string JsonString(absl::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

http::HttpClientOptions WithToken(const JupiterOneTarget& target,
                                  http::HttpClientOptions options) {
  if (!target.api_token.empty()) options.redact.push_back(target.api_token);
  return options;
}

}  // namespace

http::HttpClientOptions DefaultJupiterOneHttpOptions() {
  http::HttpClientOptions options;
  options.request_timeout = absl::Minutes(2);
  options.connect_timeout = absl::Seconds(10);
  options.max_attempts = 6;
  options.initial_backoff = absl::Milliseconds(500);
  options.max_backoff = absl::Seconds(30);
  options.total_budget = absl::Minutes(10);
  // JupiterOne answers with small JSON documents; the cap is ours, not a flag.
  options.max_response_bytes = int64_t{16} << 20;
  options.max_response_bytes_flag = "";
  return options;
}

JupiterOneApi::JupiterOneApi(const JupiterOneTarget& target,
                             http::HttpClientOptions options)
    : target_(target), client_(WithToken(target, std::move(options))) {
  target_.base_url = std::string(absl::StripSuffix(target_.base_url, "/"));
}

absl::Status JupiterOneApi::ValidateTarget() const {
  auto missing = [](const char* field) {
    return absl::InvalidArgumentError(
        absl::StrCat("JupiterOne upload: '", field, "' is required"));
  };
  if (target_.account_id.empty()) return missing("account_id");
  if (target_.api_token.empty()) return missing("api_token");
  if (target_.integration_instance_id.empty()) {
    return missing("integration_instance_id");
  }
  if (!absl::StartsWith(target_.base_url, "https://") &&
      !absl::StartsWith(target_.base_url, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("JupiterOne upload: 'base_url' must start with "
                     "https:// or http://, got '",
                     target_.base_url, "'"));
  }
  return absl::OkStatus();
}

http::HttpHeaders JupiterOneApi::Headers() const {
  return {{"Authorization", absl::StrCat("Bearer ", target_.api_token)},
          {"JupiterOne-Account", target_.account_id},
          {"Content-Type", "application/json"},
          {"Accept", "application/json"}};
}

std::string JupiterOneApi::Redact(absl::string_view text) const {
  return client_.Redact(text);
}

absl::Status JupiterOneApi::Explain(const absl::Status& status) const {
  const http::HttpErrorKind kind = http::HttpErrorKindOf(status);
  if (kind == http::HttpErrorKind::kAuth ||
      kind == http::HttpErrorKind::kPermission) {
    const absl::string_view message = status.message();
    const size_t http = message.find("HTTP ");
    const std::string detail =
        http == absl::string_view::npos
            ? std::string(message)
            : absl::StrCat(message.substr(http), " on ",
                           absl::StripSuffix(message.substr(0, http), ": "));
    return absl::Status(
        status.code(),
        absl::StrCat("JupiterOne rejected the API token for account '",
                     target_.account_id, "' (", detail, ")"));
  }
  if (absl::StrContains(status.message(), "JOB_NOT_AWAITING_UPLOADS")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "JupiterOne job ", job_id_,
        " no longer accepts uploads (it ended elsewhere): ", status.message()));
  }
  if (job_id_.empty()) return status;
  return absl::Status(status.code(), absl::StrCat("JupiterOne job ", job_id_,
                                                  ": ", status.message()));
}

absl::Status JupiterOneApi::CreateJob() {
  const std::string body = absl::StrCat(
      R"({"source":"integration-external","integrationInstanceId":)",
      JsonString(target_.integration_instance_id), "}");
  const std::string url = absl::StrCat(target_.base_url, kJobsPath);
  absl::StatusOr<http::HttpResponse> response =
      client_.Post(url, Headers(), body);
  if (!response.ok()) {
    const absl::Status explained = Explain(response.status());
    if (explained.message() != response.status().message()) return explained;
    return absl::Status(
        explained.code(),
        absl::StrCat("JupiterOne: cannot create a synchronization job for "
                     "integration instance '",
                     target_.integration_instance_id,
                     "': ", explained.message()));
  }
  rapidjson::Document document;
  document.Parse(response->body.data(), response->body.size());
  if (document.HasParseError() || !document.IsObject() ||
      !document.HasMember("job") || !document["job"].IsObject() ||
      !document["job"].HasMember("id") || !document["job"]["id"].IsString() ||
      document["job"]["id"].GetStringLength() == 0) {
    return http::MalformedBodyError(client_.Redact(url),
                                    "the answer has no job.id");
  }
  job_id_.assign(document["job"]["id"].GetString(),
                 document["job"]["id"].GetStringLength());
  job_url_ =
      absl::StrCat(target_.base_url, kJobsPath, "/", http::UrlEncode(job_id_));
  return absl::OkStatus();
}

absl::Status JupiterOneApi::Upload(absl::string_view kind,
                                   const std::string& body, bool gzipped,
                                   const std::string& correlation_id) {
  http::HttpHeaders headers = Headers();
  headers.emplace_back("JupiterOne-Correlation-Id", correlation_id);
  if (gzipped) headers.emplace_back("Content-Encoding", "gzip");
  return client_.Post(absl::StrCat(job_url_, "/", kind), headers, body)
      .status();
}

absl::StatusOr<std::string> JupiterOneApi::Finalize(
    const std::vector<std::string>& partial_types) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("partialDatasets");
  writer.StartObject();
  writer.Key("types");
  writer.StartArray();
  for (const std::string& type : partial_types) {
    writer.String(type.data(), static_cast<rapidjson::SizeType>(type.size()));
  }
  writer.EndArray();
  writer.EndObject();
  writer.EndObject();
  absl::StatusOr<http::HttpResponse> response =
      client_.Post(absl::StrCat(job_url_, "/finalize"), Headers(),
                   std::string(buffer.GetString(), buffer.GetSize()));
  if (!response.ok()) return Explain(response.status());
  rapidjson::Document document;
  document.Parse(response->body.data(), response->body.size());
  if (!document.HasParseError() && document.IsObject() &&
      document.HasMember("job") && document["job"].IsObject() &&
      document["job"].HasMember("status") &&
      document["job"]["status"].IsString()) {
    return std::string(document["job"]["status"].GetString());
  }
  return std::string("UNKNOWN");
}

absl::Status JupiterOneApi::Abort(const absl::Status& error) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("reason");
  const std::string reason = client_.Redact(error.message());
  writer.String(reason.data(), static_cast<rapidjson::SizeType>(reason.size()));
  writer.EndObject();
  // Through the client's retries like any request, so a transient error does
  // not leave the job open.
  absl::StatusOr<http::HttpResponse> aborted =
      client_.Post(absl::StrCat(job_url_, "/abort"), Headers(),
                   std::string(buffer.GetString(), buffer.GetSize()));
  if (!aborted.ok()) {
    LogWarn("JupiterOne job ", job_id_,
            ": abort failed: ", aborted.status().message());
    return absl::Status(
        error.code(),
        absl::StrCat(error.message(), " (aborting the job also failed: ",
                     aborted.status().message(), ")"));
  }
  LogWarn("JupiterOne job ", job_id_, " aborted: ", reason);
  return error;
}

}  // namespace graphmill::sinks
