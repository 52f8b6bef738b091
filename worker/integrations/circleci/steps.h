// The handlers of the CircleCI integration's 12 steps (declared in
// definition.cc).
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_STEPS_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_STEPS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "worker/integrations/circleci/client.h"
#include "worker/integrations/circleci/config.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::circleci {

// Most requests in flight at once within one task's fan-out (per parent:
// workflows per pipeline, projects per slug, ...). A fixed cap until the
// coordinator hands out per-instance rate budgets; CircleCI throttles bursts
// with 429, which the HTTP client absorbs.
inline constexpr int kMaxInFlightRequests = 8;

// Runs step `step_id` (or this task's shard of it). Returns INVALID_ARGUMENT
// for an unknown id; otherwise the step's outcome: a 401, a non-permission 4xx,
// an exhausted retry or a malformed response fails the step. 403/404 on one
// organization's, pipeline's, workflow's, project's or context's resource
// raises a `warn_missing_permission` event, marks the step's types partial and
// the step goes on.
absl::Status RunStep(absl::string_view step_id, const CircleCiConfig& config,
                     CircleCiClient& client, StepContext& context);

}  // namespace graphmill::worker::circleci

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_STEPS_H_
