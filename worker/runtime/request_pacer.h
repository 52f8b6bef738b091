// Paces one task's provider requests to its share of the instance's rate
// budget.
#ifndef GRAPHMILL_WORKER_RUNTIME_REQUEST_PACER_H_
#define GRAPHMILL_WORKER_RUNTIME_REQUEST_PACER_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace graphmill::worker {

// Spaces requests evenly at a rate the coordinator sets (and changes while the
// task runs). Each Wait() reserves the next free slot, so concurrent callers
// share the rate. Time is `clock`'s. Thread-safe.
class RequestPacer {
 public:
  // `per_second` <= 0 means unlimited. `clock` (null: Clock::Real()) must
  // outlive the pacer.
  explicit RequestPacer(double per_second, Clock* clock = Clock::Real());

  RequestPacer(const RequestPacer&) = delete;
  RequestPacer& operator=(const RequestPacer&) = delete;

  // New rate; applies to slots reserved from now on.
  void SetRate(double per_second);
  double rate() const;

  // Blocks until the caller may send one request. Returns false (at once) after
  // Cancel().
  bool Wait();

  // Wakes every waiter; later Wait() calls return false at once. Idempotent.
  void Cancel();

 private:
  Clock* const clock_;
  mutable absl::Mutex mu_;
  double per_second_ ABSL_GUARDED_BY(mu_);
  absl::Time next_slot_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Waiters wait for this (or their slot) through clock_, so Cancel() wakes
  // them by setting it under mu_.
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_REQUEST_PACER_H_
