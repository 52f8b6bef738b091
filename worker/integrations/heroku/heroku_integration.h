// The Heroku integration as the worker runtime sees it.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_HEROKU_INTEGRATION_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_HEROKU_INTEGRATION_H_

#include "common/http/http_client.h"
#include "worker/integrations/heroku/rate_pacer.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::heroku {

struct HerokuIntegrationOptions {
  // The base of every API client (tests shorten timeouts and retries). Its
  // clock also drives the rate pacer; hooks set here run before the task's.
  // Without a pool, the integration makes one that all its clients share.
  http::HttpClientOptions http;
  // Pacing by RateLimit-Remaining (tests shrink it to a small fake bucket).
  RateLimitPolicy rate_limit;
};

// Thread-safe: holds no per-run state; every call builds its own API client
// from the config, over the integration's one connection pool (create the
// integration once per process).
class HerokuIntegration : public Integration {
 public:
  explicit HerokuIntegration(HerokuIntegrationOptions options = {});

  const v1::IntegrationDefinition& definition() const override;

  // INVALID_ARGUMENT naming the field for a blank apiKey or a bad baseUrl;
  // then GET <baseUrl>/account: 401 is UNAUTHENTICATED and 403
  // PERMISSION_DENIED, both naming the 'apiKey' field, the URL and Heroku's
  // message; other failures keep their code (network errors stay UNAVAILABLE
  // and name 'baseUrl').
  absl::Status ValidateInvocation(const InstanceConfig& config) override;

  // Builds a client for this task whose requests pass through the task's rate
  // budget (StepContext::AwaitRequestSlot / OnProviderResponse) and a
  // RatePacer of its own, then runs the step.
  absl::Status ExecuteStep(absl::string_view step_id,
                           StepContext& context) override;

 private:
  const HerokuIntegrationOptions options_;
};

}  // namespace graphmill::worker::heroku

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_HEROKU_INTEGRATION_H_
