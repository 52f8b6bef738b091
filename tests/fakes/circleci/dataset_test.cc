// Tests of dataset.h: sizes, determinism, internal consistency and generation
// speed.
#include "tests/fakes/circleci/dataset.h"

#include <chrono>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace graphmill::fakes {
namespace {

// Everything a client could observe, flattened, to compare two datasets.
std::string Fingerprint(const Dataset& d) {
  std::string out = absl::StrCat(d.user.id, d.user.login, "\n");
  for (const Org& o : d.orgs)
    absl::StrAppend(&out, o.id, o.slug, o.name, o.avatar_url, "\n");
  for (const Project& p : d.projects)
    absl::StrAppend(&out, p.id, p.slug, p.name, "\n");
  for (const Pipeline& p : d.pipelines) {
    absl::StrAppend(&out, p.id, p.number, p.created_at, p.branch, p.revision,
                    "\n");
  }
  for (const Workflow& w : d.workflows)
    absl::StrAppend(&out, w.id, w.status, w.stopped_at, "\n");
  for (const Job& j : d.jobs)
    absl::StrAppend(&out, j.id, j.status, j.stopped_at, "\n");
  for (const ProjectEnvVar& v : d.project_env_vars)
    absl::StrAppend(&out, v.name, v.value, "\n");
  for (const Context& c : d.contexts) absl::StrAppend(&out, c.id, c.name, "\n");
  for (const ContextRestriction& r : d.restrictions)
    absl::StrAppend(&out, r.id, r.project_id, "\n");
  for (const ContextEnvVar& v : d.context_env_vars)
    absl::StrAppend(&out, v.variable, v.created_at, "\n");
  return out;
}

TEST(GenerateDatasetTest, SizesAreProductsOfOptions) {
  GeneratorOptions options;
  options.orgs = 3;
  options.projects_per_org = 4;
  options.pipelines_per_project = 5;
  options.workflows_per_pipeline = 2;
  options.jobs_per_workflow = 3;
  options.contexts_per_org = 2;
  options.env_vars_per_project = 3;
  options.env_vars_per_context = 4;
  options.project_restrictions_per_context = 2;
  absl::StatusOr<Dataset> data = GenerateDataset(options);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->orgs.size(), 3u);
  EXPECT_EQ(data->projects.size(), 12u);
  EXPECT_EQ(data->pipelines.size(), 60u);
  EXPECT_EQ(data->workflows.size(), 120u);
  EXPECT_EQ(data->jobs.size(), 360u);
  EXPECT_EQ(data->project_env_vars.size(), 36u);
  EXPECT_EQ(data->contexts.size(), 6u);
  EXPECT_EQ(data->restrictions.size(),
            6u * 3);  // 2 project + 1 expression each
  EXPECT_EQ(data->context_env_vars.size(), 24u);
}

TEST(GenerateDatasetTest, SameSeedSameDataOtherSeedOtherData) {
  GeneratorOptions options;
  const std::string first = Fingerprint(*GenerateDataset(options));
  EXPECT_EQ(first, Fingerprint(*GenerateDataset(options)));
  options.seed = 2;
  EXPECT_NE(first, Fingerprint(*GenerateDataset(options)));
}

