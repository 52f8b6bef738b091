// Tests of generated_api.h after mutations: an API rebuilt from its previous
// version answers every request byte for byte like one built from scratch,
// re-renders only the lists a mutation changed, and page tokens stay safe when
// a list changes between pages.
#include "tests/fakes/circleci/generated_api.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/fakes/circleci/mutations.h"
#include "tests/fakes/circleci/test_util.h"

namespace graphmill::fakes {
namespace {

using fake_test::Message;
using ::testing::ElementsAre;

struct Target {
  RouteMatch route;
  QueryParams query;
};

Target MakeTarget(const char* name, std::string resource) {
  Target target;
  target.route.name = name;
  target.route.resource = resource;
  if (target.route.name == "pipeline") {
    target.query.emplace_back("org-slug", resource);
  } else if (target.route.name == "context") {
    target.query.emplace_back("owner-slug", resource);
  }
  return target;
}

// Every request the API answers for `data`'s objects.
void AddTargets(const Dataset& data, std::vector<Target>& out) {
  out.push_back(MakeTarget("me", ""));
  out.push_back(MakeTarget("collaborations", ""));
  for (const Org& org : data.orgs) {
    out.push_back(MakeTarget("pipeline", org.slug));
    out.push_back(MakeTarget("context", org.slug));
  }
  for (const Project& project : data.projects) {
    out.push_back(MakeTarget("project", project.slug));
    out.push_back(MakeTarget("envvar", project.slug));
  }
  for (const Pipeline& pipeline : data.pipelines) {
    out.push_back(MakeTarget("pipeline-workflows", pipeline.id));
  }
  for (const Workflow& workflow : data.workflows) {
    out.push_back(MakeTarget("workflow-jobs", workflow.id));
  }
  for (const Context& context : data.contexts) {
    out.push_back(MakeTarget("restrictions", context.id));
    out.push_back(MakeTarget("context-envvar", context.id));
  }
}

std::string NextToken(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject() ||
      !doc.HasMember("next_page_token") || !doc["next_page_token"].IsString()) {
    return "";
  }
  return doc["next_page_token"].GetString();
}

// "status body" of every page, following tokens.
std::vector<std::string> Walk(const GeneratedApi& api, const Target& target) {
  std::vector<std::string> pages;
  QueryParams query = target.query;
  for (int page = 0; page < 1000; ++page) {
    const ApiReply reply = api.Serve(target.route, query);
    pages.push_back(absl::StrCat(reply.status, " ", reply.body));
    const std::string token = reply.status == 200 ? NextToken(reply.body) : "";
    if (token.empty()) break;
    query = target.query;
    query.emplace_back("page-token", token);
  }
  return pages;
}

GeneratorOptions SmallOptions() {
  GeneratorOptions options;
  options.orgs = 2;
  options.projects_per_org = 3;
  options.pipelines_per_project = 2;
  options.workflows_per_pipeline = 2;
  options.jobs_per_workflow = 2;
  options.contexts_per_org = 2;
  options.env_vars_per_project = 2;
  options.env_vars_per_context = 2;
  options.project_restrictions_per_context = 2;
  return options;
}

struct Scenario {
  std::string name;
  std::vector<Mutation> mutations;
  int rendered_lists;  // lists the rebuild must render itself
};

std::vector<Scenario> Scenarios(const Dataset& d) {
  // Project 0 (org 0) is named by a restriction of both org-0 contexts.
  const Project& project = d.projects[0];
  const Context& context = d.contexts[0];
  return {
      {"remove_pipeline", {Mutation::RemovePipeline(d.pipelines[1].id)}, 1},
      {"rename_project",
       {Mutation::RenameProject(project.slug, "new-name")},
       3},
      {"add_org", {Mutation::AddOrg("joined")}, 2},
      {"remove_org", {Mutation::RemoveOrg(d.orgs[1].slug)}, 0},
      {"set_login", {Mutation::SetLogin("new-login")}, 2},
      {"add_restriction",
       {Mutation::AddRestriction(context.id, d.projects[2].id)},
       1},
      {"remove_restriction",
       {Mutation::RemoveRestriction(context.id, project.id)},
       1},
      {"add_project_env_var",
       {Mutation::AddProjectEnvVar(project.id, "ADDED")},
       1},
      {"remove_project_env_var",
       {Mutation::RemoveProjectEnvVar(d.project_env_vars[3].project_slug,
                                      d.project_env_vars[3].name)},
       1},
      {"add_context_env_var",
       {Mutation::AddContextEnvVar(context.id, "ADDED")},
       1},
      {"remove_context_env_var",
       {Mutation::RemoveContextEnvVar(d.context_env_vars[2].context_id,
                                      d.context_env_vars[2].variable)},
       1},
      {"set_workflow_status",
       {Mutation::SetWorkflowStatus(
           d.workflows[4].id,
           d.workflows[4].status == "failed" ? "success" : "failed")},
       1},
  };
}

class RebuildTest : public ::testing::TestWithParam<std::pair<int, bool>> {};

TEST_P(RebuildTest, AnswersLikeAFreshBuildAndRendersOnlyWhatChanged) {
  const auto [page_size, overlap] = GetParam();
  absl::StatusOr<Dataset> before = GenerateDataset(SmallOptions());
  ASSERT_TRUE(before.ok());
  const GeneratedApi before_api(*before, page_size, overlap);
  for (const Scenario& scenario : Scenarios(*before)) {
    SCOPED_TRACE(scenario.name);
    absl::StatusOr<Dataset> after = ApplyMutations(*before, scenario.mutations);
    ASSERT_TRUE(after.ok()) << after.status();
    const GeneratedApi rebuilt(*after, before_api, *before);
    const GeneratedApi fresh(*after, page_size, overlap);
    EXPECT_EQ(rebuilt.rendered_lists(), scenario.rendered_lists);

    std::vector<Target> targets;
    AddTargets(*before, targets);  // removed objects must now be 404s
    AddTargets(*after, targets);
    int changed = 0;
    for (const Target& target : targets) {
      const std::vector<std::string> pages = Walk(rebuilt, target);
      EXPECT_EQ(pages, Walk(fresh, target))
          << target.route.name << " " << target.route.resource;
      if (pages != Walk(before_api, target)) ++changed;
    }
    EXPECT_GT(changed, 0) << "the mutation changed no answer";
  }
}

INSTANTIATE_TEST_SUITE_P(PageSizes, RebuildTest,
                         ::testing::Values(std::make_pair(2, false),
                                           std::make_pair(3, true),
                                           std::make_pair(20, false)));

TEST(GeneratedApiTest, RebuildsChainAcrossGenerations) {
  absl::StatusOr<Dataset> data = GenerateDataset(SmallOptions());
  ASSERT_TRUE(data.ok());
  std::vector<Dataset> versions = {*data};
  std::vector<std::unique_ptr<GeneratedApi>> apis;
  apis.push_back(std::make_unique<GeneratedApi>(*data, 2, false));
  for (const Scenario& scenario : Scenarios(*data)) {
    if (scenario.name == "remove_org") continue;  // later ones need org 1
    absl::StatusOr<Dataset> next =
        ApplyMutations(versions.back(), scenario.mutations);
    ASSERT_TRUE(next.ok()) << scenario.name << ": " << next.status();
    versions.push_back(*std::move(next));
  }
  // Built one from the other, each previous API destroyed once used.
  for (size_t i = 1; i < versions.size(); ++i) {
    auto next = std::make_unique<GeneratedApi>(versions[i], *apis.back(),
                                               versions[i - 1]);
    apis.back().reset();
    apis.push_back(std::move(next));
  }
  const GeneratedApi fresh(versions.back(), 2, false);
  std::vector<Target> targets;
  AddTargets(versions.front(), targets);
  AddTargets(versions.back(), targets);
  for (const Target& target : targets) {
    EXPECT_EQ(Walk(*apis.back(), target), Walk(fresh, target))
        << target.route.name << " " << target.route.resource;
  }
}

// Page tokens are offsets into their list: a removal before the offset shifts
// the rest up (the client skips as many items as were removed), a list that
// shrank below the offset ends with an empty page, and a list that is gone is
// that resource's 404. Never a crash, never a loop.
TEST(GeneratedApiTest, PageTokensAcrossMutations) {
  GeneratorOptions options = SmallOptions();
  options.orgs = 1;
  options.pipelines_per_project = 2;  // a 6-pipeline feed
  absl::StatusOr<Dataset> before = GenerateDataset(options);
  ASSERT_TRUE(before.ok());
  const GeneratedApi before_api(*before, 2, false);
  const Target feed = MakeTarget("pipeline", before->orgs[0].slug);
  auto ids = [](const ApiReply& reply) {
    rapidjson::Document doc = fake_test::ParseJson(reply.body);
    return fake_test::Strings(doc["items"], "id");
  };
  const ApiReply first = before_api.Serve(feed.route, feed.query);
  const std::vector<std::string> all_before = [&] {
    std::vector<std::string> out;
    for (const std::string& page : Walk(before_api, feed)) {
      ApiReply reply;
      reply.body = page.substr(4);  // "200 "
      for (const std::string& id : ids(reply)) out.push_back(id);
    }
    return out;
  }();
  ASSERT_EQ(all_before.size(), 6u);
  const std::string token = NextToken(first.body);
  ASSERT_FALSE(token.empty());
  auto page_with = [&](const GeneratedApi& api, const Target& target,
                       const std::string& page_token) {
    QueryParams query = target.query;
    query.emplace_back("page-token", page_token);
    return api.Serve(target.route, query);
  };

  // Item 0 (on page 1) removed: page 2 now starts at old item 3.
  absl::StatusOr<Dataset> shifted =
      ApplyMutations(*before, {Mutation::RemovePipeline(all_before[0])});
  ASSERT_TRUE(shifted.ok());
  const GeneratedApi shifted_api(*shifted, before_api, *before);
  const ApiReply second = page_with(shifted_api, feed, token);
  ASSERT_EQ(second.status, 200);
  EXPECT_THAT(ids(second), ElementsAre(all_before[3], all_before[4]));

  // Four removed: the token's offset (2) is now the end: an empty last page.
  absl::StatusOr<Dataset> shrunk =
      ApplyMutations(*before, {Mutation::RemovePipeline(all_before[0]),
                               Mutation::RemovePipeline(all_before[1]),
                               Mutation::RemovePipeline(all_before[2]),
                               Mutation::RemovePipeline(all_before[5])});
  ASSERT_TRUE(shrunk.ok());
  const GeneratedApi shrunk_api(*shrunk, before_api, *before);
  const ApiReply past_end = page_with(shrunk_api, feed, token);
  EXPECT_EQ(past_end.status, 200);
  EXPECT_EQ(past_end.body, R"({"next_page_token":null,"items":[]})");

  // A list that is gone: its parent's 404, not a page.
  const Pipeline& pipeline = before->pipelines[0];
  const Target workflows = MakeTarget("pipeline-workflows", pipeline.id);
  const GeneratedApi small_pages(*before, 1, false);
  const std::string workflow_token =
      NextToken(small_pages.Serve(workflows.route, workflows.query).body);
  ASSERT_FALSE(workflow_token.empty());
  absl::StatusOr<Dataset> removed =
      ApplyMutations(*before, {Mutation::RemovePipeline(pipeline.id)});
  ASSERT_TRUE(removed.ok());
  const GeneratedApi removed_api(*removed, small_pages, *before);
  const ApiReply gone = page_with(removed_api, workflows, workflow_token);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(Message(gone.body), "Pipeline not found");

  // Walking while the list changes still ends: every token's offset is past
  // the previous one.
  EXPECT_EQ(Walk(shrunk_api, feed).size(), 1u);
  EXPECT_EQ(Walk(shifted_api, feed).size(), 3u);
}

}  // namespace
}  // namespace graphmill::fakes
