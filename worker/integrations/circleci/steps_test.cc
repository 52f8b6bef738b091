// End-to-end tests of the CircleCI steps: the real integration and HTTP client
// against the in-process fake CircleCI (replayed recordings, generated data,
// injected faults), with an in-memory run standing in for the coordinator.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/fakes/circleci/fake_circleci.h"
#include "worker/integrations/circleci/circleci_integration.h"
#include "worker/integrations/circleci/converters.h"
#include "worker/integrations/circleci/definition.h"
#include "worker/integrations/common/fake_step_context.h"
#include "worker/integrations/common/step_test_util.h"

namespace graphmill::worker::circleci {
namespace {

using ::graphmill::fakes::Dataset;
using ::graphmill::fakes::FakeCircleCi;
using ::graphmill::fakes::FakeCircleCiOptions;
using ::graphmill::fakes::FakeMode;
using ::graphmill::worker::testing::EntityCounts;
using ::graphmill::worker::testing::ExpectAllOk;
using ::graphmill::worker::testing::ExpectNoDanglingRelationships;
using ::graphmill::worker::testing::FakeRun;
using ::graphmill::worker::testing::FastRetryHttpOptions;
using ::graphmill::worker::testing::RelationshipCounts;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kToken[] = "fake-circle-token-1234";
constexpr char kRecordings[] = "tests/fakes/circleci/testdata/";

std::unique_ptr<FakeCircleCi> Start(FakeCircleCiOptions options) {
  options.token = kToken;
  absl::StatusOr<std::unique_ptr<FakeCircleCi>> fake =
      FakeCircleCi::Start(std::move(options));
  EXPECT_TRUE(fake.ok()) << fake.status();
  return fake.ok() ? *std::move(fake) : nullptr;
}

std::unique_ptr<FakeCircleCi> StartReplay(
    const std::vector<std::string>& files) {
  FakeCircleCiOptions options;
  options.mode = FakeMode::kReplay;
  for (const std::string& file : files) {
    options.recordings.push_back(absl::StrCat(kRecordings, file));
  }
  return Start(std::move(options));
}

InstanceConfig ConfigFor(const FakeCircleCi& fake, const std::string& login,
                         const std::string& extra_slugs = "") {
  InstanceConfig config = {{"apiKey", kToken},
                           {"login", login},
                           {"userId", "DUMMY_ID"},
                           {"baseUrl", fake.base_url()}};
  if (!extra_slugs.empty()) config["extraProjectSlugs"] = extra_slugs;
  return config;
}

// Generated data with every paginated list longer than one 5-item page.
fakes::GeneratorOptions MultiPageData() {
  fakes::GeneratorOptions options;
  options.orgs = 2;
  options.projects_per_org = 6;
  options.pipelines_per_project = 2;             // 12 per org feed: 3 pages
  options.workflows_per_pipeline = 6;            // 2 pages
  options.jobs_per_workflow = 7;                 // 2 pages
  options.contexts_per_org = 6;                  // 2 pages
  options.env_vars_per_project = 6;              // 2 pages
  options.env_vars_per_context = 6;              // 2 pages
  options.project_restrictions_per_context = 5;  // + 1 expression rule: 2 pages
  options.expression_restriction = true;
  return options;
}

// Small data for the fault tests, where pages do not matter.
fakes::GeneratorOptions SmallData() {
  fakes::GeneratorOptions options;
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

constexpr int kPageSize = 5;

std::unique_ptr<FakeCircleCi> StartGenerated(
    fakes::GeneratorOptions generator = MultiPageData(),
    bool pipeline_page_overlap = false) {
  FakeCircleCiOptions options;
  options.mode = FakeMode::kGenerated;
  options.generator = generator;
  options.page_size = kPageSize;
  options.pipeline_page_overlap = pipeline_page_overlap;
  return Start(std::move(options));
}

// What a full ingestion of `data` must contain, computed from the dataset
// alone.
struct ExpectedGraph {
  std::map<std::string, int> entities;
  std::map<std::string, int> relationships;
};

ExpectedGraph ExpectedFor(const Dataset& data, const std::string& login) {
  ExpectedGraph expected;
  std::set<std::string> projects_with_pipelines;
  for (const auto& pipeline : data.pipelines) {
    projects_with_pipelines.insert(pipeline.project_slug);
  }
  std::set<std::string> ingested_project_ids;
  int project_env_vars = 0;
  for (const auto& project : data.projects) {
    if (!projects_with_pipelines.contains(project.slug)) continue;
    ingested_project_ids.insert(project.id);
  }
  for (const auto& var : data.project_env_vars) {
    if (projects_with_pipelines.contains(var.project_slug)) ++project_env_vars;
  }
  int matching_groups = 0;
  for (const auto& org : data.orgs) matching_groups += org.name == login;
  std::map<std::string, int> project_restrictions;  // by context id
  for (const auto& restriction : data.restrictions) {
    if (restriction.restriction_type == "project" &&
        ingested_project_ids.contains(restriction.project_id)) {
      ++project_restrictions[restriction.context_id];
    }
  }
  int uses = 0;
  for (const auto& var : data.context_env_vars) {
    uses += project_restrictions[var.context_id];
  }
  const int projects = static_cast<int>(ingested_project_ids.size());
  const int groups = static_cast<int>(data.orgs.size());
  expected.entities = {
      {kAccountType, 1},
      {kUserGroupType, groups},
      {kUserType, 1},
      {kPipelineType, static_cast<int>(data.pipelines.size())},
      {kWorkflowType, static_cast<int>(data.workflows.size())},
      {kJobType, static_cast<int>(data.jobs.size())},
      {kProjectType, projects},
      {kProjectEnvVarType, project_env_vars},
      {kContextType, static_cast<int>(data.contexts.size())},
      {kContextEnvVarType, static_cast<int>(data.context_env_vars.size())},
  };
  expected.relationships = {
      {kAccountHasUserGroupType, matching_groups},
      {kAccountHasUserType, 1},
      {kUserGroupHasUserType, groups},
      {kUserGroupHasProjectType, projects},
      {kProjectHasPipelineType, static_cast<int>(data.pipelines.size())},
      {kPipelineHasWorkflowType, static_cast<int>(data.workflows.size())},
      {kWorkflowHasJobType, static_cast<int>(data.jobs.size())},
      {kProjectHasEnvVarType, project_env_vars},
      {kContextHasEnvVarType, static_cast<int>(data.context_env_vars.size())},
      {kProjectUsesContextEnvVarType, uses},
  };
  return expected;
}

// --- Replay of the reference's recordings
// -----------------------------------------------

TEST(StepsReplayTest, Recordings2024GiveTheImpliedGraph) {
  // The first loaded file wins for requests recorded in several (e.g. page 1 of
  // the feed): each file holds the page-2 request matching its own page-1
  // token.
  std::unique_ptr<FakeCircleCi> fake =
      StartReplay({"fetch-contexts.har", "fetch-projects-env-variables.har",
                   "fetch-workflow-jobs.har"});
  ASSERT_NE(fake, nullptr);
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "cci-h6wmx"));
  std::map<std::string, absl::Status> results = run.RunAll(integration);

