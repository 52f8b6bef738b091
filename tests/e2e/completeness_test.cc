// "Never delete what was not looked at" across real processes: a listing the
// credentials may not read (HTTP 403 or 404) deletes nothing of what it would
// have listed, the run ends PARTIAL naming each incomplete type and why, and
// the next clean run is SUCCEEDED with the same graph; deletion goes on in the
// scopes that were listed completely.
//
// One shared deployment (fake CircleCI and Heroku, a coordinator, 2 workers)
// serves the table of fault cases, which run in order: each starts from the
// graph of the previous case's clean run.
#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "rapidjson/document.h"
#include "re2/re2.h"
#include "tests/e2e/expected_graph.h"
#include "tests/e2e/fake_control.h"
#include "tests/fakes/heroku/dataset.h"

namespace graphmill::testing {
namespace {

namespace heroku = ::graphmill::fakes::heroku;

constexpr char kLogin[] = "complete-org";
constexpr char kHerokuKey[] = "complete-key";
constexpr char kCircleCi[] = "ci";
constexpr char kHeroku[] = "hk";
// Provider requests per second: the rate is not what these tests are about.
constexpr char kRateLimit[] = "1000";

// Small, but with several of each parent: 3 orgs, 6 projects, 12 pipelines,
// 24 workflows, 48 jobs, 12 project env vars, 3 contexts.
fakes::GeneratorOptions CircleCiOptions() {
  fakes::GeneratorOptions options;
  options.seed = 23;
  options.login = kLogin;
  options.orgs = 3;
  options.projects_per_org = 2;
  options.pipelines_per_project = 2;
  options.workflows_per_pipeline = 2;
  options.jobs_per_workflow = 2;
  options.contexts_per_org = 1;
  options.env_vars_per_project = 2;
  options.env_vars_per_context = 2;
  options.project_restrictions_per_context = 1;
  return options;
}

// 2 accounts, 4 teams, 8 apps, 16 add-ons.
heroku::DatasetOptions HerokuOptions() {
  heroku::DatasetOptions options;
  options.seed = 5;
  options.accounts = 2;
  options.members_per_account = 3;
  options.shared_members = 1;
  options.teams_per_account = 2;
  options.team_members_per_team = 2;
  options.apps_per_team = 2;
  options.addons_per_app = 2;
  return options;
}

std::vector<std::string> HerokuFlags(const heroku::DatasetOptions& d) {
  return {"--mode=generated",
          absl::StrCat("--token=", kHerokuKey, ":global:admin"),
          absl::StrCat("--seed=", d.seed),
          absl::StrCat("--accounts=", d.accounts),
          absl::StrCat("--members_per_account=", d.members_per_account),
          absl::StrCat("--shared_members=", d.shared_members),
          absl::StrCat("--teams_per_account=", d.teams_per_account),
          absl::StrCat("--team_members_per_team=", d.team_members_per_team),
          absl::StrCat("--apps_per_team=", d.apps_per_team),
          absl::StrCat("--addons_per_app=", d.addons_per_app)};
}

// The datasets the fakes serve (generation is deterministic).
const fakes::Dataset& CircleCiData() {
  static const fakes::Dataset* const data =
      new fakes::Dataset(*fakes::GenerateDataset(CircleCiOptions()));
  return *data;
}
const heroku::Dataset& HerokuData() {
  static const heroku::Dataset* const data =
      new heroku::Dataset(*heroku::GenerateDataset(HerokuOptions()));
  return *data;
}

// --- Runs as the CLI shows them.

// One entry of `Run.incomplete_types`.
struct IncompleteType {
  std::string type;
  std::string reason;
  bool error = false;
  bool all_kept = false;
};

// A finished run: what `run start --watch` and `run show` printed.
struct RunOutcome {
  int exit_code = -1;
  std::string watch;  // stdout and stderr of `run start --watch`
  int64_t id = 0;
  std::string status;  // e.g. "RUN_STATUS_PARTIAL"
  std::vector<IncompleteType> incomplete;
  std::string show;  // `run show ID` (text)

