// The CircleCI step fetch-projects-env-variables, declared with its handler:
// each project's env var names (values never kept), project HAS env var.
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

absl::Status FetchProjectEnvVariables(Step& step) {
  struct Project {
    std::string key;
    std::string id;
    std::string slug;
  };
  std::vector<Project> projects;
  absl::Status status = step.context.ForEachEntity(
      kProjectType, [&](const v1::Entity& entity) -> absl::Status {
        absl::StatusOr<std::string> slug = ProjectSlugOf(entity);
        if (!slug.ok()) return slug.status();
        projects.push_back(
            {entity.key(), StringProperty(entity, "id"), *std::move(slug)});
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return step.FanOut(projects.size(), [&](size_t i) {
    const Project& project = projects[i];
    absl::Status listed = step.client.ListProjectEnvVars(
        project.slug, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> env_var =
              ProjectEnvVarEntity(item, project.id, project.slug);
          if (!env_var.ok()) return env_var.status();
          absl::Status added = step.AddRelationshipOnce(
              HasRelationship(project.key, kProjectType, env_var->key(),
                              kProjectEnvVarType),
              project.key);
          if (!added.ok()) return added;
          return step.AddEntityOnce(*std::move(env_var), project.key);
        });
    return step.WarnIfMissingPermission(
        listed,
        absl::StrCat("environment variables of project '", project.slug, "'"),
        "GET /project/{slug}/envvar", project.key);
  });
}

}  // namespace

const StepSpec& FetchProjectEnvVariablesStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchProjectEnvVariables,
      .name = "Fetch Project Environmnet Variables",  // sic: the reference's
      .depends_on = {kStepFetchProjects},
      .entities = {{kProjectEnvVarType, "Configuration"}},
      .relationships = {{kProjectHasEnvVarType, "HAS", kProjectType,
                         kProjectEnvVarType}},
      .parent_type = kProjectType,
      .run = &FetchProjectEnvVariables,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
