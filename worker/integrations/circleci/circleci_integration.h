// The CircleCI integration as the worker runtime sees it.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CIRCLECI_INTEGRATION_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CIRCLECI_INTEGRATION_H_

#include "common/http/http_client.h"
#include "worker/integrations/common/run_cache.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::circleci {

// Thread-safe. Create it once per worker process: every call builds its own
// API client from the config, but all of them share the integration's
// connection pool, and the tasks of one run share the project details it
// keeps (a RunCache: each project fetched once per run and process, entries
// dropped 10 minutes after they were fetched, at most 10,000).
class CircleCiIntegration : public Integration {
 public:
  // `http_options` is the base of every API client (tests shorten timeouts and
  // retries); the instance's API key is added to its redact list, and hooks set
  // in it run before the task's rate-budget hooks. Without a pool, the
  // integration makes one. Its clock also times the project cache.
  explicit CircleCiIntegration(http::HttpClientOptions http_options = {});

  const v1::IntegrationDefinition& definition() const override;

  // INVALID_ARGUMENT naming the field for a missing required field, a bad
  // baseUrl or a bad project slug; then GET <baseUrl>/me/: 401 is
  // UNAUTHENTICATED and 403 PERMISSION_DENIED, both naming the 'apiKey' field
  // and the URL; other failures keep their code (network errors stay
  // UNAVAILABLE).
  absl::Status ValidateInvocation(const InstanceConfig& config) override;

  absl::Status ExecuteStep(absl::string_view step_id,
                           StepContext& context) override;

 private:
  const http::HttpClientOptions http_options_;
  // GET /project/{slug} bodies by run, credential and slug.
  RunCache project_cache_;
};

}  // namespace graphmill::worker::circleci

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CIRCLECI_INTEGRATION_H_
