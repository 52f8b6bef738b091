// The CircleCI step fetch-workflow-jobs, declared with its handler: each
// workflow's jobs, workflow HAS job.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"

namespace graphmill::worker::circleci {
namespace {

absl::Status FetchWorkflowJobs(Step& step) {
  absl::StatusOr<std::vector<Parent>> workflows =
      ReadParents(step.context, kWorkflowType);
  if (!workflows.ok()) return workflows.status();
  return step.FanOut(workflows->size(), [&](size_t i) {
    const Parent& workflow = (*workflows)[i];
    absl::Status status = step.client.ListWorkflowJobs(
        workflow.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> job = JobEntity(item);
          if (!job.ok()) return job.status();
          absl::Status added = step.AddRelationshipOnce(
              HasRelationship(workflow.key, kWorkflowType, job->key(),
                              kJobType),
              workflow.key);
          if (!added.ok()) return added;
          return step.AddEntityOnce(*std::move(job), workflow.key);
        });
    return step.WarnIfMissingPermission(
        status, absl::StrCat("jobs of workflow '", workflow.id, "'"),
        "GET /workflow/{id}/job", workflow.key);
  });
}

}  // namespace

const StepSpec& FetchWorkflowJobsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchWorkflowJobs,
      .name = "Fetch Workflow Jobs",
      .depends_on = {kStepFetchPipelineWorkflows},
      .entities = {{kJobType, "Task"}},
      .relationships = {{kWorkflowHasJobType, "HAS", kWorkflowType, kJobType}},
      .parent_type = kWorkflowType,
      .run = &FetchWorkflowJobs,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