  std::string Describe() const {
    return absl::StrCat("exit ", exit_code, "\n", watch, "\n", show);
  }
};

// Starts a full run of `instance` (each looks at everything: what these tests
// are about), watches it to its end and reads it back.
RunOutcome RunToEnd(Cluster& cluster, const std::string& instance) {
  RunOutcome outcome;
  CommandResult run =
      cluster.Cli({"run", "start", instance, "--watch", "--full"});
  outcome.exit_code = run.exit_code;
  outcome.watch = run.out + run.err;
  if (!RE2::PartialMatch(run.out, R"(run (\d+) started)", &outcome.id)) {
    ADD_FAILURE() << "no run id in: " << outcome.watch;
    return outcome;
  }
  outcome.show = cluster.Cli({"run", "show", absl::StrCat(outcome.id)}).out;
  std::vector<std::string> lines =
      cluster.CliJsonLines({"run", "show", absl::StrCat(outcome.id)});
  rapidjson::Document document;
  if (lines.size() != 1 || document.Parse(lines[0].c_str()).HasParseError() ||
      !document.IsObject() || !document.HasMember("run")) {
    ADD_FAILURE() << "run show --output json: " << absl::StrJoin(lines, "\n");
    return outcome;
  }
  const rapidjson::Value& json = document["run"];
  if (json.HasMember("status") && json["status"].IsString()) {
    outcome.status = json["status"].GetString();
  }
  if (json.HasMember("incompleteTypes") && json["incompleteTypes"].IsArray()) {
    for (const rapidjson::Value& item : json["incompleteTypes"].GetArray()) {
      IncompleteType& type = outcome.incomplete.emplace_back();
      type.type = item["type"].GetString();
      type.reason = item["reason"].GetString();
      type.error = item["error"].GetBool();
      type.all_kept = item["allKept"].GetBool();
    }
  }
  return outcome;
}

// What a faulted run must report about one type it could not look at
// completely (an error-caused entry of `Run.incomplete_types`).
struct ExpectedType {
  std::string type;
  std::string reason;  // a substring of the reason
  bool all_kept = false;
};

// The same expectation for several types (e.g. a step's entity and
// relationship types).
std::vector<ExpectedType> Types(absl::Span<const char* const> types,
                                const std::string& reason, bool all_kept) {
  std::vector<ExpectedType> expected;
  for (const char* type : types) {
    expected.push_back({type, reason, all_kept});
  }
  return expected;
}

std::vector<ExpectedType> Concat(
    const std::vector<std::vector<ExpectedType>>& parts) {
  std::vector<ExpectedType> all;
  for (const auto& part : parts)
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

// The run is PARTIAL (exit 2), and its error-caused incomplete types are
// exactly `expected`, with their reasons, in the JSON and in `run show`.
void ExpectPartial(const RunOutcome& run,
                   const std::vector<ExpectedType>& expected) {
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_EQ(run.status, "RUN_STATUS_PARTIAL") << run.Describe();
  std::map<std::string, const IncompleteType*> errors;
  for (const IncompleteType& type : run.incomplete) {
    if (type.error) errors[type.type] = &type;
  }
  std::set<std::string> expected_types;
  for (const ExpectedType& want : expected) expected_types.insert(want.type);
  std::set<std::string> error_types;
  for (const auto& [type, entry] : errors) error_types.insert(type);
  EXPECT_EQ(error_types, expected_types) << run.show;
  EXPECT_TRUE(
      absl::StrContains(run.show, "\nIncomplete types (kept, not deleted):\n"))
      << run.show;
  // The rows of that table: "TYPE  KEPT  WHY".
  std::vector<std::string> rows;
  const size_t table = run.show.find("Incomplete types (kept, not deleted):");
  if (table != std::string::npos) {
    for (absl::string_view line :
         absl::StrSplit(absl::string_view(run.show).substr(table), '\n')) {
      if (line.empty()) break;
      rows.emplace_back(line);
    }
  }
  for (const ExpectedType& want : expected) {
    auto found = errors.find(want.type);
    if (found == errors.end()) continue;  // reported above
    const IncompleteType& got = *found->second;
    EXPECT_TRUE(absl::StrContains(got.reason, want.reason))
        << want.type << ": reason '" << got.reason << "' lacks '" << want.reason
        << "'";
    EXPECT_EQ(got.all_kept, want.all_kept)
        << want.type << " (" << got.reason << ")";
    bool shown = false;
    for (const std::string& row : rows) {
      shown |= absl::StartsWith(row, want.type + " ") &&
               absl::StrContains(row, want.reason) &&
               absl::StrContains(
                   row, want.all_kept ? "  all  " : "  unlisted scopes  ");
    }
    EXPECT_TRUE(shown) << want.type << " not in run show as expected:\n"
                       << run.show;
  }
}

// The run is SUCCEEDED (exit 0) and no type is incomplete by error.
void ExpectSucceeded(const RunOutcome& run) {
  EXPECT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.status, "RUN_STATUS_SUCCEEDED") << run.Describe();
  for (const IncompleteType& type : run.incomplete) {
    EXPECT_FALSE(type.error) << type.type << ": " << type.reason;
  }
}

// Runs `instance` with `faults` (the text syntax, comma-separated) active on
// the fake at `root`; clears them afterwards, whatever happens, and checks
// that each fault was hit.
RunOutcome RunWithFaults(Cluster& cluster, const std::string& instance,
                         const std::string& root, const std::string& faults) {
  Control(root, "POST", "/_control/faults",
          absl::StrCat(R"({"spec":")", faults, R"("})"));
  absl::Cleanup clear = [&] { Control(root, "DELETE", "/_control/faults"); };
  RunOutcome outcome = RunToEnd(cluster, instance);
  const std::vector<int64_t> fired = FaultsFired(root);
  const std::vector<std::string> specs = absl::StrSplit(faults, ',');
  EXPECT_EQ(fired.size(), specs.size()) << faults;
  for (int64_t count : fired) EXPECT_GT(count, 0) << "a fault of " << faults;
  return outcome;
}

CommandResult CreateHerokuInstance(Cluster& cluster, const std::string& id) {
  return cluster.Cli({"instance", "create", id, "--integration", "heroku",
                      "--config", absl::StrCat("apiKey=", kHerokuKey),
                      "--config", "baseUrl=" + cluster.fake_url("heroku"),
                      "--rate-limit", kRateLimit});
}

// --- The table of fault cases.

// CircleCI step type groups.
constexpr const char* kPipelines[] = {"circleci_pipeline"};
constexpr const char* kWorkflows[] = {"circleci_workflow",
                                      "circleci_pipeline_has_workflow"};
constexpr const char* kJobs[] = {"circleci_job", "circleci_workflow_has_job"};
constexpr const char* kProjectEdges[] = {"circleci_project_has_pipeline"};
constexpr const char* kProjectEnvVars[] = {
    "circleci_project_environment_variable",
    "circleci_project_has_environment_variable"};
constexpr const char* kContexts[] = {
    "circleci_context", "circleci_context_environment_variable",
    "circleci_project_uses_context_environment_variable",
    "circleci_context_has_environment_variable"};

struct FaultCase {
  std::string name;
  bool heroku = false;  // else CircleCI
  std::string faults;
  std::vector<ExpectedType> expected;
};

// For failure messages (instead of the bytes).
void PrintTo(const FaultCase& fault, std::ostream* out) {
  *out << fault.name << " (" << fault.faults << ")";
}

// What a gap in the pipeline feed of one org costs: `reason` is the feed's.
std::vector<ExpectedType> PipelineFeedGap(const std::string& reason) {
  const std::string parent_pipeline =
      "parent circleci_pipeline incomplete: " + reason;
  const std::string reads_project = "reads circleci_project incomplete: ";
  return Concat({
      Types(kPipelines, reason + " for 1 circleci_user_group", false),
      Types(kWorkflows, parent_pipeline, false),
      // Jobs lose only the scopes of workflows not collected.
      Types(kJobs, "parent circleci_workflow incomplete: " + parent_pipeline,
            false),
      // Declared partial: kept whole anyway.
      Types({"circleci_project"}, parent_pipeline, true),
      Types(kProjectEdges, parent_pipeline, false),
      Types(kProjectEnvVars, "parent circleci_project incomplete: ", false),
      Types({"circleci_user_group_has_project"}, reads_project, true),
      Types(kContexts, reads_project, true),
  });
}

std::vector<FaultCase> Cases() {
  const fakes::Dataset& ci = CircleCiData();
  const heroku::Dataset& hk = HerokuData();
  const std::string org = ci.orgs[1].slug;
  const std::string pipeline = ci.pipelines[3].id;
  const std::string workflow = ci.workflows[5].id;
  const std::string project = ci.projects[2].slug;
  const std::string workflow_reason = "HTTP 403 on GET /pipeline/{id}/workflow";
  const std::string project_reason = "HTTP 403 on GET /project/{slug}";
  const std::string reads_project =
      "reads circleci_project incomplete: " + project_reason;
  const std::string apps_reason = "HTTP 403 on GET /teams/{id}/apps";
  const std::string addons_reason = "HTTP 403 on GET /apps/{id}/addons";
  return {
      {"PipelineFeedOfOneOrg403", false, "pipeline:403:resource=" + org,
       PipelineFeedGap("HTTP 403 on GET /pipeline?org-slug={slug}")},
      {"PipelineFeedOfOneOrg404", false, "pipeline:404:resource=" + org,
       PipelineFeedGap("HTTP 404 on GET /pipeline?org-slug={slug}")},
      {"WorkflowsOfOnePipeline403", false,
       "pipeline-workflows:403:resource=" + pipeline,
       Concat({Types(kWorkflows, workflow_reason + " for 1 circleci_pipeline",
                     false),
               Types(kJobs,
                     "parent circleci_workflow incomplete: " + workflow_reason +
                         " for 1 circleci_pipeline",
                     false)})},
      {"WorkflowsOfAllPipelines403", false, "pipeline-workflows:403",
       Concat({Types(kWorkflows,
                     absl::StrCat(workflow_reason, " for ", ci.pipelines.size(),
                                  " circleci_pipeline entities"),
                     false),
               Types(kJobs, "parent circleci_workflow incomplete: ", false)})},
      {"JobsOfOneWorkflow403", false, "workflow-jobs:403:resource=" + workflow,
       Types(kJobs,
             "HTTP 403 on GET /workflow/{id}/job for 1 circleci_workflow",
             false)},
      {"OneProject403", false, "project:403:resource=" + project,
       Concat({
           Types({"circleci_project"}, project_reason, true),
           Types(kProjectEdges, project_reason, true),
           // Env vars lose only the scope of the project not collected.
           Types(kProjectEnvVars,
                 "parent circleci_project incomplete: " + project_reason,
                 false),
           Types({"circleci_user_group_has_project"}, reads_project, true),
           Types(kContexts, reads_project, true),
       })},
      {"ContextsOfOneOrg403", false, "context:403:resource=" + ci.orgs[0].slug,
       Types(kContexts,
             "HTTP 403 on GET /context?owner-slug={slug} for 1 "
             "circleci_user_group",
             false)},
      {"ProjectEnvVars403", false, "envvar:403",
       Types(kProjectEnvVars,
             absl::StrCat("HTTP 403 on GET /project/{slug}/envvar for ",
                          ci.projects.size(), " circleci_project entities"),
             false)},
      {"AppsOfOneTeam403", true, "team-apps:403:resource=" + hk.teams[1].name,
       Concat({
           Types({"heroku_application"}, apps_reason + " for 1 heroku_team",
                 false),
           Types({"heroku_addon"},
                 "parent heroku_application incomplete: " + apps_reason, false),
           Types({"heroku_team_owns_application"},
                 "reads heroku_application incomplete: " + apps_reason, true),
           Types({"heroku_application_has_addon"}, "incomplete: " + apps_reason,
                 true),
       })},
      {"AddOnsOfAllApps403", true, "app-addons:403",
       Concat({
           Types({"heroku_addon"},
                 absl::StrCat(addons_reason, " for ", hk.apps.size(),
                              " heroku_application entities"),
                 false),
           Types({"heroku_application_has_addon"},
                 "reads heroku_addon incomplete: " + addons_reason, true),
       })},
      {"AddOnsOfOneApp403", true, "app-addons:403:resource=" + hk.apps[3].name,
       Concat({
           Types({"heroku_addon"}, addons_reason + " for 1 heroku_application",
                 false),
           Types({"heroku_application_has_addon"},
                 "reads heroku_addon incomplete: " + addons_reason, true),
       })},
  };
}

// The deployment the cases share, started by the first case; each instance
// gets its first (clean) run when first used.
struct Shared {
  std::unique_ptr<Cluster> cluster;
  std::map<std::string, GraphByType> baseline;  // by instance
};

Shared& TheShared() {
  static Shared* const shared = new Shared;
  return *shared;
}

class FaultCaseTest : public ::testing::TestWithParam<FaultCase> {
 protected:
  static void TearDownTestSuite() { TheShared().cluster.reset(); }

