// Tests of the fake CircleCI server in generated mode over real HTTP: auth,
// every route's shape, pagination, raw-path routing, errors, determinism,
// counters and speed.
#include "tests/fakes/circleci/fake_circleci.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/circleci/test_util.h"
#include "tests/fakes/circleci/url_util.h"

namespace graphmill::fakes {
namespace {

using fake_test::ExpectedFeed;
using fake_test::Get;
using fake_test::MakeClient;
using fake_test::ParseJson;
using fake_test::Strings;
using fake_test::WalkPages;
using ::testing::ElementsAreArray;
using ::testing::UnorderedElementsAreArray;

std::unique_ptr<FakeCircleCi> StartServer(FakeCircleCiOptions options = {}) {
  absl::StatusOr<std::unique_ptr<FakeCircleCi>> server =
      FakeCircleCi::Start(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

std::set<std::string> MemberNames(const rapidjson::Value& object) {
  std::set<std::string> names;
  for (const auto& member : object.GetObject())
    names.insert(member.name.GetString());
  return names;
}

std::string Message(const std::string& body) {
  rapidjson::Document doc = ParseJson(body);
  return doc.IsObject() && doc.HasMember("message") && doc["message"].IsString()
             ? doc["message"].GetString()
             : "<no message>";
}

std::string ProjectPath(const std::string& slug) {
  return absl::StrCat("/api/v2/project/", PercentEncode(slug));
}

TEST(FakeCircleCiTest, RejectsBadOptions) {
  FakeCircleCiOptions options;
  options.token = "";
  EXPECT_EQ(FakeCircleCi::Start(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = {};
  options.page_size = 0;
  EXPECT_EQ(FakeCircleCi::Start(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = {};
  options.generator.orgs = -1;
  EXPECT_EQ(FakeCircleCi::Start(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = {};
  options.mode = FakeMode::kReplay;
  EXPECT_EQ(FakeCircleCi::Start(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FakeCircleCiTest, UrlsNameTheEphemeralPort) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->base_url(),
            absl::StrCat("http://127.0.0.1:", server->port(), "/api/v2"));
  EXPECT_EQ(server->root_url(),
            absl::StrCat("http://127.0.0.1:", server->port()));
}

TEST(FakeCircleCiTest, RequiresTheToken) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  for (const std::string token : {"", "wrong-token"}) {
    httplib::Result res = Get(*client, "/api/v2/me", token);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    EXPECT_EQ(res->body, R"({"message":"Invalid token provided."})");
  }
  // Header names are case-insensitive.
  httplib::Result res =
      client->Get("/api/v2/me", {{"circle-token", fake_test::kToken}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(server->RequestCount("me"), 3);
}

TEST(FakeCircleCiTest, MeWithAndWithoutTrailingSlash) {
  FakeCircleCiOptions options;
  options.generator.login = "octo";
  options.generator.user_id = "11111111-2222-4333-8444-555555555555";
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  for (const char* path : {"/api/v2/me", "/api/v2/me/"}) {
    httplib::Result res = Get(*client, path);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"),
              "application/json; charset=utf-8");
    EXPECT_FALSE(res->get_header_value("x-request-id").empty());
    rapidjson::Document me = ParseJson(res->body);
    EXPECT_THAT(MemberNames(me), ElementsAreArray({"id", "login", "name"}));
    EXPECT_TRUE(me["name"].IsNull());
    EXPECT_STREQ(me["login"].GetString(), "octo");
    EXPECT_STREQ(me["id"].GetString(), "11111111-2222-4333-8444-555555555555");
  }
}

TEST(FakeCircleCiTest, CollaborationsIsABareArrayOfOrgs) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  httplib::Result res = Get(*client, "/api/v2/me/collaborations");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  ASSERT_TRUE(doc.IsArray());
  const Dataset& data = server->dataset();
  ASSERT_EQ(doc.Size(), data.orgs.size());
  for (rapidjson::SizeType i = 0; i < doc.Size(); ++i) {
    EXPECT_THAT(
        MemberNames(doc[i]),
        ElementsAreArray({"avatar_url", "id", "name", "slug", "vcs_type"}));
    EXPECT_EQ(doc[i]["id"].GetString(), data.orgs[i].id);
    EXPECT_EQ(doc[i]["slug"].GetString(), data.orgs[i].slug);
    EXPECT_EQ(doc[i]["name"].GetString(), data.orgs[i].name);
    EXPECT_EQ(doc[i]["vcs_type"].GetString(), data.orgs[i].vcs_type);
  }
}

TEST(FakeCircleCiTest, PipelineFeedPagesNewestFirstAndStopsOnNull) {
  FakeCircleCiOptions options;
  options.generator.orgs = 2;
  options.generator.projects_per_org = 5;
  options.generator.pipelines_per_project = 5;  // 25 per org: pages of 20 and 5
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  const Dataset& data = server->dataset();

  for (const Org& org : data.orgs) {
    const std::string target =
        absl::StrCat("/api/v2/pipeline?org-slug=", PercentEncode(org.slug));
    httplib::Result first = Get(*client, target);
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 200);
    rapidjson::Document page = ParseJson(first->body);
    EXPECT_THAT(MemberNames(page),
                ElementsAreArray({"items", "next_page_token"}));
    ASSERT_EQ(page["items"].Size(), 20u);
    const std::string token = page["next_page_token"].GetString();
    EXPECT_FALSE(token.empty());
    EXPECT_EQ(token.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789-_"),
              std::string::npos)
        << token;
    // As recorded; GitHub-style orgs' pipelines also carry a vcs block.
    std::set<std::string> fields = {
        "created_at",   "errors", "id",      "number",
        "project_slug", "state",  "trigger", "trigger_parameters",
        "updated_at"};
    if (org.vcs_type == "github") fields.insert("vcs");
    EXPECT_EQ(MemberNames(page["items"][0]), fields);

    fake_test::WalkResult walk = WalkPages(*client, target, "id");
    EXPECT_TRUE(walk.ok);
    EXPECT_EQ(walk.pages, 2);
    EXPECT_THAT(walk.ids, ElementsAreArray(ExpectedFeed(data, org.slug)));
  }
}

TEST(FakeCircleCiTest, EveryPaginatedRouteWalksToTheExactSet) {
  FakeCircleCiOptions options;
  options.page_size = 2;
  options.generator.orgs = 1;
  options.generator.projects_per_org = 2;
  options.generator.pipelines_per_project = 3;
  options.generator.workflows_per_pipeline = 5;
  options.generator.jobs_per_workflow = 5;
  options.generator.contexts_per_org = 3;
  options.generator.env_vars_per_project = 3;
  options.generator.env_vars_per_context = 3;
  options.generator.project_restrictions_per_context = 2;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  const Dataset& data = server->dataset();

  const Pipeline& pipeline = data.pipelines[1];
  std::vector<std::string> workflow_ids;
  for (const Workflow& w : data.workflows) {
    if (w.pipeline_id == pipeline.id) workflow_ids.push_back(w.id);
  }
  fake_test::WalkResult workflows = WalkPages(
      *client, absl::StrCat("/api/v2/pipeline/", pipeline.id, "/workflow"),
      "id");
  EXPECT_TRUE(workflows.ok);
  EXPECT_EQ(workflows.pages, 3);
  EXPECT_THAT(workflows.ids, ElementsAreArray(workflow_ids));

  const Workflow& workflow = data.workflows[3];
  std::vector<std::string> job_ids;
  for (const Job& j : data.jobs) {
    if (j.workflow_id == workflow.id) job_ids.push_back(j.id);
  }
  fake_test::WalkResult jobs = WalkPages(
      *client, absl::StrCat("/api/v2/workflow/", workflow.id, "/job"), "id");
  EXPECT_TRUE(jobs.ok);
  EXPECT_EQ(jobs.pages, 3);
  EXPECT_THAT(jobs.ids, ElementsAreArray(job_ids));

  const Project& project = data.projects[1];
  std::vector<std::string> env_names;
  for (const ProjectEnvVar& v : data.project_env_vars) {
    if (v.project_slug == project.slug) env_names.push_back(v.name);
  }
  fake_test::WalkResult env_vars =
      WalkPages(*client, ProjectPath(project.slug) + "/envvar", "name");
  EXPECT_TRUE(env_vars.ok);
  EXPECT_EQ(env_vars.pages, 2);
  EXPECT_THAT(env_vars.ids, ElementsAreArray(env_names));

  const Org& org = data.orgs[0];
  std::vector<std::string> context_ids;
  for (const Context& c : data.contexts) context_ids.push_back(c.id);
  fake_test::WalkResult contexts = WalkPages(
      *client,
      absl::StrCat("/api/v2/context?owner-slug=", PercentEncode(org.slug)),
      "id");
  EXPECT_TRUE(contexts.ok);
  EXPECT_EQ(contexts.pages, 2);
  EXPECT_THAT(contexts.ids, ElementsAreArray(context_ids));

  const Context& context = data.contexts[2];
  std::vector<std::string> restriction_ids;
  for (const ContextRestriction& r : data.restrictions) {
    if (r.context_id == context.id) restriction_ids.push_back(r.id);
  }
  fake_test::WalkResult restrictions = WalkPages(
      *client, absl::StrCat("/api/v2/context/", context.id, "/restrictions"),
      "id");
  EXPECT_TRUE(restrictions.ok);
  EXPECT_EQ(restrictions.pages, 2);
  EXPECT_THAT(restrictions.ids, ElementsAreArray(restriction_ids));

  std::vector<std::string> variables;
  for (const ContextEnvVar& v : data.context_env_vars) {
    if (v.context_id == context.id) variables.push_back(v.variable);
  }
  fake_test::WalkResult context_vars = WalkPages(
      *client,
      absl::StrCat("/api/v2/context/", context.id, "/environment-variable"),
      "variable");
  EXPECT_TRUE(context_vars.ok);
  EXPECT_EQ(context_vars.pages, 2);
  EXPECT_THAT(context_vars.ids, ElementsAreArray(variables));
}

TEST(FakeCircleCiTest, ItemShapesMatchTheRecordings) {
  FakeCircleCiOptions options;
  options.generator.orgs = 1;
  options.generator.contexts_per_org = 1;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  const Dataset& data = server->dataset();
  auto first_item = [&](const std::string& target) {
    httplib::Result res = Get(*client, target);
    EXPECT_TRUE(res && res->status == 200) << target;
    rapidjson::Document doc = ParseJson(res ? res->body : "{}");
    rapidjson::Document item;
    if (doc.IsObject() && doc.HasMember("items") && doc["items"].Size() > 0) {
      item.CopyFrom(doc["items"][0], item.GetAllocator());
    }
    return item;
  };

  // Jobs are listed in generation order; the first one of a workflow has no
  // dependency and its status tells which optional fields to expect.
  rapidjson::Document workflow = first_item(
      absl::StrCat("/api/v2/pipeline/", data.pipelines[0].id, "/workflow"));
  std::set<std::string> workflow_fields = {
      "created_at",   "id",         "name",   "pipeline_id", "pipeline_number",
      "project_slug", "started_by", "status", "stopped_at"};
  if (data.workflows[0].status == "canceled")
    workflow_fields.insert("canceled_by");
  EXPECT_EQ(MemberNames(workflow), workflow_fields);

  rapidjson::Document job = first_item(
      absl::StrCat("/api/v2/workflow/", data.workflows[0].id, "/job"));
  EXPECT_THAT(MemberNames(job),
              ElementsAreArray({"dependencies", "id", "job_number", "name",
                                "project_slug", "started_at", "status",
                                "stopped_at", "type"}));
  EXPECT_STREQ(job["type"].GetString(), "build");

  httplib::Result project_res =
      Get(*client, ProjectPath(data.projects[0].slug));
  ASSERT_TRUE(project_res);
  rapidjson::Document project = ParseJson(project_res->body);
  EXPECT_THAT(
      MemberNames(project),
      ElementsAreArray({"id", "name", "organization_id", "organization_name",
                        "organization_slug", "slug", "vcs_info"}));
  EXPECT_THAT(MemberNames(project["vcs_info"]),
              ElementsAreArray({"default_branch", "provider", "vcs_url"}));
  EXPECT_EQ(project["organization_id"].GetString(), data.orgs[0].id);
  EXPECT_EQ(project["slug"].GetString(), data.projects[0].slug);

  rapidjson::Document env_var =
      first_item(ProjectPath(data.projects[0].slug) + "/envvar");
  EXPECT_THAT(MemberNames(env_var),
              ElementsAreArray({"created_at", "name", "value"}));
  EXPECT_EQ(env_var["value"].GetString(),
            data.project_env_vars[0].masked_value);
  EXPECT_NE(env_var["value"].GetString(), data.project_env_vars[0].value);

  rapidjson::Document context = first_item(absl::StrCat(
      "/api/v2/context?owner-slug=", PercentEncode(data.orgs[0].slug)));
  EXPECT_THAT(MemberNames(context),
              ElementsAreArray({"created_at", "id", "name"}));

  rapidjson::Document restriction = first_item(
      absl::StrCat("/api/v2/context/", data.contexts[0].id, "/restrictions"));
  EXPECT_THAT(MemberNames(restriction),
              ElementsAreArray({"context_id", "id", "name", "project_id",
                                "restriction_type", "restriction_value"}));
  EXPECT_STREQ(restriction["restriction_type"].GetString(), "expression");

  rapidjson::Document context_var = first_item(absl::StrCat(
      "/api/v2/context/", data.contexts[0].id, "/environment-variable"));
  EXPECT_THAT(
      MemberNames(context_var),
      ElementsAreArray({"context_id", "created_at", "updated_at", "variable"}));
}

TEST(FakeCircleCiTest, ProjectSlugIsOneEscapedSegment) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  const Project& project = server->dataset().projects[0];

  httplib::Result encoded = Get(*client, ProjectPath(project.slug));
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->status, 200);
  EXPECT_EQ(encoded->get_header_value("x-route"),
            "/api/v2/project/:project-slug");

  std::string lower = ProjectPath(project.slug);
  for (size_t at = lower.find("%2F"); at != std::string::npos;
       at = lower.find("%2F")) {
    lower.replace(at, 3, "%2f");
  }
  httplib::Result lower_res = Get(*client, lower);
  ASSERT_TRUE(lower_res);
  EXPECT_EQ(lower_res->status, 200);

  httplib::Result unescaped = Get(*client, "/api/v2/project/" + project.slug);
  ASSERT_TRUE(unescaped);
  EXPECT_EQ(unescaped->status, 404);
  EXPECT_EQ(Message(unescaped->body), "Not Found");

  httplib::Result unknown = Get(*client, ProjectPath("gh/nobody/nothing"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(Message(unknown->body), "Project not found");
  httplib::Result unknown_vars =
      Get(*client, ProjectPath("gh/nobody/nothing") + "/envvar");
  ASSERT_TRUE(unknown_vars);
  EXPECT_EQ(unknown_vars->status, 404);

  EXPECT_EQ(server->RequestCount("project"), 3);
  EXPECT_EQ(server->RequestCount("envvar"), 1);
  EXPECT_EQ(server->RequestCount("unmatched"), 1);
}

TEST(FakeCircleCiTest, ErrorsLookLikeCircleCi) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  const Dataset& data = server->dataset();
  struct Case {
    std::string target;
    int status;
    std::string message;
  };
  const std::string pipeline_target = absl::StrCat(
      "/api/v2/pipeline?org-slug=", PercentEncode(data.orgs[0].slug));
  const std::string context_target = absl::StrCat(
      "/api/v2/context?owner-slug=", PercentEncode(data.orgs[0].slug));
  // A valid token of another list.
  const std::string foreign_token =
      ParseJson(Get(*client, absl::StrCat("/api/v2/pipeline?org-slug=",
                                          PercentEncode(data.orgs[1].slug)))
                    ->body)["next_page_token"]
          .GetString();
  const std::vector<Case> cases = {
      {pipeline_target + "&page-token=bm90LWEtdG9rZW4", 404, "Not Found"},
      {pipeline_target + "&page-token=" + foreign_token, 404, "Not Found"},
      {context_target + "&page-token=garbage", 404, "Not Found"},
      {"/api/v2/pipeline?org-slug=gh%2Fnobody", 404,
       "Organization does not exist."},
      {"/api/v2/pipeline", 400, "org-slug is required."},
      {"/api/v2/context", 400, "Must provide owner-id or owner-slug."},
      {"/api/v2/pipeline/00000000-0000-4000-8000-000000000000/workflow", 404,
       "Pipeline not found"},
      {"/api/v2/workflow/00000000-0000-4000-8000-000000000000/job", 404,
       "Workflow not found"},
      {"/api/v2/context/not-a-uuid/restrictions", 400,
       "context_id is invalid."},
      {"/api/v2/context/00000000-0000-4000-8000-000000000000/restrictions", 404,
       "Context not found."},
      {"/api/v2/context/00000000-0000-4000-8000-000000000000/"
       "environment-variable",
       404, "Context not found."},
      // The reference client's page-2 URL on a path without '?'.
      {absl::StrCat("/api/v2/pipeline/", data.pipelines[0].id,
                    "/workflow&page-token=x"),
       404, "Not Found"},
      {"/api/v2/nothing-here", 404, "Not Found"},
      {"/elsewhere", 404, "Not Found"},
  };
  for (const Case& c : cases) {
    httplib::Result res = Get(*client, c.target);
    ASSERT_TRUE(res) << c.target;
    EXPECT_EQ(res->status, c.status) << c.target;
    EXPECT_EQ(Message(res->body), c.message) << c.target;
    EXPECT_EQ(res->get_header_value("Content-Type"),
              "application/json; charset=utf-8");
  }
  EXPECT_EQ(server->RequestCount("unmatched"), 3);
}

TEST(FakeCircleCiTest, PipelineOverlapRepeatsOneItemPerBoundary) {
  FakeCircleCiOptions options;
  options.page_size = 4;
  options.pipeline_page_overlap = true;
  options.generator.orgs = 1;
  options.generator.projects_per_org = 2;
  options.generator.pipelines_per_project = 5;  // 10 pipelines
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  const Dataset& data = server->dataset();
  const std::vector<std::string> expected =
      ExpectedFeed(data, data.orgs[0].slug);

  fake_test::WalkResult walk =
      WalkPages(*client,
                absl::StrCat("/api/v2/pipeline?org-slug=",
                             PercentEncode(data.orgs[0].slug)),
                "id");
  ASSERT_TRUE(walk.ok);
  // Pages hold items 0-3, 3-6 and 6-9: 3 pages, 12 items, 2 repeats.
  EXPECT_EQ(walk.pages, 3);
  EXPECT_EQ(walk.ids.size(), expected.size() + 2);
  std::vector<std::string> deduplicated;
  for (const std::string& id : walk.ids) {
    if (deduplicated.empty() || deduplicated.back() != id)
      deduplicated.push_back(id);
  }
  EXPECT_THAT(deduplicated, ElementsAreArray(expected));
}

TEST(FakeCircleCiTest, PaddingEnlargesTheFirstItemsOfEachListOfARoute) {
  FakeCircleCiOptions options;
  options.page_size = 4;
  options.generator.orgs = 2;
  options.generator.projects_per_org = 1;
  options.generator.pipelines_per_project = 6;
  options.padding = {.route = "pipeline", .bytes = 5000, .items = 5};
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  const Dataset& data = server->dataset();
  for (const Org& org : data.orgs) {
    const std::string feed =
        absl::StrCat("/api/v2/pipeline?org-slug=", PercentEncode(org.slug));
    rapidjson::Document first = ParseJson(Get(*client, feed)->body);
    ASSERT_EQ(first["items"].Size(), 4u);
    rapidjson::Document second = ParseJson(
        Get(*client, absl::StrCat(feed, "&page-token=",
                                  first["next_page_token"].GetString()))
            ->body);
    ASSERT_EQ(second["items"].Size(), 2u);
    std::vector<const rapidjson::Value*> items;
    for (const auto& item : first["items"].GetArray()) items.push_back(&item);
    for (const auto& item : second["items"].GetArray()) items.push_back(&item);
    for (size_t i = 0; i < items.size(); ++i) {
      const rapidjson::Value& item = *items[i];
      // The item is otherwise unchanged.
      EXPECT_TRUE(item["id"].IsString());
      EXPECT_TRUE(item["trigger"].IsObject());
      if (i < 5) {
        ASSERT_TRUE(item.HasMember("padding")) << org.slug << " item " << i;
        EXPECT_EQ(item["padding"].GetStringLength(), 5000u);
      } else {
        EXPECT_FALSE(item.HasMember("padding")) << org.slug << " item " << i;
      }
    }
  }
  // The padding stays across mutations (the feed is rendered again).
  ASSERT_TRUE(
      server->Mutate(Mutation::RenameProject(data.projects[0].slug, "renamed"))
          .ok());
  rapidjson::Document after = ParseJson(
      Get(*client,
          absl::StrCat("/api/v2/pipeline?org-slug=",
                       PercentEncode(data.projects[0].organization_slug)))
          ->body);
  EXPECT_EQ(after["items"][0]["padding"].GetStringLength(), 5000u);
  EXPECT_THAT(after["items"][0]["trigger_parameters"]["git"]["checkout_url"]
                  .GetString(),
              ::testing::HasSubstr("/renamed.git"));
  // Other routes are not padded.
  rapidjson::Document workflows =
      ParseJson(Get(*client, absl::StrCat("/api/v2/pipeline/",
                                          data.pipelines[0].id, "/workflow"))
                    ->body);
  ASSERT_GT(workflows["items"].Size(), 0u);
  EXPECT_FALSE(workflows["items"][0].HasMember("padding"));
}

TEST(FakeCircleCiTest, PaddingEveryItemAndBadPaddingOptions) {
  FakeCircleCiOptions options;
  options.generator.orgs = 1;
  options.padding = {.route = "workflow-jobs", .bytes = 100};
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  rapidjson::Document jobs = ParseJson(
      Get(*client, absl::StrCat("/api/v2/workflow/",
                                server->dataset().workflows[0].id, "/job"))
          ->body);
  ASSERT_EQ(jobs["items"].Size(), 3u);
  for (const auto& job : jobs["items"].GetArray()) {
    EXPECT_EQ(job["padding"].GetStringLength(), 100u);
  }

  for (const ItemPadding& bad :
       {ItemPadding{.route = "project", .bytes = 10},
        ItemPadding{.route = "nope", .bytes = 10},
        ItemPadding{.route = "pipeline", .bytes = -1},
        ItemPadding{.route = "pipeline", .bytes = 10, .items = -2}}) {
    FakeCircleCiOptions bad_options;
    bad_options.padding = bad;
    EXPECT_EQ(FakeCircleCi::Start(bad_options).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad.route << " " << bad.bytes << " " << bad.items;
  }
}

TEST(FakeCircleCiTest, SameSeedServesSameBytes) {
  FakeCircleCiOptions options;
  auto first = StartServer(options);
  auto second = StartServer(options);
  options.generator.seed = 99;
  auto other = StartServer(options);
  ASSERT_TRUE(first && second && other);
  auto body = [](const FakeCircleCi& server, const std::string& target) {
    auto client = MakeClient(server.port());
    httplib::Result res = Get(*client, target);
    return res ? res->body : std::string("<error>");
  };
  const std::string feed =
      absl::StrCat("/api/v2/pipeline?org-slug=",
                   PercentEncode(first->dataset().orgs[0].slug));
  EXPECT_EQ(body(*first, "/api/v2/me/collaborations"),
            body(*second, "/api/v2/me/collaborations"));
  EXPECT_EQ(body(*first, feed), body(*second, feed));
  EXPECT_NE(body(*first, "/api/v2/me/collaborations"),
            body(*other, "/api/v2/me/collaborations"));
}

TEST(FakeCircleCiTest, DatasetSummaryCountsEveryKind) {
  FakeCircleCiOptions options;
  options.generator.orgs = 3;
  options.generator.projects_per_org = 2;
  options.generator.pipelines_per_project = 4;
  options.generator.workflows_per_pipeline = 3;
  options.generator.jobs_per_workflow = 2;
  options.generator.contexts_per_org = 2;
  options.generator.env_vars_per_project = 1;
  options.generator.env_vars_per_context = 3;
  options.generator.project_restrictions_per_context = 1;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  httplib::Result res = client->Get("/_control/dataset-summary");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  rapidjson::Document summary = ParseJson(res->body);
  EXPECT_STREQ(summary["mode"].GetString(), "generated");
  const std::map<std::string, int64_t> expected = {
      {"orgs", 3},       {"projects", 6},      {"pipelines", 24},
      {"workflows", 72}, {"jobs", 144},        {"project_env_vars", 6},
      {"contexts", 6},   {"restrictions", 12}, {"context_env_vars", 18},
      {"users", 1},      {"page_size", 20},    {"seed", 1}};
  for (const auto& [kind, count] : expected) {
    ASSERT_TRUE(summary.HasMember(kind.c_str())) << kind;
    EXPECT_EQ(summary[kind.c_str()].GetInt64(), count) << kind;
  }
  // Control requests are not counted.
  EXPECT_EQ(server->RequestCount("total"), 0);
}

TEST(FakeCircleCiTest, CountersPerRouteAndReset) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  const Dataset& data = server->dataset();
  Get(*client, "/api/v2/me");
  Get(*client, "/api/v2/me/collaborations");
  Get(*client, "/api/v2/me/collaborations");
  Get(*client,
      absl::StrCat("/api/v2/context/", data.contexts[0].id, "/restrictions"));
  Get(*client, absl::StrCat("/api/v2/context/", data.contexts[0].id,
                            "/environment-variable"));
  Get(*client, "/api/v2/unknown");

  std::map<std::string, int64_t> counters = server->Counters();
  EXPECT_EQ(counters["me"], 1);
  EXPECT_EQ(counters["collaborations"], 2);
  EXPECT_EQ(counters["restrictions"], 1);
  EXPECT_EQ(counters["context-envvar"], 1);
  EXPECT_EQ(counters["pipeline"], 0);
  EXPECT_EQ(counters["unmatched"], 1);
  EXPECT_EQ(counters["total"], 6);
  EXPECT_EQ(server->RequestCount("no-such-route"), 0);

  httplib::Result json = client->Get("/_control/counters");
  ASSERT_TRUE(json);
  rapidjson::Document doc = ParseJson(json->body);
  for (const auto& [name, count] : counters) {
    ASSERT_TRUE(doc.HasMember(name.c_str())) << name;
    EXPECT_EQ(doc[name.c_str()].GetInt64(), count) << name;
  }

  httplib::Result reset = client->Delete("/_control/counters");
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->status, 200);
  EXPECT_EQ(server->RequestCount("total"), 0);
  EXPECT_EQ(server->RequestCount("collaborations"), 0);
  Get(*client, "/api/v2/me");
  server->ResetCounters();
  EXPECT_EQ(server->RequestCount("me"), 0);
}

TEST(FakeCircleCiTest, ServesConcurrentClients) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const Dataset& data = server->dataset();
  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto client = MakeClient(server->port());
      for (int i = 0; i < kRequestsPerThread; ++i) {
        const Project& project = data.projects[(t + i) % data.projects.size()];
        httplib::Result res = Get(*client, ProjectPath(project.slug));
        if (res && res->status == 200 &&
            ParseJson(res->body)["id"].GetString() == project.id) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kThreads * kRequestsPerThread);
  EXPECT_EQ(server->RequestCount("project"), kThreads * kRequestsPerThread);
}

TEST(FakeCircleCiTest, RealisticScaleStartsAndServesEveryPage) {
  FakeCircleCiOptions options;
  options.generator.orgs = 3;
  options.generator.projects_per_org = 17;       // 51 projects
  options.generator.pipelines_per_project = 40;  // 2,040 pipelines
  options.generator.workflows_per_pipeline = 3;  // 6,120 workflows
  options.generator.jobs_per_workflow = 3;       // 18,360 jobs
  const auto start = std::chrono::steady_clock::now();
  auto server = StartServer(options);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  const std::string org_slug = server->dataset().orgs[2].slug;
  fake_test::WalkResult walk = WalkPages(
      *client,
      absl::StrCat("/api/v2/pipeline?org-slug=", PercentEncode(org_slug)),
      "id");
  const auto walked = std::chrono::steady_clock::now();
  ASSERT_TRUE(walk.ok);
  EXPECT_EQ(walk.ids.size(), 680u);
  EXPECT_EQ(walk.pages, 34);
  EXPECT_THAT(walk.ids, UnorderedElementsAreArray(
                            ExpectedFeed(server->dataset(), org_slug)));

  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const int64_t start_ms = duration_cast<milliseconds>(started - start).count();
  const int64_t walk_ms = duration_cast<milliseconds>(walked - started).count();
  std::printf("start (generate + render) %lld ms; 34 pipeline pages %lld ms\n",
              static_cast<long long>(start_ms),
              static_cast<long long>(walk_ms));
  // The figures are printed, not asserted: on a loaded machine any bound is
  // either flaky or too loose to mean anything.
}

}  // namespace
}  // namespace graphmill::fakes
