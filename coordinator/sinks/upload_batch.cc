// Implementation of coordinator/sinks/upload_batch.h.
#include "coordinator/sinks/upload_batch.h"

#include <zlib.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::sinks::upload {
namespace {

// zlib level 1: JSON still compresses ~5-10x, at several times the speed of
// the default level, so compression never becomes the bottleneck.
constexpr int kGzipLevel = 1;
// After a 413 without a better clue, aim a quarter below the rejected size: a
// few rounds reach a limit far below, without cutting much more than needed.
constexpr int64_t kShrinkPercent = 75;

std::string JsonString(absl::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

const char* Plural(Kind kind) {
  return kind == Kind::kEntities ? "entities" : "relationships";
}

const char* Singular(Kind kind) {
  return kind == Kind::kEntities ? "entity" : "relationship";
}

std::string Prefix(Kind kind) {
  return absl::StrCat("{\"", Plural(kind), "\":[");
}

int64_t SizeAlone(Kind kind, size_t json_bytes) {
  return static_cast<int64_t>(Prefix(kind).size() + json_bytes) + kSuffixBytes;
}

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

void LimitLearner::RecordAccepted(int64_t size) {
  absl::MutexLock lock(&mutex_);
  if (size < too_large_) fits_ = std::max(fits_, size);
}

void LimitLearner::RecordTooLarge(int64_t size) {
  absl::MutexLock lock(&mutex_);
  too_large_ = std::min(too_large_, size);
  if (fits_ >= too_large_) fits_ = 0;  // the server changed its mind
}

int64_t LimitLearner::ShrinkTarget(int64_t size) {
  absl::MutexLock lock(&mutex_);
  int64_t target = std::min(size * kShrinkPercent / 100, BuildLimitLocked());
  if (fits_ < size) target = std::max(target, fits_);
  return target;
}

int64_t LimitLearner::BuildLimit() {
  absl::MutexLock lock(&mutex_);
  return BuildLimitLocked();
}

int64_t LimitLearner::BuildLimitLocked() const {
  if (too_large_ > max_) return max_;
  return std::min({max_, too_large_ - 1,
                   std::max(fits_, too_large_ * kShrinkPercent / 100)});
}

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

}  // namespace graphmill::sinks::upload