  void SetUp() override {
    Shared& shared = TheShared();
    if (shared.cluster == nullptr) {
      ClusterOptions options;
      options.workers = 2;
      options.fakes["circleci"] =
          CircleCiFake(FakeCircleCiFlags(CircleCiOptions(), 5));
      options.fakes["heroku"] = Fake("heroku", HerokuFlags(HerokuOptions()));
      shared.cluster = std::make_unique<Cluster>(options);
      absl::Status started = shared.cluster->Start();
      if (!started.ok()) {
        shared.cluster.reset();
        FAIL() << started;
      }
    }
    cluster_ = shared.cluster.get();
    instance_ = GetParam().heroku ? kHeroku : kCircleCi;
    if (shared.baseline.contains(instance_)) return;
    const CommandResult created =
        GetParam().heroku ? CreateHerokuInstance(*cluster_, instance_)
                          : CreateCircleCiInstance(
                                *cluster_, instance_, kLogin, kCircleCiToken,
                                {"--rate-limit", kRateLimit});
    ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
    const RunOutcome first = RunToEnd(*cluster_, instance_);
    ExpectSucceeded(first);
    ASSERT_EQ(first.exit_code, 0) << cluster_->AllLogs();
    shared.baseline[instance_] = ReadGraph(*cluster_, instance_);
  }