  // The 2024 recordings hold no /me: only fetch-users fails.
  for (const auto& [step, status] : results) {
    if (step == kStepFetchUsers) {
      EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
    } else {
      EXPECT_TRUE(status.ok()) << step << ": " << status;
    }
  }
  EXPECT_EQ(EntityCounts(run), (std::map<std::string, int>{
                                   {kAccountType, 1},
                                   {kUserGroupType, 1},
                                   {kPipelineType, 21},
                                   {kProjectType, 21},
                                   {kWorkflowType, 22},
                                   {kJobType, 22},
                                   {kProjectEnvVarType, 1},
                                   {kContextType, 1},
                                   {kContextEnvVarType, 1},
                               }));
  EXPECT_EQ(RelationshipCounts(run), (std::map<std::string, int>{
                                         {kAccountHasUserGroupType, 1},
                                         {kProjectHasPipelineType, 21},
                                         {kUserGroupHasProjectType, 21},
                                         {kPipelineHasWorkflowType, 22},
                                         {kWorkflowHasJobType, 22},
                                         {kProjectHasEnvVarType, 1},
                                         {kContextHasEnvVarType, 1},
                                         {kProjectUsesContextEnvVarType, 2},
                                     }));
  ExpectNoDanglingRelationships(run);
  EXPECT_THAT(run.conflicts(), IsEmpty());
  EXPECT_THAT(run.repeated_in_task(), IsEmpty());
  EXPECT_THAT(run.events(), IsEmpty());
  // One GET per project (the reference made one per pipeline), and nothing
  // unrecorded asked for except /me.
  EXPECT_EQ(fake->RequestCount("project"), 21);
  EXPECT_EQ(fake->RequestCount("unmatched"), 1);

  // The two USES edges go to the restricted projects (the expression rule is
  // ignored).
  std::set<std::string> uses_from;
  for (const auto* uses :
       run.RelationshipsOfType(kProjectUsesContextEnvVarType)) {
    uses_from.insert(uses->from_entity_key());
    EXPECT_EQ(uses->to_entity_key(),
              "circleci_context_environment_variable:"
              "09f7476e-43f5-4096-8df6-393ec474da7c:ENV_VARIABLE_KEY");
  }
  EXPECT_EQ(uses_from,
            (std::set<std::string>{
                "circleci_project:10dd3a18-f3d6-45a7-8fdf-4f08803df3af",
                "circleci_project:526d1c7e-58f3-4b9f-933c-ccd3bd5481f1"}));
  // The env var value never reaches the graph.
  for (const auto* env_var : run.EntitiesOfType(kProjectEnvVarType)) {
    EXPECT_EQ(env_var->properties().at("name").string_value(), "TEST");
    EXPECT_THAT(env_var->raw_data(0).json(), Not(HasSubstr("xxxx")));
  }
}

TEST(StepsReplayTest, Recordings2022GiveGroupsUserAndAccountEdges) {
  std::unique_ptr<FakeCircleCi> fake = StartReplay({"fetch-user.har"});
  ASSERT_NE(fake, nullptr);
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "kjb-test"));
  std::map<std::string, absl::Status> results = run.RunAll(integration);
  ExpectAllOk(results);

  EXPECT_EQ(run.CountEntities(kUserGroupType), 2);
  EXPECT_EQ(run.CountEntities(kUserType), 1);
  EXPECT_EQ(run.CountRelationships(kUserGroupHasUserType), 2);
  EXPECT_EQ(run.CountRelationships(kAccountHasUserGroupType), 1);
  EXPECT_EQ(run.CountRelationships(kAccountHasUserType), 1);
  const auto users = run.EntitiesOfType(kUserType);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0]->properties().at("name").string_value(), "kjb-test");
  const auto account_edges = run.RelationshipsOfType(kAccountHasUserGroupType);
  ASSERT_EQ(account_edges.size(), 1u);
  EXPECT_EQ(account_edges[0]->to_entity_key(),
            "circleci_user_group:89b36fdd-6c18-4e17-8db2-cc34834a9eeb");
  // The recordings hold no pipelines or contexts for these orgs: a 404 per org,
  // each a warning, and the run goes on.
  EXPECT_EQ(run.CountEntities(kPipelineType), 0);
  EXPECT_EQ(run.EventsNamed("warn_missing_permission").size(), 4u);
  // Each org is a scope not listed: the types stay complete elsewhere.
  EXPECT_TRUE(run.partial_types().empty());
  ASSERT_EQ(run.incomplete_scopes().at(kStepFetchPipelines).size(), 2u);
  for (const auto& [scope, reason] :
       run.incomplete_scopes().at(kStepFetchPipelines)) {
    EXPECT_TRUE(absl::StartsWith(scope, "circleci_user_group:")) << scope;
    EXPECT_EQ(reason, "HTTP 404 on GET /pipeline?org-slug={slug}");
  }
  EXPECT_EQ(run.incomplete_scopes().at(kStepFetchContexts).size(), 2u);
}

