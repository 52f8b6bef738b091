// Implementation of worker/runtime/request_pacer.h.
#include "worker/runtime/request_pacer.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace graphmill::worker {

RequestPacer::RequestPacer(double per_second) : per_second_(per_second) {}

void RequestPacer::SetRate(double per_second) {
  absl::MutexLock lock(&mu_);
  per_second_ = per_second;
}

double RequestPacer::rate() const {
  absl::MutexLock lock(&mu_);
  return per_second_;
}

bool RequestPacer::Wait() {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  if (per_second_ <= 0) return true;
  // No burst after an idle spell: a slot is never earlier than now.
  const absl::Time slot = std::max(next_slot_, absl::Now());
  next_slot_ = slot + absl::Seconds(1.0 / per_second_);
  while (!cancelled_ && absl::Now() < slot) {
    cancelled_signal_.WaitWithDeadline(&mu_, slot);
  }
  return !cancelled_;
}

void RequestPacer::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  cancelled_signal_.SignalAll();
}

}  // namespace graphmill::worker
