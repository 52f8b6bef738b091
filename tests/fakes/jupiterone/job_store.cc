// Implementation of job_store.h.
#include "tests/fakes/jupiterone/job_store.h"

#include <functional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace graphmill::fakes::jupiterone {
namespace {

ApiError JobNotFound(const std::string& id) {
  return ApiError{404, "JOB_NOT_FOUND",
                  absl::StrCat("synchronization job '", id, "' not found")};
}

ApiError NotAwaitingUploads(const JobRecord& job) {
  return ApiError{400, "JOB_NOT_AWAITING_UPLOADS",
                  absl::StrCat("synchronization job '", job.id,
                               "' is not awaiting uploads (status ",
                               JobStatusName(job.status), ")")};
}

JobStatus TerminalStatus(const std::string& name) {
  if (name == "ERROR_BAD_DATA") return JobStatus::kErrorBadData;
  if (name == "ABORTED_DUE_TO_INVALID_CONFIGURATION") {
    return JobStatus::kAbortedDueToInvalidConfiguration;
  }
  return JobStatus::kAborted;
}

struct DiffResult {
  DiffCounts counts;
  std::vector<std::string> deleted_keys;
};

// Replaces `stored` with `uploaded` plus the stored objects of partial types
// that were not uploaded, and counts the changes.
template <typename StoredMap>
DiffResult ApplyDiff(const std::map<std::string, std::string>& uploaded,
                     const std::map<std::string, std::string>& uploaded_types,
                     const std::set<std::string>& partial_types,
                     StoredMap& stored) {
  DiffResult result;
  StoredMap next;
  for (const auto& [key, json] : uploaded) {
    const size_t hash = std::hash<std::string>()(json);
    auto it = stored.find(key);
    if (it == stored.end()) {
      ++result.counts.created;
    } else if (it->second.hash != hash) {
      ++result.counts.updated;
    }
    next[key] = {uploaded_types.at(key), hash};
  }
  for (const auto& [key, object] : stored) {
    if (uploaded.count(key) > 0) continue;
    if (partial_types.count(object.type) > 0) {
      next[key] = object;  // a partial type: missing is not gone
    } else {
      ++result.counts.deleted;
      result.deleted_keys.push_back(key);
    }
  }
  stored = std::move(next);
  return result;
}

}  // namespace

const char* JobStatusName(JobStatus status) {
  switch (status) {
    case JobStatus::kAwaitingUploads:
      return "AWAITING_UPLOADS";
    case JobStatus::kFinalizePending:
      return "FINALIZE_PENDING";
    case JobStatus::kFinished:
      return "FINISHED";
    case JobStatus::kAborted:
      return "ABORTED";
    case JobStatus::kErrorBadData:
      return "ERROR_BAD_DATA";
    case JobStatus::kAbortedDueToInvalidConfiguration:
      return "ABORTED_DUE_TO_INVALID_CONFIGURATION";
  }
  return "UNKNOWN";
}

JobStore::JobStore(absl::Duration finalize_delay)
    : finalize_delay_(finalize_delay),
      id_prefix_(static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()))) {}

