// The walking skeleton end to end: fake CircleCI, coordinator, two workers and
// the CLI as separate processes. Checks the exact graph, restart persistence,
// and bad input handling.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "tests/e2e/cluster.h"
#include "tests/fakes/circleci/dataset.h"

namespace graphmill::testing {
namespace {

constexpr char kLogin[] = "e2e-org";
constexpr char kUserId[] = "0b9a3c55-1d7e-4e4f-9b5e-3a7c2d1e0f99";
constexpr char kAccountId[] = "acct-1234567890";

fakes::GeneratorOptions Generator() {
  fakes::GeneratorOptions options;
  options.seed = 42;
  options.login = kLogin;
  options.user_id = kUserId;
  options.orgs = 3;
  options.projects_per_org = 3;
  // More objects than one page of the Graph API (500), so the CLI pages.
  options.pipelines_per_project = 6;
  options.workflows_per_pipeline = 2;
  options.jobs_per_workflow = 3;
  options.contexts_per_org = 2;
  options.env_vars_per_project = 2;
  options.env_vars_per_context = 2;
  options.project_restrictions_per_context = 2;
  return options;
}

std::vector<std::string> FakeFlags(const fakes::GeneratorOptions& g) {
  return {"--mode=generated", absl::StrCat("--seed=", g.seed),
          absl::StrCat("--login=", g.login),
          absl::StrCat("--user_id=", g.user_id),
          absl::StrCat("--orgs=", g.orgs),
          absl::StrCat("--projects_per_org=", g.projects_per_org),
          absl::StrCat("--pipelines_per_project=", g.pipelines_per_project),
          absl::StrCat("--workflows_per_pipeline=", g.workflows_per_pipeline),
          absl::StrCat("--jobs_per_workflow=", g.jobs_per_workflow),
          absl::StrCat("--contexts_per_org=", g.contexts_per_org),
          absl::StrCat("--env_vars_per_project=", g.env_vars_per_project),
          absl::StrCat("--env_vars_per_context=", g.env_vars_per_context),
          absl::StrCat("--restrictions_per_context=",
                       g.project_restrictions_per_context),
          // Small pages, so every list is paginated.
          "--page_size=3"};
}

// Keys of JSON objects (JupiterOne flat shape) printed one per line, by _type.
std::map<std::string, std::set<std::string>> KeysByType(
    const std::vector<std::string>& lines) {
  std::map<std::string, std::set<std::string>> keys;
  for (const std::string& line : lines) {
    rapidjson::Document document;
    document.Parse(line.c_str());
    if (document.HasParseError() || !document.IsObject() ||
        !document.HasMember("_key")) {
      ADD_FAILURE() << "not a graph object: " << line;
      continue;
    }
    keys[document["_type"].GetString()].insert(document["_key"].GetString());
  }
  return keys;
}

std::map<std::string, size_t> Counts(
    const std::map<std::string, std::set<std::string>>& keys) {
  std::map<std::string, size_t> counts;
  for (const auto& [type, set] : keys) counts[type] = set.size();
  return counts;
}

class FoundationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    generator_ = Generator();
    auto dataset = fakes::GenerateDataset(generator_);
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    dataset_ = *dataset;
    ClusterOptions options;
    options.workers = 2;
    options.circleci_flags = FakeFlags(generator_);
    cluster_ = std::make_unique<Cluster>(options);
    absl::Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  CommandResult CreateInstance(const std::string& id,
                               const std::string& token) {
    return cluster_->Cli({"instance", "create", id, "--integration", "circleci",
                          "--config", "apiKey=" + token, "--config",
                          absl::StrCat("login=", kLogin), "--config",
                          absl::StrCat("userId=", kAccountId), "--config",
                          "baseUrl=" + cluster_->circleci_base_url()});
  }

  std::map<std::string, std::set<std::string>> Entities(
      const std::string& instance) {
    return KeysByType(
        cluster_->CliJsonLines({"graph", "entities", "--instance", instance}));
  }
  std::map<std::string, std::set<std::string>> Relationships(
      const std::string& instance) {
    return KeysByType(cluster_->CliJsonLines(
        {"graph", "relationships", "--instance", instance}));
  }

