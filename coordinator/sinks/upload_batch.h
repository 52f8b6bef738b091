// The pieces of a JupiterOne upload batch, for jupiterone_uploader.cc: one
// request body `{"entities":[a,b,...]}` with where each object is in it, the
// meter that counts the bytes batches hold, what 413s taught about the
// server's limit, and the transformations a body goes through (raw data made
// uploadable, gzip). Internal to coordinator/sinks.
//
// Thread safety: ByteMeter and LimitLearner are thread-safe; a Batch belongs
// to one thread at a time (the producer fills it, then one worker sends it).
#ifndef GRAPHMILL_COORDINATOR_SINKS_UPLOAD_BATCH_H_
#define GRAPHMILL_COORDINATOR_SINKS_UPLOAD_BATCH_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "graphmill/v1/graph.pb.h"

namespace graphmill::sinks::upload {

namespace v1 = ::graphmill::v1;

enum class Kind { kEntities, kRelationships };

// "entities" / "relationships": the envelope's key and the URL's last segment.
const char* Plural(Kind kind);
const char* Singular(Kind kind);
// `{"entities":[` or `{"relationships":[`.
std::string Prefix(Kind kind);
inline constexpr int64_t kSuffixBytes = 2;  // "]}"
// The size of a sealed batch holding only an object of `json_bytes`.
int64_t SizeAlone(Kind kind, size_t json_bytes);

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

// Builds a sealed batch of `kind` from objects' JSON (`jsons[i]` is
// `items[i]`'s).
std::unique_ptr<Batch> MakeSealedBatch(Kind kind, ByteMeter* meter,
                                       std::vector<BatchItem> items,
                                       const std::vector<std::string>& jsons);

// What the uploader has learned about the server's body limit from 413s and
// accepted bodies: new batches and shrink targets stay under the smallest
// rejected size, near the largest accepted one. Thread-safe.
class LimitLearner {
 public:
  explicit LimitLearner(int64_t max_batch_bytes) : max_(max_batch_bytes) {}

  void RecordAccepted(int64_t size);
  void RecordTooLarge(int64_t size);
  // The size to shrink a rejected body of `size` bytes to: a quarter less, or
  // less still if other batches taught a lower limit, but never below the
  // largest body known to fit.
  int64_t ShrinkTarget(int64_t size);
  // The size new batches are built to: the configured limit until a 413, then
  // under the smallest rejected size.
  int64_t BuildLimit();

 private:
  int64_t BuildLimitLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const int64_t max_;
  absl::Mutex mutex_;
  int64_t too_large_ ABSL_GUARDED_BY(mutex_) =
      std::numeric_limits<int64_t>::max();
  int64_t fits_ ABSL_GUARDED_BY(mutex_) = 0;
};

// The JSON form graph_json embeds raw data in: parsed JSON, or a string when it
// does not parse. JupiterOne takes only an object or a string as `rawData`, so
// raw data that parses to anything else (an array, a number) is sent as its
// text. Returns null when nothing needs to change (the common case).
std::unique_ptr<v1::Entity> WithUploadableRawData(const v1::Entity& entity);

// `text` gzip-compressed (for Content-Encoding: gzip).
absl::StatusOr<std::string> Gzip(const std::string& text);

}  // namespace graphmill::sinks::upload

#endif  // GRAPHMILL_COORDINATOR_SINKS_UPLOAD_BATCH_H_
