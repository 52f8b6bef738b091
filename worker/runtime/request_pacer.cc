// Implementation of worker/runtime/request_pacer.h.
#include "worker/runtime/request_pacer.h"

#include <algorithm>

namespace graphmill::worker {

RequestPacer::RequestPacer(double per_second, Clock* clock)
    : clock_(clock != nullptr ? clock : Clock::Real()),
      per_second_(per_second) {}

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
  const absl::Time slot = std::max(next_slot_, clock_->Now());
  next_slot_ = slot + absl::Seconds(1.0 / per_second_);
  // True only when cancelled; false when the slot has come.
  return !clock_->AwaitWithDeadline(&mu_, absl::Condition(&cancelled_), slot);
}

void RequestPacer::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
}

}  // namespace graphmill::worker
