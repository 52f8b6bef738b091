// Implementation of raw_data_shrinker.h on RapidJSON documents.
#include "coordinator/sinks/raw_data_shrinker.h"

#include <algorithm>
#include <memory>
#include <queue>
#include <utility>

#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::sinks {
namespace {

// A RapidJSON output stream that only counts bytes.
struct CountingStream {
  using Ch = char;
  int64_t bytes = 0;
  void Put(char) { ++bytes; }
  void Flush() {}
};

int64_t JsonSize(const rapidjson::Value& value) {
  CountingStream stream;
  rapidjson::Writer<CountingStream> writer(stream);
  value.Accept(writer);
  return stream.bytes;
}

// `"TRUNCATED"` with its quotes.
constexpr int64_t kTruncatedSize = sizeof(kTruncatedValue) - 1 + 2;

struct Cuttable {
  rapidjson::Value* value;
  int64_t size;
};

struct RawEntry {
  int64_t size = 0;                 // of the whole {name, rawData} entry
  std::vector<Cuttable> cuttables;  // largest first
  size_t next = 0;                  // first not yet cut
  bool HasCut() const {
    return next < cuttables.size() && cuttables[next].size > kTruncatedSize;
  }
};

struct ParsedObject {
  rapidjson::Document document;
  std::vector<RawEntry> entries;
  int64_t raw_size = 0;  // of the `_rawData` array
  bool changed = false;
};

// Parses `json` and lists what can be cut; null if it has no raw data.
std::unique_ptr<ParsedObject> Parse(const std::string& json) {
  auto parsed = std::make_unique<ParsedObject>();
  parsed->document.Parse(json.data(), json.size());
  if (parsed->document.HasParseError() || !parsed->document.IsObject()) {
    return nullptr;
  }
  auto raw_data = parsed->document.FindMember("_rawData");
  if (raw_data == parsed->document.MemberEnd() || !raw_data->value.IsArray() ||
      raw_data->value.Empty()) {
    return nullptr;
  }
  parsed->raw_size = JsonSize(raw_data->value);
  for (rapidjson::Value& entry : raw_data->value.GetArray()) {
    if (!entry.IsObject()) continue;
    auto raw = entry.FindMember("rawData");
    if (raw == entry.MemberEnd()) continue;
    RawEntry parsed_entry;
    parsed_entry.size = JsonSize(entry);
    rapidjson::Value& value = raw->value;
    if (value.IsObject()) {
      for (auto& member : value.GetObject()) {
        parsed_entry.cuttables.push_back(
            {&member.value, JsonSize(member.value)});
      }
    } else if (value.IsArray()) {
      for (rapidjson::Value& element : value.GetArray()) {
        parsed_entry.cuttables.push_back({&element, JsonSize(element)});
      }
    } else if (value.IsString()) {
      parsed_entry.cuttables.push_back({&value, JsonSize(value)});
    }
    // Stable, so equal sizes are cut in document order.
    std::stable_sort(
        parsed_entry.cuttables.begin(), parsed_entry.cuttables.end(),
        [](const Cuttable& a, const Cuttable& b) { return a.size > b.size; });
    parsed->entries.push_back(std::move(parsed_entry));
  }
  return parsed;
}

// The entry to cut from next: the largest one with something left to cut.
RawEntry* LargestCuttableEntry(ParsedObject& object) {
  RawEntry* best = nullptr;
  for (RawEntry& entry : object.entries) {
    if (entry.HasCut() && (best == nullptr || entry.size > best->size)) {
      best = &entry;
    }
  }
  return best;
}

}  // namespace

ShrinkOutcome ShrinkRawData(std::vector<std::string>& objects,
                            int64_t bytes_to_remove) {
  ShrinkOutcome outcome;
  if (bytes_to_remove <= 0) return outcome;
  std::vector<std::unique_ptr<ParsedObject>> parsed(objects.size());
  // (raw data size, index): the object with the largest raw data on top;
  // entries go stale when the object shrinks and are skipped.
  std::priority_queue<std::pair<int64_t, size_t>> largest;
  for (size_t i = 0; i < objects.size(); ++i) {
    parsed[i] = Parse(objects[i]);
    if (parsed[i] != nullptr) largest.emplace(parsed[i]->raw_size, i);
  }
  while (outcome.bytes_removed < bytes_to_remove && !largest.empty()) {
    const auto [raw_size, index] = largest.top();
    largest.pop();
    ParsedObject& object = *parsed[index];
    if (raw_size != object.raw_size) continue;  // stale
    RawEntry* entry = LargestCuttableEntry(object);
    if (entry == nullptr) continue;  // nothing left in this object
    Cuttable& cut = entry->cuttables[entry->next++];
    cut.value->SetString(rapidjson::StringRef(kTruncatedValue));
    const int64_t saved = cut.size - kTruncatedSize;
    entry->size -= saved;
    object.raw_size -= saved;
    object.changed = true;
    outcome.bytes_removed += saved;
    ++outcome.values_truncated;
    largest.emplace(object.raw_size, index);
  }
  for (size_t i = 0; i < objects.size(); ++i) {
    if (parsed[i] == nullptr || !parsed[i]->changed) continue;
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    parsed[i]->document.Accept(writer);
    objects[i].assign(buffer.GetString(), buffer.GetSize());
    outcome.changed.push_back(i);
  }
  return outcome;
}

}  // namespace graphmill::sinks
