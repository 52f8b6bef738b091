// Tests of the converters on API objects copied from the reference's recordings
// (testdata/).
#include "worker/integrations/circleci/converters.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace graphmill::worker::circleci {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

rapidjson::Document Load(const std::string& name) {
  const std::string path = "worker/integrations/circleci/testdata/" + name;
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << path;
  std::stringstream text;
  text << file.rdbuf();
  rapidjson::Document document;
  document.Parse(text.str().c_str());
  EXPECT_FALSE(document.HasParseError()) << path;
  return document;
}

// The first item of a paginated response.
const rapidjson::Value& FirstItem(const rapidjson::Document& page) {
  return page["items"][0];
}

std::string Str(const v1::Entity& entity, const std::string& name) {
  auto it = entity.properties().find(name);
  if (it == entity.properties().end()) return "<absent>";
  return it->second.string_value();
}

int64_t Int(const v1::Entity& entity, const std::string& name) {
  auto it = entity.properties().find(name);
  if (it == entity.properties().end()) return -1;
  return it->second.int_value();
}

bool Has(const v1::Entity& entity, const std::string& name) {
  return entity.properties().contains(name);
}

// The "default" raw data, parsed.
rapidjson::Document Raw(const v1::Entity& entity) {
  rapidjson::Document document;
  EXPECT_EQ(entity.raw_data_size(), 1);
  if (entity.raw_data_size() == 0) return document;
  EXPECT_EQ(entity.raw_data(0).name(), "default");
  document.Parse(entity.raw_data(0).json().c_str());
  EXPECT_FALSE(document.HasParseError());
  return document;
}

void ExpectValidWithDisplayName(const v1::Entity& entity) {
  EXPECT_TRUE(ValidateEntity(entity).ok()) << ValidateEntity(entity);
  EXPECT_EQ(Str(entity, "displayName"), Str(entity, "name"));
}

TEST(ConvertersTest, Account) {
  v1::Entity account = AccountEntity("DUMMY_ID", "kjb-test");
  EXPECT_EQ(account.key(), "circleci_account:DUMMY_ID");
  EXPECT_EQ(account.type(), "circleci_account");
  EXPECT_THAT(account.classes(), testing::ElementsAre("Account"));
  EXPECT_EQ(Str(account, "name"), "kjb-test");
  EXPECT_EQ(Str(account, "id"), "DUMMY_ID");
  ExpectValidWithDisplayName(account);
  EXPECT_EQ(account.raw_data(0).json(),
            R"({"login":"kjb-test","id":"DUMMY_ID"})");
}

TEST(ConvertersTest, UserGroupFrom2022Collaborations) {
  rapidjson::Document collaborations = Load("collaborations_2022.json");
  absl::StatusOr<v1::Entity> group = UserGroupEntity(collaborations[0]);
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_EQ(group->key(),
            "circleci_user_group:89b36fdd-6c18-4e17-8db2-cc34834a9eeb");
  EXPECT_EQ(group->type(), "circleci_user_group");
  EXPECT_THAT(group->classes(), testing::ElementsAre("Group"));
  EXPECT_EQ(Str(*group, "id"), "89b36fdd-6c18-4e17-8db2-cc34834a9eeb");
  EXPECT_EQ(Str(*group, "name"), "kjb-test");
  EXPECT_EQ(Str(*group, "slug"), "gh/kjb-test");
  EXPECT_EQ(Str(*group, "vcstype"), "github");
  EXPECT_FALSE(Has(*group, "avatar_url"));
  ExpectValidWithDisplayName(*group);
  EXPECT_TRUE(Raw(*group) == collaborations[0]);
}

