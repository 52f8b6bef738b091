// Builders for IntegrationDefinition messages and look-ups into them.
#include "worker/integrations/common/definition_builder.h"

namespace graphmill::worker {

void AddConfigField(v1::IntegrationDefinition& definition, const char* name,
                    v1::ConfigFieldType type, bool secret, bool optional,
                    const char* description, const char* default_value,
                    bool endpoint) {
  v1::ConfigField* field = definition.add_config_fields();
  field->set_name(name);
  field->set_type(type);
  field->set_secret(secret);
  field->set_optional(optional);
  field->set_description(description);
  field->set_default_value(default_value);
  field->set_endpoint(endpoint);
}

void AddStep(v1::IntegrationDefinition& definition, const char* id,
             const char* name, absl::Span<const char* const> depends_on,
             absl::Span<const EntityDecl> entities,
             absl::Span<const RelationshipDecl> relationships,
             const char* parent_type) {
  v1::StepDefinition* step = definition.add_steps();
  step->set_id(id);
  step->set_name(name);
  for (const char* dependency : depends_on) step->add_depends_on(dependency);
  for (const EntityDecl& decl : entities) {
    v1::DeclaredEntityType* entity = step->add_entities();
    entity->set_type(decl.type);
    entity->add_classes(decl.class_name);
    entity->set_partial(decl.partial);
  }
  for (const RelationshipDecl& decl : relationships) {
    v1::DeclaredRelationshipType* relationship = step->add_relationships();
    relationship->set_type(decl.type);
    relationship->set_class_name(decl.class_name);
    relationship->set_from_type(decl.from_type);
    relationship->set_to_type(decl.to_type);
    relationship->set_partial(decl.partial);
  }
  step->set_parent_type(parent_type);
}

const v1::StepDefinition* FindStep(const v1::IntegrationDefinition& definition,
                                   absl::string_view step_id) {
  for (const v1::StepDefinition& step : definition.steps()) {
    if (step.id() == step_id) return &step;
  }
  return nullptr;
}

std::vector<std::string> DeclaredTypes(
    const v1::IntegrationDefinition& definition, absl::string_view step_id) {
  std::vector<std::string> types;
  const v1::StepDefinition* step = FindStep(definition, step_id);
  if (step == nullptr) return types;
  for (const auto& entity : step->entities()) types.push_back(entity.type());
  for (const auto& relationship : step->relationships()) {
    types.push_back(relationship.type());
  }
  return types;
}

}  // namespace graphmill::worker
