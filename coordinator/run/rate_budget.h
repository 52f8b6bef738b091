// Per-instance provider rate budgets. All running tasks of an instance share
// one rate (requests per second to the provider). A 429 from any of them
// lowers it multiplicatively; it then grows back by kRateRecoveryFactor per
// recovery interval without a 429, up to the configured rate. AIMD-like,
// because providers rarely say their limit and a fixed guess either wastes
// capacity or keeps tripping 429s.
//
// Pure bookkeeping on an injected Clock: no store, no workers (the dispatcher
// tells workers their shares). Not thread-safe: the engine calls it under its
// lock.
#ifndef GRAPHMILL_COORDINATOR_RUN_RATE_BUDGET_H_
#define GRAPHMILL_COORDINATOR_RUN_RATE_BUDGET_H_

#include <map>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::coordinator {

namespace v1 = ::graphmill::v1;

// Growth of an instance's rate per recovery interval without a 429.
inline constexpr double kRateRecoveryFactor = 1.25;
// The rate never drops below this fraction of the configured rate.
inline constexpr double kMinRateFraction = 0.05;

struct RateBudgetOptions {
  // After a 429 the rate is multiplied by this.
  double backoff_factor = 0.5;
  // The rate grows back by kRateRecoveryFactor at most once per this.
  absl::Duration recovery_interval = absl::Seconds(5);
};

class RateBudget {
 public:
  // `clock` must outlive this.
  RateBudget(Clock* clock, RateBudgetOptions options)
      : clock_(clock), options_(options) {}

  // The instance's current rate; an instance not seen before starts at
  // `configured`. Never above `configured` (an operator may lower it).
  double Current(const std::string& instance_id, double configured);
  // A task of the instance saw a 429: the rate is multiplied by the back-off
  // factor, never below kMinRateFraction of `configured`. Returns the new
  // rate.
  double RateLimited(const std::string& instance_id, double configured);
  // Grows a lowered rate by kRateRecoveryFactor (at most to `configured`) if
  // the recovery interval passed since it last changed. Returns the current
  // rate.
  double Recover(const std::string& instance_id, double configured);

 private:
  struct State {
    double current = 0;
    absl::Time last_change = absl::InfinitePast();
  };
  State& StateOf(const std::string& instance_id, double configured);

  Clock* const clock_;
  const RateBudgetOptions options_;
  std::map<std::string, State> states_;
};

// The instance's own rate setting, else `default_rate`.
double ConfiguredRate(const v1::Instance& instance, double default_rate);

// Whether a task that was last told `sent` (0: nothing yet) should be told
// `share`: only when it moved by more than 5%, so updates stay rare.
bool ShareMoved(double sent, double share);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_RATE_BUDGET_H_
