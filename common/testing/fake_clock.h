// A Clock that moves only when told: Advance() and Sleep() move it, Now()
// reads it. Waiters in AwaitWithDeadline wake when their condition holds or
// when the fake time passes their deadline (checked every millisecond of real
// time, so a test never waits for the fake duration).
#ifndef GRAPHMILL_COMMON_TESTING_FAKE_CLOCK_H_
#define GRAPHMILL_COMMON_TESTING_FAKE_CLOCK_H_

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace graphmill {

// Thread-safe.
class FakeClock : public Clock {
public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000))
      : now_(start) {}

  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  // Moves the clock by `duration` at once (and records it; see sleeps()).
  void Sleep(absl::Duration duration) override {
    absl::MutexLock lock(&mu_);
    sleeps_.push_back(duration);
    now_ += duration;
  }
  bool AwaitWithDeadline(absl::Mutex *mu, const absl::Condition &condition,
                         absl::Time deadline) override {
    while (!condition.Eval()) {
      if (Now() >= deadline)
        return false;
      mu->AwaitWithTimeout(condition, absl::Milliseconds(1));
    }
    return true;
  }

  void Advance(absl::Duration duration) {
    absl::MutexLock lock(&mu_);
    now_ += duration;
  }
  void Set(absl::Time time) {
    absl::MutexLock lock(&mu_);
    now_ = time;
  }
  // Every Sleep() so far, in order.
  std::vector<absl::Duration> sleeps() {
    absl::MutexLock lock(&mu_);
    return sleeps_;
  }

private:
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> sleeps_ ABSL_GUARDED_BY(mu_);
};

} // namespace graphmill::testing

#endif // GRAPHMILL_COMMON_TESTING_FAKE_CLOCK_H_
