// Implementation of jupiterone_uploader.h: a producer (the caller's thread,
// streaming from the ObjectSource) fills batches; kMaxBatchesInFlight worker
// threads post them through JupiterOneApi, shrinking or splitting on HTTP 413.
#include "coordinator/sinks/jupiterone_uploader.h"

#include <atomic>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/graph_json.h"
#include "common/log.h"
#include "coordinator/sinks/raw_data_shrinker.h"
#include "coordinator/sinks/upload_batch.h"

namespace graphmill::sinks {
namespace {

using upload::Batch;
using upload::BatchItem;
using upload::ByteMeter;
using upload::Gzip;
using upload::Kind;
using upload::LimitLearner;
using upload::MakeSealedBatch;
using upload::MeteredString;
using upload::Plural;
using upload::Prefix;
using upload::Singular;
using upload::SizeAlone;
using upload::WithUploadableRawData;

// Keys named in one truncation event.
constexpr size_t kKeysPerEvent = 5;

// One upload: the job, its batches in flight, and what they achieved.
class Uploader {
 public:
  Uploader(const JupiterOneTarget& target, const UploaderOptions& options)
      : target_(target),
        options_(options),
        clock_(options.http.clock != nullptr ? options.http.clock
                                             : Clock::Real()),
        api_(target, options.http),
        learner_(options.max_batch_bytes) {}

  ~Uploader() { StopWorkers(); }

  absl::StatusOr<UploadResult> Run(ObjectSource& source,
                                   const std::vector<std::string>& partial) {
    if (absl::Status status = Validate(); !status.ok()) return status;
    if (absl::Status created = api_.CreateJob(); !created.ok()) return created;
    Emit(v1::EVENT_LEVEL_INFO, "sync_upload_start",
         absl::StrCat("Uploading to JupiterOne synchronization job ",
                      api_.job_id(), " (integration instance ",
                      target_.integration_instance_id, ")"));
    StartWorkers();
    absl::Status status = UploadAll(source);
    StopWorkers();
    if (!status.ok()) return api_.Abort(status);

    UploadResult result = Result();
    for (const std::string& type : partial) partial_types_.insert(type);
    result.partial_types.assign(partial_types_.begin(), partial_types_.end());
    absl::StatusOr<std::string> job_status =
        api_.Finalize(result.partial_types);
    if (!job_status.ok()) return api_.Abort(job_status.status());
    result.job_status = *job_status;
    Emit(v1::EVENT_LEVEL_INFO, "sync_upload_end",
         absl::StrCat("Uploaded ", result.entities_uploaded, " entities and ",
                      result.relationships_uploaded,
                      " relationships to JupiterOne job ", api_.job_id(),
                      " in ", result.batches, " batches (", result.skipped,
                      " skipped); finalize answered ", result.job_status));
    result.peak_buffered_bytes = meter_.peak();
    return result;
  }

 private:
  absl::Status Validate() const {
    if (absl::Status status = api_.ValidateTarget(); !status.ok()) {
      return status;
    }
    if (options_.max_batch_bytes < 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("JupiterOne upload: 'max_batch_bytes' must be at "
                       "least 1024, got ",
                       options_.max_batch_bytes));
    }
    return absl::OkStatus();
  }

  // ---- Producing batches (the caller's thread).

  absl::Status UploadAll(ObjectSource& source) {
    absl::Status status = source.ForEachEntity(
        [this](const v1::Entity& entity) { return AddEntity(entity); });
    if (status.ok()) status = FlushAndDrain();
    if (status.ok()) {
      status = source.ForEachRelationship(
          [this](const v1::Relationship& relationship) {
            return AddObject(Kind::kRelationships, relationship.key(),
                             relationship.type(),
                             RelationshipToJson(relationship));
          });
    }
    if (status.ok()) status = FlushAndDrain();
    current_.reset();
    // A worker's error explains a source stopped by it better than the stop.
    absl::Status worker_error = Drain();
    if (!worker_error.ok()) return worker_error;
    if (!status.ok()) return api_.Explain(status);
    return absl::OkStatus();
  }

