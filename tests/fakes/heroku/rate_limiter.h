// Heroku's request budget: one token bucket per API token, refilled
// continuously, with the statistics tests need to prove a client stays within
// budget.
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_RATE_LIMITER_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_RATE_LIMITER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace graphmill::fakes::heroku {

struct RateLimitOptions {
  int capacity = 4500;              // Heroku: 4,500 per account
  double refill_per_second = 1.25;  // Heroku: 75 per minute
  // Retry-After sent with a 429 from an empty bucket; < 0 sends none (Heroku
  // documents none).
  int retry_after_seconds = -1;
};

// What the limiter knows about one bucket.
struct BucketState {
  int remaining = 0;  // whole tokens available now
  int min_remaining =
      0;              // lowest RateLimit-Remaining sent since the last reset
  int64_t taken = 0;  // requests that were let through and cost a token
  int64_t rate_limited = 0;  // requests refused with 429 since the last reset
  bool exceeded() const { return rate_limited > 0; }
};

// Thread-safe.
class RateLimiter {
 public:
  using Clock = std::function<absl::Time()>;

  // `buckets` full buckets. `clock` null = absl::Now. The caller rejects bad
  // options (capacity < 1, negative refill).
  RateLimiter(RateLimitOptions options, int buckets, Clock clock);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  struct Outcome {
    bool allowed = false;
    int remaining = 0;  // what RateLimit-Remaining should say
  };
  // Buckets are numbered 0..bucket_count()-1; other numbers give a refusal, 0
  // or an empty state and change nothing.
  //
  // Takes one token from `bucket`, if there is one.
  Outcome Take(int bucket);
  // Whole tokens left, without taking any (GET /account/rate-limits).
  int Peek(int bucket);

  BucketState State(int bucket);
  int bucket_count() const { return bucket_count_; }
  const RateLimitOptions& options() const { return options_; }

  // Refills every bucket and clears the statistics.
  void Reset();
  // Sets `bucket` to `remaining` tokens (clamped to 0..capacity), e.g. to start
  // a test near the limit. Statistics are kept.
  void SetRemaining(int bucket, int remaining);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
    int min_remaining = 0;
    int64_t taken = 0;
    int64_t rate_limited = 0;
  };
  void Refill(Bucket& bucket, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const RateLimitOptions options_;
  const Clock clock_;
  const int bucket_count_;
  absl::Mutex mutex_;
  std::vector<Bucket> buckets_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_RATE_LIMITER_H_
