// Tests of data mutations on a running fake CircleCI server: each operation
// seen through the API (lists, pages, single GETs, /me), dataset(),
// GET /_control/dataset and the summary; bad requests; and mutations while 4
// threads read.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/circleci/fake_circleci.h"
#include "tests/fakes/circleci/mutations.h"
#include "tests/fakes/circleci/test_util.h"
#include "tests/fakes/circleci/url_util.h"

namespace graphmill::fakes {
namespace {

using fake_test::ExpectedFeed;
using fake_test::FetchDataset;
using fake_test::Get;
using fake_test::MakeClient;
using fake_test::Message;
using fake_test::ParseJson;
using fake_test::PostMutations;
using fake_test::Strings;
using fake_test::WalkPages;
using fake_test::WithoutSecrets;
using ::testing::Contains;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;

FakeCircleCiOptions SmallOptions() {
  FakeCircleCiOptions options;
  options.page_size = 2;  // every list of more than two items has pages
  auto& g = options.generator;
  g.orgs = 2;
  g.projects_per_org = 3;
  g.pipelines_per_project = 3;
  g.workflows_per_pipeline = 2;
  g.jobs_per_workflow = 2;
  g.contexts_per_org = 2;
  g.env_vars_per_project = 3;
  g.env_vars_per_context = 3;
  g.project_restrictions_per_context = 2;
  return options;
}

// A running server plus a client, and the mutations applied so far, so every
// test can check the server against an independent computation.
class MutationsTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(SmallOptions()); }

  void Start(FakeCircleCiOptions options) {
    options_ = options;
    absl::StatusOr<std::unique_ptr<FakeCircleCi>> server =
        FakeCircleCi::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = MakeClient(server_->port());
    applied_.clear();
  }

  // Applies through POST /_control/mutations; returns the summary.
  rapidjson::Document Post(const std::vector<Mutation>& mutations) {
    std::string body = "[";
    for (const Mutation& m : mutations) {
      if (body.size() > 1) body += ",";
      body += MutationToJson(m);
    }
    body += "]";
    httplib::Result res = PostMutations(*client_, body);
    EXPECT_TRUE(res);
    if (!res) return rapidjson::Document();
    EXPECT_EQ(res->status, 200) << res->body;
    if (res->status == 200) {
      applied_.insert(applied_.end(), mutations.begin(), mutations.end());
    }
    return ParseJson(res->body);
  }

  // dataset(), GET /_control/dataset, the summary and an independent
  // GenerateDataset + ApplyMutations all agree.
  void ExpectViewsAgree() {
    absl::StatusOr<Dataset> generated = GenerateDataset(options_.generator);
    ASSERT_TRUE(generated.ok());
    absl::StatusOr<Dataset> expected = ApplyMutations(*generated, applied_);
    ASSERT_TRUE(expected.ok()) << expected.status();
    const Dataset& data = server_->dataset();
    EXPECT_EQ(data, *expected);

    absl::StatusOr<VersionedDataset> fetched = FetchDataset(*client_);
    ASSERT_TRUE(fetched.ok()) << fetched.status();
    EXPECT_EQ(fetched->data, WithoutSecrets(data));
    EXPECT_EQ(fetched->version, server_->data_version());

    httplib::Result res = client_->Get("/_control/dataset-summary");
    ASSERT_TRUE(res);
    rapidjson::Document summary = ParseJson(res->body);
    const std::map<std::string, size_t> counts = {
        {"orgs", data.orgs.size()},
        {"projects", data.projects.size()},
        {"pipelines", data.pipelines.size()},
        {"workflows", data.workflows.size()},
        {"jobs", data.jobs.size()},
        {"project_env_vars", data.project_env_vars.size()},
        {"contexts", data.contexts.size()},
        {"restrictions", data.restrictions.size()},
        {"context_env_vars", data.context_env_vars.size()}};
    for (const auto& [kind, count] : counts) {
      EXPECT_EQ(summary[kind.c_str()].GetInt64(), static_cast<int64_t>(count))
          << kind;
    }
    EXPECT_EQ(summary["version"].GetInt64(), server_->data_version());
  }