TEST(ConvertersTest, UserFromMe) {
  rapidjson::Document me = Load("me_2022.json");
  absl::StatusOr<v1::Entity> user = UserEntity(me);
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(user->key(), "circleci_user:476cc487-c78f-4f44-84fc-7b375936a2f8");
  EXPECT_THAT(user->classes(), testing::ElementsAre("User"));
  EXPECT_EQ(Str(*user, "name"), "kjb-test");  // the API's name is null
  EXPECT_EQ(Str(*user, "username"), "kjb-test");
  EXPECT_EQ(Str(*user, "id"), "476cc487-c78f-4f44-84fc-7b375936a2f8");
  EXPECT_TRUE(user->properties().at("active").bool_value());
  ExpectValidWithDisplayName(*user);
  EXPECT_TRUE(Raw(*user) == me);
}

TEST(ConvertersTest, Pipeline) {
  rapidjson::Document page = Load("pipeline_page2.json");
  absl::StatusOr<v1::Entity> pipeline = PipelineEntity(FirstItem(page));
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  EXPECT_EQ(pipeline->key(),
            "circleci_pipeline:796c0fbe-03ce-41d4-9113-5b1fe91ea56d");
  EXPECT_THAT(pipeline->classes(), testing::ElementsAre("Configuration"));
  EXPECT_EQ(Str(*pipeline, "id"), "796c0fbe-03ce-41d4-9113-5b1fe91ea56d");
  EXPECT_EQ(Str(*pipeline, "name"), "796c0fbe-03ce-41d4-9113-5b1fe91ea56d");
  EXPECT_EQ(Str(*pipeline, "slug"),
            "circleci/P41trZB78zFveRJerr7hfw/6Yf1k6pFR582z11FJ5C578");
  EXPECT_EQ(Str(*pipeline, "state"), "created");
  EXPECT_EQ(Int(*pipeline, "createdOn"),
            1706534281186);  // 2024-01-29T13:18:01.186Z
  EXPECT_EQ(Int(*pipeline, "updatedOn"), 1706534281186);
  EXPECT_FALSE(Has(*pipeline, "number"));  // only in raw data
  ExpectValidWithDisplayName(*pipeline);
  EXPECT_TRUE(Raw(*pipeline) ==
              FirstItem(page));  // trigger, errors, vcs... kept
}

TEST(ConvertersTest, Workflow) {
  rapidjson::Document page = Load("workflows.json");
  absl::StatusOr<v1::Entity> workflow = WorkflowEntity(FirstItem(page));
  ASSERT_TRUE(workflow.ok()) << workflow.status();
  EXPECT_EQ(workflow->key(),
            "circleci_workflow:91871fdb-43d3-41e6-92c5-bf24312db630");
  EXPECT_THAT(workflow->classes(), testing::ElementsAre("Configuration"));
  EXPECT_EQ(Str(*workflow, "name"), "generate-config");
  EXPECT_EQ(Str(*workflow, "pipelineId"),
            "796c0fbe-03ce-41d4-9113-5b1fe91ea56d");
  EXPECT_EQ(Str(*workflow, "projectSlug"),
            "circleci/P41trZB78zFveRJerr7hfw/6Yf1k6pFR582z11FJ5C578");
  EXPECT_EQ(Str(*workflow, "status"), "failed");
  EXPECT_EQ(Str(*workflow, "startedBy"),
            "d280c914-6160-4579-8b6b-45990c908356");
  EXPECT_EQ(Int(*workflow, "pipelineNumber"), 1);
  EXPECT_EQ(Int(*workflow, "createdOn"),
            1711026148000);  // 2024-03-21T13:02:28Z
  EXPECT_EQ(Int(*workflow, "stoppedOn"), 1711026154000);
  // Absent in the API object, so absent here (JS undefined), not null.
  for (const char* absent : {"canceledBy", "erroredBy", "tag", "active"}) {
    EXPECT_FALSE(Has(*workflow, absent)) << absent;
  }
  ExpectValidWithDisplayName(*workflow);
  EXPECT_TRUE(Raw(*workflow) == FirstItem(page));
}