  absl::Status AddEntity(const v1::Entity& entity) {
    std::unique_ptr<v1::Entity> normalized = WithUploadableRawData(entity);
    const v1::Entity& uploadable = normalized ? *normalized : entity;
    std::string json = EntityToJson(uploadable, /*include_raw_data=*/true);
    const Kind kind = Kind::kEntities;
    if (SizeAlone(kind, json.size()) > options_.max_batch_bytes &&
        uploadable.raw_data_size() > 0) {
      // As the reference does: an object over the limit loses its raw data.
      const size_t with_raw_data = json.size();
      json = EntityToJson(uploadable, /*include_raw_data=*/false);
      {
        absl::MutexLock lock(&results_mutex_);
        ++objects_without_raw_data_;
      }
      Emit(v1::EVENT_LEVEL_WARN, "warn_raw_data_truncated",
           absl::StrCat("JupiterOne upload: entity '", entity.key(), "' (",
                        entity.type(),
                        ") sent without raw data: ", with_raw_data,
                        " bytes of JSON exceed the batch limit "
                        "of ",
                        options_.max_batch_bytes, " bytes"));
    }
    return AddObject(kind, entity.key(), entity.type(), std::move(json));
  }

  absl::Status AddObject(Kind kind, const std::string& key,
                         const std::string& type, std::string json) {
    if (failed_.load(std::memory_order_relaxed)) {
      return absl::CancelledError("upload stopped after an error");
    }
    if (SizeAlone(kind, json.size()) > options_.max_batch_bytes) {
      Skip(kind, key, type,
           absl::StrCat(
               SizeAlone(kind, json.size()),
               " bytes of JSON exceed the batch limit of ",
               options_.max_batch_bytes, " bytes",
               kind == Kind::kEntities ? " even without raw data" : ""));
      return absl::OkStatus();
    }
    if (current_ != nullptr && !current_->items.empty() &&
        current_->SizeWith(json.size()) > learner_.BuildLimit()) {
      if (absl::Status status = Submit(std::move(current_)); !status.ok()) {
        return status;
      }
    }
    if (current_ == nullptr) {
      current_ = std::make_unique<Batch>(kind, &meter_);
      current_->body.Change([&](std::string& body) {
        // Never grows past this, so the count is the real footprint.
        body.reserve(static_cast<size_t>(options_.max_batch_bytes));
        body.append(Prefix(kind));
      });
    }
    BatchItem item{key, type, 0, json.size()};
    current_->body.Change([&](std::string& body) {
      if (!current_->items.empty()) body.push_back(',');
      item.offset = body.size();
      body += json;
    });
    current_->items.push_back(std::move(item));
    return absl::OkStatus();
  }

  absl::Status FlushAndDrain() {
    if (current_ != nullptr && !current_->items.empty()) {
      if (absl::Status status = Submit(std::move(current_)); !status.ok()) {
        return status;
      }
    }
    current_.reset();
    return Drain();
  }

  // ---- The queue between the producer and the workers.