  fakes::GeneratorOptions generator_;
  fakes::Dataset dataset_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(FoundationTest, IngestsExactGraphWithTwoWorkers) {
  CommandResult created =
      CreateInstance("ci", cluster_->options().circleci_token);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  CommandResult run = cluster_->Cli({"run", "start", "ci", "--watch"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster_->AllLogs();

  // The account/user-group/user part of the graph, key by key (spec §4-§5).
  const std::string account = absl::StrCat("circleci_account:", kAccountId);
  const std::string user = absl::StrCat("circleci_user:", kUserId);
  std::set<std::string> groups;
  std::set<std::string> group_has_user;
  std::set<std::string> account_has_group;
  for (const fakes::Org& org : dataset_.orgs) {
    const std::string group = "circleci_user_group:" + org.id;
    groups.insert(group);
    group_has_user.insert(group + "|has|" + user);
    if (org.name == kLogin) account_has_group.insert(account + "|has|" + group);
  }
  ASSERT_EQ(account_has_group.size(), 1u);  // org 0 is named after the login

  auto entities = Entities("ci");
  auto relationships = Relationships("ci");
  EXPECT_EQ(entities["circleci_account"], std::set<std::string>{account});
  EXPECT_EQ(entities["circleci_user"], std::set<std::string>{user});
  EXPECT_EQ(entities["circleci_user_group"], groups);
  EXPECT_EQ(relationships["circleci_user_group_has_user"], group_has_user);
  EXPECT_EQ(relationships["circleci_account_has_user_group"],
            account_has_group);
  EXPECT_EQ(relationships["circleci_account_has_user"],
            std::set<std::string>{account + "|has|" + user});

  // Every other type, by count, from the generated data.
  size_t uses = 0;
  for (const fakes::ContextRestriction& r : dataset_.restrictions) {
    if (r.restriction_type != "project") continue;
    for (const fakes::ContextEnvVar& v : dataset_.context_env_vars) {
      uses += v.context_id == r.context_id;
    }
  }
  const std::map<std::string, size_t> expected_entities = {
      {"circleci_account", 1},
      {"circleci_user", 1},
      {"circleci_user_group", dataset_.orgs.size()},
      {"circleci_pipeline", dataset_.pipelines.size()},
      {"circleci_workflow", dataset_.workflows.size()},
      {"circleci_job", dataset_.jobs.size()},
      {"circleci_project", dataset_.projects.size()},
      {"circleci_project_environment_variable",
       dataset_.project_env_vars.size()},
      {"circleci_context", dataset_.contexts.size()},
      {"circleci_context_environment_variable",
       dataset_.context_env_vars.size()},
  };
  const std::map<std::string, size_t> expected_relationships = {
      {"circleci_account_has_user", 1},
      {"circleci_account_has_user_group", 1},
      {"circleci_user_group_has_user", dataset_.orgs.size()},
      {"circleci_user_group_has_project", dataset_.projects.size()},
      {"circleci_project_has_pipeline", dataset_.pipelines.size()},
      {"circleci_pipeline_has_workflow", dataset_.workflows.size()},
      {"circleci_workflow_has_job", dataset_.jobs.size()},
      {"circleci_project_has_environment_variable",
       dataset_.project_env_vars.size()},
      {"circleci_context_has_environment_variable",
       dataset_.context_env_vars.size()},
      {"circleci_project_uses_context_environment_variable", uses},
  };
  EXPECT_EQ(Counts(entities), expected_entities);
  EXPECT_EQ(Counts(relationships), expected_relationships);

  // Both workers took part.
  for (auto& worker : cluster_->workers()) {
    EXPECT_TRUE(absl::StrContains(worker->Log(), "task")) << worker->Log();
  }
}

TEST_F(FoundationTest, SecretsAreMaskedEverywhere) {
  const std::string token = cluster_->options().circleci_token;
  CommandResult created = CreateInstance("masked", token);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_FALSE(absl::StrContains(created.out, token));
  CommandResult shown =
      cluster_->Cli({"instance", "get", "masked", "--output", "json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(absl::StrContains(shown.out, "\"apiKey\":\"***\"")) << shown.out;
  EXPECT_FALSE(absl::StrContains(shown.out, token));
  CommandResult listed =
      cluster_->Cli({"instance", "list", "--output", "json"});
  EXPECT_FALSE(absl::StrContains(listed.out, token));
  ASSERT_EQ(cluster_->Cli({"run", "start", "masked", "--watch"}).exit_code, 0);
  EXPECT_FALSE(absl::StrContains(cluster_->AllLogs(), token));
}

TEST_F(FoundationTest, BadInputIsRejectedNamingTheFieldAndNothingIsStored) {
  CommandResult missing =
      cluster_->Cli({"instance", "create", "bad", "--integration", "circleci",
                     "--config", "apiKey=x", "--config", "userId=u"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err,
            "graphmill: INVALID_ARGUMENT: instance 'bad': config field 'login' "
            "is required\n");

  CommandResult unknown_field =
      cluster_->Cli({"instance", "create", "bad", "--integration", "circleci",
                     "--config", "apiKey=x", "--config", "login=l", "--config",
                     "userId=u", "--config", "colour=blue"});
  EXPECT_EQ(unknown_field.exit_code, 1);
  EXPECT_TRUE(
      absl::StrContains(unknown_field.err, "unknown config field 'colour'"))
      << unknown_field.err;

  CommandResult unknown_integration =
      cluster_->Cli({"instance", "create", "bad", "--integration", "gitlab",
                     "--config", "apiKey=x"});
  EXPECT_EQ(unknown_integration.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(unknown_integration.err,
                                "unknown integration 'gitlab'"))
      << unknown_integration.err;

  CommandResult listed =
      cluster_->Cli({"instance", "list", "--output", "json"});
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_EQ(listed.out, "");
  EXPECT_EQ(cluster_->Cli({"instance", "get", "bad"}).exit_code, 1);
}

TEST_F(FoundationTest, BadTokenFailsValidationClearlyAndStoresNothing) {
  ASSERT_EQ(CreateInstance("wrong", "not-the-token").exit_code, 0);
  CommandResult run = cluster_->Cli({"run", "start", "wrong", "--watch"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.err + run.out, "apiKey"))
      << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.err + run.out, "401"))
      << run.out << run.err;
  EXPECT_TRUE(Entities("wrong").empty());
  EXPECT_TRUE(Relationships("wrong").empty());
}

TEST_F(FoundationTest, RestartKeepsInstanceAndGraphAndWorkersReconnect) {
  ASSERT_EQ(
      CreateInstance("keep", cluster_->options().circleci_token).exit_code, 0);
  ASSERT_EQ(cluster_->Cli({"run", "start", "keep", "--watch"}).exit_code, 0);
  const auto entities_before = Entities("keep");
  const auto relationships_before = Relationships("keep");
  ASSERT_FALSE(entities_before.empty());

  cluster_->StopCoordinator(SIGKILL);
  ASSERT_TRUE(cluster_->StartCoordinator().ok());
  CommandResult instance = cluster_->Cli({"instance", "get", "keep"});
  EXPECT_EQ(instance.exit_code, 0) << instance.err;
  EXPECT_EQ(Entities("keep"), entities_before);
  EXPECT_EQ(Relationships("keep"), relationships_before);

  // The workers reconnect on their own; a second run changes nothing in the
  // graph.
  CommandResult again = cluster_->Cli({"run", "start", "keep", "--watch"});
  EXPECT_EQ(again.exit_code, 0)
      << again.out << again.err << cluster_->AllLogs();
  EXPECT_EQ(Entities("keep"), entities_before);
  EXPECT_EQ(Relationships("keep"), relationships_before);
}

}  // namespace
}  // namespace graphmill::testing