TEST(ConvertersTest, Job) {
  rapidjson::Document page = Load("jobs.json");
  absl::StatusOr<v1::Entity> job = JobEntity(FirstItem(page));
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->key(), "circleci_job:61c9f54e-aa39-4d7c-94db-782657734031");
  EXPECT_THAT(job->classes(), testing::ElementsAre("Task"));
  EXPECT_EQ(Str(*job, "name"), "auto-create-config");
  EXPECT_EQ(Int(*job, "jobNumber"), 1);
  EXPECT_EQ(Str(*job, "status"), "success");
  EXPECT_EQ(Str(*job, "type"), "build");
  EXPECT_EQ(Str(*job, "projectSlug"),
            "circleci/P41trZB78zFveRJerr7hfw/UTwTQ7dTKAXHkg6XtrBJHm");
  EXPECT_EQ(Int(*job, "startedOn"), 1707400332000);  // 2024-02-08T13:52:12Z
  EXPECT_EQ(Int(*job, "stoppedOn"), 1707400337000);
  for (const char* absent :
       {"canceledBy", "approvedBy", "approvalRequestId", "dependencies"}) {
    EXPECT_FALSE(Has(*job, absent)) << absent;
  }
  ExpectValidWithDisplayName(*job);
  EXPECT_TRUE(Raw(*job) == FirstItem(page));  // dependencies kept there
}

