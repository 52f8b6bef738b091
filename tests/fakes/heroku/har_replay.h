// Replays recorded Heroku API traffic (Polly.JS HAR 1.2 files) by method, path
// and Range header, keeping recorded 401s apart for unauthenticated requests.
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_HAR_REPLAY_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_HAR_REPLAY_H_

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

namespace graphmill::fakes::heroku {

// A recorded response (headers minus framing ones, body decoded).
using RecordedResponse = common::RecordedResponse;

// Thread-safe after Load.
class HarReplay {
 public:
  // Loads `paths`, each a .har file or a directory (its *.har files, by name).
  // Fails naming the file on unreadable or invalid input.
  //
  // A recording is filed under (method, request target, Range header with
  // whitespace collapsed, whether it is a 401). When several files record the
  // same key, the first loaded wins (later ones count as shadowed); when one
  // file records it several times (Polly's _order), the n-th request gets the
  // n-th recording and later ones the last.
  static absl::StatusOr<std::unique_ptr<HarReplay>> Load(
      const std::vector<std::string>& paths);

  // The recording for a request, or nullptr: the one with the same Range if
  // any, else the target's first recording with any Range. `authenticated`
  // requests prefer non-401 recordings (and get a recorded 401 only when
  // nothing else was recorded); unauthenticated ones get only recorded 401s.
  const RecordedResponse* Find(absl::string_view method,
                               absl::string_view target,
                               absl::string_view range, bool authenticated);

  const std::vector<std::string>& files() const { return files_; }
  int64_t entry_count() const { return entry_count_; }
  int64_t shadowed_count() const { return shadowed_count_; }
  // The path (target without its query) of every distinct recorded request.
  std::vector<std::string> paths() const;

 private:
  struct Recorded {
    std::string path;
    std::vector<RecordedResponse> responses;  // by _order
    size_t next = 0;                          // guarded by HarReplay::mutex_
  };

  HarReplay() = default;
  void Add(const common::HarFile& file);
  const RecordedResponse* Next(const std::string& key);

  std::vector<std::string> files_;
  int64_t entry_count_ = 0;
  int64_t shadowed_count_ = 0;
  absl::flat_hash_map<std::string, Recorded> by_key_;
  // (method, target, 401?) -> the key of its first recording, whatever the
  // Range.
  absl::flat_hash_map<std::string, std::string> any_range_;
  absl::Mutex mutex_;  // guards Recorded::next
};

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_HAR_REPLAY_H_
