// The CircleCI step fetch-pipeline-workflows, declared with its handler: each
// pipeline's workflows, pipeline HAS workflow; in an incremental run, the
// workflows of pipelines whose workflows all finished carried forward from the
// graph.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"
#include "worker/integrations/common/entity_builder.h"

namespace graphmill::worker::circleci {
namespace {

absl::Status AddWorkflow(Step& step, const std::string& pipeline_key,
                         v1::Entity workflow) {
  absl::Status added =
      step.AddRelationshipOnce(HasRelationship(pipeline_key, kPipelineType,
                                               workflow.key(), kWorkflowType),
                               pipeline_key);
  if (!added.ok()) return added;
  return step.AddEntityOnce(std::move(workflow), pipeline_key);
}

// An incremental run carries forward the workflows of each pipeline whose
// workflows (one or more) had all finished when the graph's last run listed
// them. (A re-run adds a workflow to an old pipeline: periodic full runs, and
// webhooks, catch those.)
absl::StatusOr<std::map<std::string, std::vector<v1::Entity>>> CarriedWorkflows(
    Step& step) {
  std::map<std::string, std::vector<v1::Entity>> carried;
  if (!step.CanCarry()) return carried;
  absl::StatusOr<std::map<std::string, std::vector<v1::Entity>>> known =
      KnownByScope(step.context, kWorkflowType);
  if (!known.ok()) return known.status();
  for (auto& [pipeline_key, workflows] : *known) {
    const bool finished = std::all_of(
        workflows.begin(), workflows.end(), [](const v1::Entity& workflow) {
          return IsFinishedWorkflowStatus(StringProperty(workflow, "status"));
        });
    if (finished && !workflows.empty()) {
      carried[pipeline_key] = std::move(workflows);
    }
  }
  return carried;
}

absl::Status FetchPipelineWorkflows(Step& step) {
  absl::StatusOr<std::vector<Parent>> pipelines =
      ReadParents(step.context, kPipelineType);
  if (!pipelines.ok()) return pipelines.status();
  absl::StatusOr<std::map<std::string, std::vector<v1::Entity>>> carried =
      CarriedWorkflows(step);
  if (!carried.ok()) return carried.status();
  if (step.CanCarry()) {
    size_t carried_here = 0;
    for (const Parent& pipeline : *pipelines)
      carried_here += carried->contains(pipeline.key);
    ReportCarried(step, carried_here, pipelines->size(),
                  "pipelines' workflows");
  }
  return step.FanOut(pipelines->size(), [&](size_t i) {
    const Parent& pipeline = (*pipelines)[i];
    if (auto workflows = carried->find(pipeline.key);
        workflows != carried->end()) {
      for (const v1::Entity& workflow : workflows->second) {
        absl::Status added = AddWorkflow(step, pipeline.key, workflow);
        if (!added.ok()) return added;
      }
      return absl::OkStatus();
    }
    absl::Status status = step.client.ListPipelineWorkflows(
        pipeline.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> workflow = WorkflowEntity(item);
          if (!workflow.ok()) return workflow.status();
          return AddWorkflow(step, pipeline.key, *std::move(workflow));
        });
    return step.WarnIfMissingPermission(
        status, absl::StrCat("workflows of pipeline '", pipeline.id, "'"),
        "GET /pipeline/{id}/workflow", pipeline.key);
  });
}

}  // namespace

const StepSpec& FetchPipelineWorkflowsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchPipelineWorkflows,
      .name = "Fetch Pipeline Workflows",
      .depends_on = {kStepFetchPipelines},
      .entities = {{kWorkflowType, "Configuration"}},
      .relationships = {{kPipelineHasWorkflowType, "HAS", kPipelineType,
                         kWorkflowType}},
      .parent_type = kPipelineType,
      .run = &FetchPipelineWorkflows,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
