// Implementation of jupiterone_uploader.h: a producer (the caller's thread,
// streaming from the ObjectSource) fills batches; kMaxBatchesInFlight worker
// threads post them, shrinking or splitting on HTTP 413.
#include "coordinator/sinks/jupiterone_uploader.h"

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <limits>
#include <memory>
#include <set>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/graph_json.h"
#include "common/log.h"
#include "coordinator/sinks/raw_data_shrinker.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::sinks {
namespace {

constexpr char kJobsPath[] = "/persister/synchronization/jobs";
// zlib level 1: JSON still compresses ~5-10x, at several times the speed of
// the default level, so compression never becomes the bottleneck.
constexpr int kGzipLevel = 1;
// After a 413 without a better clue, aim a quarter below the rejected size: a
// few rounds reach a limit far below, without cutting much more than needed.
constexpr int64_t kShrinkPercent = 75;
// Keys named in one truncation event.
constexpr size_t kKeysPerEvent = 5;

enum class Kind { kEntities, kRelationships };

const char* Plural(Kind kind) {
  return kind == Kind::kEntities ? "entities" : "relationships";
}
const char* Singular(Kind kind) {
  return kind == Kind::kEntities ? "entity" : "relationship";
}
// `{"entities":[` or `{"relationships":[`.
std::string Prefix(Kind kind) {
  return absl::StrCat("{\"", Plural(kind), "\":[");
}
constexpr int64_t kSuffixBytes = 2;  // "]}"

std::string JsonString(absl::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<std::string> Gzip(const std::string& text) {
  z_stream stream{};
  if (deflateInit2(&stream, kGzipLevel, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("zlib deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, text.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  out.shrink_to_fit();  // deflateBound is about the input's size
  deflateEnd(&stream);
  if (result != Z_STREAM_END) return absl::InternalError("zlib deflate failed");
  return out;
}

// The JSON form graph_json embeds raw data in: parsed JSON, or a string when it
// does not parse. JupiterOne takes only an object or a string as `rawData`, so
// raw data that parses to anything else (an array, a number) is sent as its
// text. Returns null when nothing needs to change (the common case).
std::unique_ptr<v1::Entity> WithUploadableRawData(const v1::Entity& entity) {
  std::unique_ptr<v1::Entity> copy;
  for (int i = 0; i < entity.raw_data_size(); ++i) {
    const std::string& json = entity.raw_data(i).json();
    const size_t first = json.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || json[first] == '{' ||
        json[first] == '"') {
      continue;
    }
    rapidjson::Document document;
    document.Parse(json.data(), json.size());
    if (document.HasParseError()) continue;  // already sent as a string
    if (copy == nullptr) copy = std::make_unique<v1::Entity>(entity);
    copy->mutable_raw_data(i)->set_json(JsonString(json));
  }
  return copy;
}

// Serialized bytes held by the uploader, and the peak.
class ByteMeter {
 public:
  void Add(int64_t bytes) {
    const int64_t now = live_.fetch_add(bytes) + bytes;
    int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
  }
  int64_t peak() const { return peak_.load(); }

 private:
  std::atomic<int64_t> live_{0};
  std::atomic<int64_t> peak_{0};
};

// A string whose capacity is counted by a ByteMeter while it lives.
class MeteredString {
 public:
  explicit MeteredString(ByteMeter* meter) : meter_(meter) {}
  ~MeteredString() { meter_->Add(-counted_); }
  MeteredString(const MeteredString&) = delete;
  MeteredString& operator=(const MeteredString&) = delete;

  const std::string& get() const { return text_; }
  // Edits go through here so the count follows the capacity.
  template <typename Edit>
  void Change(Edit edit) {
    edit(text_);
    const int64_t capacity = static_cast<int64_t>(text_.capacity());
    meter_->Add(capacity - counted_);
    counted_ = capacity;
  }

 private:
  ByteMeter* meter_;
  std::string text_;
  int64_t counted_ = 0;
};

struct BatchItem {
  std::string key;
  std::string type;
  size_t offset = 0;  // of its JSON in the body
  size_t length = 0;
};

// One upload request: the body `{"entities":[a,b,...]}` and where each object
// is in it.
struct Batch {
  Batch(Kind kind_in, ByteMeter* meter) : kind(kind_in), body(meter) {}
  Kind kind;
  MeteredString body;  // without the closing "]}" until sealed
  std::vector<BatchItem> items;
  std::string correlation_id;

  int64_t size() const { return static_cast<int64_t>(body.get().size()); }
  // The body size with `json` added and the batch sealed.
  int64_t SizeWith(size_t json_bytes) const {
    return size() + (items.empty() ? 0 : 1) + static_cast<int64_t>(json_bytes) +
           kSuffixBytes;
  }
  std::string ItemJson(const BatchItem& item) const {
    return body.get().substr(item.offset, item.length);
  }
};

// Builds a sealed batch of `kind` from objects' JSON.
std::unique_ptr<Batch> MakeSealedBatch(Kind kind, ByteMeter* meter,
                                       std::vector<BatchItem> items,
                                       const std::vector<std::string>& jsons) {
  auto batch = std::make_unique<Batch>(kind, meter);
  size_t total = Prefix(kind).size() + kSuffixBytes;
  for (const std::string& json : jsons) total += json.size() + 1;
  batch->body.Change([&](std::string& body) {
    body.reserve(total);
    body.append(Prefix(kind));  // (assigning a temporary would drop the
                                // reservation)
    for (size_t i = 0; i < jsons.size(); ++i) {
      if (i > 0) body.push_back(',');
      items[i].offset = body.size();
      items[i].length = jsons[i].size();
      body += jsons[i];
    }
    body += "]}";
  });
  batch->items = std::move(items);
  return batch;
}

// What the uploader has learned about the server's body limit from 413s and
// accepted bodies: new batches and shrink targets stay under the smallest
// rejected size, near the largest accepted one. Thread-safe.
class LimitLearner {
 public:
  explicit LimitLearner(int64_t max_batch_bytes) : max_(max_batch_bytes) {}

  void RecordAccepted(int64_t size) {
    absl::MutexLock lock(&mutex_);
    if (size < too_large_) fits_ = std::max(fits_, size);
  }
  void RecordTooLarge(int64_t size) {
    absl::MutexLock lock(&mutex_);
    too_large_ = std::min(too_large_, size);
    if (fits_ >= too_large_) fits_ = 0;  // the server changed its mind
  }
  // The size to shrink a rejected body of `size` bytes to: a quarter less, or
  // less still if other batches taught a lower limit, but never below the
  // largest body known to fit.
  int64_t ShrinkTarget(int64_t size) {
    absl::MutexLock lock(&mutex_);
    int64_t target = std::min(size * kShrinkPercent / 100, BuildLimitLocked());
    if (fits_ < size) target = std::max(target, fits_);
    return target;
  }
  // The size new batches are built to: the configured limit until a 413, then
  // under the smallest rejected size.
  int64_t BuildLimit() {
    absl::MutexLock lock(&mutex_);
    return BuildLimitLocked();
  }

 private:
  int64_t BuildLimitLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (too_large_ > max_) return max_;
    return std::min({max_, too_large_ - 1,
                     std::max(fits_, too_large_ * kShrinkPercent / 100)});
  }

  const int64_t max_;
  absl::Mutex mutex_;
  int64_t too_large_ ABSL_GUARDED_BY(mutex_) =
      std::numeric_limits<int64_t>::max();
  int64_t fits_ ABSL_GUARDED_BY(mutex_) = 0;
};

class Uploader {
 public:
  Uploader(const JupiterOneTarget& target, const UploaderOptions& options)
      : target_(target),
        options_(options),
        client_(ClientOptions(target, options)),
        learner_(options.max_batch_bytes) {
    target_.base_url = std::string(absl::StripSuffix(target_.base_url, "/"));
  }

  ~Uploader() { StopWorkers(); }

  absl::StatusOr<UploadResult> Run(ObjectSource& source,
                                   const std::vector<std::string>& partial) {
    if (absl::Status status = Validate(); !status.ok()) return status;
    absl::StatusOr<std::string> job_id = CreateJob();
    if (!job_id.ok()) return job_id.status();
    job_id_ = *job_id;
    job_url_ = absl::StrCat(target_.base_url, kJobsPath, "/",
                            http::UrlEncode(job_id_));
    Emit(v1::EVENT_LEVEL_INFO, "sync_upload_start",
         absl::StrCat("Uploading to JupiterOne synchronization job ", job_id_,
                      " (integration instance ",
                      target_.integration_instance_id, ")"));
    StartWorkers();
    absl::Status status = UploadAll(source);
    StopWorkers();
    if (!status.ok()) return Fail(status);

    UploadResult result = Result();
    for (const std::string& type : partial) partial_types_.insert(type);
    result.partial_types.assign(partial_types_.begin(), partial_types_.end());
    absl::StatusOr<std::string> job_status = Finalize(result.partial_types);
    if (!job_status.ok()) return Fail(job_status.status());
    result.job_status = *job_status;
    Emit(v1::EVENT_LEVEL_INFO, "sync_upload_end",
         absl::StrCat("Uploaded ", result.entities_uploaded, " entities and ",
                      result.relationships_uploaded,
                      " relationships to JupiterOne job ", job_id_, " in ",
                      result.batches, " batches (", result.skipped,
                      " skipped); finalize answered ", result.job_status));
    result.peak_buffered_bytes = meter_.peak();
    return result;
  }

 private:
  static http::HttpClientOptions ClientOptions(const JupiterOneTarget& target,
                                               const UploaderOptions& options) {
    http::HttpClientOptions client_options = options.http;
    if (!target.api_token.empty()) {
      client_options.redact.push_back(target.api_token);
    }
    return client_options;
  }

  absl::Status Validate() const {
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
    if (options_.max_batch_bytes < 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("JupiterOne upload: 'max_batch_bytes' must be at "
                       "least 1024, got ",
                       options_.max_batch_bytes));
    }
    return absl::OkStatus();
  }

  // ---- Requests other than uploads.

  http::HttpHeaders Headers() const {
    return {{"Authorization", absl::StrCat("Bearer ", target_.api_token)},
            {"JupiterOne-Account", target_.account_id},
            {"Content-Type", "application/json"},
            {"Accept", "application/json"}};
  }

  // The client's error as the uploader reports it: auth failures get the
  // account named, others the job.
  absl::Status Explain(const absl::Status& status) const {
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
      return absl::FailedPreconditionError(
          absl::StrCat("JupiterOne job ", job_id_,
                       " no longer accepts uploads (it ended elsewhere): ",
                       status.message()));
    }
    if (job_id_.empty()) return status;
    return absl::Status(status.code(), absl::StrCat("JupiterOne job ", job_id_,
                                                    ": ", status.message()));
  }

  absl::StatusOr<std::string> CreateJob() {
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
    return std::string(document["job"]["id"].GetString(),
                       document["job"]["id"].GetStringLength());
  }

  absl::StatusOr<std::string> Finalize(const std::vector<std::string>& types) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.StartObject();
    writer.Key("partialDatasets");
    writer.StartObject();
    writer.Key("types");
    writer.StartArray();
    for (const std::string& type : types) {
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

  // Aborts the job with `error` as the reason (one attempt per the client's
  // retries; a failure is reported with the original error) and returns it.
  absl::Status Fail(const absl::Status& error) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.StartObject();
    writer.Key("reason");
    const std::string reason = client_.Redact(error.message());
    writer.String(reason.data(),
                  static_cast<rapidjson::SizeType>(reason.size()));
    writer.EndObject();
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
    if (!status.ok()) return Explain(status);
    return absl::OkStatus();
  }

  absl::Status AddEntity(const v1::Entity& entity) {
    std::unique_ptr<v1::Entity> normalized = WithUploadableRawData(entity);
    const v1::Entity& uploadable = normalized ? *normalized : entity;
    std::string json = EntityToJson(uploadable, /*include_raw_data=*/true);
    const Kind kind = Kind::kEntities;
    if (Alone(kind, json.size()) > options_.max_batch_bytes &&
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

  static int64_t Alone(Kind kind, size_t json_bytes) {
    return static_cast<int64_t>(Prefix(kind).size() + json_bytes) +
           kSuffixBytes;
  }

  absl::Status AddObject(Kind kind, const std::string& key,
                         const std::string& type, std::string json) {
    if (failed_.load(std::memory_order_relaxed)) {
      return absl::CancelledError("upload stopped after an error");
    }
    if (Alone(kind, json.size()) > options_.max_batch_bytes) {
      Skip(kind, key, type,
           absl::StrCat(
               Alone(kind, json.size()),
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
        error_ = Explain(status);
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
    http::HttpHeaders headers = Headers();
    headers.emplace_back("JupiterOne-Correlation-Id", batch.correlation_id);
    const std::string url = absl::StrCat(job_url_, "/", Plural(batch.kind));
    if (!target_.compress) {
      return client_.Post(url, headers, batch.body.get()).status();
    }
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
    headers.emplace_back("Content-Encoding", "gzip");
    return client_.Post(url, headers, compressed.get()).status();
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
    event.set_time_ms(absl::ToUnixMillis(absl::Now()));
    absl::MutexLock lock(&events_mutex_);
    options_.on_event(event);
  }

  UploadResult Result() {
    absl::MutexLock lock(&results_mutex_);
    UploadResult result;
    result.job_id = job_id_;
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

  JupiterOneTarget target_;
  const UploaderOptions& options_;
  http::HttpClient client_;
  LimitLearner learner_;
  ByteMeter meter_;
  std::string job_id_;
  std::string job_url_;

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

absl::StatusOr<UploadResult> UploadToJupiterOne(
    const JupiterOneTarget& target, ObjectSource& source,
    const std::vector<std::string>& partial_types,
    const UploaderOptions& options) {
  Uploader uploader(target, options);
  return uploader.Run(source, partial_types);
}

}  // namespace graphmill::sinks
