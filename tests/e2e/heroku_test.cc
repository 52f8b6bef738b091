// The Heroku integration across real processes: a generated enterprise with
// pagination past 1,000 apps gives exactly the expected graph; scope and key
// faults end as specified.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "tests/e2e/expected_graph.h"
#include "tests/fakes/heroku/dataset.h"

namespace graphmill::testing {
namespace {

namespace heroku = ::graphmill::fakes::heroku;

heroku::DatasetOptions Enterprise() {
  // The scenario: 2 accounts, 20 teams, 1,500 apps (one team with
  // 1,101: more than one page of 1,000), 3,000 add-ons, 300 members of whom 20
  // are in both accounts.
  heroku::DatasetOptions options;
  options.seed = 3;
  options.accounts = 2;
  options.members_per_account = 160;
  options.shared_members = 20;
  options.teams_per_account = 10;
  options.team_members_per_team = 6;
  options.outside_team_members_per_team = 1;
  options.apps_per_team = 21;
  options.apps_first_team = 1101;
  options.addons_per_app = 2;
  return options;
}

std::vector<std::string> Flags(const heroku::DatasetOptions& d) {
  return {"--mode=generated",
          "--token=global-key:global:admin,read-key:read+identity:admin,"
          "member-key:global:member",
          absl::StrCat("--seed=", d.seed),
          absl::StrCat("--accounts=", d.accounts),
          absl::StrCat("--members_per_account=", d.members_per_account),
          absl::StrCat("--shared_members=", d.shared_members),
          absl::StrCat("--teams_per_account=", d.teams_per_account),
          absl::StrCat("--team_members_per_team=", d.team_members_per_team),
          absl::StrCat("--outside_team_members_per_team=",
                       d.outside_team_members_per_team),
          absl::StrCat("--apps_per_team=", d.apps_per_team),
          absl::StrCat("--apps_first_team=", d.apps_first_team),
          absl::StrCat("--addons_per_app=", d.addons_per_app)};
}

std::map<std::string, size_t> ExpectedCounts(const heroku::Dataset& d) {
  std::set<int> members;
  for (const auto& m : d.account_members) members.insert(m.user);
  size_t team_edges = 0;
  for (const auto& m : d.team_members) team_edges += members.contains(m.user);
  return {{"heroku_account", d.accounts.size()},
          {"heroku_account_member", members.size()},
          {"heroku_team", d.teams.size()},
          {"heroku_application", d.apps.size()},
          {"heroku_addon", d.addons.size()},
          {"heroku_account_has_member", d.account_members.size()},
          {"heroku_account_has_team", d.teams.size()},
          {"heroku_team_owns_application", d.apps.size()},
          {"heroku_application_has_addon", d.addons.size()},
          {"heroku_team_has_account_member", team_edges}};
}

class HerokuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dataset = heroku::GenerateDataset(Enterprise());
    ASSERT_TRUE(dataset.ok());
    dataset_ = *dataset;
    ClusterOptions options;
    options.workers = 2;
    options.fakes["heroku"] = Fake("heroku", Flags(Enterprise()));
    cluster_ = std::make_unique<Cluster>(options);
    ASSERT_TRUE(cluster_->Start().ok());
  }

  CommandResult Create(const std::string& id, const std::string& key) {
    return cluster_->Cli({"instance", "create", id, "--integration", "heroku",
                          "--config", "apiKey=" + key, "--config",
                          "baseUrl=" + cluster_->fake_url("heroku"),
                          "--rate-limit", "1000"});
  }

  std::string Events(const std::string& instance) {
    auto admin = v1::Admin::NewStub(cluster_->NewChannel());
    grpc::ClientContext list_context;
    v1::ListRunsRequest list;
    list.set_instance_id(instance);
    v1::ListRunsResponse runs;
    admin->ListRuns(&list_context, list, &runs);
    if (runs.runs().empty()) return "";
    grpc::ClientContext context;
    v1::GetRunRequest request;
    request.set_run_id(runs.runs(0).id());
    v1::GetRunResponse response;
    admin->GetRun(&context, request, &response);
    std::string all;
    for (const auto& e : response.events()) {
      absl::StrAppend(&all, e.name(), " [", e.step_id(), "] ", e.description(),
                      "\n");
    }
    return all;
  }

  heroku::Dataset dataset_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(HerokuTest, GeneratedEnterpriseGivesTheExactGraph) {
  ASSERT_EQ(Create("hk", "global-key").exit_code, 0);
  CommandResult run = cluster_->Cli({"run", "start", "hk", "--watch"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster_->AllLogs();
  EXPECT_EQ(CountByType(ReadGraph(*cluster_, "hk")), ExpectedCounts(dataset_))
      << Events("hk");
}

TEST_F(HerokuTest, TokenWithoutGlobalScopeStillGetsEverythingElse) {
  ASSERT_EQ(Create("hk", "read-key").exit_code, 0);
  CommandResult run = cluster_->Cli({"run", "start", "hk", "--watch"});
  // The team members were not looked at: the run says so (PARTIAL, exit 2).
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_TRUE(
      absl::StrContains(run.out + run.err, "heroku_team_has_account_member"))
      << run.out << run.err;
  auto counts = CountByType(ReadGraph(*cluster_, "hk"));
  auto expected = ExpectedCounts(dataset_);
  expected.erase("heroku_team_has_account_member");
  EXPECT_EQ(counts, expected);
  const std::string events = Events("hk");
  size_t missing_scope = 0;
  for (size_t at = events.find("missing_scope"); at != std::string::npos;
       at = events.find("missing_scope", at + 1)) {
    ++missing_scope;
  }
  EXPECT_EQ(missing_scope, dataset_.teams.size()) << events;
  EXPECT_TRUE(absl::StrContains(events, dataset_.teams[0].name)) << events;
}

TEST_F(HerokuTest, MemberRoleMakesAddOnsPartialWithAPermissionEvent) {
  ASSERT_EQ(Create("hk", "member-key").exit_code, 0);
  CommandResult run = cluster_->Cli({"run", "start", "hk", "--watch"});
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_TRUE(absl::StrContains(run.out + run.err, "heroku_addon"))
      << run.out << run.err;
  auto counts = CountByType(ReadGraph(*cluster_, "hk"));
  EXPECT_FALSE(counts.contains("heroku_addon"));
  EXPECT_EQ(counts["heroku_application"], dataset_.apps.size());
  EXPECT_TRUE(absl::StrContains(Events("hk"), "warn_missing_permission"))
      << Events("hk");
}

TEST_F(HerokuTest, BadKeyFailsValidationNamingTheField) {
  ASSERT_EQ(Create("hk", "no-such-key").exit_code, 0);
  CommandResult run = cluster_->Cli({"run", "start", "hk", "--watch"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(run.out + run.err, "config field 'apiKey'"))
      << run.out << run.err;
  EXPECT_TRUE(
      absl::StrContains(run.out + run.err, "Invalid credentials provided."))
      << run.out << run.err;
  EXPECT_TRUE(ReadGraph(*cluster_, "hk").empty());
}

}  // namespace
}  // namespace graphmill::testing