  httplib::Result ApiGet(const std::string& target) {
    return Get(*client_, target);
  }

  fake_test::WalkResult Walk(const std::string& target, const char* field) {
    return WalkPages(*client_, target, field);
  }

  // Calls `visit` with every item of every page of `target`.
  template <typename Visit>
  void WalkItems(const std::string& target, Visit visit) {
    std::string next = target;
    for (int page = 0; page < 1000; ++page) {
      httplib::Result res = ApiGet(next);
      ASSERT_TRUE(res && res->status == 200) << next;
      rapidjson::Document doc = ParseJson(res->body);
      for (const auto& item : doc["items"].GetArray()) visit(item);
      if (doc["next_page_token"].IsNull()) return;
      next = absl::StrCat(target,
                          target.find('?') == std::string::npos ? "?" : "&",
                          "page-token=", doc["next_page_token"].GetString());
    }
    ADD_FAILURE() << "no last page: " << target;
  }

  static std::string FeedPath(const std::string& org_slug) {
    return absl::StrCat("/api/v2/pipeline?org-slug=", PercentEncode(org_slug));
  }
  static std::string ProjectPath(const std::string& slug) {
    return absl::StrCat("/api/v2/project/", PercentEncode(slug));
  }

  FakeCircleCiOptions options_;
  std::unique_ptr<FakeCircleCi> server_;
  std::unique_ptr<httplib::Client> client_;
  std::vector<Mutation> applied_;
};

TEST_F(MutationsTest, RemovedPipelineDisappearsFromEveryRoute) {
  const Dataset& before = server_->dataset();
  const std::string org_slug = before.orgs[0].slug;
  const std::vector<std::string> feed_before = ExpectedFeed(before, org_slug);
  const std::string pipeline_id = feed_before[1];
  std::vector<std::string> workflow_ids;
  for (const Workflow& w : before.workflows) {
    if (w.pipeline_id == pipeline_id) workflow_ids.push_back(w.id);
  }
  ASSERT_EQ(workflow_ids.size(), 2u);
  ASSERT_THAT(Walk(FeedPath(org_slug), "id").ids, Contains(pipeline_id));
  const std::string workflows_path =
      absl::StrCat("/api/v2/pipeline/", pipeline_id, "/workflow");
  ASSERT_EQ(ApiGet(workflows_path)->status, 200);

  rapidjson::Document summary = Post({Mutation::RemovePipeline(pipeline_id)});
  EXPECT_EQ(summary["version"].GetInt64(), 1);
  EXPECT_EQ(summary["pipelines"].GetInt64(),
            static_cast<int64_t>(before.pipelines.size()) - 1);
  EXPECT_EQ(summary["workflows"].GetInt64(),
            static_cast<int64_t>(before.workflows.size()) - 2);
  EXPECT_EQ(summary["jobs"].GetInt64(),
            static_cast<int64_t>(before.jobs.size()) - 4);

  std::vector<std::string> feed_after = feed_before;
  feed_after.erase(feed_after.begin() + 1);
  const fake_test::WalkResult walk = Walk(FeedPath(org_slug), "id");
  EXPECT_TRUE(walk.ok);
  EXPECT_THAT(walk.ids, ElementsAreArray(feed_after));
  EXPECT_EQ(walk.pages, static_cast<int>((feed_after.size() + 1) / 2));
  httplib::Result gone = ApiGet(workflows_path);
  EXPECT_EQ(gone->status, 404);
  EXPECT_EQ(Message(gone->body), "Pipeline not found");
  for (const std::string& id : workflow_ids) {
    httplib::Result jobs =
        ApiGet(absl::StrCat("/api/v2/workflow/", id, "/job"));
    EXPECT_EQ(jobs->status, 404);
    EXPECT_EQ(Message(jobs->body), "Workflow not found");
  }
  // The other org's feed is untouched.
  EXPECT_THAT(Walk(FeedPath(before.orgs[1].slug), "id").ids,
              ElementsAreArray(ExpectedFeed(before, before.orgs[1].slug)));
  ExpectViewsAgree();
}

