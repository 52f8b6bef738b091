// Implementation of rate_limiter.h.
#include "tests/fakes/heroku/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/time/clock.h"

namespace graphmill::fakes::heroku {

RateLimiter::RateLimiter(RateLimitOptions options, int buckets, Clock clock)
    : options_(options),
      clock_(clock ? std::move(clock) : Clock([] { return absl::Now(); })),
      bucket_count_(std::max(buckets, 0)),
      buckets_(static_cast<size_t>(bucket_count_)) {
  Reset();
}

void RateLimiter::Refill(Bucket& bucket, absl::Time now) {
  if (now > bucket.updated) {
    const double seconds = absl::ToDoubleSeconds(now - bucket.updated);
    bucket.tokens =
        std::min<double>(options_.capacity,
                         bucket.tokens + seconds * options_.refill_per_second);
  }
  bucket.updated = std::max(bucket.updated, now);
}

RateLimiter::Outcome RateLimiter::Take(int index) {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mutex_);
  Outcome outcome;
  if (index < 0 || index >= bucket_count()) return outcome;
  Bucket& bucket = buckets_[index];
  Refill(bucket, now);
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    ++bucket.taken;
    outcome.allowed = true;
    outcome.remaining = static_cast<int>(std::floor(bucket.tokens));
    bucket.min_remaining = std::min(bucket.min_remaining, outcome.remaining);
  } else {
    ++bucket.rate_limited;
    outcome.remaining = 0;
  }
  return outcome;
}

int RateLimiter::Peek(int index) {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mutex_);
  if (index < 0 || index >= bucket_count()) return 0;
  Bucket& bucket = buckets_[index];
  Refill(bucket, now);
  return static_cast<int>(std::floor(bucket.tokens));
}

BucketState RateLimiter::State(int index) {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mutex_);
  BucketState state;
  if (index < 0 || index >= bucket_count()) return state;
  Bucket& bucket = buckets_[index];
  Refill(bucket, now);
  state.remaining = static_cast<int>(std::floor(bucket.tokens));
  state.min_remaining = bucket.min_remaining;
  state.taken = bucket.taken;
  state.rate_limited = bucket.rate_limited;
  return state;
}

void RateLimiter::Reset() {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mutex_);
  for (Bucket& bucket : buckets_) {
    bucket = Bucket{static_cast<double>(options_.capacity), now,
                    options_.capacity, 0, 0};
  }
}

void RateLimiter::SetRemaining(int index, int remaining) {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mutex_);
  if (index < 0 || index >= bucket_count()) return;
  Bucket& bucket = buckets_[index];
  bucket.tokens = std::clamp(remaining, 0, options_.capacity);
  bucket.updated = now;
}

}  // namespace graphmill::fakes::heroku
