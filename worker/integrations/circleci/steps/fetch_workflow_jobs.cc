// The CircleCI step fetch-workflow-jobs, declared with its handler: each
// workflow's jobs, workflow HAS job; in an incremental run, the jobs of
// finished workflows carried forward from the graph.
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

// An incremental run carries forward the jobs of each workflow that had
// finished when the graph's last run listed them and has the same status now:
// they will not change.
absl::StatusOr<std::map<std::string, std::vector<v1::Entity>>> CarriedJobs(
    Step& step, const std::vector<v1::Entity>& current) {
  std::map<std::string, std::vector<v1::Entity>> carried;
  if (!step.CanCarry()) return carried;
  absl::StatusOr<std::map<std::string, v1::Entity>> known =
      KnownByKey(step.context, kWorkflowType);
  if (!known.ok()) return known.status();
  absl::StatusOr<std::map<std::string, std::vector<v1::Entity>>> known_jobs =
      KnownByScope(step.context, kJobType);
  if (!known_jobs.ok()) return known_jobs.status();
  for (const v1::Entity& workflow : current) {
    const auto was = known->find(workflow.key());
    if (was == known->end()) continue;
    const std::string status = StringProperty(was->second, "status");
    if (!IsFinishedWorkflowStatus(status) ||
        StringProperty(workflow, "status") != status) {
      continue;
    }
    auto jobs = known_jobs->find(workflow.key());
    carried[workflow.key()] = jobs == known_jobs->end()
                                  ? std::vector<v1::Entity>()
                                  : std::move(jobs->second);
  }
  return carried;
}

absl::Status AddJob(Step& step, const std::string& workflow_key,
                    v1::Entity job) {
  absl::Status added = step.AddRelationshipOnce(
      HasRelationship(workflow_key, kWorkflowType, job.key(), kJobType),
      workflow_key);
  if (!added.ok()) return added;
  return step.AddEntityOnce(std::move(job), workflow_key);
}

absl::Status FetchWorkflowJobs(Step& step) {
  // Read once: the parents, and in an incremental run their statuses.
  absl::StatusOr<std::vector<v1::Entity>> entities =
      ReadEntities(step.context, kWorkflowType);
  if (!entities.ok()) return entities.status();
  std::vector<Parent> workflows;
  for (const v1::Entity& entity : *entities) {
    absl::StatusOr<Parent> parent = ParentOf(entity);
    if (!parent.ok()) return parent.status();
    workflows.push_back(*std::move(parent));
  }
  absl::StatusOr<std::map<std::string, std::vector<v1::Entity>>> carried =
      CarriedJobs(step, *entities);
  if (!carried.ok()) return carried.status();
  if (step.CanCarry()) {
    ReportCarried(step, carried->size(), workflows.size(), "workflows' jobs");
  }
  return step.FanOut(workflows.size(), [&](size_t i) {
    const Parent& workflow = workflows[i];
    if (auto jobs = carried->find(workflow.key); jobs != carried->end()) {
      for (const v1::Entity& job : jobs->second) {
        absl::Status added = AddJob(step, workflow.key, job);
        if (!added.ok()) return added;
      }
      return absl::OkStatus();
    }
    absl::Status status = step.client.ListWorkflowJobs(
        workflow.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> job = JobEntity(item);
          if (!job.ok()) return job.status();
          return AddJob(step, workflow.key, *std::move(job));
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