TEST(ConvertersTest, ProjectHasNoSlugPropertyButRawDataKeepsIt) {
  rapidjson::Document project_json = Load("project.json");
  absl::StatusOr<v1::Entity> project = ProjectEntity(project_json);
  ASSERT_TRUE(project.ok()) << project.status();
  EXPECT_EQ(project->key(),
            "circleci_project:2ce92d28-6829-4241-a438-510c908c770b");
  EXPECT_THAT(project->classes(), testing::ElementsAre("Repository"));
  EXPECT_EQ(Str(*project, "name"), "Test");
  EXPECT_EQ(Str(*project, "organizationName"), "cci-h6wmx");
  EXPECT_EQ(Str(*project, "organizationId"),
            "b294d532-8745-40f9-b93a-9b2e0cd17ed2");
  EXPECT_FALSE(Has(*project, "slug"));
  ExpectValidWithDisplayName(*project);
  EXPECT_TRUE(Raw(*project) == project_json);
  absl::StatusOr<std::string> slug = ProjectSlugOf(*project);
  ASSERT_TRUE(slug.ok()) << slug.status();
  EXPECT_EQ(*slug, "circleci/P41trZB78zFveRJerr7hfw/6Yf1k6pFR582z11FJ5C578");

  v1::Entity without_raw = *project;
  without_raw.clear_raw_data();
  EXPECT_EQ(ProjectSlugOf(without_raw).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ConvertersTest, ProjectEnvVarIsScopedAndNeverHoldsTheValue) {
  rapidjson::Document page = Load("project_envvars.json");
  ASSERT_STREQ(FirstItem(page)["value"].GetString(), "xxxxeat");  // masked
  absl::StatusOr<v1::Entity> env_var = ProjectEnvVarEntity(
      FirstItem(page), "2ce92d28-6829-4241-a438-510c908c770b",
      "circleci/P41trZB78zFveRJerr7hfw/6Yf1k6pFR582z11FJ5C578");
  ASSERT_TRUE(env_var.ok()) << env_var.status();
  EXPECT_EQ(env_var->key(),
            "circleci_project_environment_variable:"
            "2ce92d28-6829-4241-a438-510c908c770b:TEST");
  EXPECT_EQ(env_var->type(), "circleci_project_environment_variable");
  EXPECT_THAT(env_var->classes(), testing::ElementsAre("Configuration"));
  EXPECT_EQ(Str(*env_var, "name"), "TEST");
  EXPECT_EQ(Int(*env_var, "createdOn"),
            1710863054034);  // 2024-03-19T15:44:14.034Z
  EXPECT_EQ(Str(*env_var, "projectId"), "2ce92d28-6829-4241-a438-510c908c770b");
  EXPECT_EQ(Str(*env_var, "projectSlug"),
            "circleci/P41trZB78zFveRJerr7hfw/6Yf1k6pFR582z11FJ5C578");
  EXPECT_FALSE(Has(*env_var, "value"));
  ExpectValidWithDisplayName(*env_var);
  rapidjson::Document raw = Raw(*env_var);
  EXPECT_FALSE(raw.HasMember("value"));
  EXPECT_STREQ(raw["name"].GetString(), "TEST");
  EXPECT_STREQ(raw["created_at"].GetString(), "2024-03-19T15:44:14.034Z");
  for (const v1::RawData& data : env_var->raw_data()) {
    EXPECT_THAT(data.json(), Not(HasSubstr("xxxx")));
    EXPECT_THAT(data.json(), Not(HasSubstr("REDACTED")));
  }
}

TEST(ConvertersTest, SameEnvVarNameInTwoProjectsGivesTwoKeys) {
  rapidjson::Document page = Load("project_envvars.json");
  absl::StatusOr<v1::Entity> a =
      ProjectEnvVarEntity(FirstItem(page), "project-a", "gh/acme/a");
  absl::StatusOr<v1::Entity> b =
      ProjectEnvVarEntity(FirstItem(page), "project-b", "gh/acme/b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->key(), b->key());
}

TEST(ConvertersTest, Context) {
  rapidjson::Document page = Load("contexts.json");
  absl::StatusOr<v1::Entity> context = ContextEntity(FirstItem(page));
  ASSERT_TRUE(context.ok()) << context.status();
  EXPECT_EQ(context->key(),
            "circleci_context:09f7476e-43f5-4096-8df6-393ec474da7c");
  EXPECT_THAT(context->classes(), testing::ElementsAre("Configuration"));
  EXPECT_EQ(Str(*context, "name"), "Test Context");
  EXPECT_EQ(Str(*context, "id"), "09f7476e-43f5-4096-8df6-393ec474da7c");
  EXPECT_EQ(Int(*context, "createdOn"),
            1710962627711);  // 2024-03-20T19:23:47.711Z
  ExpectValidWithDisplayName(*context);
  EXPECT_TRUE(Raw(*context) == FirstItem(page));
}

TEST(ConvertersTest, ContextEnvVar) {
  rapidjson::Document page = Load("context_envvars.json");
  absl::StatusOr<v1::Entity> env_var = ContextEnvVarEntity(
      FirstItem(page), "09f7476e-43f5-4096-8df6-393ec474da7c");
  ASSERT_TRUE(env_var.ok()) << env_var.status();
  EXPECT_EQ(env_var->key(),
            "circleci_context_environment_variable:"
            "09f7476e-43f5-4096-8df6-393ec474da7c:ENV_VARIABLE_KEY");
  EXPECT_THAT(env_var->classes(), testing::ElementsAre("Configuration"));
  EXPECT_EQ(Str(*env_var, "name"), "ENV_VARIABLE_KEY");
  EXPECT_EQ(Str(*env_var, "variable"), "ENV_VARIABLE_KEY");
  EXPECT_EQ(Str(*env_var, "contextId"), "09f7476e-43f5-4096-8df6-393ec474da7c");
  EXPECT_EQ(Int(*env_var, "createdOn"),
            1710962653802);  // 2024-03-20T19:24:13.802Z
  EXPECT_EQ(Int(*env_var, "updatedOn"), 1710962653802);
  ExpectValidWithDisplayName(*env_var);
  EXPECT_TRUE(Raw(*env_var) == FirstItem(page));  // the API sends no value
}

TEST(ConvertersTest, ContextEnvVarDropsAValueIfAServerSendsOne) {
  rapidjson::Document env_var;
  env_var.Parse(R"({"variable":"K","value":"secret","context_id":"c-1"})");
  absl::StatusOr<v1::Entity> entity = ContextEnvVarEntity(env_var, "c-1");
  ASSERT_TRUE(entity.ok());
  EXPECT_THAT(entity->raw_data(0).json(), Not(HasSubstr("secret")));
}

TEST(ConvertersTest, RelationshipsAsTheReference) {
  v1::Relationship uses = UsesRelationship(
      "circleci_project:p-1", "circleci_project",
      "circleci_context_environment_variable:c-1:ENV_VARIABLE_KEY",
      "circleci_context_environment_variable");
  EXPECT_EQ(uses.key(),
            "circleci_project:p-1|uses|"
            "circleci_context_environment_variable:c-1:ENV_VARIABLE_KEY");
  EXPECT_EQ(uses.type(), "circleci_project_uses_context_environment_variable");
  EXPECT_EQ(uses.class_name(), "USES");
  EXPECT_EQ(uses.properties().at("displayName").string_value(), "USES");
  EXPECT_TRUE(ValidateRelationship(uses).ok());

  v1::Relationship has =
      HasRelationship(AccountEntity("DUMMY_ID", "kjb-test"),
                      *UserGroupEntity(Load("collaborations_2022.json")[0]));
  EXPECT_EQ(has.key(),
            "circleci_account:DUMMY_ID|has|"
            "circleci_user_group:89b36fdd-6c18-4e17-8db2-cc34834a9eeb");
  EXPECT_EQ(has.type(), "circleci_account_has_user_group");
  EXPECT_EQ(has.from_entity_key(), "circleci_account:DUMMY_ID");
}

TEST(ConvertersTest, MissingIdIsAnErrorNamingTheObject) {
  rapidjson::Document no_id;
  no_id.Parse(R"({"name":"x"})");
  absl::Status status = WorkflowEntity(no_id).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("workflow"));
  EXPECT_THAT(status.message(), HasSubstr("'id'"));
  rapidjson::Document not_object;
  not_object.Parse("[1]");
  EXPECT_EQ(PipelineEntity(not_object).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A hostile item: megabytes, with a secret-looking string across the quoting
// limit. The error quotes its start only, and never part of a string.
TEST(ConvertersTest, MissingIdQuotesAtMost200BytesOfTheItem) {
  const std::string secret = "CCIPAT_secret_0123456789abcdef";
  const std::string json = absl::StrCat(
      R"({"id":5,"pad":")", std::string(165, 'p'), R"(","token":")", secret,
      R"(","big":")", std::string(1 << 20, 'b'), R"("})");
  rapidjson::Document item;
  item.Parse(json.c_str());
  ASSERT_FALSE(item.HasParseError());
  for (const absl::Status& status :
       {PipelineEntity(item).status(), JobEntity(item).status(),
        ProjectEnvVarEntity(item, "p1", "gh/o/r").status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr(R"(: {"id":5,"pad":"ppp)"));
    EXPECT_THAT(status.message(),
                HasSubstr(absl::StrCat("(", json.size(), " bytes)")));
    EXPECT_THAT(status.message(), Not(HasSubstr("CCIPAT")));
    EXPECT_LE(status.message().size(), 300u) << status.message();
  }
}

TEST(ConvertersTest, NullAndUnparsableFieldsFollowTheSdk) {
  rapidjson::Document job;
  job.Parse(R"({"id":"j-1","name":"build","canceled_by":null,
                "started_at":null,"stopped_at":"not a time"})");
  absl::StatusOr<v1::Entity> entity = JobEntity(job);
  ASSERT_TRUE(entity.ok());
  EXPECT_TRUE(entity->properties().at("canceledBy").null_value());
  EXPECT_FALSE(Has(*entity, "startedOn"));
  EXPECT_FALSE(Has(*entity, "stoppedOn"));
}

}  // namespace
}  // namespace graphmill::worker::circleci
