#include "coordinator/completeness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace graphmill::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

// pipelines -> workflows (parent pipeline) -> jobs (parent workflow);
// projects (declared partial, parent pipeline) -> env vars (parent project);
// a build step that reads workflows and jobs without a parent type.
v1::IntegrationDefinition Definition() {
  v1::IntegrationDefinition definition;
  auto add = [&](const std::string& id, std::vector<std::string> depends_on,
                 const std::string& type, const std::string& parent,
                 bool partial = false) {
    v1::StepDefinition* step = definition.add_steps();
    step->set_id(id);
    for (const std::string& d : depends_on) step->add_depends_on(d);
    v1::DeclaredEntityType* entity = step->add_entities();
    entity->set_type(type);
    entity->set_partial(partial);
    step->set_parent_type(parent);
  };
  // Listed out of dependency order on purpose.
  add("jobs", {"workflows"}, "t_job", "t_workflow");
  add("pipelines", {}, "t_pipeline", "");
  add("workflows", {"pipelines"}, "t_workflow", "t_pipeline");
  // The workflow step also builds pipeline -> workflow edges.
  v1::DeclaredRelationshipType* edge =
      definition.mutable_steps(2)->add_relationships();
  edge->set_type("t_pipeline_has_workflow");
  add("projects", {"pipelines"}, "t_project", "t_pipeline", true);
  add("env-vars", {"projects"}, "t_env_var", "t_project");
  add("summary", {"workflows", "jobs"}, "t_summary", "");
  return definition;
}

std::vector<StepRecord> AllSucceeded() {
  std::vector<StepRecord> steps;
  const v1::IntegrationDefinition definition = Definition();
  for (const v1::StepDefinition& step : definition.steps()) {
    StepRecord& record = steps.emplace_back();
    record.step_id = step.id();
    record.status = v1::STEP_STATUS_SUCCESS;
  }
  return steps;
}

StepRecord& Step(std::vector<StepRecord>& steps, const std::string& id) {
  for (StepRecord& step : steps) {
    if (step.step_id == id) return step;
  }
  ADD_FAILURE() << "no step " << id;
  return steps.front();
}

TEST(CompletenessTest, ACleanRunIsCompleteButForDeclaredPartialTypes) {
  RunCompleteness verdict = ComputeCompleteness(Definition(), AllSucceeded());
  EXPECT_FALSE(verdict.degraded());
  EXPECT_THAT(verdict.DeletionRules(),
              ElementsAre(Pair("t_project", DeletionRule::kKeepAll)));
  std::vector<v1::IncompleteType> incomplete = verdict.IncompleteTypes();
  ASSERT_EQ(incomplete.size(), 1u);
  EXPECT_EQ(incomplete[0].type(), "t_project");
  EXPECT_FALSE(incomplete[0].error());
  EXPECT_TRUE(incomplete[0].all_kept());
  // A declared-partial parent does not make its children incomplete.
  EXPECT_TRUE(verdict.types.at("t_env_var").complete());
}

TEST(CompletenessTest, AScopeGapCostsScopesDownTheParentChain) {
  std::vector<StepRecord> steps = AllSucceeded();
  Step(steps, "workflows")
      .scope_gaps.push_back(
          {"HTTP 403 on GET /pipeline/{id}/workflow", "t_pipeline", 48});
  RunCompleteness verdict = ComputeCompleteness(Definition(), steps);
  EXPECT_TRUE(verdict.degraded());
  const TypeCompleteness& workflows = verdict.types.at("t_workflow");
  EXPECT_EQ(workflows.rule, DeletionRule::kScopedOnly);
  EXPECT_EQ(workflows.reason,
            "HTTP 403 on GET /pipeline/{id}/workflow for 48 t_pipeline "
            "entities");
  const TypeCompleteness& jobs = verdict.types.at("t_job");
  EXPECT_EQ(jobs.rule, DeletionRule::kScopedOnly);
  EXPECT_TRUE(jobs.error);
  EXPECT_EQ(jobs.reason,
            "parent t_workflow incomplete: HTTP 403 on GET "
            "/pipeline/{id}/workflow for 48 t_pipeline entities");
  // The workflow step's edges share its gap; they are not read by the jobs
  // step (steps read entities), so they do not make jobs kept whole.
  EXPECT_EQ(verdict.types.at("t_pipeline_has_workflow").rule,
            DeletionRule::kScopedOnly);
  // A step that reads them without iterating them keeps everything.
  EXPECT_EQ(verdict.types.at("t_summary").rule, DeletionRule::kKeepAll);
  EXPECT_TRUE(verdict.types.at("t_pipeline").complete());
  EXPECT_EQ(verdict.ErrorTypesList(),
            "t_job, t_pipeline_has_workflow, t_summary, t_workflow");
}

