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
#include "absl/strings/str_split.h"
#include "tests/e2e/expected_graph.h"

namespace graphmill::testing {
namespace {

constexpr char kLogin[] = "e2e-org";
constexpr char kUserId[] = "0b9a3c55-1d7e-4e4f-9b5e-3a7c2d1e0f99";
// The userId CreateCircleCiInstance gives every instance.
constexpr char kAccountId[] = "acct-000000001";

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

// Against each store (GRAPHMILL_E2E_STORES; see StoresUnderTest()).
class FoundationTest : public ::testing::TestWithParam<ClusterStore> {
 protected:
  void SetUp() override {
    generator_ = Generator();
    auto dataset = fakes::GenerateDataset(generator_);
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    dataset_ = *dataset;
    ClusterOptions options;
    options.store = GetParam();
    options.workers = 2;
    // Small pages, so every list is paginated.
    options.fakes["circleci"] = CircleCiFake(FakeCircleCiFlags(generator_, 3));
    cluster_ = std::make_unique<Cluster>(options);
    absl::Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  CommandResult CreateInstance(const std::string& id,
                               const std::string& token) {
    return CreateCircleCiInstance(*cluster_, id, kLogin, token);
  }

  // Keys per `_type` of the instance's graph (entities and relationships).
  std::map<std::string, std::set<std::string>> Keys(
      const std::string& instance) {
    std::map<std::string, std::set<std::string>> keys;
    for (const auto& [type, objects] : ReadGraph(*cluster_, instance)) {
      for (const auto& [key, json] : objects) keys[type].insert(key);
    }
    return keys;
  }

  fakes::GeneratorOptions generator_;
  fakes::Dataset dataset_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_P(FoundationTest, IngestsExactGraphWithTwoWorkers) {
  CommandResult created = CreateInstance("ci", kCircleCiToken);
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

  auto keys = Keys("ci");
  EXPECT_EQ(keys["circleci_account"], std::set<std::string>{account});
  EXPECT_EQ(keys["circleci_user"], std::set<std::string>{user});
  EXPECT_EQ(keys["circleci_user_group"], groups);
  EXPECT_EQ(keys["circleci_user_group_has_user"], group_has_user);
  EXPECT_EQ(keys["circleci_account_has_user_group"], account_has_group);
  EXPECT_EQ(keys["circleci_account_has_user"],
            std::set<std::string>{account + "|has|" + user});

  // Every type, by count, from the generated data.
  std::map<std::string, size_t> counts;
  for (const auto& [type, set] : keys) counts[type] = set.size();
  EXPECT_EQ(counts, ExpectedCircleCiCounts(dataset_, kLogin));

  // Both workers took part.
  for (auto& worker : cluster_->workers()) {
    EXPECT_TRUE(absl::StrContains(worker->Log(), "task")) << worker->Log();
  }

  // Log lines carry the run's fields (key=value in text, keys in JSON): the
  // coordinator logs the run's events, the workers their tasks.
  auto has_line_with = [](const std::string& log,
                          std::vector<std::string> parts) {
    for (absl::string_view line : absl::StrSplit(log, '\n')) {
      bool all = true;
      for (const std::string& part : parts)
        all = all && absl::StrContains(line, part);
      if (all) return true;
    }
    return false;
  };
  EXPECT_TRUE(has_line_with(cluster_->coordinator()->Log(),
                            {" run=", " event=run_finalized"}))
      << cluster_->coordinator()->Log();
  EXPECT_TRUE(has_line_with(cluster_->coordinator()->Log(),
                            {" run=", " event=step_start", " step="}));
  for (auto& worker : cluster_->workers()) {
    EXPECT_TRUE(has_line_with(worker->Log(), {" run=", " task=", " attempt=",
                                              " instance=ci", " step="}))
        << worker->Log();
  }
}

TEST_P(FoundationTest, SecretsAreMaskedEverywhere) {
  const std::string token = kCircleCiToken;
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

TEST_P(FoundationTest, BadInputIsRejectedNamingTheFieldAndNothingIsStored) {
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

TEST_P(FoundationTest, BadTokenFailsValidationClearlyAndStoresNothing) {
  ASSERT_EQ(CreateInstance("wrong", "not-the-token").exit_code, 0);
  CommandResult run = cluster_->Cli({"run", "start", "wrong", "--watch"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.err + run.out, "apiKey"))
      << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.err + run.out, "401"))
      << run.out << run.err;
  EXPECT_TRUE(Keys("wrong").empty());
}

TEST_P(FoundationTest, RestartKeepsInstanceAndGraphAndWorkersReconnect) {
  ASSERT_EQ(CreateInstance("keep", kCircleCiToken).exit_code, 0);
  ASSERT_EQ(cluster_->Cli({"run", "start", "keep", "--watch"}).exit_code, 0);
  const GraphByType before = ReadGraph(*cluster_, "keep");
  ASSERT_FALSE(before.empty());

  cluster_->StopCoordinator(SIGKILL);
  ASSERT_TRUE(cluster_->StartCoordinator().ok());
  CommandResult instance = cluster_->Cli({"instance", "get", "keep"});
  EXPECT_EQ(instance.exit_code, 0) << instance.err;
  EXPECT_TRUE(ReadGraph(*cluster_, "keep") == before);

  // The workers reconnect on their own; a second run changes nothing in the
  // graph.
  CommandResult again = cluster_->Cli({"run", "start", "keep", "--watch"});
  EXPECT_EQ(again.exit_code, 0)
      << again.out << again.err << cluster_->AllLogs();
  EXPECT_TRUE(ReadGraph(*cluster_, "keep") == before);
}

INSTANTIATE_TEST_SUITE_P(Stores, FoundationTest,
                         ::testing::ValuesIn(StoresUnderTest()),
                         StoreParamName);

}  // namespace
}  // namespace graphmill::testing
