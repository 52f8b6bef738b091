// Implementation of coordinator/api/stream_limiter.h.
#include "coordinator/api/stream_limiter.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace graphmill::coordinator {

StreamLimiter::Slot::Slot(Slot&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      caller_(std::move(other.caller_)) {}

StreamLimiter::Slot::~Slot() {
  if (limiter_ != nullptr) limiter_->Release(caller_);
}

absl::StatusOr<StreamLimiter::Slot> StreamLimiter::Acquire(
    const std::string& caller) {
  absl::MutexLock lock(&mu_);
  int& open = open_[caller];
  if (open >= max_per_caller_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("caller '", caller, "' already has ", open,
                     " streams open, the most one caller may hold",
                     flag_.empty() ? "" : absl::StrCat(" (", flag_, ")"),
                     "; close one or use another token"));
  }
  ++open;
  return Slot(this, caller);
}

int StreamLimiter::Open(const std::string& caller) const {
  absl::MutexLock lock(&mu_);
  auto found = open_.find(caller);
  return found == open_.end() ? 0 : found->second;
}

void StreamLimiter::Release(const std::string& caller) {
  absl::MutexLock lock(&mu_);
  auto found = open_.find(caller);
  if (found == open_.end()) return;
  if (--found->second <= 0) open_.erase(found);
}

}  // namespace graphmill::coordinator
