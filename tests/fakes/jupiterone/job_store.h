// The fake JupiterOne's synchronization state: jobs and their state machine
// (AWAITING_UPLOADS -> FINALIZE_PENDING -> FINISHED, or ABORTED), what each job
// received, and the graph stored per integration instance that finalize diffs
// against (deleting what is missing, except partial types).
#ifndef GRAPHMILL_TESTS_FAKES_JUPITERONE_JOB_STORE_H_
#define GRAPHMILL_TESTS_FAKES_JUPITERONE_JOB_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/fakes/jupiterone/payload.h"

namespace graphmill::fakes::jupiterone {

enum class JobStatus {
  kAwaitingUploads,
  kFinalizePending,
  kFinished,
  kAborted,
  kErrorBadData,
  kAbortedDueToInvalidConfiguration,
};
// "AWAITING_UPLOADS", "FINALIZE_PENDING", ...
const char* JobStatusName(JobStatus status);

struct DiffCounts {
  int64_t created = 0;
  int64_t updated = 0;  // same key, different canonical JSON
  int64_t deleted = 0;
};

// One accepted upload request.
struct UploadRecord {
  ObjectKind kind = ObjectKind::kEntity;
  int64_t body_bytes = 0;  // decoded JSON body
  int64_t wire_bytes = 0;  // as sent (gzip-compressed size when gzip)
  int64_t objects = 0;
  bool gzip = false;
  std::string correlation_id;  // JupiterOne-Correlation-Id, if sent
};

// The job as the API shows it.
struct JobRecord {
  std::string id;
  std::string source;
  std::string scope;
  std::string integration_instance_id;
  std::string integration_job_id;
  JobStatus status = JobStatus::kAwaitingUploads;
  int64_t start_timestamp_ms = 0;
  int64_t entities_uploaded = 0;  // objects received, repeats included
  int64_t relationships_uploaded = 0;
  DiffCounts entities;  // filled once FINISHED
  DiffCounts relationships;
};

// Everything a job received, for tests (GET /_control/jobs/{id}).
struct JobSnapshot {
  JobRecord job;
  std::map<std::string, std::string> entities;  // _key -> canonical JSON (last
                                                // received wins)
  std::map<std::string, std::string> relationships;
  std::vector<UploadRecord> uploads;  // accepted upload requests, in order
  int64_t requests = 0;  // requests naming this job, whatever their outcome
  int64_t rejected_requests = 0;  // of those, answered with an error
  int64_t repeated_keys = 0;      // objects whose _key this job already had
  bool finalized = false;
  std::vector<std::string> partial_types;  // as sent at finalize
  DiffCounts entity_diff;                  // computed at finalize
  DiffCounts relationship_diff;
  std::vector<std::string> deleted_entity_keys;
  std::vector<std::string> deleted_relationship_keys;
  bool aborted = false;
  std::string abort_reason;
  std::vector<std::pair<std::string, std::string>> events;  // (name, desc.)
};

// The graph kept for one integration instance (or api scope) after finalizes.
struct StoredGraph {
  std::map<std::string, std::string> entities;  // _key -> _type
  std::map<std::string, std::string> relationships;
};

// Thread-safe.
class JobStore {
 public:
  // A finalized job reads FINALIZE_PENDING for `finalize_delay`, then FINISHED.
  explicit JobStore(absl::Duration finalize_delay);

  // Every call below answers with the job record or the API error to send.
  Parsed<JobRecord> Create(const CreateJobRequest& request);
  Parsed<JobRecord> Get(const std::string& id);
  // Stores the objects (404 JOB_NOT_FOUND; 400 JOB_NOT_AWAITING_UPLOADS unless
  // the job awaits uploads).
  Parsed<JobRecord> Upload(const std::string& id, ObjectKind kind,
                           std::vector<ReceivedObject> objects,
                           UploadRecord record);
  Parsed<JobRecord> AddEvents(
      const std::string& id,
      std::vector<std::pair<std::string, std::string>> events);
  // Diffs the job's objects against the stored graph of its instance: new keys
  // are created, changed ones updated, stored keys not uploaded are deleted
  // unless their _type is in `partial_types` (then kept). The stored graph
  // becomes the result. 400 JOB_NOT_AWAITING_UPLOADS unless awaiting uploads.
  Parsed<JobRecord> Finalize(const std::string& id,
                             std::vector<std::string> partial_types);
  // 400 JOB_NOT_AWAITING_UPLOADS unless awaiting uploads.
  Parsed<JobRecord> Abort(const std::string& id, const AbortRequest& request);

  // Bookkeeping of requests naming job `id` (ignored for unknown ids).
  void CountRequest(const std::string& id);
  void CountRejected(const std::string& id);

  std::vector<JobSnapshot> Jobs() const;  // in creation order
  std::optional<JobSnapshot> Job(const std::string& id) const;
  // The graph stored for an integration instance id (or "api:<scope>").
  StoredGraph Graph(const std::string& instance) const;
  // Forgets all jobs and stored graphs.
  void Reset();

 private:
  struct StoredObject {
    std::string type;
    size_t hash = 0;
  };
  struct GraphState {
    std::map<std::string, StoredObject> entities;
    std::map<std::string, StoredObject> relationships;
  };
  struct JobState {
    JobSnapshot snapshot;
    std::map<std::string, std::string> entity_types;  // _key -> _type
    std::map<std::string, std::string> relationship_types;
    absl::Time finished_at = absl::InfiniteFuture();
  };

  JobState* Find(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The record as of now (FINALIZE_PENDING turns FINISHED after the delay).
  JobRecord Record(const JobState& job) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  JobSnapshot Snapshot(const JobState& job) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  static std::string GraphName(const JobRecord& job);

  const absl::Duration finalize_delay_;
  mutable absl::Mutex mutex_;
  std::vector<std::string> order_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, JobState> jobs_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, GraphState> graphs_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_job_number_ ABSL_GUARDED_BY(mutex_) = 1;
  uint32_t id_prefix_;
};

}  // namespace graphmill::fakes::jupiterone

#endif  // GRAPHMILL_TESTS_FAKES_JUPITERONE_JOB_STORE_H_