  std::string root() const {
    return GetParam().heroku ? cluster_->fake_url("heroku")
                             : cluster_->fake_url("circleci");
  }

  Cluster* cluster_ = nullptr;
  std::string instance_;
};

TEST_P(FaultCaseTest, FaultedRunKeepsTheGraphAndEndsPartial) {
  const FaultCase& fault = GetParam();
  const GraphByType& baseline = TheShared().baseline.at(instance_);
  const GraphByType before = ReadGraph(*cluster_, instance_);
  ASSERT_FALSE(before.empty());
  // Every case ends with a clean run: the graph is the first run's.
  EXPECT_EQ(GraphDifference(baseline, before), "");

  const RunOutcome faulted =
      RunWithFaults(*cluster_, instance_, root(), fault.faults);
  ExpectPartial(faulted, fault.expected);
  EXPECT_EQ(GraphDifference(before, ReadGraph(*cluster_, instance_)), "")
      << "after the faulted run " << faulted.id;

  const RunOutcome clean = RunToEnd(*cluster_, instance_);
  ExpectSucceeded(clean);
  EXPECT_EQ(GraphDifference(before, ReadGraph(*cluster_, instance_)), "")
      << "after the clean run " << clean.id;
}

INSTANTIATE_TEST_SUITE_P(Completeness, FaultCaseTest,
                         ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<FaultCase>& info) {
                           return info.param.name;
                         });

// --- Deletion where the scope was listed completely.

class ScopedDeletionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.workers = 2;
    options.fakes["circleci"] =
        CircleCiFake(FakeCircleCiFlags(CircleCiOptions(), 5));
    cluster_ = std::make_unique<Cluster>(options);
    ASSERT_TRUE(cluster_->Start().ok());
    ASSERT_EQ(
        CreateCircleCiInstance(*cluster_, kCircleCi, kLogin, kCircleCiToken,
                               {"--rate-limit", kRateLimit})
            .exit_code,
        0);
    const RunOutcome first = RunToEnd(*cluster_, kCircleCi);
    ExpectSucceeded(first);
    ASSERT_EQ(first.exit_code, 0) << cluster_->AllLogs();
    before_ = ReadGraph(*cluster_, kCircleCi);
  }

  void Mutate(const std::string& json) {
    Control(cluster_->fake_url("circleci"), "POST", "/_control/mutations",
            json);
  }

  // The graph of a new instance that ingests the fake's current data.
  GraphByType Fresh() {
    const std::string id = absl::StrCat("fresh-", ++fresh_instances_);
    EXPECT_EQ(CreateCircleCiInstance(*cluster_, id, kLogin, kCircleCiToken,
                                     {"--rate-limit", kRateLimit})
                  .exit_code,
              0);
    ExpectSucceeded(RunToEnd(*cluster_, id));
    return ReadGraph(*cluster_, id);
  }

  // Keys of `graph` (any type) that contain `part`.
  static std::set<std::string> KeysWith(const GraphByType& graph,
                                        const std::string& part) {
    std::set<std::string> keys;
    for (const auto& [type, objects] : graph) {
      for (const auto& [key, json] : objects) {
        if (absl::StrContains(key, part)) keys.insert(key);
      }
    }
    return keys;
  }

  // Every object of `before_` whose key contains `part` (there is one at
  // least) is in `after` exactly as it was.
  void ExpectKept(const GraphByType& after, const std::string& part) {
    EXPECT_FALSE(KeysWith(before_, part).empty()) << part;
    for (const auto& [type, objects] : before_) {
      for (const auto& [key, json] : objects) {
        if (!absl::StrContains(key, part)) continue;
        auto now = after.find(type);
        EXPECT_TRUE(now != after.end() && now->second.contains(key) &&
                    now->second.at(key) == json)
            << key << " was not kept as it was";
      }
    }
  }

  std::unique_ptr<Cluster> cluster_;
  GraphByType before_;
  int fresh_instances_ = 0;
};

