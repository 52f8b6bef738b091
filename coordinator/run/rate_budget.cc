// Implementation of coordinator/run/rate_budget.h.
#include "coordinator/run/rate_budget.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace graphmill::coordinator {

CredentialLimits LimitsOf(const v1::IntegrationDefinition& definition,
                          const v1::Instance& instance, double default_rate,
                          int default_in_flight) {
  const v1::ProviderLimits& provider = definition.provider_limits();
  CredentialLimits limits;
  limits.rate = instance.rate_limit_per_second() > 0
                    ? instance.rate_limit_per_second()
                    : std::max(0.0, default_rate);
  limits.max_in_flight = std::max(1, provider.max_requests_in_flight() > 0
                                         ? provider.max_requests_in_flight()
                                         : default_in_flight);
  limits.bucket_refill_per_second = provider.bucket_refill_per_second();
  limits.pace_below_remaining = provider.pace_below_remaining();
  return limits;
}

CredentialLimits StrictestOf(const std::vector<CredentialLimits>& limits) {
  CredentialLimits strictest = limits.front();
  for (const CredentialLimits& other : limits) {
    if (other.rate > 0 && (strictest.rate <= 0 || other.rate < strictest.rate))
      strictest.rate = other.rate;
    strictest.max_in_flight =
        std::min(strictest.max_in_flight, other.max_in_flight);
  }
  return strictest;
}

RateBudget::State& RateBudget::StateOf(const std::string& credential,
                                       const CredentialLimits& limits) {
  auto [it, inserted] = states_.try_emplace(credential);
  State& state = it->second;
  // Also when an operator lowered the limits since: the budget never exceeds
  // what is configured now.
  if (inserted || state.rate <= 0 || state.rate > limits.rate)
    state.rate = limits.rate;
  if (inserted || state.in_flight > limits.max_in_flight)
    state.in_flight = limits.max_in_flight;
  return state;
}

Budget RateBudget::BudgetOf(const State& state,
                            const CredentialLimits& limits) {
  Budget budget{
      .rate = state.rate,
      .max_in_flight = std::max(1, static_cast<int>(state.in_flight))};
  const bool bucket_low = limits.bucket_refill_per_second > 0 &&
                          state.remaining.has_value() &&
                          *state.remaining < limits.pace_below_remaining;
  if (bucket_low) {
    budget.rate = budget.rate > 0
                      ? std::min(budget.rate, limits.bucket_refill_per_second)
                      : limits.bucket_refill_per_second;
  }
  return budget;
}

Budget RateBudget::Current(const std::string& credential,
                           const CredentialLimits& limits) {
  return BudgetOf(StateOf(credential, limits), limits);
}

Budget RateBudget::RateLimited(const std::string& credential,
                               const CredentialLimits& limits) {
  State& state = StateOf(credential, limits);
  if (state.rate > 0) {
    state.rate = std::max(limits.rate * kMinRateFraction,
                          state.rate * options_.backoff_factor);
  }
  state.in_flight = std::max(1.0, state.in_flight * options_.backoff_factor);
  state.last_change = clock_->Now();
  return BudgetOf(state, limits);
}

Budget RateBudget::Recover(const std::string& credential,
                           const CredentialLimits& limits) {
  State& state = StateOf(credential, limits);
  const absl::Time now = clock_->Now();
  const bool lowered =
      state.rate < limits.rate || state.in_flight < limits.max_in_flight;
  if (lowered && now - state.last_change >= options_.recovery_interval) {
    state.rate = std::min(limits.rate, state.rate * kRateRecoveryFactor);
    state.in_flight = std::min<double>(
        limits.max_in_flight,
        std::max(state.in_flight + 1, state.in_flight * kRateRecoveryFactor));
    state.last_change = now;
  }
  return BudgetOf(state, limits);
}

void RateBudget::ProviderRemaining(const std::string& credential,
                                   int64_t remaining) {
  auto it = states_.find(credential);
  if (it != states_.end()) it->second.remaining = remaining;
}

std::string CredentialKey(absl::string_view hmac_key,
                          const v1::IntegrationDefinition& definition,
                          const v1::Instance& instance) {
  std::string message = definition.name();
  bool any_secret = false;
  for (const v1::ConfigField& field : definition.config_fields()) {
    if (!field.secret()) continue;
    auto value = instance.config().find(field.name());
    if (value == instance.config().end() || value->second.empty()) continue;
    any_secret = true;
    // Named and length-prefixed, so no two credentials serialize alike.
    absl::StrAppend(&message, "\n", field.name(), "=", value->second.size(),
                    ":", value->second);
  }
  if (!any_secret) return absl::StrCat("instance:", instance.id());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       digest, &length);
  OPENSSL_cleanse(message.data(), message.size());
  // 128 bits name it well enough; the rest would only lengthen labels.
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest), std::min(length, 16u)));
}

bool ShareMoved(double sent, double share) {
  if (sent <= 0 || share <= 0) return (sent <= 0) != (share <= 0);
  return std::abs(sent - share) > 0.05 * share;
}

}  // namespace graphmill::coordinator