TEST(GenerateDatasetTest, ObjectsAreConsistent) {
  GeneratorOptions options;
  options.orgs = 2;
  options.projects_per_org = 3;
  options.project_restrictions_per_context = 5;  // capped at 3 projects
  absl::StatusOr<Dataset> data = GenerateDataset(options);
  ASSERT_TRUE(data.ok());

  EXPECT_EQ(data->orgs[0].name, options.login);
  EXPECT_EQ(data->orgs[0].vcs_type, "circleci");
  EXPECT_EQ(data->orgs[1].vcs_type, "github");
  EXPECT_EQ(data->orgs[1].slug, absl::StrCat("gh/", data->orgs[1].name));

  std::set<std::string> ids;
  std::set<std::string> project_ids;
  for (const Project& project : data->projects) {
    EXPECT_TRUE(ids.insert(project.id).second);
    project_ids.insert(project.id);
    EXPECT_TRUE(
        absl::StartsWith(project.slug, project.organization_slug + "/"));
  }
  std::set<std::string> pipeline_ids;
  for (const Pipeline& pipeline : data->pipelines) {
    EXPECT_TRUE(ids.insert(pipeline.id).second);
    pipeline_ids.insert(pipeline.id);
    EXPECT_GE(pipeline.number, 1);
  }
  // Numbers grow with time within a project.
  for (size_t i = 1; i < data->pipelines.size(); ++i) {
    const Pipeline& a = data->pipelines[i - 1];
    const Pipeline& b = data->pipelines[i];
    if (a.project_slug == b.project_slug) {
      EXPECT_EQ(b.number, a.number + 1);
      EXPECT_LE(a.created_at_ms, b.created_at_ms);
    }
  }
  for (const Workflow& workflow : data->workflows) {
    EXPECT_TRUE(ids.insert(workflow.id).second);
    EXPECT_EQ(pipeline_ids.count(workflow.pipeline_id), 1u);
    EXPECT_EQ(workflow.canceled_by.empty(), workflow.status != "canceled");
  }
  for (size_t i = 0; i < data->jobs.size(); ++i) {
    const Job& job = data->jobs[i];
    EXPECT_TRUE(ids.insert(job.id).second);
    if (job.dependencies.empty()) continue;
    ASSERT_EQ(job.dependencies.size(), 1u);
    EXPECT_EQ(job.dependencies[0], data->jobs[i - 1].id);
    EXPECT_EQ(data->jobs[i - 1].workflow_id, job.workflow_id);
  }

  std::set<std::string> names_seen;
  for (const ProjectEnvVar& var : data->project_env_vars) {
    EXPECT_EQ(var.masked_value,
              "xxxx" + var.value.substr(var.value.size() - 3));
    EXPECT_NE(var.masked_value, var.value);
    names_seen.insert(var.name);
  }
  // Names repeat across projects, so keys that are not project-scoped collide.
  EXPECT_LT(names_seen.size(), data->project_env_vars.size());

  for (const Context& context : data->contexts) {
    std::vector<const ContextRestriction*> mine;
    for (const ContextRestriction& r : data->restrictions) {
      if (r.context_id == context.id) mine.push_back(&r);
    }
    ASSERT_EQ(mine.size(), 4u);  // 1 expression + min(5, 3) projects
    EXPECT_EQ(mine[0]->restriction_type, "expression");
    EXPECT_EQ(mine[0]->project_id, "00000000-0000-0000-0000-000000000000");
    EXPECT_EQ(mine[0]->name, "");
    std::set<std::string> restricted;
    for (size_t i = 1; i < mine.size(); ++i) {
      EXPECT_EQ(mine[i]->restriction_type, "project");
      EXPECT_EQ(mine[i]->restriction_value, mine[i]->project_id);
      EXPECT_EQ(project_ids.count(mine[i]->project_id), 1u);
      restricted.insert(mine[i]->project_id);
    }
    EXPECT_EQ(restricted.size(), 3u);
  }
}

TEST(GenerateDatasetTest, UniqueNamesWhenListsRunOut) {
  GeneratorOptions options;
  options.orgs = 1;
  options.projects_per_org = 1;
  options.env_vars_per_project = 20;
  options.workflows_per_pipeline = 12;
  options.jobs_per_workflow = 20;
  absl::StatusOr<Dataset> data = GenerateDataset(options);
  ASSERT_TRUE(data.ok());
  std::set<std::string> names;
  for (const ProjectEnvVar& var : data->project_env_vars)
    names.insert(var.name);
  EXPECT_EQ(names.size(), 20u);
  std::set<std::string> workflow_names;
  for (const Workflow& w : data->workflows) {
    if (w.pipeline_id == data->pipelines[0].id) workflow_names.insert(w.name);
  }
  EXPECT_EQ(workflow_names.size(), 12u);
}

TEST(GenerateDatasetTest, RejectsBadSizesNamingTheOption) {
  GeneratorOptions options;
  options.jobs_per_workflow = -1;
  absl::StatusOr<Dataset> data = GenerateDataset(options);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(data.status().message(), "jobs_per_workflow"));

  options.jobs_per_workflow = 1000;
  options.pipelines_per_project = 1000;
  EXPECT_EQ(GenerateDataset(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GenerateDatasetTest, EmptyOrgIsFine) {
  GeneratorOptions options;
  options.orgs = 1;
  options.projects_per_org = 0;
  options.contexts_per_org = 1;
  absl::StatusOr<Dataset> data = GenerateDataset(options);
  ASSERT_TRUE(data.ok());
  EXPECT_TRUE(data->projects.empty());
  EXPECT_EQ(data->restrictions.size(), 1u);  // only the expression restriction
}

TEST(GenerateDatasetTest, RealisticScaleIsGeneratedInFull) {
  GeneratorOptions options;
  options.orgs = 3;
  options.projects_per_org = 17;       // 51 projects
  options.pipelines_per_project = 40;  // 2,040 pipelines
  options.workflows_per_pipeline = 3;  // 6,120 workflows
  options.jobs_per_workflow = 3;       // 18,360 jobs
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Dataset> data = GenerateDataset(options);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->jobs.size(), 18360u);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  RecordProperty("generate_ms", static_cast<int>(ms));
  std::printf("generated %zu objects in %lld ms\n",
              data->projects.size() + data->pipelines.size() +
                  data->workflows.size() + data->jobs.size(),
              static_cast<long long>(ms));
  // The time is printed, not asserted (a bound would be flaky under load).
}

}  // namespace
}  // namespace graphmill::fakes