// --- Generated data, every list paginated
// -------------------------------------------------

TEST(StepsGeneratedTest, MultiPageListsGiveExactCounts) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated();
  ASSERT_NE(fake, nullptr);
  const Dataset& data = fake->dataset();
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, data.orgs[0].name));
  std::map<std::string, absl::Status> results = run.RunAll(integration);
  ExpectAllOk(results);

  const ExpectedGraph expected = ExpectedFor(data, data.orgs[0].name);
  EXPECT_EQ(EntityCounts(run), expected.entities);
  EXPECT_EQ(RelationshipCounts(run), expected.relationships);
  EXPECT_GT(expected.relationships.at(kProjectUsesContextEnvVarType), 0);
  ExpectNoDanglingRelationships(run);
  EXPECT_THAT(run.conflicts(), IsEmpty());
  EXPECT_THAT(run.repeated_in_task(), IsEmpty());
  EXPECT_THAT(run.events(), IsEmpty());

  // Every list took more than one page: requests per parent = ceil(items / page
  // size).
  auto pages = [](size_t items) {
    return static_cast<int64_t>((items + kPageSize - 1) / kPageSize);
  };
  const size_t orgs = data.orgs.size();
  EXPECT_EQ(fake->RequestCount("pipeline"),
            static_cast<int64_t>(orgs) * pages(data.pipelines.size() / orgs));
  EXPECT_GT(pages(data.pipelines.size() / orgs), 1);
  EXPECT_EQ(fake->RequestCount("pipeline-workflows"),
            static_cast<int64_t>(data.pipelines.size()) * 2);
  EXPECT_EQ(fake->RequestCount("workflow-jobs"),
            static_cast<int64_t>(data.workflows.size()) * 2);
  EXPECT_EQ(fake->RequestCount("envvar"),
            static_cast<int64_t>(data.projects.size()) * 2);
  EXPECT_EQ(fake->RequestCount("context"), static_cast<int64_t>(orgs) * 2);
  EXPECT_EQ(fake->RequestCount("restrictions"),
            static_cast<int64_t>(data.contexts.size()) * 2);
  EXPECT_EQ(fake->RequestCount("context-envvar"),
            static_cast<int64_t>(data.contexts.size()) * 2);
  EXPECT_EQ(fake->RequestCount("project"),
            static_cast<int64_t>(data.projects.size()));
  EXPECT_EQ(fake->RequestCount("unmatched"), 0);
}

TEST(StepsGeneratedTest, ShardedRunGivesTheSameGraph) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  const std::string login = fake->dataset().orgs[0].name;
  const std::string extra = fake->dataset().projects[3].slug;
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun whole(ConfigFor(*fake, login, extra));
  ExpectAllOk(whole.RunAll(integration, /*shards=*/1));
  FakeRun sharded(ConfigFor(*fake, login, extra));
  ExpectAllOk(sharded.RunAll(integration, /*shards=*/3));
  EXPECT_THAT(sharded.conflicts(), IsEmpty());
  ASSERT_EQ(sharded.entities().size(), whole.entities().size());
  ASSERT_EQ(sharded.relationships().size(), whole.relationships().size());
  for (const auto& [key, entity] : whole.entities()) {
    ASSERT_TRUE(sharded.entities().contains(key)) << key;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
        sharded.entities().at(key), entity))
        << key;
  }
  for (const auto& [key, relationship] : whole.relationships()) {
    EXPECT_TRUE(sharded.relationships().contains(key)) << key;
  }
}

// --- Incremental runs
// ---------------------------------------------------------

// After the fake's newest data (2024-03-21) by more than a day: every
// generated pipeline is older than the look-back window.
constexpr int64_t kIncrementalSinceMs = 1'711'000'000'000;

