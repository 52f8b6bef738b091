// CircleCI API objects to graphmill entities and relationships.
#include "worker/integrations/circleci/converters.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "common/redact.h"
#include "worker/integrations/circleci/names.h"
#include "worker/integrations/common/entity_builder.h"

namespace graphmill::worker::circleci {
namespace {

// The non-empty string member `field` of `object` (see RequiredStringField).
absl::StatusOr<std::string> RequiredString(const rapidjson::Value& object,
                                           const char* field,
                                           absl::string_view kind) {
  return RequiredStringField(object, field, "CircleCI", kind);
}

// The env var object without its `value`: masked or not, a secret's remains are
// never stored.
std::string JsonWithoutValue(const rapidjson::Value& env_var) {
  rapidjson::Document copy;
  copy.CopyFrom(env_var, copy.GetAllocator());
  copy.RemoveMember("value");
  return ToJson(copy);
}

}  // namespace

std::string AccountKey(absl::string_view user_id) {
  return absl::StrCat(kAccountType, ":", user_id);
}
std::string UserGroupKey(absl::string_view id) {
  return absl::StrCat(kUserGroupType, ":", id);
}
std::string UserKey(absl::string_view id) {
  return absl::StrCat(kUserType, ":", id);
}
std::string PipelineKey(absl::string_view id) {
  return absl::StrCat(kPipelineType, ":", id);
}
std::string WorkflowKey(absl::string_view id) {
  return absl::StrCat(kWorkflowType, ":", id);
}
std::string JobKey(absl::string_view id) {
  return absl::StrCat(kJobType, ":", id);
}
std::string ProjectKey(absl::string_view id) {
  return absl::StrCat(kProjectType, ":", id);
}
std::string ProjectEnvVarKey(absl::string_view project_id,
                             absl::string_view name) {
  return absl::StrCat(kProjectEnvVarType, ":", project_id, ":", name);
}
std::string ContextKey(absl::string_view id) {
  return absl::StrCat(kContextType, ":", id);
}
std::string ContextEnvVarKey(absl::string_view context_id,
                             absl::string_view variable) {
  return absl::StrCat(kContextEnvVarType, ":", context_id, ":", variable);
}

v1::Entity AccountEntity(absl::string_view user_id, absl::string_view login) {
  rapidjson::Document source(rapidjson::kObjectType);
  auto& allocator = source.GetAllocator();
  source.AddMember(
      "login",
      rapidjson::Value(login.data(),
                       static_cast<rapidjson::SizeType>(login.size()),
                       allocator),
      allocator);
  source.AddMember(
      "id",
      rapidjson::Value(user_id.data(),
                       static_cast<rapidjson::SizeType>(user_id.size()),
                       allocator),
      allocator);
  EntityBuilder builder(kAccountType, "Account", AccountKey(user_id), source);
  builder.Name(login);
  builder.Set("id", StringValue(user_id));
  return builder.Build();
}

absl::StatusOr<v1::Entity> UserGroupEntity(
    const rapidjson::Value& collaboration) {
  absl::StatusOr<std::string> id =
      RequiredString(collaboration, "id", "collaboration");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kUserGroupType, "Group", UserGroupKey(*id),
                        collaboration);
  builder.Name(StringField(collaboration, "name").value_or(*id));
  builder.Set("id", StringValue(*id));
  builder.Copy("slug", "slug");
  builder.Copy("vcstype", "vcs_type");
  return builder.Build();
}

absl::StatusOr<v1::Entity> UserEntity(const rapidjson::Value& me) {
  absl::StatusOr<std::string> id = RequiredString(me, "id", "user (/me)");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kUserType, "User", UserKey(*id), me);
  std::optional<std::string> login = StringField(me, "login");
  builder.Name(login.value_or(*id));
  builder.Set("id", StringValue(*id));
  builder.Copy("username", "login");
  builder.Set("active", BoolValue(true));
  return builder.Build();
}

absl::StatusOr<v1::Entity> PipelineEntity(const rapidjson::Value& pipeline) {
  absl::StatusOr<std::string> id = RequiredString(pipeline, "id", "pipeline");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kPipelineType, "Configuration", PipelineKey(*id),
                        pipeline);
  builder.Name(*id);  // pipelines have no name; the reference uses the id
  builder.Set("id", StringValue(*id));
  builder.Copy("slug", "project_slug");
  builder.Copy("state", "state");
  builder.Timestamp("createdOn", "created_at");
  builder.Timestamp("updatedOn", "updated_at");
  return builder.Build();
}

absl::StatusOr<v1::Entity> WorkflowEntity(const rapidjson::Value& workflow) {
  absl::StatusOr<std::string> id = RequiredString(workflow, "id", "workflow");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kWorkflowType, "Configuration", WorkflowKey(*id),
                        workflow);
  builder.Name(StringField(workflow, "name").value_or(*id));
  builder.Set("id", StringValue(*id));
  builder.Copy("pipelineId", "pipeline_id");
  builder.Copy("canceledBy", "canceled_by");
  builder.Copy("projectSlug", "project_slug");
  builder.Copy("erroredBy", "errored_by");
  builder.Copy("tag", "tag");
  builder.Copy("status", "status");
  builder.Copy("startedBy", "started_by");
  builder.Copy("pipelineNumber", "pipeline_number");
  builder.Timestamp("createdOn", "created_at");
  builder.Timestamp("stoppedOn", "stopped_at");
  return builder.Build();
}

