// The CircleCI integration's steps: one ordered list, each entry a step's
// declaration and handler (steps/<step>.cc). The definition (definition.cc) is
// built from the list, and RunStep dispatches through it.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_STEPS_STEPS_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_STEPS_STEPS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "worker/integrations/circleci/client.h"
#include "worker/integrations/circleci/config.h"
#include "worker/integrations/circleci/steps/step.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::circleci {

// Every step, in the order the definition lists them (the reference's).
// Valid for the process's lifetime; thread-safe.
absl::Span<const StepSpec* const> Steps();

// Runs step `step_id` (or this task's shard of it). Returns INVALID_ARGUMENT
// for an unknown id; otherwise the step's outcome: a 401, a non-permission 4xx,
// an exhausted retry or a malformed response fails the step. 403/404 on one
// organization's, pipeline's, workflow's, project's or context's resource
// raises a `warn_missing_permission` event, marks the step's types partial and
// the step goes on.
absl::Status RunStep(absl::string_view step_id, const CircleCiConfig& config,
                     CircleCiClient& client, StepContext& context);

}  // namespace graphmill::worker::circleci

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_STEPS_STEPS_H_
