// The handlers of the CircleCI integration's steps, one function per step id.
// Each reads its parents through StepContext::ForEachEntity, calls the API
// through CircleCiClient and adds what the converters build.
#include "worker/integrations/circleci/steps.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/graph_objects.h"
#include "common/log.h"
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/definition.h"
#include "worker/integrations/common/task_step.h"

namespace graphmill::worker::circleci {
namespace {

// "Could not fetch <resource> (HTTP 403): ...".
std::string DescribeMissingPermission(absl::string_view resource,
                                      const absl::Status& error) {
  return absl::StrCat(
      "Could not fetch ", resource, " (HTTP ", http::HttpStatusOf(error),
      "): make sure the API token belongs to a user with access to it.");
}

constexpr TaskStepOptions kTaskStepOptions = {"circleci", kMaxInFlightRequests,
                                              &DescribeMissingPermission};

// Everything a handler needs. Keys are added once per task: the pipeline feed
// repeats items (INT-8238), and the same workflow, project or env var can be
// reached twice.
struct Step : TaskStep {
  Step(absl::string_view id, const CircleCiConfig& config,
       CircleCiClient& client, StepContext& context)
      : TaskStep(kTaskStepOptions, id, DeclaredTypes(id), context),
        config(config),
        client(client) {}

  const CircleCiConfig& config;
  CircleCiClient& client;
};

// Reads every entity of `type` visible to this task.
absl::StatusOr<std::vector<v1::Entity>> ReadEntities(StepContext& context,
                                                     absl::string_view type) {
  std::vector<v1::Entity> entities;
  absl::Status status =
      context.ForEachEntity(type, [&](const v1::Entity& entity) {
        entities.push_back(entity);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return entities;
}

// Reads the keys of every entity of `type` visible to this task.
absl::StatusOr<absl::flat_hash_set<std::string>> ReadKeys(
    StepContext& context, absl::string_view type) {
  absl::flat_hash_set<std::string> keys;
  absl::Status status =
      context.ForEachEntity(type, [&](const v1::Entity& entity) {
        keys.insert(entity.key());
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return keys;
}

// An organization (user group) the API can be asked about.
struct Organization {
  std::string key;
  std::string slug;
};

// This task's user groups that have a slug (the reference skips the others).
absl::StatusOr<std::vector<Organization>> ReadOrganizations(
    StepContext& context) {
  std::vector<Organization> organizations;
  absl::Status status =
      context.ForEachEntity(kUserGroupType, [&](const v1::Entity& group) {
        std::string slug = StringProperty(group, "slug");
        if (!slug.empty()) organizations.push_back({group.key(), slug});
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return organizations;
}

// fetch-account: the account entity, from config only.
absl::Status FetchAccount(Step& step) {
  return step.AddEntityOnce(
      AccountEntity(step.config.user_id, step.config.login));
}

// fetch-user-groups: one group per organization the token's user collaborates
// with.
absl::Status FetchUserGroups(Step& step) {
  return step.client.ListCollaborations(
      [&](const rapidjson::Value& collaboration) -> absl::Status {
        absl::StatusOr<v1::Entity> group = UserGroupEntity(collaboration);
        if (!group.ok()) return group.status();
        return step.AddEntityOnce(*std::move(group));
      });
}

// build-account-and-user-group-relationships: account HAS the group named like
// the login.
absl::Status BuildAccountUserGroups(Step& step) {
  absl::StatusOr<std::vector<v1::Entity>> accounts =
      ReadEntities(step.context, kAccountType);
  if (!accounts.ok()) return accounts.status();
  return step.context.ForEachEntity(
      kUserGroupType, [&](const v1::Entity& group) -> absl::Status {
        if (StringProperty(group, "name") != step.config.login) {
          return absl::OkStatus();
        }
        for (const v1::Entity& account : *accounts) {
          absl::Status status =
              step.AddRelationshipOnce(HasRelationship(account, group));
          if (!status.ok()) return status;
        }
        return absl::OkStatus();
      });
}

// fetch-pipelines: every organization's pipeline feed, deduplicated by key.
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

using Parent = ParentEntity;

// fetch-pipeline-workflows: each pipeline's workflows, pipeline HAS workflow.
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

// fetch-workflow-jobs: each workflow's jobs, workflow HAS job.
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

// fetch-projects: one GET per distinct project slug of this task's pipelines
// (plus the configured extra slugs), the project entity and project HAS
// pipeline.
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

// fetch-projects-env-variables: each project's env var names (values never
// kept), project HAS env var.
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

// build-project-and-pipelines-relationships (misnamed in the reference): user
// group HAS project, for projects whose organization is one of the user's
// groups.
absl::Status BuildUserGroupProjects(Step& step) {
  absl::StatusOr<absl::flat_hash_set<std::string>> groups =
      ReadKeys(step.context, kUserGroupType);
  if (!groups.ok()) return groups.status();
  return step.context.ForEachEntity(
      kProjectType, [&](const v1::Entity& project) -> absl::Status {
        const std::string organization_id =
            StringProperty(project, "organizationId");
        if (organization_id.empty()) return absl::OkStatus();
        const std::string group_key = UserGroupKey(organization_id);
        if (!groups->contains(group_key)) return absl::OkStatus();
        return step.AddRelationshipOnce(HasRelationship(
            group_key, kUserGroupType, project.key(), kProjectType));
      });
}

// fetch-contexts: each organization's contexts; per context its project
// restrictions and env var names; context HAS env var; project USES env var for
// each restricted project that was ingested.
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

// fetch-users: the token's user; every user group HAS that user.
absl::Status FetchUsers(Step& step) {
  absl::StatusOr<rapidjson::Document> me = step.client.GetMe();
  if (!me.ok()) return me.status();
  absl::StatusOr<v1::Entity> user = UserEntity(*me);
  if (!user.ok()) return user.status();
  absl::Status status =
      step.context.ForEachEntity(kUserGroupType, [&](const v1::Entity& group) {
        return step.AddRelationshipOnce(HasRelationship(group, *user));
      });
  if (!status.ok()) return status;
  return step.AddEntityOnce(*std::move(user));
}

// build-account-and-user-relationships: account HAS each user.
absl::Status BuildAccountUsers(Step& step) {
  absl::StatusOr<std::vector<v1::Entity>> accounts =
      ReadEntities(step.context, kAccountType);
  if (!accounts.ok()) return accounts.status();
  return step.context.ForEachEntity(
      kUserType, [&](const v1::Entity& user) -> absl::Status {
        for (const v1::Entity& account : *accounts) {
          absl::Status status =
              step.AddRelationshipOnce(HasRelationship(account, user));
          if (!status.ok()) return status;
        }
        return absl::OkStatus();
      });
}

using Handler = absl::Status (*)(Step&);

Handler FindHandler(absl::string_view step_id) {
  static const auto* const handlers =
      new std::map<std::string, Handler, std::less<>>{
          {kStepFetchAccount, &FetchAccount},
          {kStepFetchUserGroups, &FetchUserGroups},
          {kStepBuildAccountUserGroups, &BuildAccountUserGroups},
          {kStepFetchPipelines, &FetchPipelines},
          {kStepFetchPipelineWorkflows, &FetchPipelineWorkflows},
          {kStepFetchWorkflowJobs, &FetchWorkflowJobs},
          {kStepFetchProjects, &FetchProjects},
          {kStepFetchProjectEnvVariables, &FetchProjectEnvVariables},
          {kStepBuildUserGroupProjects, &BuildUserGroupProjects},
          {kStepFetchContexts, &FetchContexts},
          {kStepFetchUsers, &FetchUsers},
          {kStepBuildAccountUsers, &BuildAccountUsers},
      };
  auto it = handlers->find(step_id);
  return it == handlers->end() ? nullptr : it->second;
}

}  // namespace

absl::Status RunStep(absl::string_view step_id, const CircleCiConfig& config,
                     CircleCiClient& client, StepContext& context) {
  Handler handler = FindHandler(step_id);
  if (handler == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("integration 'circleci' has no step '", step_id, "'"));
  }
  Step step(step_id, config, client, context);
  return handler(step);
}

}  // namespace graphmill::worker::circleci