TEST_F(MutationsTest, RenamedProjectShowsItsNewNameEverywhere) {
  const Dataset& before = server_->dataset();
  const Project project = before.projects[0];
  ASSERT_EQ(before.contexts[0].org_slug, project.organization_slug);
  Post({Mutation::RenameProject(project.slug, "renamed-by-slug")});
  Post({Mutation::RenameProject(project.id, "renamed")});

  httplib::Result res = ApiGet(ProjectPath(project.slug));
  ASSERT_EQ(res->status, 200);
  rapidjson::Document doc = ParseJson(res->body);
  EXPECT_STREQ(doc["name"].GetString(), "renamed");
  EXPECT_EQ(doc["id"].GetString(), project.id);
  EXPECT_EQ(doc["slug"].GetString(), project.slug);

  // Restrictions name it (context 0 is restricted to project 0).
  const fake_test::WalkResult restrictions = Walk(
      absl::StrCat("/api/v2/context/", before.contexts[0].id, "/restrictions"),
      "name");
  EXPECT_TRUE(restrictions.ok);
  EXPECT_THAT(restrictions.ids, Contains("renamed"));
  EXPECT_THAT(restrictions.ids, Not(Contains(project.name)));

  // Its pipelines' checkout URL is built from the name.
  int checked = 0;
  WalkItems(FeedPath(project.organization_slug),
            [&](const rapidjson::Value& item) {
              if (item["project_slug"].GetString() != project.slug) return;
              EXPECT_TRUE(absl::EndsWith(
                  item["trigger_parameters"]["git"]["checkout_url"].GetString(),
                  "/renamed.git"));
              ++checked;
            });
  EXPECT_EQ(checked, 3);
  EXPECT_EQ(server_->data_version(), 2);
  ExpectViewsAgree();
}

TEST_F(MutationsTest, JoinedAndLeftOrgsChangeCollaborations) {
  const Dataset before = server_->dataset();
  Post({Mutation::AddOrg("new-team")});
  httplib::Result res = ApiGet("/api/v2/me/collaborations");
  ASSERT_EQ(res->status, 200);
  rapidjson::Document collaborations = ParseJson(res->body);
  ASSERT_EQ(collaborations.Size(), before.orgs.size() + 1);
  const auto& added = collaborations[collaborations.Size() - 1];
  EXPECT_STREQ(added["slug"].GetString(), "gh/new-team");
  EXPECT_STREQ(added["name"].GetString(), "new-team");
  EXPECT_STREQ(added["vcs_type"].GetString(), "github");
  EXPECT_EQ(added["id"].GetString(), server_->dataset().orgs.back().id);
  // Its lists exist and are empty.
  for (const std::string& target :
       {FeedPath("gh/new-team"),
        std::string("/api/v2/context?owner-slug=gh%2Fnew-team")}) {
    httplib::Result list = ApiGet(target);
    ASSERT_EQ(list->status, 200) << target;
    EXPECT_EQ(list->body, R"({"next_page_token":null,"items":[]})");
  }
  ExpectViewsAgree();

  // Leaving org 1 takes its projects, pipelines and contexts with it.
  const Org& left = before.orgs[1];
  Post({Mutation::RemoveOrg(left.slug)});
  collaborations = ParseJson(ApiGet("/api/v2/me/collaborations")->body);
  EXPECT_THAT(Strings(collaborations, "slug"),
              ElementsAreArray(std::vector<std::string>{before.orgs[0].slug,
                                                        "gh/new-team"}));
  httplib::Result feed = ApiGet(FeedPath(left.slug));
  EXPECT_EQ(feed->status, 404);
  EXPECT_EQ(Message(feed->body), "Organization does not exist.");
  for (const Project& p : before.projects) {
    if (p.organization_id != left.id) continue;
    EXPECT_EQ(ApiGet(ProjectPath(p.slug))->status, 404) << p.slug;
    EXPECT_EQ(ApiGet(ProjectPath(p.slug) + "/envvar")->status, 404) << p.slug;
  }
  for (const Context& c : before.contexts) {
    if (c.org_slug != left.slug) continue;
    httplib::Result r =
        ApiGet(absl::StrCat("/api/v2/context/", c.id, "/restrictions"));
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(Message(r->body), "Context not found.");
  }
  for (const Pipeline& p : before.pipelines) {
    if (p.org_slug != left.slug) continue;
    EXPECT_EQ(
        ApiGet(absl::StrCat("/api/v2/pipeline/", p.id, "/workflow"))->status,
        404);
  }
  // Org 0 is untouched.
  EXPECT_THAT(Walk(FeedPath(before.orgs[0].slug), "id").ids,
              ElementsAreArray(ExpectedFeed(before, before.orgs[0].slug)));
  ExpectViewsAgree();
}

