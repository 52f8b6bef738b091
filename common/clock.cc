#include "common/clock.h"

namespace graphmill {
namespace {

class RealClock : public Clock {
public:
  absl::Time Now() override { return absl::Now(); }
  void Sleep(absl::Duration duration) override { absl::SleepFor(duration); }
  bool AwaitWithDeadline(absl::Mutex *mu, const absl::Condition &condition,
                         absl::Time deadline) override {
    return mu->AwaitWithDeadline(condition, deadline);
  }
};

} // namespace

Clock *Clock::Real() {
  static Clock *const clock = new RealClock();
  return clock;
}

} // namespace graphmill
