// The JupiterOne synchronization API (persister/synchronization/jobs) for one
// target: create a job, post upload bodies to it, finalize or abort it, and
// the error messages the uploader reports. Knows nothing of batching; that is
// jupiterone_uploader.cc's job.
//
// Contract: thread-safe once the job exists (Upload() is called from the
// uploader's worker threads); CreateJob(), Finalize() and Abort() are called
// from one thread. Every request goes through http::HttpClient, so 429, 5xx
// and network errors are retried there; errors are its statuses passed
// through Explain(). The API token is redacted from every message and log
// line.
#ifndef GRAPHMILL_COORDINATOR_SINKS_JUPITERONE_API_H_
#define GRAPHMILL_COORDINATOR_SINKS_JUPITERONE_API_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http_client.h"

namespace graphmill::sinks {

inline constexpr char kDefaultJupiterOneBaseUrl[] =
    "https://api.us.jupiterone.io";

// Where a run is uploaded (the instance's upload config).
struct JupiterOneTarget {
  std::string base_url = kDefaultJupiterOneBaseUrl;  // http(s)://host[:port]
  std::string account_id;               // sent as JupiterOne-Account
  std::string api_token;                // secret: never logged or returned
  std::string integration_instance_id;  // the job's integrationInstanceId
  bool compress = false;                // gzip request bodies
};

// Retry behaviour for the JupiterOne API: 6 attempts with exponential backoff
// from 500 ms (capped at 30 s, full jitter), Retry-After honoured, 2 minutes
// per attempt (a 5 MB body on a slow link), 10 minutes per request in all.
http::HttpClientOptions DefaultJupiterOneHttpOptions();

class JupiterOneApi {
 public:
  // `options.redact` gets the target's token added.
  JupiterOneApi(const JupiterOneTarget& target,
                http::HttpClientOptions options);
  JupiterOneApi(const JupiterOneApi&) = delete;
  JupiterOneApi& operator=(const JupiterOneApi&) = delete;

  // INVALID_ARGUMENT naming the target field that is missing or malformed.
  absl::Status ValidateTarget() const;

  // Creates the synchronization job (source integration-external) and keeps
  // its id for the calls below. Errors as Explain(), naming the integration
  // instance; DATA_LOSS for an answer without job.id.
  absl::Status CreateJob();
  const std::string& job_id() const { return job_id_; }

  // Posts one upload body to the job: `kind` is "entities" or
  // "relationships", `body` the JSON document (gzip-compressed when
  // `gzipped`). `correlation_id` is sent as JupiterOne-Correlation-Id. The
  // client's status as it is (HttpStatusOf tells a 413).
  absl::Status Upload(absl::string_view kind, const std::string& body,
                      bool gzipped, const std::string& correlation_id);

  // Finalizes the job with `partial_types` as partialDatasets.types; returns
  // the job status it answered ("UNKNOWN" if it did not say). Errors as
  // Explain().
  absl::StatusOr<std::string> Finalize(
      const std::vector<std::string>& partial_types);

  // Aborts the job with `error`'s message (redacted) as the reason and
  // returns `error`, or `error` with the abort's own failure appended.
  absl::Status Abort(const absl::Status& error);

  // A client status as the uploader reports it: 401/403 name the account
  // ("JupiterOne rejected the API token for account 'X' (HTTP 401 ... on POST
  // <url>)"), JOB_NOT_AWAITING_UPLOADS is FAILED_PRECONDITION, anything else
  // is prefixed with the job id once there is one.
  absl::Status Explain(const absl::Status& status) const;

  // `text` with the token redacted.
  std::string Redact(absl::string_view text) const;

 private:
  http::HttpHeaders Headers() const;

  JupiterOneTarget target_;  // base_url without a trailing '/'
  http::HttpClient client_;
  std::string job_id_;
  std::string job_url_;
};

}  // namespace graphmill::sinks

#endif  // GRAPHMILL_COORDINATOR_SINKS_JUPITERONE_API_H_
