// Implementation of har_replay.h.
#include "tests/fakes/heroku/har_replay.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace graphmill::fakes::heroku {
namespace {

// "id  ..;max=1000" and "id ..; max=1000" are the same Range.
std::string NormalizeRange(absl::string_view range) {
  std::string out;
  for (const char c : absl::StripAsciiWhitespace(range)) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) continue;
    out.push_back(c);
  }
  return out;
}

std::string ExactKey(absl::string_view method, absl::string_view target,
                     absl::string_view range, bool unauthorized) {
  return absl::StrCat(absl::AsciiStrToUpper(method), "\n", target, "\n",
                      NormalizeRange(range), "\n", unauthorized ? "401" : "ok");
}

std::string AnyRangeKey(absl::string_view method, absl::string_view target,
                        bool unauthorized) {
  return absl::StrCat(absl::AsciiStrToUpper(method), "\n", target, "\n",
                      unauthorized ? "401" : "ok");
}

}  // namespace

absl::StatusOr<std::unique_ptr<HarReplay>> HarReplay::Load(
    const std::vector<std::string>& paths) {
  absl::StatusOr<std::vector<common::HarFile>> files =
      common::ReadHarFiles(paths);
  if (!files.ok()) return files.status();
  std::unique_ptr<HarReplay> replay(new HarReplay());
  for (const common::HarFile& file : *files) replay->Add(file);
  return replay;
}

void HarReplay::Add(const common::HarFile& file) {
  struct Pending {
    std::string path;
    std::string any_range_key;
    std::vector<std::pair<int, RecordedResponse>> responses;  // (_order, ..)
  };
  std::vector<std::string> pending_order;  // keys, in first-seen order
  absl::flat_hash_map<std::string, Pending> pending;
  for (const common::HarEntry& entry : file.entries) {
    std::string range;
    for (const auto& [name, value] : entry.request_headers) {
      if (absl::EqualsIgnoreCase(name, "range")) range = value;
    }
    const bool unauthorized = entry.response.status == 401;
    const std::string key =
        ExactKey(entry.method, entry.target, range, unauthorized);
    auto [slot, inserted] = pending.try_emplace(key);
    if (inserted) {
      pending_order.push_back(key);
      slot->second.path = entry.target.substr(0, entry.target.find('?'));
      slot->second.any_range_key =
          AnyRangeKey(entry.method, entry.target, unauthorized);
    }
    slot->second.responses.emplace_back(entry.order, entry.response);
    ++entry_count_;
  }
  for (const std::string& key : pending_order) {
    Pending& slot = pending[key];
    if (by_key_.contains(key)) {
      shadowed_count_ += static_cast<int64_t>(slot.responses.size());
      continue;
    }
    std::stable_sort(
        slot.responses.begin(), slot.responses.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    Recorded& recorded = by_key_[key];
    recorded.path = slot.path;
    for (auto& [order, response] : slot.responses) {
      recorded.responses.push_back(std::move(response));
    }
    any_range_.try_emplace(slot.any_range_key, key);
  }
  files_.push_back(file.path);
}

const RecordedResponse* HarReplay::Next(const std::string& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return nullptr;
  Recorded& recorded = it->second;
  absl::MutexLock lock(&mutex_);
  const size_t index = std::min(recorded.next, recorded.responses.size() - 1);
  if (recorded.next < recorded.responses.size()) ++recorded.next;
  return &recorded.responses[index];
}

const RecordedResponse* HarReplay::Find(absl::string_view method,
                                        absl::string_view target,
                                        absl::string_view range,
                                        bool authenticated) {
  for (const bool unauthorized : {false, true}) {
    if (!unauthorized && !authenticated) continue;
    if (const RecordedResponse* exact =
            Next(ExactKey(method, target, range, unauthorized))) {
      return exact;
    }
    auto any = any_range_.find(AnyRangeKey(method, target, unauthorized));
    if (any != any_range_.end()) return Next(any->second);
  }
  return nullptr;
}

std::vector<std::string> HarReplay::paths() const {
  std::vector<std::string> out;
  out.reserve(by_key_.size());
  for (const auto& [key, recorded] : by_key_) out.push_back(recorded.path);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace graphmill::fakes::heroku