  bool CanSubmit() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mutex_) {
    return outstanding_ < kMaxBatchesInFlight || !error_.ok();
  }
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mutex_) {
    return !queue_.empty() || closing_;
  }
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mutex_) {
    return outstanding_ == 0;
  }

  // Seals `batch` and queues it, waiting while kMaxBatchesInFlight are out.
  // Returns the first worker error instead (the batch is dropped).
  absl::Status Submit(std::unique_ptr<Batch> batch) {
    batch->body.Change([](std::string& body) { body += "]}"; });
    batch->correlation_id = NewCorrelationId();
    absl::MutexLock lock(&queue_mutex_);
    queue_mutex_.Await(absl::Condition(this, &Uploader::CanSubmit));
    if (!error_.ok()) return error_;
    ++outstanding_;
    queue_.push_back(std::move(batch));
    return absl::OkStatus();
  }

  absl::Status Drain() {
    absl::MutexLock lock(&queue_mutex_);
    queue_mutex_.Await(absl::Condition(this, &Uploader::Idle));
    return error_;
  }

  void StartWorkers() {
    for (int i = 0; i < kMaxBatchesInFlight; ++i) {
      workers_.emplace_back([this] { WorkerLoop(); });
    }
  }

  void StopWorkers() {
    {
      absl::MutexLock lock(&queue_mutex_);
      closing_ = true;
    }
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
  }

  void WorkerLoop() {
    for (;;) {
      std::unique_ptr<Batch> batch;
      bool skip = false;
      {
        absl::MutexLock lock(&queue_mutex_);
        queue_mutex_.Await(absl::Condition(this, &Uploader::HasWork));
        if (queue_.empty()) return;  // closing
        batch = std::move(queue_.front());
        queue_.pop_front();
        skip = !error_.ok();
      }
      absl::Status status;
      if (!skip) status = Send(std::move(batch));
      batch.reset();  // released before the producer may fill another
      absl::MutexLock lock(&queue_mutex_);
      --outstanding_;
      if (!status.ok() && error_.ok()) {
        error_ = api_.Explain(status);
        failed_.store(true);
      }
    }
  }

  // ---- Sending one batch (worker threads).

  // Posts `batch`; on 413 shrinks its raw data and retries, splits it when
  // nothing is left to cut, and skips a lone object that still does not fit.
  absl::Status Send(std::unique_ptr<Batch> batch) {
    for (;;) {
      const int64_t size = batch->size();
      const absl::Status status = Post(*batch);
      if (status.ok()) {
        learner_.RecordAccepted(size);
        Accepted(*batch);
        return absl::OkStatus();
      }
      if (http::HttpStatusOf(status) != 413) return status;
      learner_.RecordTooLarge(size);
      const int64_t target = learner_.ShrinkTarget(size);
      if (Shrink(batch, size - target) && batch->size() < size) continue;
      if (batch->items.size() > 1) {
        auto [first, second] = Split(*batch);
        batch.reset();
        if (absl::Status sent = Send(std::move(first)); !sent.ok()) return sent;
        return Send(std::move(second));
      }
      const BatchItem& item = batch->items.front();
      Skip(batch->kind, item.key, item.type,
           absl::StrCat("JupiterOne rejected it alone (HTTP 413, ", size,
                        " bytes) with no raw data left to truncate"));
      return absl::OkStatus();
    }
  }

  absl::Status Post(const Batch& batch) {
    if (!target_.compress) {
      return api_.Upload(Plural(batch.kind), batch.body.get(),
                         /*gzipped=*/false, batch.correlation_id);
    }
    // The compressed copy is metered too: it is held while it is posted.
    MeteredString compressed(&meter_);
    absl::Status gzip_status;
    compressed.Change([&](std::string& text) {
      absl::StatusOr<std::string> gzipped = Gzip(batch.body.get());
      if (gzipped.ok()) {
        text = *std::move(gzipped);
      } else {
        gzip_status = gzipped.status();
      }
    });
    if (!gzip_status.ok()) return gzip_status;
    return api_.Upload(Plural(batch.kind), compressed.get(), /*gzipped=*/true,
                       batch.correlation_id);
  }

  // Truncates raw data largest-first to remove `bytes` from the body; rebuilds
  // it. False when nothing could be cut.
  bool Shrink(std::unique_ptr<Batch>& batch, int64_t bytes) {
    if (batch->kind != Kind::kEntities) return false;
    std::vector<std::string> jsons;
    jsons.reserve(batch->items.size());
    for (const BatchItem& item : batch->items) {
      jsons.push_back(batch->ItemJson(item));
    }
    const int64_t before = batch->size();
    const ShrinkOutcome outcome = ShrinkRawData(jsons, bytes);
    if (outcome.values_truncated == 0) return false;
    std::vector<std::string> keys;
    for (size_t index : outcome.changed) {
      if (keys.size() == kKeysPerEvent) {
        keys.push_back("...");
        break;
      }
      keys.push_back(absl::StrCat("'", batch->items[index].key, "'"));
    }
    std::string correlation_id = batch->correlation_id;
    batch =
        MakeSealedBatch(batch->kind, &meter_, std::move(batch->items), jsons);
    batch->correlation_id = std::move(correlation_id);
    {
      absl::MutexLock lock(&results_mutex_);
      raw_values_truncated_ += outcome.values_truncated;
    }
    Emit(v1::EVENT_LEVEL_WARN, "warn_raw_data_truncated",
         absl::StrCat("JupiterOne rejected a batch of ", before,
                      " bytes (HTTP 413): replaced ", outcome.values_truncated,
                      " raw data values of ", outcome.changed.size(),
                      " entities (", absl::StrJoin(keys, ", "), ") with \"",
                      kTruncatedValue, "\", largest first; now ", batch->size(),
                      " bytes"));
    return true;
  }

  std::pair<std::unique_ptr<Batch>, std::unique_ptr<Batch>> Split(
      const Batch& batch) {
    const size_t half = batch.items.size() / 2;
    auto make = [&](size_t begin, size_t end) {
      std::vector<BatchItem> items(batch.items.begin() + begin,
                                   batch.items.begin() + end);
      std::vector<std::string> jsons;
      for (const BatchItem& item : items) jsons.push_back(batch.ItemJson(item));
      auto part = MakeSealedBatch(batch.kind, &meter_, std::move(items), jsons);
      part->correlation_id = NewCorrelationId();
      return part;
    };
    return {make(0, half), make(half, batch.items.size())};
  }

  // ---- Results, events, progress.

  void Accepted(const Batch& batch) {
    UploadProgress progress;
    {
      absl::MutexLock lock(&results_mutex_);
      const int64_t count = static_cast<int64_t>(batch.items.size());
      if (batch.kind == Kind::kEntities) {
        entities_uploaded_ += count;
      } else {
        relationships_uploaded_ += count;
      }
      ++batches_;
      body_bytes_ += batch.size();
      progress = {entities_uploaded_, relationships_uploaded_,
                  static_cast<int64_t>(skipped_keys_.size()), batches_};
      // Under the lock, so calls are serialized and counts never go back.
      if (options_.on_progress) options_.on_progress(progress);
    }
  }

  void Skip(Kind kind, const std::string& key, const std::string& type,
            const std::string& why) {
    {
      absl::MutexLock lock(&results_mutex_);
      skipped_keys_.push_back(key);
      partial_types_.insert(type);
    }
    Emit(v1::EVENT_LEVEL_WARN, "warn_ingestion_limit_encountered",
         absl::StrCat("JupiterOne upload: ", Singular(kind), " '", key, "' (",
                      type, ") skipped: ", why,
                      "; its type is reported "
                      "partial so JupiterOne keeps what it had"));
  }

  void Emit(v1::EventLevel level, const std::string& name,
            const std::string& description) {
    LogInfo("JupiterOne upload event ", name, ": ", description);
    if (!options_.on_event) return;
    v1::Event event;
    event.set_level(level);
    event.set_name(name);
    event.set_description(description);
    event.set_time_ms(clock_->NowMs());
    absl::MutexLock lock(&events_mutex_);
    options_.on_event(event);
  }

  UploadResult Result() {
    absl::MutexLock lock(&results_mutex_);
    UploadResult result;
    result.job_id = api_.job_id();
    result.entities_uploaded = entities_uploaded_;
    result.relationships_uploaded = relationships_uploaded_;
    result.skipped = static_cast<int64_t>(skipped_keys_.size());
    result.skipped_keys = skipped_keys_;
    result.batches = batches_;
    result.body_bytes = body_bytes_;
    result.objects_without_raw_data = objects_without_raw_data_;
    result.raw_values_truncated = raw_values_truncated_;
    return result;
  }

  std::string NewCorrelationId() {
    absl::MutexLock lock(&random_mutex_);
    const uint64_t high = absl::Uniform<uint64_t>(random_);
    const uint64_t low = absl::Uniform<uint64_t>(random_);
    // A version 4 (random) UUID.
    return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", high >> 32,
                           (high >> 16) & 0xffff, high & 0x0fff,
                           0x8000 | ((low >> 48) & 0x3fff),
                           low & 0xffffffffffffULL);
  }

  const JupiterOneTarget& target_;
  const UploaderOptions& options_;
  Clock* const clock_;
  JupiterOneApi api_;
  LimitLearner learner_;
  ByteMeter meter_;

  std::unique_ptr<Batch> current_;  // the producer's batch being filled
  std::atomic<bool> failed_{false};

  absl::Mutex queue_mutex_;
  std::deque<std::unique_ptr<Batch>> queue_ ABSL_GUARDED_BY(queue_mutex_);
  int outstanding_ ABSL_GUARDED_BY(queue_mutex_) = 0;  // queued or sending
  bool closing_ ABSL_GUARDED_BY(queue_mutex_) = false;
  absl::Status error_ ABSL_GUARDED_BY(queue_mutex_);
  std::vector<std::thread> workers_;

  absl::Mutex results_mutex_;
  int64_t entities_uploaded_ ABSL_GUARDED_BY(results_mutex_) = 0;
  int64_t relationships_uploaded_ ABSL_GUARDED_BY(results_mutex_) = 0;
  int64_t batches_ ABSL_GUARDED_BY(results_mutex_) = 0;
  int64_t body_bytes_ ABSL_GUARDED_BY(results_mutex_) = 0;
  int64_t objects_without_raw_data_ ABSL_GUARDED_BY(results_mutex_) = 0;
  int64_t raw_values_truncated_ ABSL_GUARDED_BY(results_mutex_) = 0;
  std::vector<std::string> skipped_keys_ ABSL_GUARDED_BY(results_mutex_);
  std::set<std::string> partial_types_;  // results_mutex_ while workers run

  absl::Mutex events_mutex_;
  absl::Mutex random_mutex_;
  absl::BitGen random_ ABSL_GUARDED_BY(random_mutex_);
};

}  // namespace