TEST_F(MutationsTest, NewLoginInMeAndInPipelineActors) {
  ASSERT_TRUE(server_->Mutate(Mutation::SetLogin("renamed-user")).ok());
  applied_.push_back(Mutation::SetLogin("renamed-user"));
  for (const char* path : {"/api/v2/me", "/api/v2/me/"}) {
    rapidjson::Document me = ParseJson(ApiGet(path)->body);
    EXPECT_STREQ(me["login"].GetString(), "renamed-user");
    EXPECT_EQ(me["id"].GetString(), options_.generator.user_id);
  }
  for (const Org& org : server_->dataset().orgs) {
    rapidjson::Document page = ParseJson(ApiGet(FeedPath(org.slug))->body);
    ASSERT_GT(page["items"].Size(), 0u);
    for (const auto& item : page["items"].GetArray()) {
      EXPECT_STREQ(item["trigger"]["actor"]["login"].GetString(),
                   "renamed-user");
    }
  }
  ExpectViewsAgree();
}

TEST_F(MutationsTest, RestrictionRemovedThenAdded) {
  const Dataset& before = server_->dataset();
  const Context context = before.contexts[0];
  const std::string path =
      absl::StrCat("/api/v2/context/", context.id, "/restrictions");
  const fake_test::WalkResult original = Walk(path, "project_id");
  // The expression restriction's project_id is all zeros; then projects 0, 1.
  ASSERT_EQ(original.ids.size(), 3u);
  const std::string project_id = original.ids[1];

  Post({Mutation::RemoveRestriction(context.id, project_id)});
  fake_test::WalkResult walk = Walk(path, "project_id");
  EXPECT_TRUE(walk.ok);
  EXPECT_THAT(walk.ids, ElementsAreArray(std::vector<std::string>{
                            original.ids[0], original.ids[2]}));
  ExpectViewsAgree();

  Post({Mutation::AddRestriction(context.id, project_id)});
  walk = Walk(path, "project_id");
  EXPECT_THAT(walk.ids,
              ElementsAreArray({original.ids[0], original.ids[2], project_id}));
  // The new restriction is a "project" one with a derived id.
  const ContextRestriction* added = nullptr;
  for (const ContextRestriction& r : server_->dataset().restrictions) {
    if (r.context_id == context.id && r.project_id == project_id) added = &r;
  }
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->restriction_type, "project");
  EXPECT_EQ(Walk(path, "id").ids.back(), added->id);
  ExpectViewsAgree();

  // Adding it again is a conflict.
  httplib::Result again = PostMutations(
      *client_,
      MutationToJson(Mutation::AddRestriction(context.id, project_id)));
  EXPECT_EQ(again->status, 409);
  EXPECT_THAT(Message(again->body), HasSubstr("already restricted"));
}

