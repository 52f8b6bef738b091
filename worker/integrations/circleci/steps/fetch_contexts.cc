// The CircleCI step fetch-contexts, declared with its handler: each
// organization's contexts; per context its project restrictions and env var
// names; context HAS env var; project USES env var for each restricted project
// that was ingested.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "rapidjson/document.h"
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/circleci/steps/step.h"
#include "worker/integrations/common/entity_builder.h"

namespace graphmill::worker::circleci {
namespace {

absl::Status FetchContexts(Step& step) {
  absl::StatusOr<absl::flat_hash_set<std::string>> project_keys =
      ReadKeys(step.context, kProjectType);
  if (!project_keys.ok()) return project_keys.status();
  absl::StatusOr<std::vector<Organization>> organizations =
      ReadOrganizations(step.context);
  if (!organizations.ok()) return organizations.status();

  struct Context {
    std::string key;
    std::string id;
    std::string name;
  };
  absl::Mutex mutex;
  std::vector<Context> contexts;  // guarded by mutex
  KeySet listed_contexts;

  // Pass 1: list the contexts of every organization.
  absl::Status status = step.FanOut(organizations->size(), [&](size_t i) {
    const Organization& organization = (*organizations)[i];
    absl::Status listed = step.client.ListContexts(
        organization.slug, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> context = ContextEntity(item);
          if (!context.ok()) return context.status();
          if (listed_contexts.Insert(context->key())) {
            absl::MutexLock lock(&mutex);
            contexts.push_back({context->key(), StringProperty(*context, "id"),
                                StringProperty(*context, "name")});
          }
          return step.AddEntityOnce(*std::move(context), organization.key);
        });
    return step.WarnIfMissingPermission(
        listed,
        absl::StrCat("contexts for organization '", organization.slug, "'"),
        "GET /context?owner-slug={slug}", organization.key);
  });
  if (!status.ok()) return status;

  // Pass 2: restrictions, then env vars, per context.
  return step.FanOut(contexts.size(), [&](size_t i) -> absl::Status {
    const Context& context = contexts[i];
    const std::string described =
        absl::StrCat("context '", context.name, "' (", context.id, ")");
    std::vector<std::string> restricted_project_keys;
    absl::Status restrictions = step.client.ListContextRestrictions(
        context.id, [&](const rapidjson::Value& item) {
          // Only project restrictions name a project; expression rules are
          // ignored.
          if (!item.IsObject()) return absl::OkStatus();
          auto type = item.FindMember("restriction_type");
          auto project_id = item.FindMember("project_id");
          if (type == item.MemberEnd() || !type->value.IsString() ||
              absl::string_view(type->value.GetString()) != "project" ||
              project_id == item.MemberEnd() || !project_id->value.IsString()) {
            return absl::OkStatus();
          }
          restricted_project_keys.push_back(
              ProjectKey(project_id->value.GetString()));
          return absl::OkStatus();
        });
    // Without restrictions the env vars are still worth having, minus USES
    // edges: the context's scope is then not listed completely, so the USES
    // edges of the graph are kept.
    absl::Status warned = step.WarnIfMissingPermission(
        restrictions, absl::StrCat("restrictions of ", described),
        "GET /context/{id}/restrictions", context.key);
    if (!warned.ok()) return warned;
    if (!restrictions.ok()) restricted_project_keys.clear();

    absl::Status listed = step.client.ListContextEnvVars(
        context.id, [&](const rapidjson::Value& item) -> absl::Status {
          absl::StatusOr<v1::Entity> env_var =
              ContextEnvVarEntity(item, context.id);
          if (!env_var.ok()) return env_var.status();
          absl::Status added = step.AddRelationshipOnce(
              HasRelationship(context.key, kContextType, env_var->key(),
                              kContextEnvVarType),
              context.key);
          if (!added.ok()) return added;
          for (const std::string& project_key : restricted_project_keys) {
            if (!project_keys->contains(project_key)) continue;
            added = step.AddRelationshipOnce(
                UsesRelationship(project_key, kProjectType, env_var->key(),
                                 kContextEnvVarType),
                context.key);
            if (!added.ok()) return added;
          }
          return step.AddEntityOnce(*std::move(env_var), context.key);
        });
    return step.WarnIfMissingPermission(
        listed, absl::StrCat("environment variables of ", described),
        "GET /context/{id}/environment-variable", context.key);
  });
}

}  // namespace

const StepSpec& FetchContextsStep() {
  static const StepSpec* const spec = new StepSpec{
      .id = kStepFetchContexts,
      .name = "Fetch Contexts",
      .depends_on = {kStepFetchUserGroups, kStepFetchProjects},
      .entities = {{kContextType, "Configuration"},
                   {kContextEnvVarType, "Configuration"}},
      .relationships = {{kProjectUsesContextEnvVarType, "USES", kProjectType,
                         kContextEnvVarType},
                        {kContextHasEnvVarType, "HAS", kContextType,
                         kContextEnvVarType}},
      .parent_type = kUserGroupType,
      .run = &FetchContexts,
  };
  return *spec;
}

}  // namespace graphmill::worker::circleci
