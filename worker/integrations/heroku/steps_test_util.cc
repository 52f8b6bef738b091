// Implementation of worker/integrations/heroku/steps_test_util.h.
#include "worker/integrations/heroku/steps_test_util.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker/integrations/heroku/names.h"

namespace graphmill::worker::heroku::test_util {
namespace {

using ::graphmill::worker::testing::ExpectNoDanglingRelationships;
using ::graphmill::worker::testing::FastRetryHttpOptions;
using ::testing::IsEmpty;

// A one-step integration whose step adds given entities.
class SeedIntegration : public Integration {
 public:
  explicit SeedIntegration(std::vector<v1::Entity> entities)
      : entities_(std::move(entities)) {
    definition_.set_name("seed");
    definition_.add_steps()->set_id("seed");
  }
  const v1::IntegrationDefinition& definition() const override {
    return definition_;
  }
  absl::Status ValidateInvocation(const InstanceConfig&) override {
    return absl::OkStatus();
  }
  absl::Status ExecuteStep(absl::string_view, StepContext& context) override {
    for (const v1::Entity& entity : entities_) {
      absl::Status status = context.AddEntity(entity, "");
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  const std::vector<v1::Entity> entities_;
  v1::IntegrationDefinition definition_;
};

}  // namespace

// Fast retries so fault tests finish quickly; HttpClient's own tests cover
// backoff.
HerokuIntegrationOptions FastOptions() {
  HerokuIntegrationOptions options;
  options.http = FastRetryHttpOptions();
  return options;
}

fh::TokenSpec Token(std::string token, std::vector<std::string> scopes,
                    fh::EnterpriseRole role) {
  fh::TokenSpec spec;
  spec.token = std::move(token);
  spec.scopes = std::move(scopes);
  spec.role = role;
  return spec;
}

std::unique_ptr<FakeHeroku> Start(fakes::FakeHerokuOptions options) {
  if (options.tokens.empty()) options.tokens = {Token(kToken, {"global"})};
  absl::StatusOr<std::unique_ptr<FakeHeroku>> fake =
      FakeHeroku::Start(std::move(options));
  EXPECT_TRUE(fake.ok()) << fake.status();
  return fake.ok() ? *std::move(fake) : nullptr;
}

std::unique_ptr<FakeHeroku> StartReplay(const std::vector<std::string>& files) {
  fakes::FakeHerokuOptions options;
  options.mode = fakes::FakeHerokuMode::kReplay;
  for (const std::string& file : files) {
    options.recordings.push_back(absl::StrCat(kRecordings, file));
  }
  return Start(std::move(options));
}

// The data of the brief: 2 accounts, 20 teams, 1,500 apps (one team with more
// than a 1,000-item page), 3,000 add-ons, 300 users of which 20 are in both
// accounts, 6 enterprise members per team (users in several teams) plus one
// outside member per team.
fh::DatasetOptions LargeData() {
  fh::DatasetOptions options;
  options.accounts = 2;
  options.members_per_account = 160;  // 140 own + 20 shared each: 300 users
  options.shared_members = 20;
  options.teams_per_account = 10;
  options.team_members_per_team = 6;
  options.outside_team_members_per_team = 1;
  options.apps_first_team = 1101;
  options.apps_per_team = 21;  // 1,101 + 19 * 21 = 1,500
  options.addons_per_app = 2;
  return options;
}

// Small data for fault and rate tests.
fh::DatasetOptions SmallData() {
  fh::DatasetOptions options;
  options.accounts = 2;
  options.members_per_account = 6;
  options.shared_members = 2;
  options.teams_per_account = 3;
  options.team_members_per_team = 3;
  options.outside_team_members_per_team = 1;
  options.apps_per_team = 3;
  options.addons_per_app = 2;
  return options;
}

std::unique_ptr<FakeHeroku> StartGenerated(fh::DatasetOptions dataset,
                                           std::vector<fh::TokenSpec> tokens) {
  fakes::FakeHerokuOptions options;
  options.mode = fakes::FakeHerokuMode::kGenerated;
  options.dataset = dataset;
  options.tokens = std::move(tokens);
  return Start(std::move(options));
}

InstanceConfig ConfigFor(const FakeHeroku& fake, const std::string& token) {
  return {{"apiKey", token}, {"baseUrl", fake.base_url()}};
}

// --- What a full ingestion of a dataset must give, from the dataset alone.

ExpectedGraph ExpectedFor(const fh::Dataset& data) {
  std::set<int> members;
  for (const auto& member : data.account_members) members.insert(member.user);
  int team_members = 0;
  for (const auto& member : data.team_members) {
    team_members += data.users[member.user].enterprise_member ? 1 : 0;
  }
  ExpectedGraph expected;
  expected.entities = {
      {kAccountType, static_cast<int>(data.accounts.size())},
      {kAccountMemberType, static_cast<int>(members.size())},
      {kTeamType, static_cast<int>(data.teams.size())},
      {kApplicationType, static_cast<int>(data.apps.size())},
      {kAddonType, static_cast<int>(data.addons.size())},
  };
  expected.relationships = {
      {kAccountHasMemberType, static_cast<int>(data.account_members.size())},
      {kAccountHasTeamType, static_cast<int>(data.teams.size())},
      {kTeamHasMemberType, team_members},
      {kTeamOwnsApplicationType, static_cast<int>(data.apps.size())},
      {kApplicationHasAddonType, static_cast<int>(data.addons.size())},
  };
  return expected;
}

// Every relationship joins two entities of the run; every object is valid.
void ExpectConsistentGraph(const FakeRun& run) {
  for (const auto& [key, entity] : run.entities()) {
    absl::Status valid = ValidateEntity(entity);
    EXPECT_TRUE(valid.ok()) << valid;
  }
  ExpectNoDanglingRelationships(run);
  for (const auto& [key, relationship] : run.relationships()) {
    absl::Status valid = ValidateRelationship(relationship);
    EXPECT_TRUE(valid.ok()) << valid;
  }
  EXPECT_THAT(run.conflicts(), IsEmpty());
  EXPECT_THAT(run.repeated_in_task(), IsEmpty());
}

const v1::Value* Property(const v1::Entity& entity, const std::string& name) {
  auto it = entity.properties().find(name);
  return it == entity.properties().end() ? nullptr : &it->second;
}

// --- Seeding a run with the reference's fixtures (entities its tests feed the
// --- mock job state), through a one-step integration.

v1::Entity Fixture(const std::string& type, const std::string& class_name,
                   const std::string& key,
                   std::map<std::string, std::string> properties) {
  v1::Entity entity;
  entity.set_key(key);
  entity.set_type(type);
  entity.add_classes(class_name);
  properties.try_emplace("id", key);
  properties.try_emplace("name", key);
  properties.try_emplace("displayName", properties["name"]);
  for (const auto& [name, value] : properties) {
    (*entity.mutable_properties())[name] = StringValue(value);
  }
  return entity;
}

void Seed(FakeRun& run, std::vector<v1::Entity> entities) {
  SeedIntegration seed(std::move(entities));
  ASSERT_TRUE(run.RunStep(seed, "seed").ok());
}

}  // namespace graphmill::worker::heroku::test_util
