// Tests of mutations.h: what each operation changes in a Dataset (and what it
// leaves alone), errors, all-or-nothing batches and the JSON form.
#include "tests/fakes/circleci/mutations.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/circleci/test_util.h"

namespace graphmill::fakes {
namespace {

using ::testing::HasSubstr;

Dataset Generate() {
  GeneratorOptions options;
  options.orgs = 2;
  options.projects_per_org = 3;
  options.pipelines_per_project = 2;
  options.workflows_per_pipeline = 2;
  options.jobs_per_workflow = 3;
  options.contexts_per_org = 2;
  options.env_vars_per_project = 2;
  options.env_vars_per_context = 2;
  options.project_restrictions_per_context = 2;
  absl::StatusOr<Dataset> data = GenerateDataset(options);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *std::move(data) : Dataset();
}

Dataset Apply(const Dataset& data, const std::vector<Mutation>& mutations) {
  absl::StatusOr<Dataset> out = ApplyMutations(data, mutations);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *std::move(out) : data;
}

template <typename T, typename Pred>
int CountIf(const std::vector<T>& items, Pred pred) {
  return static_cast<int>(std::count_if(items.begin(), items.end(), pred));
}

// `after` equals `before` except for the vectors the test itself checks:
// each vector not listed in `changed` must be untouched.
void ExpectOnlyChanged(const Dataset& before, const Dataset& after,
                       const std::set<std::string>& changed) {
  auto check = [&](const char* name, bool same) {
    if (!changed.contains(name)) {
      EXPECT_TRUE(same) << name << " changed";
    }
  };
  check("user", before.user == after.user);
  check("orgs", before.orgs == after.orgs);
  check("projects", before.projects == after.projects);
  check("pipelines", before.pipelines == after.pipelines);
  check("workflows", before.workflows == after.workflows);
  check("jobs", before.jobs == after.jobs);
  check("project_env_vars", before.project_env_vars == after.project_env_vars);
  check("contexts", before.contexts == after.contexts);
  check("restrictions", before.restrictions == after.restrictions);
  check("context_env_vars", before.context_env_vars == after.context_env_vars);
}

TEST(ApplyMutationsTest, RemovePipelineTakesItsWorkflowsAndJobs) {
  const Dataset before = Generate();
  const Pipeline& pipeline = before.pipelines[3];
  std::set<std::string> workflow_ids;
  for (const Workflow& w : before.workflows) {
    if (w.pipeline_id == pipeline.id) workflow_ids.insert(w.id);
  }
  ASSERT_EQ(workflow_ids.size(), 2u);

  const Dataset after = Apply(before, {Mutation::RemovePipeline(pipeline.id)});
  EXPECT_EQ(after.pipelines.size(), before.pipelines.size() - 1);
  EXPECT_EQ(after.workflows.size(), before.workflows.size() - 2);
  EXPECT_EQ(after.jobs.size(), before.jobs.size() - 6);
  EXPECT_EQ(CountIf(after.pipelines,
                    [&](const Pipeline& p) { return p.id == pipeline.id; }),
            0);
  EXPECT_EQ(CountIf(after.jobs,
                    [&](const Job& j) {
                      return workflow_ids.contains(j.workflow_id);
                    }),
            0);
  ExpectOnlyChanged(before, after, {"pipelines", "workflows", "jobs"});
  // The source is never changed.
  EXPECT_EQ(before, Generate());
}

TEST(ApplyMutationsTest, RenameProjectByIdOrSlugKeepsIdAndSlug) {
  const Dataset before = Generate();
  const Project& project = before.projects[0];
  // Generated contexts of org 0 are restricted to its first projects.
  const int restrictions_naming_it = CountIf(
      before.restrictions,
      [&](const ContextRestriction& r) { return r.project_id == project.id; });
  ASSERT_GT(restrictions_naming_it, 0);

  for (const std::string& key : {project.id, project.slug}) {
    const Dataset after =
        Apply(before, {Mutation::RenameProject(key, "renamed-api")});
    EXPECT_EQ(after.projects[0].name, "renamed-api");
    EXPECT_EQ(after.projects[0].id, project.id);
    EXPECT_EQ(after.projects[0].slug, project.slug);
    EXPECT_EQ(CountIf(after.restrictions,
                      [&](const ContextRestriction& r) {
                        return r.project_id == project.id &&
                               r.name == "renamed-api";
                      }),
              restrictions_naming_it);
    ExpectOnlyChanged(before, after, {"projects", "restrictions"});
  }
}

TEST(ApplyMutationsTest, AddOrgAppendsAnEmptyOrgWithDerivedFields) {
  const Dataset before = Generate();
  const Dataset after = Apply(before, {Mutation::AddOrg("new-team")});
  ASSERT_EQ(after.orgs.size(), before.orgs.size() + 1);
  const Org& org = after.orgs.back();
  EXPECT_EQ(org.name, "new-team");
  EXPECT_EQ(org.slug, "gh/new-team");
  EXPECT_EQ(org.vcs_type, "github");
  EXPECT_EQ(org.id.size(), 36u);
  EXPECT_EQ(org.id[14], '4');  // version-4 shape
  ExpectOnlyChanged(before, after, {"orgs"});
  // Derived, so another process computes the same id.
  EXPECT_EQ(Apply(before, {Mutation::AddOrg("new-team")}).orgs.back().id,
            org.id);

  const Dataset circleci =
      Apply(before, {Mutation::AddOrg("other", "circleci")});
  EXPECT_TRUE(absl::StartsWith(circleci.orgs.back().slug, "circleci/"));
  EXPECT_EQ(circleci.orgs.back().slug.size(), 9u + 22u);

  Mutation explicit_fields = Mutation::AddOrg("given");
  explicit_fields.id = "11111111-2222-4333-8444-555555555555";
  explicit_fields.slug = "gh/given-slug";
  explicit_fields.avatar_url = "https://example.com/a.png";
  const Org given = Apply(before, {explicit_fields}).orgs.back();
  EXPECT_EQ(given.id, explicit_fields.id);
  EXPECT_EQ(given.slug, "gh/given-slug");
  EXPECT_EQ(given.avatar_url, "https://example.com/a.png");
}

TEST(ApplyMutationsTest, RemoveOrgRemovesEverythingUnderIt) {
  const Dataset before = Generate();
  const Org& org = before.orgs[1];
  const Dataset after = Apply(before, {Mutation::RemoveOrg(org.slug)});
  ASSERT_EQ(after.orgs.size(), 1u);
  EXPECT_EQ(after.orgs[0], before.orgs[0]);
  for (const Project& p : after.projects) {
    EXPECT_EQ(p.organization_id, before.orgs[0].id);
  }
  for (const Pipeline& p : after.pipelines) {
    EXPECT_EQ(p.org_slug, before.orgs[0].slug);
  }
  for (const Context& c : after.contexts) {
    EXPECT_EQ(c.org_slug, before.orgs[0].slug);
  }
  // Exactly the other org's half of each kind is left.
  EXPECT_EQ(after.projects.size(), before.projects.size() / 2);
  EXPECT_EQ(after.pipelines.size(), before.pipelines.size() / 2);
  EXPECT_EQ(after.workflows.size(), before.workflows.size() / 2);
  EXPECT_EQ(after.jobs.size(), before.jobs.size() / 2);
  EXPECT_EQ(after.project_env_vars.size(), before.project_env_vars.size() / 2);
  EXPECT_EQ(after.contexts.size(), before.contexts.size() / 2);
  EXPECT_EQ(after.restrictions.size(), before.restrictions.size() / 2);
  EXPECT_EQ(after.context_env_vars.size(), before.context_env_vars.size() / 2);
  EXPECT_EQ(after.user, before.user);
  // By id gives the same result.
  EXPECT_EQ(Apply(before, {Mutation::RemoveOrg(org.id)}), after);
}

TEST(ApplyMutationsTest, RemoveOrgAlsoDropsOtherOrgsRestrictionsToItsProjects) {
  const Dataset before = Generate();
  const Context& context = before.contexts[0];  // org 0
  const Project& foreign = before.projects[4];  // org 1
  const Dataset after =
      Apply(before, {Mutation::AddRestriction(context.id, foreign.id),
                     Mutation::RemoveOrg(before.orgs[1].id)});
  EXPECT_EQ(CountIf(after.restrictions,
                    [&](const ContextRestriction& r) {
                      return r.project_id == foreign.id;
                    }),
            0);
  EXPECT_EQ(CountIf(after.restrictions,
                    [&](const ContextRestriction& r) {
                      return r.context_id == context.id;
                    }),
            CountIf(before.restrictions, [&](const ContextRestriction& r) {
              return r.context_id == context.id;
            }));
}

TEST(ApplyMutationsTest, SetLoginChangesOnlyTheUser) {
  const Dataset before = Generate();
  const Dataset after = Apply(before, {Mutation::SetLogin("someone-else")});
  EXPECT_EQ(after.user.login, "someone-else");
  EXPECT_EQ(after.user.id, before.user.id);
  ExpectOnlyChanged(before, after, {"user"});
}

TEST(ApplyMutationsTest, RestrictionsAddedAfterTheirSiblingsAndRemoved) {
  const Dataset before = Generate();
  const Context& context = before.contexts[1];
  std::vector<std::string> restricted;
  for (const ContextRestriction& r : before.restrictions) {
    if (r.context_id == context.id && r.restriction_type == "project") {
      restricted.push_back(r.project_id);
    }
  }
  ASSERT_EQ(restricted.size(), 2u);
  const Project* unrestricted = nullptr;
  for (const Project& p : before.projects) {
    if (p.organization_slug == context.org_slug &&
        std::find(restricted.begin(), restricted.end(), p.id) ==
            restricted.end()) {
      unrestricted = &p;
    }
  }
  ASSERT_NE(unrestricted, nullptr);

  // Added by slug: lands right after the context's last restriction.
  const Dataset added =
      Apply(before, {Mutation::AddRestriction(context.id, unrestricted->slug)});
  ASSERT_EQ(added.restrictions.size(), before.restrictions.size() + 1);
  size_t position = 0;
  for (size_t i = 0; i < added.restrictions.size(); ++i) {
    if (added.restrictions[i].project_id == unrestricted->id &&
        added.restrictions[i].context_id == context.id) {
      position = i;
    }
  }
  const ContextRestriction& restriction = added.restrictions[position];
  EXPECT_EQ(restriction.restriction_type, "project");
  EXPECT_EQ(restriction.restriction_value, unrestricted->id);
  EXPECT_EQ(restriction.name, unrestricted->name);
  EXPECT_EQ(added.restrictions[position - 1].context_id, context.id);
  ASSERT_LT(position + 1, added.restrictions.size());
  EXPECT_NE(added.restrictions[position + 1].context_id, context.id);
  ExpectOnlyChanged(before, added, {"restrictions"});

  // Removed by context and project (id or slug), or by restriction id.
  const Dataset removed =
      Apply(before, {Mutation::RemoveRestriction(context.id, restricted[0])});
  EXPECT_EQ(removed.restrictions.size(), before.restrictions.size() - 1);
  EXPECT_EQ(CountIf(removed.restrictions,
                    [&](const ContextRestriction& r) {
                      return r.context_id == context.id &&
                             r.project_id == restricted[0];
                    }),
            0);
  ExpectOnlyChanged(before, removed, {"restrictions"});
  const Dataset added_then_removed =
      Apply(added, {Mutation::RemoveRestrictionById(restriction.id)});
  EXPECT_EQ(added_then_removed, before);
}

TEST(ApplyMutationsTest, EnvVarsAddedAndRemoved) {
  const Dataset before = Generate();
  const Project& project = before.projects[2];
  const Dataset added = Apply(
      before, {Mutation::AddProjectEnvVar(project.slug, "NEW_VAR", "s3cr3t!")});
  ASSERT_EQ(added.project_env_vars.size(), before.project_env_vars.size() + 1);
  const auto var =
      std::find_if(added.project_env_vars.begin(), added.project_env_vars.end(),
                   [](const ProjectEnvVar& v) { return v.name == "NEW_VAR"; });
  ASSERT_NE(var, added.project_env_vars.end());
  EXPECT_EQ(var->project_slug, project.slug);
  EXPECT_EQ(var->value, "s3cr3t!");
  EXPECT_EQ(var->masked_value, "xxxx3t!");
  EXPECT_EQ(var->created_at, kMutationTime);
  EXPECT_EQ((var - 1)->project_slug, project.slug);  // after its siblings
  ExpectOnlyChanged(before, added, {"project_env_vars"});

  const std::string existing = before.project_env_vars[0].name;
  const std::string owner = before.project_env_vars[0].project_slug;
  const Dataset removed =
      Apply(before, {Mutation::RemoveProjectEnvVar(owner, existing)});
  EXPECT_EQ(removed.project_env_vars.size(),
            before.project_env_vars.size() - 1);
  ExpectOnlyChanged(before, removed, {"project_env_vars"});

  const Context& context = before.contexts[0];
  const Dataset context_added = Apply(
      before, {Mutation::AddContextEnvVar(context.id, "NEW_CONTEXT_VAR")});
  ASSERT_EQ(context_added.context_env_vars.size(),
            before.context_env_vars.size() + 1);
  ExpectOnlyChanged(before, context_added, {"context_env_vars"});
  const Dataset context_removed =
      Apply(context_added,
            {Mutation::RemoveContextEnvVar(context.id, "NEW_CONTEXT_VAR")});
  EXPECT_EQ(context_removed, before);
}

TEST(ApplyMutationsTest, SetWorkflowStatusSetsCanceledBy) {
  const Dataset before = Generate();
  const Workflow& workflow = before.workflows[5];
  const Dataset canceled =
      Apply(before, {Mutation::SetWorkflowStatus(workflow.id, "canceled")});
  EXPECT_EQ(canceled.workflows[5].status, "canceled");
  EXPECT_EQ(canceled.workflows[5].canceled_by, before.user.id);
  ExpectOnlyChanged(before, canceled, {"workflows"});
  const Dataset failed =
      Apply(canceled, {Mutation::SetWorkflowStatus(workflow.id, "failed")});
  EXPECT_EQ(failed.workflows[5].status, "failed");
  EXPECT_EQ(failed.workflows[5].canceled_by, "");
}

TEST(ApplyMutationsTest, SetWorkflowStatusFinishingSetsAMissingStoppedAt) {
  const Dataset before = Generate();
  // A workflow that is still running has no stopped_at.
  const Dataset running = Apply(
      before,
      {Mutation::AddPipeline(before.projects[0].slug, "p-run", "running")});
  const Workflow& open = running.workflows.back();
  ASSERT_EQ(open.status, "running");
  ASSERT_EQ(open.stopped_at, "");
  const Dataset finished =
      Apply(running, {Mutation::SetWorkflowStatus(open.id, "success")});
  EXPECT_EQ(finished.workflows.back().status, "success");
  EXPECT_EQ(finished.workflows.back().stopped_at, kMutationTime);
  ExpectOnlyChanged(running, finished, {"workflows"});
  // One that had stopped keeps its time, whatever its new status.
  const Workflow& done = before.workflows[2];
  ASSERT_NE(done.stopped_at, "");
  for (const char* status : {"failed", "running", "on_hold"}) {
    const Dataset after =
        Apply(before, {Mutation::SetWorkflowStatus(done.id, status)});
    EXPECT_EQ(after.workflows[2].status, status);
    EXPECT_EQ(after.workflows[2].stopped_at, done.stopped_at) << status;
  }
  // Still unfinished: stopped_at stays empty.
  const Dataset held =
      Apply(running, {Mutation::SetWorkflowStatus(open.id, "on_hold")});
  EXPECT_EQ(held.workflows.back().stopped_at, "");
}

TEST(ApplyMutationsTest, SetJobStatusSetsTheStatusAndItsTimes) {
  const Dataset before = Generate();
  const Job& job = before.jobs[4];
  ASSERT_EQ(job.status, "success");
  const Dataset failed =
      Apply(before, {Mutation::SetJobStatus(job.id, "infrastructure_fail")});
  EXPECT_EQ(failed.jobs[4].status, "infrastructure_fail");
  EXPECT_EQ(failed.jobs[4].started_at, job.started_at);
  EXPECT_EQ(failed.jobs[4].stopped_at, job.stopped_at);
  ExpectOnlyChanged(before, failed, {"jobs"});
  Job expected = job;
  expected.status = "infrastructure_fail";
  EXPECT_EQ(failed.jobs[4], expected);

  // Running: not stopped. Finished again: stopped now (started_at kept).
  const Dataset running =
      Apply(before, {Mutation::SetJobStatus(job.id, "running")});
  EXPECT_EQ(running.jobs[4].status, "running");
  EXPECT_EQ(running.jobs[4].stopped_at, "");
  EXPECT_EQ(running.jobs[4].started_at, job.started_at);
  const Dataset timed_out =
      Apply(running, {Mutation::SetJobStatus(job.id, "timedout")});
  EXPECT_EQ(timed_out.jobs[4].stopped_at, kMutationTime);
  EXPECT_EQ(timed_out.jobs[4].started_at, job.started_at);

  // A job that never started gets both times when it finishes.
  Dataset queued = before;
  queued.jobs[4].status = "queued";
  queued.jobs[4].started_at.clear();
  queued.jobs[4].stopped_at.clear();
  const Dataset canceled =
      Apply(queued, {Mutation::SetJobStatus(job.id, "canceled")});
  EXPECT_EQ(canceled.jobs[4].status, "canceled");
  EXPECT_EQ(canceled.jobs[4].started_at, kMutationTime);
  EXPECT_EQ(canceled.jobs[4].stopped_at, kMutationTime);
  // Every CircleCI job status is accepted.
  for (const char* status : kJobStatuses) {
    EXPECT_TRUE(
        ApplyMutations(before, {Mutation::SetJobStatus(job.id, status)}).ok())
        << status;
  }
}

TEST(ApplyMutationsTest, FinishedStatuses) {
  for (const char* status :
       {"success", "failed", "error", "canceled", "unauthorized", "not_run"}) {
    EXPECT_TRUE(IsFinishedWorkflowStatus(status)) << status;
  }
  for (const char* status : {"running", "failing", "on_hold"}) {
    EXPECT_FALSE(IsFinishedWorkflowStatus(status)) << status;
  }
  for (const char* status :
       {"success", "failed", "canceled", "unauthorized", "not_run",
        "infrastructure_fail", "timedout", "terminated-unknown"}) {
    EXPECT_TRUE(IsFinishedJobStatus(status)) << status;
  }
  for (const char* status : {"running", "retried", "queued", "not_running",
                             "on_hold", "blocked", "error"}) {
    EXPECT_FALSE(IsFinishedJobStatus(status)) << status;
  }
}

TEST(ApplyMutationsTest, ObserverSeesTheDataAfterEachMutation) {
  const Dataset before = Generate();
  const std::string job_id = before.jobs[0].id;
  std::vector<std::string> seen;
  absl::StatusOr<Dataset> out = ApplyMutations(
      before,
      {Mutation::SetJobStatus(job_id, "failed"), Mutation::SetLogin("renamed"),
       Mutation::SetJobStatus(job_id, "running")},
      [&](size_t index, const Dataset& after) {
        seen.push_back(absl::StrCat(index, ":", after.jobs[0].status, ":",
                                    after.user.login));
      });
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(
      seen, ::testing::ElementsAre(absl::StrCat("0:failed:", before.user.login),
                                   "1:failed:renamed", "2:running:renamed"));
  // A failing batch: the observer saw the ones before, the result is an error.
  seen.clear();
  EXPECT_FALSE(ApplyMutations(before,
                              {Mutation::SetJobStatus(job_id, "failed"),
                               Mutation::SetJobStatus("gone", "failed")},
                              [&](size_t index, const Dataset&) {
                                seen.push_back(absl::StrCat(index));
                              })
                   .ok());
  EXPECT_THAT(seen, ::testing::ElementsAre("0"));
}

TEST(ApplyMutationsTest, AddPipelineAddsTheNewestWithAWorkflowAndJobs) {
  const Dataset before = Generate();
  const Project& project = before.projects[1];
  const Dataset after =
      Apply(before, {Mutation::AddPipeline(project.slug, "p-new", "running")});
  ExpectOnlyChanged(before, after, {"pipelines", "workflows", "jobs"});
  ASSERT_EQ(after.pipelines.size(), before.pipelines.size() + 1);
  const Pipeline& added = after.pipelines.back();
  EXPECT_EQ(added.id, "p-new");
  EXPECT_EQ(added.project_slug, project.slug);
  EXPECT_EQ(added.org_slug, project.organization_slug);
  int number = 0;
  for (const Pipeline& p : before.pipelines) {
    if (p.project_slug == project.slug) number = std::max(number, p.number);
    EXPECT_LT(p.created_at_ms, added.created_at_ms) << "the newest";
  }
  EXPECT_EQ(added.number, number + 1);
  const Workflow& workflow = after.workflows.back();
  EXPECT_EQ(workflow.pipeline_id, "p-new");
  EXPECT_EQ(workflow.status, "running");
  ASSERT_EQ(after.jobs.size(), before.jobs.size() + 2);
  EXPECT_EQ(after.jobs.back().workflow_id, workflow.id);
  EXPECT_EQ(after.jobs.back().status, "running");
  EXPECT_EQ(after.jobs[after.jobs.size() - 2].status, "success");
  // Once more with the same id: refused.
  EXPECT_EQ(
      ApplyMutations(after, {Mutation::AddPipeline(project.slug, "p-new")})
          .status()
          .code(),
      absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ApplyMutations(
                before, {Mutation::AddPipeline(project.slug, "", "sleeping")})
                .status()
                .message(),
            "mutation #0 (add_pipeline): 'sleeping' is not a workflow status");
}

TEST(ApplyMutationsTest, ErrorsNameTheThingAndChangeNothing) {
  const Dataset data = Generate();
  struct Case {
    Mutation mutation;
    absl::StatusCode code;
    std::string message;
  };
  Mutation extra = Mutation::RemovePipeline(data.pipelines[0].id);
  extra.name = "x";
  const std::vector<Case> cases = {
      {Mutation::RemovePipeline("no-such-pipeline"),
       absl::StatusCode::kNotFound,
       "mutation #0 (remove_pipeline): pipeline 'no-such-pipeline' not found"},
      {Mutation::RemovePipeline(""), absl::StatusCode::kInvalidArgument,
       "field 'id' is required"},
      {extra, absl::StatusCode::kInvalidArgument,
       "field 'name' does not apply"},
      {Mutation::RenameProject("gh/nobody/nothing", "x"),
       absl::StatusCode::kNotFound, "project 'gh/nobody/nothing' not found"},
      {Mutation::AddOrg(data.orgs[1].name), absl::StatusCode::kAlreadyExists,
       "already exists"},
      {Mutation::AddOrg("x", "bitbucket"), absl::StatusCode::kInvalidArgument,
       "vcs_type"},
      {Mutation::RemoveOrg("gh/nobody"), absl::StatusCode::kNotFound,
       "org 'gh/nobody' not found"},
      {Mutation::SetLogin(""), absl::StatusCode::kInvalidArgument, "'login'"},
      {Mutation::AddRestriction("no-such-context", data.projects[0].id),
       absl::StatusCode::kNotFound, "context 'no-such-context' not found"},
      {Mutation::AddRestriction(data.restrictions[1].context_id,
                                data.restrictions[1].project_id),
       absl::StatusCode::kAlreadyExists, "already restricted"},
      {Mutation::RemoveRestrictionById("no-such-restriction"),
       absl::StatusCode::kNotFound, "restriction 'no-such-restriction'"},
      {Mutation::RemoveRestriction(data.contexts[0].id, data.projects[2].id),
       absl::StatusCode::kNotFound, "has no restriction to project"},
      {Mutation::AddProjectEnvVar(data.project_env_vars[0].project_slug,
                                  data.project_env_vars[0].name),
       absl::StatusCode::kAlreadyExists, "already has variable"},
      {Mutation::RemoveProjectEnvVar(data.projects[0].id, "NOPE"),
       absl::StatusCode::kNotFound, "has no variable 'NOPE'"},
      {Mutation::RemoveContextEnvVar(data.contexts[0].id, "NOPE"),
       absl::StatusCode::kNotFound, "has no variable 'NOPE'"},
      {Mutation::SetWorkflowStatus(data.workflows[0].id, "exploded"),
       absl::StatusCode::kInvalidArgument,
       "'exploded' is not a workflow status"},
      {Mutation::SetWorkflowStatus("no-such-workflow", "failed"),
       absl::StatusCode::kNotFound, "workflow 'no-such-workflow' not found"},
      {Mutation::SetJobStatus(data.jobs[0].id, "error"),
       absl::StatusCode::kInvalidArgument, "'error' is not a job status"},
      {Mutation::SetJobStatus("no-such-job", "failed"),
       absl::StatusCode::kNotFound, "job 'no-such-job' not found"},
      {Mutation::SetJobStatus(data.jobs[0].id, ""),
       absl::StatusCode::kInvalidArgument, "field 'status' is required"},
  };
  // Restriction 1 is a project restriction (0 is the expression one).
  ASSERT_EQ(data.restrictions[1].restriction_type, "project");
  for (const Case& c : cases) {
    absl::StatusOr<Dataset> out = ApplyMutations(data, {c.mutation});
    EXPECT_EQ(out.status().code(), c.code) << MutationToJson(c.mutation);
    EXPECT_THAT(out.status().message(), HasSubstr(c.message))
        << MutationToJson(c.mutation);
  }

  // A batch fails as a whole, naming the failing mutation's index.
  absl::StatusOr<Dataset> batch = ApplyMutations(
      data, {Mutation::RemovePipeline(data.pipelines[0].id),
             Mutation::SetLogin("changed"), Mutation::RemovePipeline("gone")});
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(batch.status().message(),
              HasSubstr("mutation #2 (remove_pipeline): pipeline 'gone'"));
  // Removing the same pipeline twice in one batch fails on the second.
  EXPECT_EQ(
      ApplyMutations(data, {Mutation::RemovePipeline(data.pipelines[0].id),
                            Mutation::RemovePipeline(data.pipelines[0].id)})
          .status()
          .code(),
      absl::StatusCode::kNotFound);
}

TEST(MutationsJsonTest, ParsesEveryFormAndRoundTrips) {
  const std::vector<Mutation> all = {
      Mutation::RemovePipeline("p"),
      Mutation::RenameProject("gh/a/b", "n"),
      Mutation::AddOrg("o", "circleci"),
      Mutation::RemoveOrg("gh/o"),
      Mutation::SetLogin("l"),
      Mutation::AddRestriction("c", "p"),
      Mutation::RemoveRestriction("c", "p"),
      Mutation::RemoveRestrictionById("r"),
      Mutation::AddProjectEnvVar("p", "N", "v"),
      Mutation::RemoveProjectEnvVar("p", "N"),
      Mutation::AddContextEnvVar("c", "N"),
      Mutation::RemoveContextEnvVar("c", "N"),
      Mutation::SetWorkflowStatus("w", "failed"),
      Mutation::SetJobStatus("j", "timedout"),
  };
  std::string array = "[";
  for (const Mutation& m : all) {
    absl::StatusOr<std::vector<Mutation>> one =
        ParseMutationsJson(MutationToJson(m));
    ASSERT_TRUE(one.ok()) << one.status() << " " << MutationToJson(m);
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ((*one)[0], m) << MutationToJson(m);
    if (array.size() > 1) array += ",";
    array += MutationToJson(m);
  }
  array += "]";
  absl::StatusOr<std::vector<Mutation>> list = ParseMutationsJson(array);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(*list, all);
  absl::StatusOr<std::vector<Mutation>> wrapped =
      ParseMutationsJson("{\"mutations\":" + array + "}");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(*wrapped, all);
  EXPECT_EQ(MutationToJson(Mutation::RemovePipeline("p")),
            R"({"op":"remove_pipeline","id":"p"})");
  EXPECT_EQ(MutationToJson(Mutation::SetJobStatus("j", "failed")),
            R"({"op":"set_job_status","id":"j","status":"failed"})");
}

TEST(MutationsJsonTest, RejectsBadBodies) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not JSON"},
      {"{\"op\":", "not JSON"},
      {"[]", "empty"},
      {"{\"mutations\":[]}", "empty"},
      {"{\"mutations\":{}}", "array"},
      {"42", "object"},
      {"{\"id\":\"x\"}", "'op' is required"},
      {"{\"op\":\"explode\"}", "unknown op 'explode'"},
      {"{\"op\":\"remove_pipeline\",\"pipeline\":\"x\"}",
       "unknown member 'pipeline'"},
      {"{\"op\":\"remove_pipeline\",\"id\":7}", "'id' must be a string"},
      {"[{\"op\":\"set_login\",\"login\":\"a\"},3]", "mutation #1"},
  };
  for (const auto& [body, message] : cases) {
    absl::StatusOr<std::vector<Mutation>> parsed = ParseMutationsJson(body);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << body;
    EXPECT_THAT(parsed.status().message(), HasSubstr(message)) << body;
  }
}

}  // namespace
}  // namespace graphmill::fakes