TEST(CompletenessTest, AFailedStepKeepsItsTypesAndItsDependentsTypes) {
  std::vector<StepRecord> steps = AllSucceeded();
  Step(steps, "workflows").status = v1::STEP_STATUS_FAILURE;
  Step(steps, "workflows").error = "HTTP 500 on GET /pipeline/1/workflow";
  Step(steps, "jobs").status = v1::STEP_STATUS_PARTIAL;
  Step(steps, "summary").status = v1::STEP_STATUS_PARTIAL;
  RunCompleteness verdict = ComputeCompleteness(Definition(), steps);
  EXPECT_TRUE(verdict.degraded());
  EXPECT_EQ(verdict.types.at("t_workflow").rule, DeletionRule::kKeepAll);
  EXPECT_EQ(verdict.types.at("t_workflow").reason,
            "step 'workflows' failed: HTTP 500 on GET /pipeline/1/workflow");
  EXPECT_EQ(verdict.types.at("t_job").rule, DeletionRule::kKeepAll);
  EXPECT_THAT(verdict.types.at("t_job").reason,
              ::testing::HasSubstr("parent t_workflow incomplete: step "
                                   "'workflows' failed"));
}

TEST(CompletenessTest, AReportedPartialTypeIsKeptWhole) {
  std::vector<StepRecord> steps = AllSucceeded();
  Step(steps, "pipelines").partial_types["t_pipeline"] =
      "HTTP 404 on GET /pipeline?org-slug={slug}";
  RunCompleteness verdict = ComputeCompleteness(Definition(), steps);
  EXPECT_TRUE(verdict.degraded());
  EXPECT_EQ(verdict.types.at("t_pipeline").rule, DeletionRule::kKeepAll);
  // Children of pipelines only lose the scopes of pipelines not collected.
  EXPECT_EQ(verdict.types.at("t_workflow").rule, DeletionRule::kScopedOnly);
  EXPECT_EQ(verdict.types.at("t_job").rule, DeletionRule::kScopedOnly);
}

TEST(CompletenessTest, ADisabledStepIsKeptWithoutMakingTheRunPartial) {
  std::vector<StepRecord> steps = AllSucceeded();
  Step(steps, "env-vars").status = v1::STEP_STATUS_DISABLED;
  RunCompleteness verdict = ComputeCompleteness(Definition(), steps);
  EXPECT_FALSE(verdict.degraded());
  EXPECT_EQ(verdict.types.at("t_env_var").rule, DeletionRule::kKeepAll);
  EXPECT_EQ(verdict.types.at("t_env_var").reason, "step 'env-vars' disabled");
  EXPECT_THAT(verdict.ErrorTypesList(), IsEmpty());
}

TEST(CompletenessTest, AStepThatDidNotRunKeepsItsTypes) {
  std::vector<StepRecord> steps = AllSucceeded();
  steps.erase(steps.begin());  // "jobs"
  RunCompleteness verdict = ComputeCompleteness(Definition(), steps);
  EXPECT_EQ(verdict.types.at("t_job").rule, DeletionRule::kKeepAll);
  EXPECT_EQ(verdict.types.at("t_job").reason, "step did not run");
}

}  // namespace
}  // namespace graphmill::coordinator
