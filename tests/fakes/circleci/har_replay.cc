// Implementation of har_replay.h.
#include "tests/fakes/circleci/har_replay.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/fakes/circleci/url_util.h"

namespace graphmill::fakes {

std::string ReplayKey(absl::string_view method, absl::string_view raw_path,
                      absl::string_view raw_query) {
  QueryParams params = ParseQuery(raw_query);
  std::sort(params.begin(), params.end());
  std::vector<std::string> pieces;
  pieces.reserve(params.size());
  for (const auto& [key, value] : params) {
    pieces.push_back(
        absl::StrCat(PercentEncode(key), "=", PercentEncode(value)));
  }
  return absl::StrCat(absl::AsciiStrToUpper(method), " ",
                      NormalizeEscapes(raw_path), "?",
                      absl::StrJoin(pieces, "&"));
}

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
    std::string raw_path;
    std::vector<std::pair<int, RecordedResponse>>
        responses;  // (_order, response)
  };
  absl::flat_hash_map<std::string, Pending> pending;
  for (const common::HarEntry& entry : file.entries) {
    auto [raw_path, raw_query] = SplitTarget(entry.target);
    Pending& slot = pending[ReplayKey(entry.method, raw_path, raw_query)];
    slot.raw_path = raw_path;
    slot.responses.emplace_back(entry.order, entry.response);
    ++entry_count_;
  }
  for (auto& [key, slot] : pending) {
    if (by_key_.contains(key)) {
      shadowed_count_ += static_cast<int64_t>(slot.responses.size());
      continue;
    }
    std::stable_sort(
        slot.responses.begin(), slot.responses.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    Recorded& recorded = by_key_[key];
    recorded.raw_path = slot.raw_path;
    for (auto& [order, response] : slot.responses) {
      recorded.responses.push_back(std::move(response));
    }
  }
  files_.push_back(file.path);
}

const RecordedResponse* HarReplay::Find(absl::string_view method,
                                        absl::string_view raw_path,
                                        absl::string_view raw_query) {
  auto it = by_key_.find(ReplayKey(method, raw_path, raw_query));
  if (it == by_key_.end()) return nullptr;
  Recorded& recorded = it->second;
  absl::MutexLock lock(&mutex_);
  const size_t index = std::min(recorded.next, recorded.responses.size() - 1);
  if (recorded.next < recorded.responses.size()) ++recorded.next;
  return &recorded.responses[index];
}

std::vector<std::string> HarReplay::raw_paths() const {
  std::vector<std::string> paths;
  paths.reserve(by_key_.size());
  for (const auto& [key, recorded] : by_key_)
    paths.push_back(recorded.raw_path);
  return paths;
}

}  // namespace graphmill::fakes
