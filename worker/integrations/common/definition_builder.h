// Builders for an integration's IntegrationDefinition (config fields, steps
// with their declared types) and look-ups into a built one, shared by every
// integration's definition.cc.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_COMMON_DEFINITION_BUILDER_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_COMMON_DEFINITION_BUILDER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "graphmill/v1/integration.pb.h"

namespace graphmill::worker {

namespace v1 = ::graphmill::v1;

// An entity `_type` a step declares, with its one class.
struct EntityDecl {
  const char* type;
  const char* class_name;
  // Never fully listed by the step, so finalize never deletes objects of it.
  bool partial = false;
};

// A relationship `_type` a step declares: from_type -class_name-> to_type.
struct RelationshipDecl {
  const char* type;
  const char* class_name;
  const char* from_type;
  const char* to_type;
  bool partial = false;
};

// Appends a config field to `definition`. `default_value` is "" for none.
// `endpoint`: the instance's secrets are sent to the address in this field
// (ConfigField.endpoint).
void AddConfigField(v1::IntegrationDefinition& definition, const char* name,
                    v1::ConfigFieldType type, bool secret, bool optional,
                    const char* description, const char* default_value = "",
                    bool endpoint = false);

// Appends a step to `definition`, its declared types in the order given.
// `parent_type` is the entity type the step shards over ("" for none).
// Integrations declare steps as StepSpecs (step_spec.h), which call this.
void AddStep(v1::IntegrationDefinition& definition, const char* id,
             const char* name, absl::Span<const char* const> depends_on,
             absl::Span<const EntityDecl> entities,
             absl::Span<const RelationshipDecl> relationships,
             const char* parent_type = "");

// The step of `definition` with `step_id`, or nullptr if there is none. The
// pointer lives as long as `definition`.
const v1::StepDefinition* FindStep(const v1::IntegrationDefinition& definition,
                                   absl::string_view step_id);

// Every entity then relationship `_type` step `step_id` declares (empty for an
// unknown id).
std::vector<std::string> DeclaredTypes(
    const v1::IntegrationDefinition& definition, absl::string_view step_id);

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_DEFINITION_BUILDER_H_
