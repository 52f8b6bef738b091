// The Heroku integration's definition as the coordinator receives it: the
// config fields, then the 10 steps of steps/steps.cc in its order (each step's
// declaration lives with its handler in steps/<step>.cc). The names shared by
// the other files are in names.h. Thread-safe: built once, immutable.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_DEFINITION_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_DEFINITION_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "graphmill/v1/integration.pb.h"
#include "worker/integrations/heroku/names.h"

namespace graphmill::worker::heroku {

namespace v1 = ::graphmill::v1;

// The definition sent to the coordinator. Built once; valid for the process's
// lifetime.
const v1::IntegrationDefinition& Definition();

// The step with `step_id`, or nullptr if there is none.
const v1::StepDefinition* FindStep(absl::string_view step_id);

// Every entity and relationship `_type` `step_id` declares (empty for an
// unknown id).
std::vector<std::string> DeclaredTypes(absl::string_view step_id);

}  // namespace graphmill::worker::heroku

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_DEFINITION_H_
