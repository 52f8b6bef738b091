// The CircleCI step fetch-pipeline-workflows, declared with its handler: each
// pipeline's workflows, pipeline HAS workflow.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"

namespace graphmill::worker::circleci {
namespace {

absl::Status FetchPipelineWorkflows(Step& step) {
  absl::StatusOr<std::vector<Parent>> pipelines =
      ReadParents(step.context, kPipelineType);
  if (!pipelines.ok()) return pipelines.status();
  return step.FanOut(pipelines->size(), [&](size_t i) {
    const Parent& pipeline = (*pipelines)[i];
    absl::Status status = step.client.ListPipelineWorkflows(
        pipeline.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> workflow = WorkflowEntity(item);
          if (!workflow.ok()) return workflow.status();
          absl::Status added = step.AddRelationshipOnce(
              HasRelationship(pipeline.key, kPipelineType, workflow->key(),
                              kWorkflowType),
              pipeline.key);
          if (!added.ok()) return added;
          return step.AddEntityOnce(*std::move(workflow), pipeline.key);
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