// Every entity and relationship of `a` is in `b` with the same content and
// scope, and the other way round.
void ExpectSameGraph(const FakeRun& a, const FakeRun& b) {
  EXPECT_EQ(EntityCounts(a), EntityCounts(b));
  EXPECT_EQ(RelationshipCounts(a), RelationshipCounts(b));
  for (const auto& [key, entity] : a.entities()) {
    auto it = b.entities().find(key);
    ASSERT_NE(it, b.entities().end()) << key;
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(it->second, entity))
        << key;
    EXPECT_EQ(a.ScopeOf(key), b.ScopeOf(key)) << key;
  }
  for (const auto& [key, relationship] : a.relationships()) {
    auto it = b.relationships().find(key);
    ASSERT_NE(it, b.relationships().end()) << key;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
        it->second, relationship))
        << key;
    EXPECT_EQ(a.ScopeOf(key), b.ScopeOf(key)) << key;
  }
}

TEST(StepsIncrementalTest, UnchangedDataIsCarriedForwardWithFewRequests) {
  for (int shards : {1, 3}) {
    SCOPED_TRACE(absl::StrCat(shards, " shard(s)"));
    std::unique_ptr<FakeCircleCi> fake = StartGenerated();
    ASSERT_NE(fake, nullptr);
    const Dataset& data = fake->dataset();
    CircleCiIntegration integration(FastRetryHttpOptions());
    FakeRun full(ConfigFor(*fake, data.orgs[0].name));
    ExpectAllOk(full.RunAll(integration, shards));
    const int64_t full_feed = fake->RequestCount("pipeline");

    fake->ResetCounters();
    FakeRun incremental(ConfigFor(*fake, data.orgs[0].name));
    incremental.StartIncremental(full, kIncrementalSinceMs);
    ExpectAllOk(incremental.RunAll(integration, shards));
    ExpectSameGraph(full, incremental);
    EXPECT_THAT(incremental.conflicts(), IsEmpty());
    EXPECT_THAT(incremental.repeated_in_task(), IsEmpty());
    // One page of each organization's feed, no workflow or job listing.
    EXPECT_EQ(fake->RequestCount("pipeline"),
              static_cast<int64_t>(data.orgs.size()));
    EXPECT_GT(full_feed, fake->RequestCount("pipeline"));
    EXPECT_EQ(fake->RequestCount("pipeline-workflows"), 0);
    EXPECT_EQ(fake->RequestCount("workflow-jobs"), 0);
    const auto carried = incremental.EventsNamed("incremental_carry");
    ASSERT_FALSE(carried.empty());
    EXPECT_EQ(carried[0].level, v1::EVENT_LEVEL_INFO);
  }
}

// The id of the workflow of pipeline `pipeline_id` (one made by AddPipeline).
std::string WorkflowOf(const Dataset& data, const std::string& pipeline_id) {
  for (const auto& workflow : data.workflows) {
    if (workflow.pipeline_id == pipeline_id) return workflow.id;
  }
  ADD_FAILURE() << "no workflow of pipeline " << pipeline_id;
  return "";
}

TEST(StepsIncrementalTest, ChangesSinceTheLastRunAreFetchedAndEqualAFullRun) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated();
  ASSERT_NE(fake, nullptr);
  const std::string login = fake->dataset().orgs[0].name;
  // Workflows of two pipelines still running when the first run looks, and a
  // new running pipeline.
  const std::string running_a = fake->dataset().workflows[3].id;
  const std::string running_b = fake->dataset().workflows[20].id;
  const std::string project = fake->dataset().projects[2].slug;
  ASSERT_TRUE(
      fake->Mutate({fakes::Mutation::SetWorkflowStatus(running_a, "running"),
                    fakes::Mutation::SetWorkflowStatus(running_b, "on_hold"),
                    fakes::Mutation::AddPipeline(project, "new-1", "running")})
          .ok());
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun first(ConfigFor(*fake, login));
  ExpectAllOk(first.RunAll(integration, 2));

  // They finish, and another pipeline starts.
  ASSERT_TRUE(
      fake->Mutate({fakes::Mutation::SetWorkflowStatus(running_a, "success"),
                    fakes::Mutation::SetWorkflowStatus(running_b, "failed"),
                    fakes::Mutation::SetWorkflowStatus(
                        WorkflowOf(fake->dataset(), "new-1"), "success"),
                    fakes::Mutation::AddPipeline(project, "new-2")})
          .ok());
  fake->ResetCounters();
  FakeRun second(ConfigFor(*fake, login));
  second.StartIncremental(first, kIncrementalSinceMs);
  ExpectAllOk(second.RunAll(integration, 2));
  // Listed again: the workflows of the two pipelines with an unfinished
  // workflow (6 workflows: 2 pages each), new-1 and new-2 (1 page each), and
  // the jobs of the four workflows that changed or are new (7 jobs: 2 pages;
  // 2 jobs: 1 page).
  EXPECT_EQ(fake->RequestCount("pipeline-workflows"), 2 * 2 + 1 + 1);
  EXPECT_EQ(fake->RequestCount("workflow-jobs"), 2 * 2 + 1 + 1);

  FakeRun full(ConfigFor(*fake, login));
  ExpectAllOk(full.RunAll(integration, 1));
  ExpectSameGraph(full, second);

  // An old pipeline deleted at the provider: incremental runs do not page
  // back to it and keep it; a full run deletes it.
  const std::string removed = fake->dataset().pipelines[7].id;
  ASSERT_TRUE(fake->Mutate(fakes::Mutation::RemovePipeline(removed)).ok());
  FakeRun third(ConfigFor(*fake, login));
  third.StartIncremental(second, kIncrementalSinceMs);
  ExpectAllOk(third.RunAll(integration, 2));
  FakeRun after_delete(ConfigFor(*fake, login));
  ExpectAllOk(after_delete.RunAll(integration, 1));
  EXPECT_TRUE(third.entities().contains(PipelineKey(removed)));
  EXPECT_FALSE(after_delete.entities().contains(PipelineKey(removed)));
  EXPECT_EQ(third.CountEntities(kPipelineType),
            after_delete.CountEntities(kPipelineType) + 1);
}

