// The CircleCI step fetch-pipelines, declared with its handler: every
// organization's pipeline feed, deduplicated by key.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"

namespace graphmill::worker::circleci {
namespace {

absl::Status FetchPipelines(Step& step) {
  absl::StatusOr<std::vector<Organization>> organizations =
      ReadOrganizations(step.context);
  if (!organizations.ok()) return organizations.status();
  return step.FanOut(organizations->size(), [&](size_t i) {
    const Organization& organization = (*organizations)[i];
    absl::Status status = step.client.ListPipelines(
        organization.slug, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> pipeline = PipelineEntity(item);
          if (!pipeline.ok()) return pipeline.status();
          return step.AddEntityOnce(*std::move(pipeline), organization.key);
        });
    return step.WarnIfMissingPermission(
        status,
        absl::StrCat("pipelines for organization '", organization.slug, "'"),
        "GET /pipeline?org-slug={slug}", organization.key);
  });
}

}  // namespace

const StepSpec& FetchPipelinesStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchPipelines,
      .name = "Fetch Pipelines",
      .depends_on = {kStepFetchUserGroups},
      .entities = {{kPipelineType, "Configuration"}},
      .run = &FetchPipelines,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
