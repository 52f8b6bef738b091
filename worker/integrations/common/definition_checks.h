// Test helpers: checks every integration's definition must pass (a DAG of known
// steps, parent types produced by a dependency, relationship types as
// DirectRelationship names them) and views of a definition for test
// expectations. GoogleTest assertions; for tests only.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_COMMON_DEFINITION_CHECKS_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_COMMON_DEFINITION_CHECKS_H_

#include <map>
#include <string>
#include <vector>

#include "graphmill/v1/integration.pb.h"

namespace graphmill::worker::testing {

namespace v1 = ::graphmill::v1;

// A step as a test expects it.
struct ExpectedStep {
  std::string id;
  std::string name;
  std::vector<std::string> depends_on;
  std::string parent_type;  // "" for none
};

// Expects `definition` to have exactly `expected` steps, in that order.
void ExpectSteps(const v1::IntegrationDefinition& definition,
                 const std::vector<ExpectedStep>& expected);

// Expects unique step ids, dependsOn naming only known steps, and no cycle.
void ExpectDependsOnKnownStepsAndAcyclic(
    const v1::IntegrationDefinition& definition);

// Expects each step's parent type to be an entity type declared by one of the
// step's direct dependencies.
void ExpectParentTypesProducedByADependency(
    const v1::IntegrationDefinition& definition);

// Expects each entity type declared once, with one class; returns type ->
// class.
std::map<std::string, std::string> EntityClasses(
    const v1::IntegrationDefinition& definition);

// Entity type -> id of the step declaring it.
std::map<std::string, std::string> EntityProducers(
    const v1::IntegrationDefinition& definition);

// A declared relationship type.
struct DeclaredRelationship {
  std::string step;  // id of the declaring step
  std::string class_name;
  std::string from;
  std::string to;
};

// Expects each relationship type declared once and equal to
// RelationshipType(from, class, to) (what the objects will carry); returns
// them by type.
std::map<std::string, DeclaredRelationship> DeclaredRelationships(
    const v1::IntegrationDefinition& definition);

}  // namespace graphmill::worker::testing

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_DEFINITION_CHECKS_H_
