// Per-credential provider budgets. Every running task whose instance uses the
// same credential (the same integration and secret config values: two
// instances with one token are one account to the provider) shares one
// budget, made of
//   - requests in flight: sized by the integration (ProviderLimits), halved
//     by a 429, grown back by kRateRecoveryFactor per recovery interval
//     without one (AIMD, as TCP does: providers rarely say their limit);
//   - a requests/s rate: none by default. An operator's --rate-limit (the
//     instance's, else the coordinator's default) is an upper bound, backed
//     off on a 429 the same way; a token-bucket provider (Heroku) is paced to
//     its refill rate once a response says its bucket is nearly empty.
//
// Pure bookkeeping on an injected Clock: no store, no workers (the dispatcher
// tells workers their shares). Not thread-safe: the engine calls it under its
// lock.
#ifndef GRAPHMILL_COORDINATOR_RUN_RATE_BUDGET_H_
#define GRAPHMILL_COORDINATOR_RUN_RATE_BUDGET_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "graphmill/v1/integration.pb.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::coordinator {

namespace v1 = ::graphmill::v1;

// Growth of a lowered budget per recovery interval without a 429.
inline constexpr double kRateRecoveryFactor = 1.25;
// A configured rate never drops below this fraction of itself.
inline constexpr double kMinRateFraction = 0.05;

// What a credential's budget works within.
struct CredentialLimits {
  // Operator's requests/s bound; 0: none.
  double rate = 0;
  // Requests in flight across all the credential's tasks; at least 1.
  int max_in_flight = 1;
  // Token-bucket providers: refill per second, and the remaining count below
  // which requests are paced to it (0: not a bucket).
  double bucket_refill_per_second = 0;
  int64_t pace_below_remaining = 0;
};

// The limits of an instance of `definition`: the instance's rate, else
// `default_rate` (0: none); the definition's requests in flight, else
// `default_in_flight`.
CredentialLimits LimitsOf(const v1::IntegrationDefinition& definition,
                          const v1::Instance& instance, double default_rate,
                          int default_in_flight);

// Instances sharing a credential may be configured differently (one with a
// --rate-limit, one without): the budget keeps within the strictest of their
// limits (the lowest rate set, the fewest requests in flight). `limits` must
// not be empty.
CredentialLimits StrictestOf(const std::vector<CredentialLimits>& limits);

// A credential's budget now.
struct Budget {
  double rate = 0;  // requests/s; 0: unlimited
  int max_in_flight = 1;
};

struct RateBudgetOptions {
  // After a 429 the rate and requests in flight are multiplied by this.
  double backoff_factor = 0.5;
  // A lowered budget grows back by kRateRecoveryFactor at most once per this.
  absl::Duration recovery_interval = absl::Seconds(5);
};

class RateBudget {
 public:
  // `clock` must outlive this.
  RateBudget(Clock* clock, RateBudgetOptions options)
      : clock_(clock), options_(options) {}

  // The credential's budget; one not seen before starts at `limits`. Never
  // above `limits` (an operator may lower them at any time).
  Budget Current(const std::string& credential, const CredentialLimits& limits);
  // A task of the credential saw a 429: requests in flight (never below 1) and
  // a configured rate (never below kMinRateFraction of it) back off.
  Budget RateLimited(const std::string& credential,
                     const CredentialLimits& limits);
  // Grows a lowered budget by kRateRecoveryFactor (at most to `limits`) if the
  // recovery interval passed since it last changed.
  Budget Recover(const std::string& credential, const CredentialLimits& limits);
  // A provider response said `remaining` requests are left for the
  // credential: a bucket below limits.pace_below_remaining is paced to its
  // refill rate until a response says it has refilled.
  void ProviderRemaining(const std::string& credential, int64_t remaining);

 private:
  struct State {
    double rate = 0;  // the configured rate, backed off; 0: none
    double in_flight = 1;
    absl::Time last_change = absl::InfinitePast();
    std::optional<int64_t> remaining;
  };
  State& StateOf(const std::string& credential, const CredentialLimits& limits);
  static Budget BudgetOf(const State& state, const CredentialLimits& limits);

  Clock* const clock_;
  const RateBudgetOptions options_;
  std::map<std::string, State> states_;
};

// Names the provider credential of an opened `instance` (secret config values
// in clear) without revealing it: hex of HMAC-SHA256 under `hmac_key` over the
// integration name and the values of the definition's secret config fields,
// in the definition's order. An instance with none set is its own credential
// ("instance:<id>"). Same credential and key: same name.
std::string CredentialKey(absl::string_view hmac_key,
                          const v1::IntegrationDefinition& definition,
                          const v1::Instance& instance);

// Whether a task that was last told the rate `sent` should be told `share`
// (either 0: unlimited): only when it moved by more than 5% or one of them is
// unlimited and the other not, so updates stay rare.
bool ShareMoved(double sent, double share);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_RATE_BUDGET_H_
