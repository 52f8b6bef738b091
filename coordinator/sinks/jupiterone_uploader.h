// Uploads a finalized run's graph to JupiterOne's synchronization API
// (jupiterone_api.h): create a job, upload every entity and then every
// relationship in batches of at most 5,000,000 bytes of JSON (several in
// flight, gzip optional), shrink raw data on HTTP 413, finalize with the
// partial types, or abort with the reason on any failure. Memory stays
// bounded: objects are streamed from an ObjectSource batch by batch.
// JupiterOneSink is this upload behind the Sink interface (sink.h), whose
// contract it keeps; UploadToJupiterOne is the same upload called directly.
#ifndef GRAPHMILL_COORDINATOR_SINKS_JUPITERONE_UPLOADER_H_
#define GRAPHMILL_COORDINATOR_SINKS_JUPITERONE_UPLOADER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/http/http_client.h"
#include "coordinator/sinks/jupiterone_api.h"
#include "coordinator/sinks/sink.h"
#include "graphmill/v1/graph.pb.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::sinks {

// JupiterOne's upload batch size: the largest request body (decoded JSON,
// `{"entities":[...]}` envelope included) this uploader builds.
inline constexpr int64_t kMaxBatchBytes = 5'000'000;
// Batches queued or being posted at once, as the reference SDK posts 6 at a
// time. The uploader holds at most kMaxBatchesInFlight + 1 batches (the one
// being filled) of serialized JSON, plus their gzip copies.
inline constexpr int kMaxBatchesInFlight = 6;

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

struct UploaderOptions {
  // The largest request body built, envelope included; smaller values are for
  // tests. >= 1024.
  int64_t max_batch_bytes = kMaxBatchBytes;
  // Transport settings (the token is added to `redact`). Its clock also times
  // the events.
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

// The JupiterOne upload as a Sink: one per target (an instance's upload
// config). Deliver() runs UploadToJupiterOne with the run's objects and
// partial types; its callbacks replace the options' on_event and on_progress
// when set. Thread-compatible, as the Sink contract says.
class JupiterOneSink final : public Sink {
 public:
  JupiterOneSink(JupiterOneTarget target, UploaderOptions options);

  std::string name() const override { return "JupiterOne"; }
  absl::StatusOr<Delivery> Deliver(const FinalizedRun& run,
                                   const SinkCallbacks& callbacks) override;

  // The full result of the last successful Deliver() (counts, job status,
  // memory peak), for benchmarks and tests.
  const UploadResult& last_result() const { return last_result_; }

 private:
  const JupiterOneTarget target_;
  const UploaderOptions options_;
  UploadResult last_result_;
};

}  // namespace graphmill::sinks

#endif  // GRAPHMILL_COORDINATOR_SINKS_JUPITERONE_UPLOADER_H_
