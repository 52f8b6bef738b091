// Uploads a finalized run's graph to JupiterOne's synchronization API
// (shared/spec/jupiterone-runtime.md §4): create a job, upload every entity and
// then every relationship in batches of at most 5,000,000 bytes of JSON
// (several in flight, gzip optional), shrink raw data on HTTP 413, finalize
// with the partial types, or abort with the reason on any failure. Memory stays
// bounded: objects are streamed from an ObjectSource batch by batch.
#ifndef GRAPHMILL_COORDINATOR_SINKS_JUPITERONE_UPLOADER_H_
#define GRAPHMILL_COORDINATOR_SINKS_JUPITERONE_UPLOADER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/http/http_client.h"
#include "graphmill/v1/graph.pb.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::sinks {

inline constexpr char kDefaultJupiterOneBaseUrl[] =
    "https://api.us.jupiterone.io";
// JupiterOne's upload batch size: the largest request body (decoded JSON,
// `{"entities":[...]}` envelope included) this uploader builds.
inline constexpr int64_t kMaxBatchBytes = 5'000'000;
// Batches queued or being posted at once, as the reference SDK posts 6 at a
// time. The uploader holds at most kMaxBatchesInFlight + 1 batches (the one
// being filled) of serialized JSON, plus their gzip copies.
inline constexpr int kMaxBatchesInFlight = 6;

// Where a run is uploaded (the instance's upload config).
struct JupiterOneTarget {
  std::string base_url = kDefaultJupiterOneBaseUrl;  // http(s)://host[:port]
  std::string account_id;               // sent as JupiterOne-Account
  std::string api_token;                // secret: never logged or returned
  std::string integration_instance_id;  // the job's integrationInstanceId
  bool compress = false;                // gzip request bodies
};

// The run's objects, streamed (the coordinator implements it over its store).
class ObjectSource {
 public:
  virtual ~ObjectSource() = default;
  // Calls `fn` once per object of the run, in any order, without holding them
  // all in memory. Stops at the first non-OK status `fn` returns and returns
  // it; returns its own error if reading fails. Called from one thread; `fn`
  // may block (back-pressure while batches are in flight).
  virtual absl::Status ForEachEntity(
      const std::function<absl::Status(const v1::Entity&)>& fn) = 0;
  virtual absl::Status ForEachRelationship(
      const std::function<absl::Status(const v1::Relationship&)>& fn) = 0;
};

// Counts so far; given to UploaderOptions::on_progress after each accepted
// batch.
struct UploadProgress {
  int64_t entities_uploaded = 0;
  int64_t relationships_uploaded = 0;
  int64_t skipped = 0;
  int64_t batches = 0;
};

struct UploadResult {
  std::string job_id;
  std::string job_status;  // as finalize answered, e.g. "FINALIZE_PENDING"
  int64_t entities_uploaded = 0;  // accepted by JupiterOne
  int64_t relationships_uploaded = 0;
  int64_t skipped = 0;  // objects that did not fit even without raw data
  std::vector<std::string> skipped_keys;
  int64_t batches = 0;                   // upload requests accepted
  int64_t body_bytes = 0;                // JSON bytes accepted (before gzip)
  int64_t objects_without_raw_data = 0;  // sent without `_rawData` (too big)
  int64_t raw_values_truncated = 0;      // replaced by "TRUNCATED" after 413s
  // Finalize's partialDatasets.types: the given partial types plus the types
  // of skipped objects (so JupiterOne does not delete their old versions).
  std::vector<std::string> partial_types;
  // The most serialized JSON (request bodies and gzip copies) held at once.
  int64_t peak_buffered_bytes = 0;
};

// Retry behaviour for the JupiterOne API: 6 attempts with exponential backoff
// from 500 ms (capped at 30 s, full jitter), Retry-After honoured, 2 minutes
// per attempt (a 5 MB body on a slow link), 10 minutes per request in all.
http::HttpClientOptions DefaultJupiterOneHttpOptions();

struct UploaderOptions {
  // The largest request body built, envelope included; smaller values are for
  // tests. >= 1024.
  int64_t max_batch_bytes = kMaxBatchBytes;
  // Transport settings (the token is added to `redact`).
  http::HttpClientOptions http = DefaultJupiterOneHttpOptions();
  // Events for the run (name, level, description, time_ms set):
  // sync_upload_start, sync_upload_end, warn_raw_data_truncated and
  // warn_ingestion_limit_encountered (an object skipped, naming it). Calls are
  // serialized; may come from uploader threads. Null: none.
  std::function<void(const v1::Event&)> on_event;
  // Called after each accepted batch; serialized; may come from uploader
  // threads. Null: none.
  std::function<void(const UploadProgress&)> on_progress;
};

// Uploads every object of `source` as one synchronization job under
// target.integration_instance_id (source integration-external) and finalizes
// it with `partial_types`. Blocks until done. Errors:
//   INVALID_ARGUMENT naming the target field that is missing or malformed;
//   UNAUTHENTICATED / PERMISSION_DENIED "JupiterOne rejected the API token for
//     account 'X' (HTTP 401 ...)" on 401/403;
//   otherwise the HTTP client's error (429/5xx after retries, network) or the
//     source's error, prefixed with the job id.
// Any failure after the job was created aborts the job with the error message
// as its reason before returning. The token never appears in messages, logs
// or events.
absl::StatusOr<UploadResult> UploadToJupiterOne(
    const JupiterOneTarget& target, ObjectSource& source,
    const std::vector<std::string>& partial_types,
    const UploaderOptions& options);

}  // namespace graphmill::sinks

#endif  // GRAPHMILL_COORDINATOR_SINKS_JUPITERONE_UPLOADER_H_
