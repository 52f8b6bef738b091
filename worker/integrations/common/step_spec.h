// One step of an integration, declared and implemented in one place: what the
// definition advertises about it (id, name, dependsOn, declared types, the
// parent type it shards over) next to the handler that runs it. Each
// integration keeps one ordered list of its steps (steps/steps.cc); its
// definition and its dispatch are both built from that list, so a step cannot
// be advertised without a handler, nor run without being advertised.
//
// Specs are immutable after construction and safe to read from any thread.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_COMMON_STEP_SPEC_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_COMMON_STEP_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "graphmill/v1/integration.pb.h"
#include "worker/integrations/common/definition_builder.h"

namespace graphmill::worker {

// `Step` is the integration's per-task step helper (a TaskStep with its client
// and config), which the handler gets.
template <typename Step>
struct StepSpec {
  const char* id = "";
  const char* name = "";
  std::vector<const char*> depends_on = {};
  // In the order the definition lists them.
  std::vector<EntityDecl> entities = {};
  std::vector<RelationshipDecl> relationships = {};
  // The entity type the step shards over; "" for none.
  const char* parent_type = "";
  // Runs this task's share of the step. Required.
  absl::Status (*run)(Step& step) = nullptr;
};

// Appends every step of `steps` to `definition`, in order (AddStep).
template <typename Step>
void AddSteps(v1::IntegrationDefinition& definition,
              absl::Span<const StepSpec<Step>* const> steps) {
  for (const StepSpec<Step>* step : steps) {
    AddStep(definition, step->id, step->name, step->depends_on, step->entities,
            step->relationships, step->parent_type);
  }
}

// The step of `steps` with `id`, or nullptr.
template <typename Step>
const StepSpec<Step>* FindStepSpec(
    absl::Span<const StepSpec<Step>* const> steps, absl::string_view id) {
  for (const StepSpec<Step>* step : steps) {
    if (step->id == id) return step;
  }
  return nullptr;
}

// Every entity then relationship `_type` `step` declares: what the step marks
// partial when it cannot tell which scope a failure touched.
template <typename Step>
std::vector<std::string> DeclaredTypes(const StepSpec<Step>& step) {
  std::vector<std::string> types;
  for (const EntityDecl& entity : step.entities) types.push_back(entity.type);
  for (const RelationshipDecl& relationship : step.relationships) {
    types.push_back(relationship.type);
  }
  return types;
}

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_STEP_SPEC_H_
