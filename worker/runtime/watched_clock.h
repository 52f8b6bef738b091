// A FakeClock that also knows the deadlines threads are waiting for, so a test
// can move time only once the code under test is blocked on the clock, and can
// check that nothing happened before a deadline without waiting in real time.
// Thread-safe; for tests only.
#ifndef GRAPHMILL_WORKER_RUNTIME_WATCHED_CLOCK_H_
#define GRAPHMILL_WORKER_RUNTIME_WATCHED_CLOCK_H_

#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/fake_clock.h"

namespace graphmill::worker {

class WatchedClock : public FakeClock {
 public:
  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& condition,
                         absl::Time deadline) override {
    std::multiset<absl::Time>::iterator entry;
    {
      absl::MutexLock lock(&watch_mu_);
      entry = deadlines_.insert(deadline);
      waiters_changed_.SignalAll();
    }
    const bool result = FakeClock::AwaitWithDeadline(mu, condition, deadline);
    absl::MutexLock lock(&watch_mu_);
    deadlines_.erase(entry);
    waiters_changed_.SignalAll();
    return result;
  }

  // Waits, in real time up to `timeout`, until some thread waits on this clock
  // for a deadline in (Now(), Now() + horizon]: it is blocked until the clock
  // moves (or its condition changes). False if none did.
  bool AwaitWaiter(absl::Duration horizon = absl::InfiniteDuration(),
                   absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time give_up = absl::Now() + timeout;
    absl::MutexLock lock(&watch_mu_);
    while (true) {
      const absl::Time now = Now();
      for (const absl::Time deadline : deadlines_) {
        if (deadline > now && deadline - now <= horizon) return true;
      }
      if (absl::Now() >= give_up) return false;
      // Advance() is not signalled here, hence the bound on each wait.
      waiters_changed_.WaitWithTimeout(&watch_mu_, absl::Milliseconds(1));
    }
  }

 private:
  absl::Mutex watch_mu_;
  absl::CondVar waiters_changed_;
  std::multiset<absl::Time> deadlines_ ABSL_GUARDED_BY(watch_mu_);
};

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_WATCHED_CLOCK_H_
