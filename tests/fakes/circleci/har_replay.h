// Replays recorded HTTP traffic (Polly.JS HAR 1.2 files) by method, path and
// query.
#ifndef GRAPHMILL_TESTS_FAKES_CIRCLECI_HAR_REPLAY_H_
#define GRAPHMILL_TESTS_FAKES_CIRCLECI_HAR_REPLAY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "tests/fakes/common/har.h"

namespace graphmill::fakes {

// A recorded response (headers minus framing ones, body decoded).
using RecordedResponse = common::RecordedResponse;

// The key a request is matched by: method, path with escapes normalised
// (NormalizeEscapes; so "%2f" matches "%2F" but "/" does not) and the decoded
// query parameters, sorted. The host is ignored.
std::string ReplayKey(absl::string_view method, absl::string_view raw_path,
                      absl::string_view raw_query);

// Thread-safe after Load.
class HarReplay {
 public:
  // Loads `paths`, each a .har file or a directory (its *.har files, by name).
  // When several files record the same request, the first loaded wins (later
  // ones are "shadowed"); when one file records it several times (Polly's
  // _order), the n-th request gets the n-th recording and later ones the last.
  // Fails naming the file on unreadable or invalid input.
  static absl::StatusOr<std::unique_ptr<HarReplay>> Load(
      const std::vector<std::string>& paths);

  // The response recorded for the request, or nullptr.
  const RecordedResponse* Find(absl::string_view method,
                               absl::string_view raw_path,
                               absl::string_view raw_query);

  const std::vector<std::string>& files() const { return files_; }
  int64_t entry_count() const { return entry_count_; }
  int64_t shadowed_count() const { return shadowed_count_; }
  // Each served key with its raw path (for per-route summaries).
  std::vector<std::string> raw_paths() const;

 private:
  struct Recorded {
    std::string raw_path;
    std::vector<RecordedResponse> responses;  // by _order
    size_t next = 0;                          // guarded by HarReplay::mutex_
  };

  HarReplay() = default;
  void Add(const common::HarFile& file);

  std::vector<std::string> files_;
  int64_t entry_count_ = 0;
  int64_t shadowed_count_ = 0;
  absl::flat_hash_map<std::string, Recorded> by_key_;
  absl::Mutex mutex_;  // guards Recorded::next
};

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_CIRCLECI_HAR_REPLAY_H_