absl::StatusOr<v1::Entity> JobEntity(const rapidjson::Value& job) {
  absl::StatusOr<std::string> id = RequiredString(job, "id", "job");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kJobType, "Task", JobKey(*id), job);
  builder.Name(StringField(job, "name").value_or(*id));
  builder.Set("id", StringValue(*id));
  builder.Copy("canceledBy", "canceled_by");
  builder.Copy("jobNumber", "job_number");
  builder.Copy("approvedBy", "approved_by");
  builder.Copy("projectSlug", "project_slug");
  builder.Copy("status", "status");
  builder.Copy("type", "type");
  builder.Copy("approvalRequestId", "approval_request_id");
  builder.Timestamp("startedOn", "started_at");
  builder.Timestamp("stoppedOn", "stopped_at");
  return builder.Build();
}

absl::StatusOr<v1::Entity> ProjectEntity(const rapidjson::Value& project) {
  absl::StatusOr<std::string> id = RequiredString(project, "id", "project");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kProjectType, "Repository", ProjectKey(*id), project);
  builder.Name(StringField(project, "name").value_or(*id));
  builder.Set("id", StringValue(*id));
  builder.Copy("organizationName", "organization_name");
  builder.Copy("organizationId", "organization_id");
  return builder.Build();
}

absl::StatusOr<v1::Entity> ProjectEnvVarEntity(const rapidjson::Value& env_var,
                                               absl::string_view project_id,
                                               absl::string_view project_slug) {
  absl::StatusOr<std::string> name = RequiredString(
      env_var, "name",
      absl::StrCat("environment variable of project ", project_slug));
  if (!name.ok()) return name.status();
  EntityBuilder builder(kProjectEnvVarType, "Configuration",
                        ProjectEnvVarKey(project_id, *name), env_var);
  builder.Name(*name);
  builder.Timestamp("createdOn", "created_at");
  builder.Set("projectId", StringValue(project_id));
  builder.Set("projectSlug", StringValue(project_slug));
  return builder.Build(JsonWithoutValue(env_var));
}

absl::StatusOr<v1::Entity> ContextEntity(const rapidjson::Value& context) {
  absl::StatusOr<std::string> id = RequiredString(context, "id", "context");
  if (!id.ok()) return id.status();
  EntityBuilder builder(kContextType, "Configuration", ContextKey(*id),
                        context);
  builder.Name(StringField(context, "name").value_or(*id));
  builder.Set("id", StringValue(*id));
  builder.Timestamp("createdOn", "created_at");
  return builder.Build();
}

absl::StatusOr<v1::Entity> ContextEnvVarEntity(const rapidjson::Value& env_var,
                                               absl::string_view context_id) {
  absl::StatusOr<std::string> variable = RequiredString(
      env_var, "variable",
      absl::StrCat("environment variable of context ", context_id));
  if (!variable.ok()) return variable.status();
  EntityBuilder builder(kContextEnvVarType, "Configuration",
                        ContextEnvVarKey(context_id, *variable), env_var);
  builder.Name(*variable);
  builder.Set("variable", StringValue(*variable));
  builder.Set("contextId", StringValue(StringField(env_var, "context_id")
                                           .value_or(std::string(context_id))));
  builder.Timestamp("createdOn", "created_at");
  builder.Timestamp("updatedOn", "updated_at");
  return builder.Build(JsonWithoutValue(env_var));
}

v1::Relationship HasRelationship(const v1::Entity& from, const v1::Entity& to) {
  return DirectRelationship(from, "HAS", to);
}

v1::Relationship HasRelationship(absl::string_view from_key,
                                 absl::string_view from_type,
                                 absl::string_view to_key,
                                 absl::string_view to_type) {
  return DirectRelationship(from_key, from_type, "HAS", to_key, to_type);
}

v1::Relationship UsesRelationship(absl::string_view from_key,
                                  absl::string_view from_type,
                                  absl::string_view to_key,
                                  absl::string_view to_type) {
  return DirectRelationship(from_key, from_type, "USES", to_key, to_type);
}

absl::StatusOr<std::string> ProjectSlugOf(const v1::Entity& project) {
  for (const v1::RawData& raw : project.raw_data()) {
    if (raw.name() != "default") continue;
    rapidjson::Document document;
    document.Parse(raw.json().data(), raw.json().size());
    if (document.HasParseError()) break;
    std::optional<std::string> slug = StringField(document, "slug");
    if (slug.has_value() && !slug->empty()) return *slug;
    break;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "project entity '", project.key(), "' has no slug in its raw data"));
}

}  // namespace graphmill::worker::circleci