TEST_F(MutationsTest, EnvVarsRemovedAndAdded) {
  const Dataset& before = server_->dataset();
  const Project project = before.projects[1];
  const std::string project_path = ProjectPath(project.slug) + "/envvar";
  const fake_test::WalkResult names = Walk(project_path, "name");
  ASSERT_EQ(names.ids.size(), 3u);
  ASSERT_EQ(names.pages, 2);

  Post({Mutation::RemoveProjectEnvVar(project.slug, names.ids[0]),
        Mutation::AddProjectEnvVar(project.id, "ADDED_VAR", "abcdef-xyz")});
  fake_test::WalkResult walk = Walk(project_path, "name");
  EXPECT_TRUE(walk.ok);
  EXPECT_THAT(walk.ids, ElementsAreArray(std::vector<std::string>{
                            names.ids[1], names.ids[2], "ADDED_VAR"}));
  // The API serves only the masked value.
  httplib::Result second_page = ApiGet(project_path);
  rapidjson::Document page = ParseJson(second_page->body);
  const std::string token = page["next_page_token"].GetString();
  rapidjson::Document last =
      ParseJson(ApiGet(project_path + "?page-token=" + token)->body);
  ASSERT_EQ(last["items"].Size(), 1u);
  EXPECT_STREQ(last["items"][0]["value"].GetString(), "xxxxxyz");
  EXPECT_STREQ(last["items"][0]["created_at"].GetString(), kMutationTime);

  const Context context = before.contexts[2];
  const std::string context_path =
      absl::StrCat("/api/v2/context/", context.id, "/environment-variable");
  const fake_test::WalkResult variables = Walk(context_path, "variable");
  ASSERT_EQ(variables.ids.size(), 3u);
  Post({Mutation::RemoveContextEnvVar(context.id, variables.ids[2])});
  EXPECT_THAT(Walk(context_path, "variable").ids,
              ElementsAreArray(std::vector<std::string>{variables.ids[0],
                                                        variables.ids[1]}));
  ExpectViewsAgree();
}

TEST_F(MutationsTest, WorkflowStatusUpdatedInItsListOnly) {
  const Dataset& before = server_->dataset();
  const Workflow workflow = before.workflows[3];
  const std::string new_status =
      workflow.status == "failed" ? "success" : "failed";
  const std::string path =
      absl::StrCat("/api/v2/pipeline/", workflow.pipeline_id, "/workflow");
  const std::string jobs_path =
      absl::StrCat("/api/v2/workflow/", workflow.id, "/job");
  const std::string jobs_before = ApiGet(jobs_path)->body;

  Post({Mutation::SetWorkflowStatus(workflow.id, new_status)});
  rapidjson::Document page = ParseJson(ApiGet(path)->body);
  int seen = 0;
  for (const auto& item : page["items"].GetArray()) {
    if (item["id"].GetString() != workflow.id) continue;
    EXPECT_EQ(item["status"].GetString(), new_status);
    EXPECT_FALSE(item.HasMember("canceled_by"));
    ++seen;
  }
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(ApiGet(jobs_path)->body, jobs_before);
  ExpectViewsAgree();
}

TEST_F(MutationsTest, JobStatusUpdatedInItsWorkflowsJobsOnly) {
  const Dataset& before = server_->dataset();
  const Job job = before.jobs[2];
  const std::string jobs_path =
      absl::StrCat("/api/v2/workflow/", job.workflow_id, "/job");
  const std::string workflows_path = absl::StrCat(
      "/api/v2/pipeline/", before.workflows[0].pipeline_id, "/workflow");
  const std::string workflows_before = ApiGet(workflows_path)->body;

  Post({Mutation::SetJobStatus(job.id, "running")});
  // Every page of the workflow's jobs, checked item by item.
  int seen = 0;
  std::string token;
  do {
    httplib::Result res =
        ApiGet(token.empty() ? jobs_path
                             : absl::StrCat(jobs_path, "?page-token=", token));
    ASSERT_TRUE(res);
    rapidjson::Document page = ParseJson(res->body);
    for (const auto& item : page["items"].GetArray()) {
      if (item["id"].GetString() != job.id) continue;
      EXPECT_EQ(std::string(item["status"].GetString()), "running");
      EXPECT_EQ(std::string(item["stopped_at"].GetString()), "");
      EXPECT_EQ(std::string(item["started_at"].GetString()), job.started_at);
      ++seen;
    }
    token = page["next_page_token"].IsString()
                ? page["next_page_token"].GetString()
                : "";
  } while (!token.empty());
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(ApiGet(workflows_path)->body, workflows_before);
  ExpectViewsAgree();

  Post({Mutation::SetJobStatus(job.id, "success")});
  EXPECT_EQ(server_->dataset().jobs[2].stopped_at, kMutationTime);
  ExpectViewsAgree();
}