TEST(StepsIncrementalTest, TypesTheLastRunMissedAreFetchedNotCarried) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  const Dataset& data = fake->dataset();
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun full(ConfigFor(*fake, data.orgs[0].name));
  ExpectAllOk(full.RunAll(integration));
  fake->ResetCounters();
  FakeRun incremental(ConfigFor(*fake, data.orgs[0].name));
  incremental.StartIncremental(full, kIncrementalSinceMs, {kJobType});
  ExpectAllOk(incremental.RunAll(integration));
  ExpectSameGraph(full, incremental);
  EXPECT_EQ(fake->RequestCount("pipeline-workflows"), 0) << "carried";
  EXPECT_EQ(fake->RequestCount("workflow-jobs"),
            static_cast<int64_t>(data.workflows.size()))
      << "every workflow's jobs listed again";
}

TEST(StepsIncrementalTest,
     AFeedTheProviderRefusesCarriesNothingAndIsIncomplete) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  const Dataset& data = fake->dataset();
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun full(ConfigFor(*fake, "nobody"));
  ASSERT_TRUE(full.RunStep(integration, kStepFetchUserGroups).ok());
  ASSERT_TRUE(full.RunStep(integration, kStepFetchPipelines).ok());

  const std::string refused = data.orgs[0].slug;
  ASSERT_TRUE(
      fake->AddFault(absl::StrCat("pipeline:403:resource=", refused)).ok());
  FakeRun incremental(ConfigFor(*fake, "nobody"));
  incremental.StartIncremental(full, kIncrementalSinceMs);
  ASSERT_TRUE(incremental.RunStep(integration, kStepFetchUserGroups).ok());
  ASSERT_TRUE(incremental.RunStep(integration, kStepFetchPipelines).ok());
  // The other organization's pipelines are carried; the refused one's are
  // neither listed nor carried, and its scope is reported incomplete, so
  // finalize keeps them instead of deleting them.
  int other = 0;
  for (const auto& pipeline : data.pipelines)
    other += pipeline.org_slug != refused;
  EXPECT_EQ(incremental.CountEntities(kPipelineType), other);
  ASSERT_EQ(incremental.incomplete_scopes().at(kStepFetchPipelines).size(), 1u);
  EXPECT_EQ(
      incremental.incomplete_scopes().at(kStepFetchPipelines).begin()->second,
      "HTTP 403 on GET /pipeline?org-slug={slug}");
}

TEST(StepsGeneratedTest, RepeatedFeedItemsAreIngestedOnce) {
  std::unique_ptr<FakeCircleCi> fake =
      StartGenerated(MultiPageData(), /*pipeline_page_overlap=*/true);
  ASSERT_NE(fake, nullptr);
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "nobody"));
  ASSERT_TRUE(run.RunStep(integration, kStepFetchUserGroups).ok());
  ASSERT_TRUE(run.RunStep(integration, kStepFetchPipelines).ok());
  EXPECT_EQ(run.CountEntities(kPipelineType),
            static_cast<int>(fake->dataset().pipelines.size()));
  EXPECT_THAT(run.repeated_in_task(), IsEmpty());
}

TEST(StepsGeneratedTest, EnvVarNamesSharedAcrossParentsGiveSeparateEntities) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  const Dataset& data = fake->dataset();
  std::set<std::string> names;
  for (const auto& var : data.project_env_vars) names.insert(var.name);
  ASSERT_LT(names.size(), data.project_env_vars.size())
      << "the generator should repeat names across projects";
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "nobody"));
  ExpectAllOk(run.RunAll(integration));
  EXPECT_EQ(run.CountEntities(kProjectEnvVarType),
            static_cast<int>(data.project_env_vars.size()));
  for (const auto* var : run.EntitiesOfType(kProjectEnvVarType)) {
    const std::string project_id =
        var->properties().at("projectId").string_value();
    EXPECT_EQ(var->key(),
              ProjectEnvVarKey(project_id,
                               var->properties().at("name").string_value()));
  }
}

TEST(StepsGeneratedTest, ExtraProjectSlugsAreFetchedOnceAndWithoutPipelines) {
  fakes::GeneratorOptions generator = MultiPageData();
  generator.pipelines_per_project = 0;  // the feed reveals no project at all
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(generator);
  ASSERT_NE(fake, nullptr);
  const Dataset& data = fake->dataset();
  const std::string extras =
      absl::StrCat(data.projects[0].slug, ",", data.projects[1].slug, ",",
                   data.projects[0].slug);
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "nobody", extras));
  ExpectAllOk(run.RunAll(integration));
  EXPECT_EQ(run.CountEntities(kProjectType), 2);
  EXPECT_EQ(run.CountRelationships(kProjectHasPipelineType), 0);
  EXPECT_EQ(run.CountRelationships(kUserGroupHasProjectType), 2);
  EXPECT_EQ(fake->RequestCount("project"), 2);
  // Their env vars follow.
  EXPECT_EQ(run.CountEntities(kProjectEnvVarType),
            2 * generator.env_vars_per_project);
}

