// Caps how many long-lived streams (Subscribe) one caller holds at once, so a
// single token cannot exhaust the coordinator's threads and memory.
#ifndef GRAPHMILL_COORDINATOR_API_STREAM_LIMITER_H_
#define GRAPHMILL_COORDINATOR_API_STREAM_LIMITER_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace graphmill::coordinator {

// Thread-safe.
class StreamLimiter {
 public:
  // An open stream; releases its place when destroyed. Movable.
  class Slot {
   public:
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&&) = delete;
    ~Slot();

   private:
    friend class StreamLimiter;
    Slot(StreamLimiter* limiter, std::string caller)
        : limiter_(limiter), caller_(std::move(caller)) {}
    StreamLimiter* limiter_;
    std::string caller_;
  };

  // `max_per_caller` > 0; `flag` names the setting in the error ("" none).
  StreamLimiter(int max_per_caller, std::string flag)
      : max_per_caller_(max_per_caller), flag_(std::move(flag)) {}

  // A place for one more stream of `caller` (a token's name, or the peer
  // address without authentication). RESOURCE_EXHAUSTED naming the caller and
  // the limit when it already holds `max_per_caller`. The limiter must outlive
  // the slot.
  absl::StatusOr<Slot> Acquire(const std::string& caller);

  // Streams `caller` holds now.
  int Open(const std::string& caller) const;

 private:
  void Release(const std::string& caller);

  const int max_per_caller_;
  const std::string flag_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_API_STREAM_LIMITER_H_
