// Client-side pacing of Heroku API requests by the RateLimit-Remaining header,
// so a task slows down before Heroku's token bucket is empty instead of
// running into 429s.
//
// Heroku gives each account a bucket of 4,500 tokens that refills at about 75
// per minute (one token per 800 ms); each request costs one, and every
// response says how many are left in `RateLimit-Remaining`. The policy:
//   - remaining >= pace_below_remaining (or not known yet): no delay;
//   - below it: requests start at most one per refill_interval, i.e. no faster
//     than the bucket refills, so this task alone never drains it further;
//   - below reserve_remaining (other clients of the same key, other tasks, or
//     a 429, which counts as 0): wait until the bucket has had time to refill
//     back to reserve_remaining, then continue one per refill_interval.
// With pace_below_remaining above the number of requests one task has in
// flight, a task that is the key's only user never empties the bucket. 429s
// caused by others are retried by HttpClient (Retry-After, backoff) and
// reported to the coordinator, which lowers the instance's rate.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_RATE_PACER_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_RATE_PACER_H_

#include <functional>
#include <optional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/http/http_client.h"
#include "worker/integrations/heroku/names.h"

namespace graphmill::worker::heroku {

struct RateLimitPolicy {
  // Time for the bucket to gain one token: 60 s / 75 = 800 ms.
  absl::Duration refill_interval = absl::Milliseconds(800);
  // Pacing starts below this many remaining tokens (10% of the bucket).
  int pace_below_remaining = kHerokuBucketCapacityRequests / 10;
  // Below this many, wait for the bucket to refill back to it. Well above the
  // requests one task has in flight (8), so they cannot empty the bucket.
  int reserve_remaining = 50;
  // Longest single sleep; between slices `cancelled` is checked.
  absl::Duration max_sleep_slice = absl::Seconds(1);
};

// Thread-safe: one pacer serves all of a task's concurrent requests.
class RatePacer {
 public:
  // Waits are measured and slept on `clock` (null: Clock::Real()), which must
  // outlive the pacer. `cancelled` (may be null) cuts waits short.
  RatePacer(RateLimitPolicy policy, Clock* clock,
            std::function<bool()> cancelled = nullptr);
  RatePacer(const RatePacer&) = delete;
  RatePacer& operator=(const RatePacer&) = delete;

  // Call before each request attempt (HttpClientOptions::before_request):
  // blocks as long as the policy requires.
  void BeforeRequest();
  // Call with each response (HttpClientOptions::after_response): records
  // RateLimit-Remaining; a 429 counts as an empty bucket.
  void OnResponse(const http::HttpResponse& response);

  // The last remaining count seen (nullopt before any), and the total time
  // BeforeRequest slept, for logs and tests.
  std::optional<int> remaining() const;
  absl::Duration total_wait() const;

 private:
  const RateLimitPolicy policy_;
  Clock* const clock_;
  const std::function<bool()> cancelled_;
  mutable absl::Mutex mutex_;
  std::optional<int> remaining_ ABSL_GUARDED_BY(mutex_);
  absl::Time observed_at_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  absl::Time next_slot_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
  absl::Duration total_wait_ ABSL_GUARDED_BY(mutex_);
  bool logged_pacing_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace graphmill::worker::heroku

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_RATE_PACER_H_
