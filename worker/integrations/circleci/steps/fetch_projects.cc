// The CircleCI step fetch-projects, declared with its handler: one GET per
// distinct project slug of this task's pipelines (plus the configured extra
// slugs), the project entity and project HAS pipeline.
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

absl::Status FetchProjects(Step& step) {
  // slug -> keys of the pipelines built from it; ordered so requests are
  // deterministic.
  std::map<std::string, std::vector<std::string>> pipelines_by_slug;
  absl::Status status = step.context.ForEachEntity(
      kPipelineType, [&](const v1::Entity& pipeline) {
        std::string slug = StringProperty(pipeline, "slug");
        if (!slug.empty()) pipelines_by_slug[slug].push_back(pipeline.key());
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  // Every shard fetches the extra slugs: the step has no notion of a "first"
  // shard, and the coordinator merges the identical project objects.
  for (const std::string& slug : step.config.extra_project_slugs) {
    pipelines_by_slug.try_emplace(slug);
  }
  std::vector<const std::pair<const std::string, std::vector<std::string>>*>
      slugs;
  for (const auto& entry : pipelines_by_slug) slugs.push_back(&entry);

  return step.FanOut(slugs.size(), [&](size_t i) -> absl::Status {
    const std::string& slug = slugs[i]->first;
    absl::StatusOr<rapidjson::Document> project_json =
        step.client.GetProject(slug);
    if (!project_json.ok()) {
      // The project is not looked at, nor are its edges: both types partial.
      return step.WarnIfMissingPermission(project_json.status(),
                                          absl::StrCat("project '", slug, "'"),
                                          "GET /project/{slug}");
    }
    absl::StatusOr<v1::Entity> project = ProjectEntity(*project_json);
    if (!project.ok()) return project.status();
    // An edge belongs to the pipeline it was built for: the parent listed.
    for (const std::string& pipeline_key : slugs[i]->second) {
      absl::Status added =
          step.AddRelationshipOnce(HasRelationship(project->key(), kProjectType,
                                                   pipeline_key, kPipelineType),
                                   pipeline_key);
      if (!added.ok()) return added;
    }
    return step.AddEntityOnce(*std::move(project));
  });
}

}  // namespace

const StepSpec& FetchProjectsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchProjects,
      .name = "Fetch Projects",
      .depends_on = {kStepFetchPipelines},
      // Projects are discovered through the pipeline feed, which lists only
      // recently built projects: a project missing from one run's feed still
      // exists, so the type (and the group->project edges built from it) is
      // partial and never deleted at finalize.
      .entities = {{kProjectType, "Repository", /*partial=*/true}},
      .relationships = {{kProjectHasPipelineType, "HAS", kProjectType,
                         kPipelineType}},
      .parent_type = kPipelineType,
      .run = &FetchProjects,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