// Each shard of fetch-projects needs the projects of its pipelines, and one
// project's pipelines spread over the shards; the worker fetches each project
// once per run all the same, and again for the next run.
TEST(StepsGeneratedTest, ProjectsAreFetchedOncePerRunAcrossShards) {
  fakes::GeneratorOptions generator = SmallData();
  generator.pipelines_per_project = 6;  // spread over the shards
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(generator);
  ASSERT_NE(fake, nullptr);
  const std::string login = fake->dataset().orgs[0].name;
  constexpr int kShards = 3;
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, login));
  ASSERT_TRUE(run.RunStep(integration, kStepFetchUserGroups).ok());
  ASSERT_TRUE(run.RunStep(integration, kStepFetchPipelines).ok());
  // What one GET per project per shard (the worker before the cache) makes.
  std::set<std::string> projects;
  std::set<std::pair<int, std::string>> projects_by_shard;
  for (const v1::Entity* pipeline : run.EntitiesOfType(kPipelineType)) {
    const std::string slug = StringProperty(*pipeline, "slug");
    projects.insert(slug);
    projects_by_shard.emplace(FakeRun::ShardOf(pipeline->key(), kShards), slug);
  }
  ASSERT_GT(projects_by_shard.size(), projects.size());

  fake->ResetCounters();
  ASSERT_TRUE(run.RunStep(integration, kStepFetchProjects, kShards).ok());
  EXPECT_EQ(fake->RequestCount("project"),
            static_cast<int64_t>(projects.size()));
  EXPECT_EQ(run.CountEntities(kProjectType), static_cast<int>(projects.size()));
  EXPECT_EQ(run.CountRelationships(kProjectHasPipelineType),
            run.CountEntities(kPipelineType));

  // Another task of the same run (e.g. the step offered again after a lost
  // lease) asks no more.
  FakeRun same_run(ConfigFor(*fake, login), run.run_id());
  ASSERT_TRUE(same_run.RunStep(integration, kStepFetchUserGroups).ok());
  ASSERT_TRUE(same_run.RunStep(integration, kStepFetchPipelines).ok());
  fake->ResetCounters();
  ASSERT_TRUE(same_run.RunStep(integration, kStepFetchProjects, kShards).ok());
  EXPECT_EQ(fake->RequestCount("project"), 0);
  EXPECT_EQ(same_run.CountEntities(kProjectType),
            static_cast<int>(projects.size()));

  // The next run fetches them again.
  FakeRun next_run(ConfigFor(*fake, login));
  ASSERT_NE(next_run.run_id(), run.run_id());
  ASSERT_TRUE(next_run.RunStep(integration, kStepFetchUserGroups).ok());
  ASSERT_TRUE(next_run.RunStep(integration, kStepFetchPipelines).ok());
  fake->ResetCounters();
  ASSERT_TRUE(next_run.RunStep(integration, kStepFetchProjects, kShards).ok());
  EXPECT_EQ(fake->RequestCount("project"),
            static_cast<int64_t>(projects.size()));
}

// A project that could not be fetched is asked for again by the next shard:
// one task's failure does not decide for the others.
TEST(StepsFaultTest, FailedProjectFetchIsNotKeptForTheRun) {
  fakes::GeneratorOptions generator = SmallData();
  generator.pipelines_per_project = 6;
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(generator);
  ASSERT_NE(fake, nullptr);
  const std::string login = fake->dataset().orgs[0].name;
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, login));
  ASSERT_TRUE(run.RunStep(integration, kStepFetchUserGroups).ok());
  ASSERT_TRUE(run.RunStep(integration, kStepFetchPipelines).ok());
  std::set<std::string> projects;
  for (const v1::Entity* pipeline : run.EntitiesOfType(kPipelineType)) {
    projects.insert(StringProperty(*pipeline, "slug"));
  }
  ASSERT_TRUE(fake->AddFault("project:403").ok());
  fake->ResetCounters();
  (void)run.RunStep(integration, kStepFetchProjects, /*shards=*/3);
  // Every shard asked for each of its projects (none was kept); some asked
  // for the same one.
  EXPECT_GT(fake->RequestCount("project"),
            static_cast<int64_t>(projects.size()));
  EXPECT_EQ(run.CountEntities(kProjectType), 0);

  fake->ClearFaults();
  fake->ResetCounters();
  FakeRun retry(ConfigFor(*fake, login), run.run_id());
  ASSERT_TRUE(retry.RunStep(integration, kStepFetchUserGroups).ok());
  ASSERT_TRUE(retry.RunStep(integration, kStepFetchPipelines).ok());
  ASSERT_TRUE(retry.RunStep(integration, kStepFetchProjects, 3).ok());
  EXPECT_EQ(retry.CountEntities(kProjectType),
            static_cast<int>(projects.size()));
}

// --- Faults
// ---------------------------------------------------------------------------------