JobStore::JobState* JobStore::Find(const std::string& id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

JobRecord JobStore::Record(const JobState& job) const {
  JobRecord record = job.snapshot.job;
  if (record.status == JobStatus::kFinalizePending &&
      absl::Now() >= job.finished_at) {
    record.status = JobStatus::kFinished;
    record.entities = job.snapshot.entity_diff;
    record.relationships = job.snapshot.relationship_diff;
  }
  return record;
}

JobSnapshot JobStore::Snapshot(const JobState& job) const {
  JobSnapshot snapshot = job.snapshot;
  snapshot.job = Record(job);
  return snapshot;
}

std::string JobStore::GraphName(const JobRecord& job) {
  return job.source == "api" ? absl::StrCat("api:", job.scope)
                             : job.integration_instance_id;
}

Parsed<JobRecord> JobStore::Create(const CreateJobRequest& request) {
  absl::MutexLock lock(&mutex_);
  const std::string id = absl::StrFormat("%08x-0000-4000-8000-%012x",
                                         id_prefix_, next_job_number_++);
  JobState& job = jobs_[id];
  order_.push_back(id);
  JobRecord& record = job.snapshot.job;
  record.id = id;
  record.source = request.source;
  record.scope = request.scope;
  record.integration_instance_id = request.integration_instance_id;
  // Like JupiterOne: without a given integration job id, the new integration
  // job shares the synchronization job's id (integration sources only).
  record.integration_job_id = request.integration_job_id;
  if (record.integration_job_id.empty() && request.source != "api") {
    record.integration_job_id = id;
  }
  record.start_timestamp_ms = absl::ToUnixMillis(absl::Now());
  job.snapshot.requests = 1;
  return Record(job);
}

Parsed<JobRecord> JobStore::Get(const std::string& id) {
  absl::MutexLock lock(&mutex_);
  const JobState* job = Find(id);
  if (job == nullptr) return JobNotFound(id);
  return Record(*job);
}

Parsed<JobRecord> JobStore::Upload(const std::string& id, ObjectKind kind,
                                   std::vector<ReceivedObject> objects,
                                   UploadRecord record) {
  absl::MutexLock lock(&mutex_);
  JobState* job = Find(id);
  if (job == nullptr) return JobNotFound(id);
  JobSnapshot& snapshot = job->snapshot;
  if (snapshot.job.status != JobStatus::kAwaitingUploads) {
    ++snapshot.rejected_requests;
    return NotAwaitingUploads(snapshot.job);
  }
  auto& received =
      kind == ObjectKind::kEntity ? snapshot.entities : snapshot.relationships;
  auto& types =
      kind == ObjectKind::kEntity ? job->entity_types : job->relationship_types;
  int64_t& uploaded = kind == ObjectKind::kEntity
                          ? snapshot.job.entities_uploaded
                          : snapshot.job.relationships_uploaded;
  record.kind = kind;
  record.objects = static_cast<int64_t>(objects.size());
  for (ReceivedObject& object : objects) {
    types[object.key] = std::move(object.type);
    const bool is_new =
        received.insert_or_assign(std::move(object.key), std::move(object.json))
            .second;
    if (!is_new) ++snapshot.repeated_keys;
  }
  uploaded += record.objects;
  snapshot.uploads.push_back(std::move(record));
  return Record(*job);
}

Parsed<JobRecord> JobStore::AddEvents(
    const std::string& id,
    std::vector<std::pair<std::string, std::string>> events) {
  absl::MutexLock lock(&mutex_);
  JobState* job = Find(id);
  if (job == nullptr) return JobNotFound(id);
  for (auto& event : events) job->snapshot.events.push_back(std::move(event));
  return Record(*job);
}

Parsed<JobRecord> JobStore::Finalize(const std::string& id,
                                     std::vector<std::string> partial_types) {
  absl::MutexLock lock(&mutex_);
  JobState* job = Find(id);
  if (job == nullptr) return JobNotFound(id);
  JobSnapshot& snapshot = job->snapshot;
  if (snapshot.job.status != JobStatus::kAwaitingUploads) {
    ++snapshot.rejected_requests;
    return NotAwaitingUploads(snapshot.job);
  }
  const std::set<std::string> partial(partial_types.begin(),
                                      partial_types.end());
  GraphState& graph = graphs_[GraphName(snapshot.job)];
  DiffResult entities =
      ApplyDiff(snapshot.entities, job->entity_types, partial, graph.entities);
  DiffResult relationships =
      ApplyDiff(snapshot.relationships, job->relationship_types, partial,
                graph.relationships);
  snapshot.finalized = true;
  snapshot.partial_types = std::move(partial_types);
  snapshot.entity_diff = entities.counts;
  snapshot.relationship_diff = relationships.counts;
  snapshot.deleted_entity_keys = std::move(entities.deleted_keys);
  snapshot.deleted_relationship_keys = std::move(relationships.deleted_keys);
  snapshot.job.status = JobStatus::kFinalizePending;
  job->finished_at = absl::Now() + finalize_delay_;
  // The answer to finalize itself is always FINALIZE_PENDING, as JupiterOne's.
  JobRecord record = snapshot.job;
  return record;
}

Parsed<JobRecord> JobStore::Abort(const std::string& id,
                                  const AbortRequest& request) {
  absl::MutexLock lock(&mutex_);
  JobState* job = Find(id);
  if (job == nullptr) return JobNotFound(id);
  JobSnapshot& snapshot = job->snapshot;
  if (snapshot.job.status != JobStatus::kAwaitingUploads) {
    ++snapshot.rejected_requests;
    return NotAwaitingUploads(snapshot.job);
  }
  snapshot.aborted = true;
  snapshot.abort_reason = request.reason;
  snapshot.job.status = TerminalStatus(request.terminal_status);
  return Record(*job);
}

void JobStore::CountRequest(const std::string& id) {
  absl::MutexLock lock(&mutex_);
  if (JobState* job = Find(id)) ++job->snapshot.requests;
}

void JobStore::CountRejected(const std::string& id) {
  absl::MutexLock lock(&mutex_);
  if (JobState* job = Find(id)) ++job->snapshot.rejected_requests;
}

std::vector<JobSnapshot> JobStore::Jobs() const {
  absl::MutexLock lock(&mutex_);
  std::vector<JobSnapshot> out;
  out.reserve(order_.size());
  for (const std::string& id : order_) out.push_back(Snapshot(jobs_.at(id)));
  return out;
}

std::optional<JobSnapshot> JobStore::Job(const std::string& id) const {
  absl::MutexLock lock(&mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return Snapshot(it->second);
}

StoredGraph JobStore::Graph(const std::string& instance) const {
  absl::MutexLock lock(&mutex_);
  StoredGraph out;
  auto it = graphs_.find(instance);
  if (it == graphs_.end()) return out;
  for (const auto& [key, object] : it->second.entities) {
    out.entities[key] = object.type;
  }
  for (const auto& [key, object] : it->second.relationships) {
    out.relationships[key] = object.type;
  }
  return out;
}

void JobStore::Reset() {
  absl::MutexLock lock(&mutex_);
  order_.clear();
  jobs_.clear();
  graphs_.clear();
}

}  // namespace graphmill::fakes::jupiterone
