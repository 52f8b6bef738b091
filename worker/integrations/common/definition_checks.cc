// Checks shared by the integrations' definition tests.
#include "worker/integrations/common/definition_checks.h"

#include <set>

#include "common/graph_objects.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::worker::testing {
namespace {

std::vector<std::string> DependsOn(const v1::StepDefinition& step) {
  return {step.depends_on().begin(), step.depends_on().end()};
}

}  // namespace

void ExpectSteps(const v1::IntegrationDefinition& definition,
                 const std::vector<ExpectedStep>& expected) {
  ASSERT_EQ(definition.steps_size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    const v1::StepDefinition& step = definition.steps(static_cast<int>(i));
    EXPECT_EQ(step.id(), expected[i].id);
    EXPECT_EQ(step.name(), expected[i].name) << step.id();
    EXPECT_THAT(DependsOn(step),
                ::testing::ElementsAreArray(expected[i].depends_on))
        << step.id();
    EXPECT_EQ(step.parent_type(), expected[i].parent_type) << step.id();
  }
}

void ExpectDependsOnKnownStepsAndAcyclic(
    const v1::IntegrationDefinition& definition) {
  std::set<std::string> ids;
  for (const auto& step : definition.steps()) {
    EXPECT_TRUE(ids.insert(step.id()).second) << step.id() << " twice";
  }
  for (const auto& step : definition.steps()) {
    for (const auto& dependency : step.depends_on()) {
      EXPECT_TRUE(ids.contains(dependency))
          << step.id() << " depends on unknown " << dependency;
    }
  }
  // Kahn's algorithm: every step gets scheduled iff there is no cycle.
  std::set<std::string> done;
  bool progressed = true;
  while (progressed) {
    progressed = false;
    for (const auto& step : definition.steps()) {
      if (done.contains(step.id())) continue;
      bool ready = true;
      for (const auto& dependency : step.depends_on()) {
        ready = ready && done.contains(dependency);
      }
      if (ready) {
        done.insert(step.id());
        progressed = true;
      }
    }
  }
  EXPECT_EQ(done, ids);
}

void ExpectParentTypesProducedByADependency(
    const v1::IntegrationDefinition& definition) {
  std::map<std::string, std::string> producer = EntityProducers(definition);
  for (const auto& step : definition.steps()) {
    if (step.parent_type().empty()) continue;
    ASSERT_TRUE(producer.contains(step.parent_type())) << step.id();
    EXPECT_THAT(DependsOn(step),
                ::testing::Contains(producer[step.parent_type()]))
        << step.id();
  }
}

std::map<std::string, std::string> EntityClasses(
    const v1::IntegrationDefinition& definition) {
  std::map<std::string, std::string> classes;
  for (const auto& step : definition.steps()) {
    for (const auto& entity : step.entities()) {
      EXPECT_EQ(entity.classes_size(), 1) << entity.type();
      EXPECT_FALSE(classes.contains(entity.type()))
          << entity.type() << " declared twice";
      if (entity.classes_size() > 0) classes[entity.type()] = entity.classes(0);
    }
  }
  return classes;
}

std::map<std::string, std::string> EntityProducers(
    const v1::IntegrationDefinition& definition) {
  std::map<std::string, std::string> producer;
  for (const auto& step : definition.steps()) {
    for (const auto& entity : step.entities()) {
      producer[entity.type()] = step.id();
    }
  }
  return producer;
}

std::map<std::string, DeclaredRelationship> DeclaredRelationships(
    const v1::IntegrationDefinition& definition) {
  std::map<std::string, DeclaredRelationship> relationships;
  for (const auto& step : definition.steps()) {
    for (const auto& relationship : step.relationships()) {
      EXPECT_FALSE(relationships.contains(relationship.type()))
          << relationship.type() << " declared twice";
      relationships[relationship.type()] = {
          step.id(), relationship.class_name(), relationship.from_type(),
          relationship.to_type()};
      EXPECT_EQ(
          RelationshipType(relationship.from_type(), relationship.class_name(),
                           relationship.to_type()),
          relationship.type());
    }
  }
  return relationships;
}

}  // namespace graphmill::worker::testing