TEST_F(MutationsTest, BadRequestsChangeNothing) {
  const Dataset& before = server_->dataset();
  struct Case {
    std::string body;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"not json", 400, "not JSON"},
      {"[]", 400, "empty"},
      {R"({"op":"explode"})", 400, "unknown op 'explode'"},
      {R"({"op":"remove_pipeline"})", 400, "field 'id' is required"},
      {R"({"op":"remove_pipeline","id":"no-such-id"})", 404,
       "pipeline 'no-such-id' not found"},
      {R"({"op":"rename_project","project":"gh/x/y","name":"n"})", 404,
       "project 'gh/x/y' not found"},
      {R"({"op":"set_workflow_status","id":"w-404","status":"failed"})", 404,
       "workflow 'w-404' not found"},
      {R"({"op":"set_job_status","id":"j-404","status":"failed"})", 404,
       "job 'j-404' not found"},
      {absl::StrCat(R"({"op":"set_job_status","id":")", before.jobs[0].id,
                    R"(","status":"done"})"),
       400, "'done' is not a job status"},
      {R"({"op":"remove_org","org":"gh/nobody"})", 404,
       "org 'gh/nobody' not found"},
      // All or nothing: the first one would have worked.
      {absl::StrCat(R"([{"op":"set_login","login":"x"},)",
                    R"({"op":"remove_pipeline","id":"zzz"}])"),
       404, "mutation #1 (remove_pipeline): pipeline 'zzz' not found"},
      {absl::StrCat(R"({"op":"add_org","name":")", before.orgs[1].name,
                    R"("})"),
       409, "already exists"},
  };
  for (const Case& c : cases) {
    httplib::Result res = PostMutations(*client_, c.body);
    ASSERT_TRUE(res) << c.body;
    EXPECT_EQ(res->status, c.status) << c.body;
    EXPECT_THAT(Message(res->body), HasSubstr(c.message)) << c.body;
    EXPECT_EQ(res->get_header_value("Content-Type"),
              "application/json; charset=utf-8");
  }
  EXPECT_EQ(client_->Get("/_control/mutations")->status, 404);
  EXPECT_EQ(
      client_->Post("/_control/dataset", "{}", "application/json")->status,
      404);
  EXPECT_EQ(server_->Mutate(std::vector<Mutation>()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server_->Mutate(Mutation::RemovePipeline("nope")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(server_->data_version(), 0);
  EXPECT_EQ(server_->dataset().user.login, options_.generator.login);
  ExpectViewsAgree();
  // No API request was made or counted.
  EXPECT_EQ(server_->RequestCount("total"), 0);
}

TEST(FakeCircleCiReplayMutationsTest, ReplayModeRefusesMutations) {
  FakeCircleCiOptions options;
  options.mode = FakeMode::kReplay;
  options.recordings = {fake_test::TestDataPath("fetch-projects.har")};
  absl::StatusOr<std::unique_ptr<FakeCircleCi>> server =
      FakeCircleCi::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->Mutate(Mutation::SetLogin("x")).code(),
            absl::StatusCode::kFailedPrecondition);
  auto client = MakeClient((*server)->port());
  httplib::Result post =
      PostMutations(*client, R"({"op":"set_login","login":"x"})");
  EXPECT_EQ(post->status, 409);
  EXPECT_THAT(Message(post->body), HasSubstr("generated mode"));
  EXPECT_EQ(client->Get("/_control/dataset")->status, 409);
}

TEST_F(MutationsTest, DatasetReferencesOutliveMutations) {
  const Dataset& before = server_->dataset();
  const std::string removed = before.pipelines[0].id;
  ASSERT_TRUE(server_->Mutate(Mutation::RemovePipeline(removed)).ok());
  const Dataset& after = server_->dataset();
  EXPECT_NE(&before, &after);
  // The old version is intact and still readable.
  EXPECT_EQ(before.pipelines[0].id, removed);
  EXPECT_EQ(after.pipelines.size(), before.pipelines.size() - 1);
  EXPECT_EQ(server_->data_version(), 1);
}

// 4 threads read while another applies batches of mutations, alternately
// over HTTP and in-process. Each batch k removes one pipeline, sets the login
// to "login-k" and renames project 0 to "name-k", so every answer must show
// one k throughout: the feed's size, its actors' login and project 0's
// checkout URLs; the summary's and /_control/dataset's counts and version.
TEST(FakeCircleCiConcurrencyTest, ReadersSeeWholeVersions) {
  FakeCircleCiOptions options;
  options.page_size = 100;  // a feed is one page, so one response
  options.generator.orgs = 1;
  options.generator.projects_per_org = 4;
  options.generator.pipelines_per_project = 5;  // 20 pipelines
  options.generator.workflows_per_pipeline = 2;
  options.generator.jobs_per_workflow = 2;
  absl::StatusOr<std::unique_ptr<FakeCircleCi>> started =
      FakeCircleCi::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  FakeCircleCi& server = **started;
  const Dataset initial = server.dataset();
  const std::string org_slug = initial.orgs[0].slug;
  const Project project = initial.projects[0];
  const std::vector<std::string> feed = ExpectedFeed(initial, org_slug);
  constexpr int kBatches = 16;
  ASSERT_GT(feed.size(), static_cast<size_t>(kBatches));

  auto login_at = [&](int64_t k) {
    return k == 0 ? options.generator.login : absl::StrCat("login-", k);
  };
  auto name_at = [&](int64_t k) {
    return k == 0 ? project.name : absl::StrCat("name-", k);
  };
  std::atomic<bool> writer_done{false};
  std::atomic<int> reads{0};
  std::atomic<int> failures{0};
  auto fail = [&](const std::string& what) {
    if (failures.fetch_add(1) < 10) ADD_FAILURE() << what;
  };

  auto reader = [&](int thread) {
    auto client = MakeClient(server.port());
    int round = 0;
    while (!writer_done.load() || round < 3) {
      ++round;
      const int kind = (thread + round) % 3;
      if (kind == 0) {
        httplib::Result res =
            Get(*client, absl::StrCat("/api/v2/pipeline?org-slug=",
                                      PercentEncode(org_slug)));
        if (!res || res->status != 200) {
          fail("feed request failed");
          continue;
        }
        rapidjson::Document doc = ParseJson(res->body);
        const std::vector<std::string> ids = Strings(doc["items"], "id");
        const int64_t k = static_cast<int64_t>(feed.size() - ids.size());
        std::vector<std::string> expected(feed.begin() + k, feed.end());
        if (ids != expected) fail(absl::StrCat("feed at version ", k));
        for (const auto& item : doc["items"].GetArray()) {
          if (item["trigger"]["actor"]["login"].GetString() != login_at(k)) {
            fail(absl::StrCat("actor login at version ", k));
          }
          if (item["project_slug"].GetString() == project.slug &&
              !absl::EndsWith(
                  item["trigger_parameters"]["git"]["checkout_url"].GetString(),
                  absl::StrCat("/", name_at(k), ".git"))) {
            fail(absl::StrCat("checkout url at version ", k));
          }
        }
      } else if (kind == 1) {
        httplib::Result res = client->Get("/_control/dataset-summary");
        if (!res || res->status != 200) {
          fail("summary request failed");
          continue;
        }
        rapidjson::Document s = ParseJson(res->body);
        const int64_t k = s["version"].GetInt64();
        if (s["pipelines"].GetInt64() !=
                static_cast<int64_t>(feed.size()) - k ||
            s["workflows"].GetInt64() != 2 * s["pipelines"].GetInt64() ||
            s["jobs"].GetInt64() != 2 * s["workflows"].GetInt64()) {
          fail(absl::StrCat("summary at version ", k, ": ", res->body));
        }
      } else {
        absl::StatusOr<VersionedDataset> d = FetchDataset(*client);
        if (!d.ok()) {
          fail(std::string(d.status().message()));
          continue;
        }
        const int64_t k = d->version;
        std::set<std::string> pipeline_ids;
        for (const Pipeline& p : d->data.pipelines) pipeline_ids.insert(p.id);
        bool ok = d->data.pipelines.size() == feed.size() - k &&
                  d->data.user.login == login_at(k) &&
                  d->data.projects[0].name == name_at(k) &&
                  d->data.workflows.size() == 2 * d->data.pipelines.size();
        for (const Workflow& w : d->data.workflows) {
          ok = ok && pipeline_ids.contains(w.pipeline_id);
        }
        if (!ok) fail(absl::StrCat("/_control/dataset at version ", k));
      }
      reads.fetch_add(1);
    }
  };

  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) readers.emplace_back(reader, t);
  {
    auto client = MakeClient(server.port());
    for (int k = 1; k <= kBatches; ++k) {
      const std::vector<Mutation> batch = {
          Mutation::RemovePipeline(feed[k - 1]),
          Mutation::SetLogin(login_at(k)),
          Mutation::RenameProject(project.id, name_at(k))};
      if (k % 2 == 0) {
        absl::Status status = server.Mutate(batch);
        EXPECT_TRUE(status.ok()) << status;
      } else {
        std::string body = "{\"mutations\":[";
        for (size_t i = 0; i < batch.size(); ++i) {
          absl::StrAppend(&body, i > 0 ? "," : "", MutationToJson(batch[i]));
        }
        body += "]}";
        httplib::Result res = PostMutations(*client, body);
        EXPECT_TRUE(res && res->status == 200);
      }
      // dataset() from this thread too: one whole version.
      const Dataset& now = server.dataset();
      EXPECT_EQ(now.pipelines.size(), feed.size() - k);
      EXPECT_EQ(now.user.login, login_at(k));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  writer_done.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(server.data_version(), kBatches);
  EXPECT_GE(reads.load(), 12);
  std::printf("%d consistent reads during %d mutation batches\n", reads.load(),
              kBatches);
}

// 30k+ items: GET /_control/dataset streams them (chunked), and a mutation
// re-renders only what it changed, so it is quick even at this size.
TEST(FakeCircleCiLargeDatasetTest, StreamsAndMutatesThirtyThousandItems) {
  FakeCircleCiOptions options;
  options.generator.orgs = 2;
  options.generator.projects_per_org = 10;
  options.generator.pipelines_per_project = 25;  // 500 pipelines
  options.generator.workflows_per_pipeline = 3;  // 1,500 workflows
  options.generator.jobs_per_workflow = 20;      // 30,000 jobs
  absl::StatusOr<std::unique_ptr<FakeCircleCi>> started =
      FakeCircleCi::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  FakeCircleCi& server = **started;
  auto client = MakeClient(server.port());

  const auto start = std::chrono::steady_clock::now();
  httplib::Result res = client->Get("/_control/dataset");
  const auto fetched = std::chrono::steady_clock::now();
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Transfer-Encoding"), "chunked");
  absl::StatusOr<VersionedDataset> data = DatasetFromJson(res->body);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->data, WithoutSecrets(server.dataset()));
  EXPECT_EQ(data->data.jobs.size(), 30'000u);

  const Dataset& before = server.dataset();
  const auto mutate_start = std::chrono::steady_clock::now();
  ASSERT_TRUE(server
                  .Mutate({Mutation::RemovePipeline(before.pipelines[7].id),
                           Mutation::SetWorkflowStatus(before.workflows[100].id,
                                                       "on_hold")})
                  .ok());
  const auto mutated = std::chrono::steady_clock::now();
  EXPECT_EQ(server.dataset().jobs.size(), 30'000u - 60u);
  httplib::Result workflows = Get(
      *client, absl::StrCat("/api/v2/pipeline/",
                            before.workflows[100].pipeline_id, "/workflow"));
  EXPECT_THAT(workflows->body, HasSubstr("\"status\":\"on_hold\""));

  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const long long fetch_ms =
      duration_cast<milliseconds>(fetched - start).count();
  const long long mutate_ms =
      duration_cast<milliseconds>(mutated - mutate_start).count();
  std::printf("GET /_control/dataset: %zu bytes in %lld ms; mutation %lld ms\n",
              res->body.size(), fetch_ms, mutate_ms);
  // Printed, not asserted: a time bound is flaky on a loaded machine.
}

}  // namespace
}  // namespace graphmill::fakes