TEST(StepsFaultTest, NotFoundOnOneOrgsPipelinesWarnsAndKeepsTheOther) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  const Dataset& data = fake->dataset();
  const std::string missing = data.orgs[0].slug;
  ASSERT_TRUE(
      fake->AddFault(absl::StrCat("pipeline:404:resource=", missing)).ok());
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "nobody"));
  ASSERT_TRUE(run.RunStep(integration, kStepFetchUserGroups).ok());
  absl::Status status = run.RunStep(integration, kStepFetchPipelines);
  EXPECT_TRUE(status.ok()) << status;

  int other_org_pipelines = 0;
  for (const auto& pipeline : data.pipelines) {
    other_org_pipelines += pipeline.org_slug != missing;
  }
  EXPECT_EQ(run.CountEntities(kPipelineType), other_org_pipelines);
  EXPECT_GT(other_org_pipelines, 0);
  const auto warnings = run.EventsNamed("warn_missing_permission");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].level, v1::EVENT_LEVEL_WARN);
  EXPECT_EQ(
      warnings[0].description,
      absl::StrCat("Could not fetch pipelines for organization '", missing,
                   "' (HTTP 404): make sure the API token belongs to a "
                   "user with access to it."));
  EXPECT_TRUE(run.partial_types().empty());
  ASSERT_EQ(run.incomplete_scopes().at(kStepFetchPipelines).size(), 1u);
  const auto& [scope, reason] =
      *run.incomplete_scopes().at(kStepFetchPipelines).begin();
  EXPECT_EQ(reason, "HTTP 404 on GET /pipeline?org-slug={slug}");
  // The other orgs' pipelines belong to their org's scope, not this one.
  for (const v1::Entity* pipeline : run.EntitiesOfType(kPipelineType)) {
    EXPECT_TRUE(
        absl::StartsWith(run.ScopeOf(pipeline->key()), "circleci_user_group:"));
    EXPECT_NE(run.ScopeOf(pipeline->key()), scope);
  }
}

TEST(StepsFaultTest, ForbiddenEnvVarsOfOneProjectWarnsAndKeepsTheOthers) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  const Dataset& data = fake->dataset();
  const std::string forbidden = data.projects[2].slug;
  ASSERT_TRUE(
      fake->AddFault(absl::StrCat("envvar:403:resource=", forbidden)).ok());
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "nobody"));
  std::map<std::string, absl::Status> results = run.RunAll(integration);
  ExpectAllOk(results);

  int others = 0;
  for (const auto& var : data.project_env_vars) {
    others += var.project_slug != forbidden;
  }
  EXPECT_EQ(run.CountEntities(kProjectEnvVarType), others);
  const auto warnings = run.EventsNamed("warn_missing_permission");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].step_id, kStepFetchProjectEnvVariables);
  EXPECT_EQ(warnings[0].description,
            absl::StrCat("Could not fetch environment variables of project '",
                         forbidden,
                         "' (HTTP 403): make sure the API token belongs to a "
                         "user with access to it."));
  EXPECT_TRUE(run.partial_types().empty());
  ASSERT_EQ(run.incomplete_scopes().at(kStepFetchProjectEnvVariables).size(),
            1u);
  const auto& [scope, reason] =
      *run.incomplete_scopes().at(kStepFetchProjectEnvVariables).begin();
  EXPECT_EQ(reason, "HTTP 403 on GET /project/{slug}/envvar");
  ASSERT_TRUE(run.entities().contains(scope)) << scope;
  EXPECT_EQ(run.entities().at(scope).type(), kProjectType);
  // Every env var and edge belongs to its project's scope.
  for (const v1::Relationship* has :
       run.RelationshipsOfType(kProjectHasEnvVarType)) {
    EXPECT_EQ(run.ScopeOf(has->key()), has->from_entity_key());
    EXPECT_EQ(run.ScopeOf(has->to_entity_key()), has->from_entity_key());
  }
}

TEST(StepsFaultTest, NotFoundContextsAndRestrictionsWarnPerResource) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  const Dataset& data = fake->dataset();
  const std::string org = data.orgs[1].slug;
  // A context of org 0 whose restrictions are missing: its env vars stay, its
  // USES go.
  const fakes::Context& context = data.contexts[0];
  ASSERT_NE(context.org_slug, org);
  ASSERT_TRUE(fake->AddFault(absl::StrCat("context:404:resource=", org)).ok());
  ASSERT_TRUE(
      fake->AddFault(absl::StrCat("restrictions:404:resource=", context.id))
          .ok());
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "nobody"));
  ExpectAllOk(run.RunAll(integration));

  std::vector<std::string> descriptions;
  for (const auto& event : run.EventsNamed("warn_missing_permission")) {
    descriptions.push_back(event.description);
  }
  EXPECT_THAT(
      descriptions,
      ::testing::UnorderedElementsAre(
          absl::StrCat("Could not fetch contexts for organization '", org,
                       "' (HTTP 404): make sure the API token belongs "
                       "to a user with access to it."),
          absl::StrCat("Could not fetch restrictions of context '",
                       context.name, "' (", context.id,
                       ") (HTTP 404): make sure the API token belongs "
                       "to a user with access to it.")));
  int org0_contexts = 0;
  for (const auto& c : data.contexts) org0_contexts += c.org_slug != org;
  EXPECT_EQ(run.CountEntities(kContextType), org0_contexts);
  int env_vars_of_context = 0;
  for (const auto& var : data.context_env_vars) {
    env_vars_of_context += var.context_id == context.id;
  }
  ASSERT_GT(env_vars_of_context, 0);
  int uses_of_context = 0;
  for (const auto* uses :
       run.RelationshipsOfType(kProjectUsesContextEnvVarType)) {
    uses_of_context +=
        absl::StrContains(uses->to_entity_key(), context.id) ? 1 : 0;
  }
  EXPECT_EQ(uses_of_context, 0);
  int context_has = 0;
  for (const auto* has : run.RelationshipsOfType(kContextHasEnvVarType)) {
    context_has += has->from_entity_key() == ContextKey(context.id);
  }
  EXPECT_EQ(context_has, env_vars_of_context);
  // The org's contexts and the context's USES edges are scopes not listed.
  EXPECT_TRUE(run.partial_types().empty());
  const auto& gaps = run.incomplete_scopes().at(kStepFetchContexts);
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps.at(ContextKey(context.id)),
            "HTTP 404 on GET /context/{id}/restrictions");
  int org_gaps = 0;
  for (const auto& [scope, reason] : gaps) {
    org_gaps += reason == "HTTP 404 on GET /context?owner-slug={slug}";
  }
  EXPECT_EQ(org_gaps, 1);
}

