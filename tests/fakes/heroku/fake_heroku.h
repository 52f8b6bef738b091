// A fake Heroku Platform API server (cpp-httplib on 127.0.0.1) for tests,
// benchmarks and demos: generated or recorded (HAR) data, Range pagination,
// Bearer/Basic auth with OAuth scopes and enterprise roles, a token-bucket rate
// limit, per-route counters and faults. Routes, control endpoints and the fault
// syntax are described in README.md.
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_FAKE_HEROKU_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_FAKE_HEROKU_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/fakes/common/webhook_sender.h"
#include "tests/fakes/heroku/auth.h"
#include "tests/fakes/heroku/dataset.h"
#include "tests/fakes/heroku/faults.h"
#include "tests/fakes/heroku/mutations.h"
#include "tests/fakes/heroku/rate_limiter.h"

namespace graphmill::fakes {

enum class FakeHerokuMode {
  kGenerated,  // serves heroku::GenerateDataset(dataset)
  kReplay,  // serves recorded HAR entries; anything else is 404 and "unmatched"
};

struct FakeHerokuOptions {
  // Accepted API tokens, each with its scopes, role and account; empty means
  // one token "test-token" with scope global and role admin. Tokens must be
  // distinct and non-empty.
  std::vector<heroku::TokenSpec> tokens;
  FakeHerokuMode mode = FakeHerokuMode::kGenerated;
  heroku::DatasetOptions dataset;       // generated mode
  std::vector<std::string> recordings;  // replay: .har files or directories
  // One bucket per token; capacity >= 1, refill_per_second >= 0.
  heroku::RateLimitOptions rate_limit;
  // The rate limiter's clock, also the time of mutations (renames' updated_at,
  // webhook events); null = absl::Now. Tests pass a fake clock to drive
  // refills without sleeping.
  std::function<absl::Time()> clock;
  std::vector<heroku::Fault> faults;  // active from the start
  int port = 0;                       // 0 = an ephemeral port
  // Request-handling threads. cpp-httplib holds one per open keep-alive
  // connection, and many workers each keep several: a small pool starves.
  int threads = 256;
  // Webhook deliveries: the timeout of each, and the PEM CA bundle that
  // https targets are verified with (empty: the system's).
  absl::Duration webhook_timeout = absl::Seconds(5);
  std::string webhook_ca_file;
};

// Thread-safe. Not copyable.
class FakeHeroku {
 public:
  // Generates or loads the data, binds 127.0.0.1:options.port and serves in
  // background threads. INVALID_ARGUMENT for bad options (never showing a
  // token), NOT_FOUND/INVALID_ARGUMENT naming the file for unreadable
  // recordings, UNAVAILABLE when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<FakeHeroku>> Start(
      FakeHerokuOptions options);

  // Stops accepting, waits for requests in flight (including injected
  // latency), joins.
  ~FakeHeroku();
  FakeHeroku(const FakeHeroku&) = delete;
  FakeHeroku& operator=(const FakeHeroku&) = delete;

  int port() const;
  // "http://127.0.0.1:PORT" (no trailing slash); the API routes hang off it
  // directly, as they do off https://api.heroku.com.
  std::string base_url() const;

  // The generated data being served now (empty in replay mode). Every version
  // is kept for the server's life, so the reference stays valid, and
  // unchanged, after later mutations: call again to see them.
  const heroku::Dataset& dataset() const;

  // How many Mutate calls (or POST /_control/mutations) have succeeded.
  int64_t data_version() const;

  // Applies `mutations` in order, all or nothing (heroku::ApplyMutations in
  // mutations.h, at the time of options.clock), then serves the result: each
  // request is answered from the data before or after the whole list. Then
  // sends the webhook events they cause to the matching targets of
  // webhooks(), in order, before returning (README.md, "Webhooks"). On error
  // nothing changes and nothing is sent: INVALID_ARGUMENT, NOT_FOUND naming
  // the app or add-on, ALREADY_EXISTS for a name in use, FAILED_PRECONDITION
  // in replay mode. Each mutation re-renders the data and keeps one more
  // Dataset copy alive, so they are meant to be few.
  absl::Status Mutate(const std::vector<heroku::Mutation>& mutations);
  absl::Status Mutate(const heroku::Mutation& mutation);

  // The webhook targets (registered with /_control/webhooks, POST
  // /apps/{app}/webhooks or here) and their delivery statistics.
  common::WebhookSender& webhooks();

  // Faults apply to requests that arrive after the call.
  void AddFault(heroku::Fault fault);
  absl::Status AddFault(absl::string_view spec);  // text syntax of faults.h
  void ClearFaults();
  std::vector<heroku::FaultTable::Entry> Faults() const;

  // Requests received per route name (heroku::kRouteNames), plus "unmatched"
  // (unknown routes and replay misses) and "total". Every API request counts,
  // whatever its outcome (401s, 429s and injected faults included); /_control
  // requests do not. Unknown names give 0.
  int64_t RequestCount(absl::string_view name) const;
  std::map<std::string, int64_t> Counters() const;
  // API responses sent with `status` (injected ones included; resets are not
  // responses).
  int64_t StatusCount(int status) const;
  // Clears request and status counters.
  void ResetCounters();

  // The bucket of `token` (an accepted token; others give an empty state).
  heroku::BucketState RateLimit(absl::string_view token) const;
  // Refills every bucket and clears their statistics.
  void ResetRateLimits();
  // Sets the tokens left in `token`'s bucket (clamped to 0..capacity).
  void SetRateLimitRemaining(absl::string_view token, int remaining);

 private:
  class Impl;
  explicit FakeHeroku(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_FAKE_HEROKU_H_
