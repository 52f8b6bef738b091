// Pacing of Heroku requests by RateLimit-Remaining.
#include "worker/integrations/heroku/rate_pacer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/log.h"

namespace graphmill::worker::heroku {

RatePacer::RatePacer(RateLimitPolicy policy, Clock* clock,
                     std::function<bool()> cancelled)
    : policy_(std::move(policy)),
      clock_(clock != nullptr ? clock : Clock::Real()),
      cancelled_(std::move(cancelled)) {}

void RatePacer::BeforeRequest() {
  absl::Duration wait;
  {
    absl::MutexLock lock(&mutex_);
    if (!remaining_.has_value() ||
        *remaining_ >= policy_.pace_below_remaining) {
      return;
    }
    const absl::Time now = clock_->Now();
    absl::Time slot = std::max(now, next_slot_);
    if (*remaining_ < policy_.reserve_remaining) {
      // Time for the bucket to be back at the reserve, counted from when the
      // low count was seen.
      slot = std::max(slot, observed_at_ + policy_.refill_interval *
                                               (policy_.reserve_remaining -
                                                std::max(0, *remaining_)));
    }
    next_slot_ = slot + policy_.refill_interval;
    wait = slot - now;
    total_wait_ += wait;
    if (!logged_pacing_) {
      logged_pacing_ = true;
      LogInfo("Heroku rate limit: ", *remaining_,
              " requests remaining; pacing to one request per ",
              absl::FormatDuration(policy_.refill_interval));
    }
  }
  while (wait > absl::ZeroDuration()) {
    if (cancelled_ && cancelled_()) return;
    const absl::Duration slice = std::min(wait, policy_.max_sleep_slice);
    clock_->Sleep(slice);
    wait -= slice;
  }
}

void RatePacer::OnResponse(const http::HttpResponse& response) {
  std::optional<int> remaining;
  if (response.status == 429) {
    remaining = 0;
  } else if (std::optional<std::string> header =
                 response.Header("RateLimit-Remaining")) {
    int value = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(*header), &value)) {
      remaining = value;
    }
  }
  if (!remaining.has_value()) return;
  absl::MutexLock lock(&mutex_);
  remaining_ = remaining;
  observed_at_ = clock_->Now();
}

std::optional<int> RatePacer::remaining() const {
  absl::MutexLock lock(&mutex_);
  return remaining_;
}

absl::Duration RatePacer::total_wait() const {
  absl::MutexLock lock(&mutex_);
  return total_wait_;
}

}  // namespace graphmill::worker::heroku