absl::StatusOr<UploadResult> UploadToJupiterOne(
    const JupiterOneTarget& target, ObjectSource& source,
    const std::vector<std::string>& partial_types,
    const UploaderOptions& options) {
  Uploader uploader(target, options);
  return uploader.Run(source, partial_types);
}

JupiterOneSink::JupiterOneSink(JupiterOneTarget target, UploaderOptions options)
    : target_(std::move(target)), options_(std::move(options)) {}

absl::StatusOr<Delivery> JupiterOneSink::Deliver(
    const FinalizedRun& run, const SinkCallbacks& callbacks) {
  if (run.objects == nullptr) {
    return absl::InvalidArgumentError("the run has no object source");
  }
  UploaderOptions options = options_;
  if (callbacks.on_event) options.on_event = callbacks.on_event;
  if (callbacks.on_progress) options.on_progress = callbacks.on_progress;
  absl::StatusOr<UploadResult> result =
      UploadToJupiterOne(target_, *run.objects, run.partial_types, options);
  if (!result.ok()) return result.status();
  last_result_ = *result;
  Delivery delivery;
  delivery.id = result->job_id;
  delivery.entities_uploaded = result->entities_uploaded;
  delivery.relationships_uploaded = result->relationships_uploaded;
  delivery.skipped = result->skipped;
  return delivery;
}

}  // namespace graphmill::sinks