// Jobs removed with their pipeline are deleted (with their edges) while
// another workflow's job listing is forbidden and its jobs are kept; an env
// var removed from a project whose listing completed is deleted while another
// project's forbidden listing keeps its env vars. (The fake has no mutation
// that removes single jobs: the jobs go with their pipeline, so their scope,
// the workflow, is gone; the env var exercises the scope listed completely.)
TEST_F(ScopedDeletionTest, RemovedJobsGoWhileAForbiddenWorkflowKeepsItsJobs) {
  const fakes::Dataset& ci = CircleCiData();
  const fakes::Pipeline& removed = ci.pipelines[0];
  const fakes::Workflow& faulted = ci.workflows[6];  // of pipelines[3]
  ASSERT_NE(faulted.pipeline_id, removed.id);
  std::vector<std::string> removed_keys = {"circleci_pipeline:" + removed.id};
  for (const fakes::Workflow& w : ci.workflows) {
    if (w.pipeline_id != removed.id) continue;
    removed_keys.push_back("circleci_workflow:" + w.id);
    for (const fakes::Job& job : ci.jobs) {
      if (job.workflow_id == w.id) {
        removed_keys.push_back("circleci_job:" + job.id);
      }
    }
  }
  ASSERT_EQ(removed_keys.size(), 1u + 2u + 4u);
  const fakes::Project& listed = ci.projects[0];
  const fakes::Project& forbidden = ci.projects[1];
  const fakes::ProjectEnvVar& removed_var = ci.project_env_vars[0];
  ASSERT_EQ(removed_var.project_slug, listed.slug);
  removed_keys.push_back(absl::StrCat("circleci_project_environment_variable:",
                                      listed.id, ":", removed_var.name));
  for (const std::string& key : removed_keys) {
    // The entity and at least one edge.
    ASSERT_GE(KeysWith(before_, key).size(), 2u) << key;
  }

  ASSERT_NO_FATAL_FAILURE(Mutate(
      absl::StrCat(R"([{"op":"remove_pipeline","id":")", removed.id, R"("},)",
                   R"({"op":"remove_project_env_var","project":")", listed.slug,
                   R"(","name":")", removed_var.name, R"("}])")));
  const RunOutcome second =
      RunWithFaults(*cluster_, kCircleCi, cluster_->fake_url("circleci"),
                    absl::StrCat("workflow-jobs:403:resource=", faulted.id,
                                 ",envvar:403:resource=", forbidden.slug));
  ExpectPartial(second,
                Concat({Types(kJobs,
                              "HTTP 403 on GET /workflow/{id}/job for 1 "
                              "circleci_workflow",
                              false),
                        Types(kProjectEnvVars,
                              "HTTP 403 on GET /project/{slug}/envvar for 1 "
                              "circleci_project",
                              false)}));
  const GraphByType after = ReadGraph(*cluster_, kCircleCi);
  // Gone: the pipeline, its workflows and jobs, the env var, and every edge
  // of theirs.
  for (const std::string& key : removed_keys) {
    EXPECT_TRUE(KeysWith(after, key).empty())
        << key << " or an edge of it is still in the graph";
  }
  // Kept as they were: the forbidden workflow's jobs and their edges, and the
  // forbidden project's env vars and their edges.
  for (const fakes::Job& job : ci.jobs) {
    if (job.workflow_id == faulted.id)
      ExpectKept(after, "circleci_job:" + job.id);
  }
  ExpectKept(after, "circleci_workflow:" + faulted.id + "|");
  ExpectKept(after, "circleci_project_environment_variable:" + forbidden.id);

  // Nothing else changed: the graph is what a fresh ingestion of the new data
  // gives (the forbidden scopes' data did not change).
  const GraphByType fresh = Fresh();
  EXPECT_EQ(GraphDifference(fresh, after), "");
  const RunOutcome third = RunToEnd(*cluster_, kCircleCi);
  ExpectSucceeded(third);
  EXPECT_EQ(GraphDifference(fresh, ReadGraph(*cluster_, kCircleCi)), "");
}

