// Implementation of coordinator/run/rate_budget.h.
#include "coordinator/run/rate_budget.h"

#include <algorithm>
#include <cmath>

namespace graphmill::coordinator {

RateBudget::State& RateBudget::StateOf(const std::string& instance_id,
                                       double configured) {
  State& state = states_[instance_id];
  // Also when an operator lowered the instance's rate since: the budget never
  // exceeds what is configured now.
  if (state.current <= 0 || state.current > configured)
    state.current = configured;
  return state;
}

double RateBudget::Current(const std::string& instance_id, double configured) {
  return StateOf(instance_id, configured).current;
}

double RateBudget::RateLimited(const std::string& instance_id,
                               double configured) {
  State& state = StateOf(instance_id, configured);
  state.current = std::max(configured * kMinRateFraction,
                           state.current * options_.backoff_factor);
  state.last_change = clock_->Now();
  return state.current;
}

double RateBudget::Recover(const std::string& instance_id, double configured) {
  State& state = StateOf(instance_id, configured);
  const absl::Time now = clock_->Now();
  if (state.current < configured &&
      now - state.last_change >= options_.recovery_interval) {
    state.current = std::min(configured, state.current * kRateRecoveryFactor);
    state.last_change = now;
  }
  return state.current;
}

double ConfiguredRate(const v1::Instance& instance, double default_rate) {
  return instance.rate_limit_per_second() > 0 ? instance.rate_limit_per_second()
                                              : default_rate;
}

bool ShareMoved(double sent, double share) {
  return sent <= 0 || std::abs(sent - share) > 0.05 * share;
}

}  // namespace graphmill::coordinator