TEST(StepsFaultTest, UnauthorizedFailsTheStepWithAClearMessage) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("workflow-jobs:401").ok());
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "nobody"));
  std::map<std::string, absl::Status> results = run.RunAll(integration);
  const absl::Status& jobs = results.at(kStepFetchWorkflowJobs);
  EXPECT_EQ(jobs.code(), absl::StatusCode::kUnauthenticated) << jobs;
  EXPECT_THAT(std::string(jobs.message()), HasSubstr("/workflow/"));
  EXPECT_THAT(std::string(jobs.message()), HasSubstr("401"));
  EXPECT_THAT(std::string(jobs.message()), Not(HasSubstr(kToken)));
  EXPECT_THAT(run.EventsNamed("warn_missing_permission"), IsEmpty());
  for (const auto& [step, status] : results) {
    if (step != kStepFetchWorkflowJobs) {
      EXPECT_TRUE(status.ok()) << step << ": " << status;
    }
  }
}

TEST(StepsFaultTest, OtherClientErrorsFailTheStep) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("pipeline-workflows:400:times=1").ok());
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "nobody"));
  std::map<std::string, absl::Status> results = run.RunAll(integration);
  EXPECT_EQ(results.at(kStepFetchPipelineWorkflows).code(),
            absl::StatusCode::kFailedPrecondition)
      << results.at(kStepFetchPipelineWorkflows);
}

TEST(StepsFaultTest, RepeatingPageTokenIsAnErrorNotAHang) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated();
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("pipeline:repeat_token").ok());
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "nobody"));
  ASSERT_TRUE(run.RunStep(integration, kStepFetchUserGroups).ok());
  absl::Status status = run.RunStep(integration, kStepFetchPipelines);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("next_page_token"));
  EXPECT_LE(fake->RequestCount("pipeline"), 2 * 3);  // a page or two per org
}

TEST(StepsFaultTest, MalformedBodyFailsTheStep) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("collaborations:malformed").ok());
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run(ConfigFor(*fake, "nobody"));
  absl::Status status = run.RunStep(integration, kStepFetchUserGroups);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(http::HttpErrorKindOf(status), http::HttpErrorKind::kMalformedBody)
      << status;
}

// --- Invocation validation
// ----------------------------------------------------------------

TEST(ValidateInvocationTest, GoodTokenPasses) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  CircleCiIntegration integration(FastRetryHttpOptions());
  absl::Status status =
      integration.ValidateInvocation(ConfigFor(*fake, "nobody"));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(fake->RequestCount("me"), 1);
}

TEST(ValidateInvocationTest, BadTokenIsUnauthenticatedNamingApiKey) {
  std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  CircleCiIntegration integration(FastRetryHttpOptions());
  InstanceConfig config = ConfigFor(*fake, "nobody");
  config["apiKey"] = "wrong-token-5678";
  absl::Status status = integration.ValidateInvocation(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  const std::string message(status.message());
  EXPECT_THAT(message, HasSubstr("CircleCI rejected the API key (config field "
                                 "'apiKey')"));
  EXPECT_THAT(message, HasSubstr("/me/"));
  EXPECT_THAT(message, HasSubstr("401"));
  EXPECT_THAT(message, Not(HasSubstr("wrong-token-5678")));
}

TEST(ValidateInvocationTest, MissingLoginIsInvalidArgumentNamingIt) {
  CircleCiIntegration integration(FastRetryHttpOptions());
  absl::Status status = integration.ValidateInvocation(
      {{"apiKey", kToken}, {"userId", "DUMMY_ID"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "config field 'login' is required");
}

TEST(ValidateInvocationTest, UnreachableProviderIsUnavailable) {
  std::string base_url;
  {
    std::unique_ptr<FakeCircleCi> fake = StartGenerated(SmallData());
    ASSERT_NE(fake, nullptr);
    base_url = fake->base_url();
  }  // stopped: nothing listens there any more
  http::HttpClientOptions options = FastRetryHttpOptions();
  options.max_attempts = 1;
  CircleCiIntegration integration(options);
  absl::Status status = integration.ValidateInvocation({{"apiKey", kToken},
                                                        {"login", "x"},
                                                        {"userId", "y"},
                                                        {"baseUrl", base_url}});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("baseUrl"));
}

TEST(ExecuteStepTest, UnknownStepIsInvalidArgument) {
  CircleCiIntegration integration(FastRetryHttpOptions());
  FakeRun run({{"apiKey", kToken}, {"login", "x"}, {"userId", "y"}});
  absl::Status status = run.RunStep(integration, "fetch-everything");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("fetch-everything"));
}

}  // namespace
}  // namespace graphmill::worker::circleci