// A gap in a parent's listing costs only that parent's scopes, down the
// chain: with one pipeline's workflows and one project forbidden, a removed
// pipeline still takes its workflows and their jobs, and an env var removed
// from another project still goes.
TEST_F(ScopedDeletionTest, AParentGapKeepsOnlyItsOwnScopes) {
  const fakes::Dataset& ci = CircleCiData();
  const fakes::Pipeline& removed = ci.pipelines[0];
  const fakes::Pipeline& faulted = ci.pipelines[5];
  const fakes::Project& forbidden = ci.projects[3];
  const fakes::Project& listed = ci.projects[0];
  ASSERT_NE(removed.project_slug, forbidden.slug);
  const fakes::ProjectEnvVar& removed_var = ci.project_env_vars[0];
  ASSERT_EQ(removed_var.project_slug, listed.slug);

  ASSERT_NO_FATAL_FAILURE(Mutate(
      absl::StrCat(R"([{"op":"remove_pipeline","id":")", removed.id, R"("},)",
                   R"({"op":"remove_project_env_var","project":")", listed.slug,
                   R"(","name":")", removed_var.name, R"("}])")));
  const RunOutcome second =
      RunWithFaults(*cluster_, kCircleCi, cluster_->fake_url("circleci"),
                    absl::StrCat("pipeline-workflows:403:resource=", faulted.id,
                                 ",project:403:resource=", forbidden.slug));
  EXPECT_EQ(second.exit_code, 2) << second.Describe();
  EXPECT_EQ(second.status, "RUN_STATUS_PARTIAL");
  for (const IncompleteType& type : second.incomplete) {
    if (type.type == "circleci_job" ||
        type.type == "circleci_project_environment_variable") {
      EXPECT_FALSE(type.all_kept) << type.type << ": " << type.reason;
    }
  }
  const GraphByType after = ReadGraph(*cluster_, kCircleCi);
  const GraphByType fresh = Fresh();
  EXPECT_EQ(GraphDifference(fresh, after), "")
      << "after the faulted run " << second.id << ":\n"
      << second.show;
  const RunOutcome third = RunToEnd(*cluster_, kCircleCi);
  ExpectSucceeded(third);
  EXPECT_EQ(GraphDifference(fresh, ReadGraph(*cluster_, kCircleCi)), "");
}

}  // namespace
}  // namespace graphmill::testing
