// What the Heroku step tests share (steps_replay_test, steps_generated_test,
// steps_fault_test): the fake Heroku started on recordings or generated data,
// fast options, the graph a dataset must give, and seeding a run with the
// reference's fixtures. For tests only.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_TEST_UTIL_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_TEST_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graphmill/v1/graph.pb.h"
#include "tests/fakes/heroku/fake_heroku.h"
#include "worker/integrations/common/step_test_util.h"
#include "worker/integrations/heroku/heroku_integration.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::heroku::test_util {

namespace fh = ::graphmill::fakes::heroku;
using ::graphmill::fakes::FakeHeroku;
using ::graphmill::worker::testing::FakeRun;

inline constexpr char kToken[] = "heroku-test-token-0001";
inline constexpr char kRecordings[] = "tests/fakes/heroku/testdata/";

inline constexpr char kAccountId[] = "01234567-89ab-cdef-0123-456789abcdef";
inline constexpr char kOtherAccountId[] =
    "76543210-89ab-cdef-0123-456789abcdef";
inline constexpr char kRecordedTeamId[] =
    "1e2fd576-c276-483d-8440-3c956e0fe015";
inline constexpr char kRecordedAppId[] = "e3af0e11-ea32-475e-a36f-e20f48e83136";

// Fast retries so fault tests finish quickly; HttpClient's own tests cover
// backoff.
HerokuIntegrationOptions FastOptions();

fh::TokenSpec Token(std::string token, std::vector<std::string> scopes,
                    fh::EnterpriseRole role = fh::EnterpriseRole::kAdmin);

// The fake, with kToken (scope global) unless `options` names tokens; null
// (and a test failure) if it cannot start.
std::unique_ptr<FakeHeroku> Start(fakes::FakeHerokuOptions options);
// The fake replaying `files` of kRecordings.
std::unique_ptr<FakeHeroku> StartReplay(const std::vector<std::string>& files);

// The data of the brief: 2 accounts, 20 teams, 1,500 apps (one team with more
// than a 1,000-item page), 3,000 add-ons, 300 users of which 20 are in both
// accounts, 6 enterprise members per team (users in several teams) plus one
// outside member per team.
fh::DatasetOptions LargeData();
// Small data for fault and rate tests.
fh::DatasetOptions SmallData();
std::unique_ptr<FakeHeroku> StartGenerated(
    fh::DatasetOptions dataset, std::vector<fh::TokenSpec> tokens = {});

InstanceConfig ConfigFor(const FakeHeroku& fake,
                         const std::string& token = kToken);

// What a full ingestion of a dataset must give, from the dataset alone.
struct ExpectedGraph {
  std::map<std::string, int> entities;
  std::map<std::string, int> relationships;
};
ExpectedGraph ExpectedFor(const fh::Dataset& data);

// Every relationship joins two entities of the run; every object is valid.
void ExpectConsistentGraph(const FakeRun& run);

const v1::Value* Property(const v1::Entity& entity, const std::string& name);

// An entity as the reference's tests feed the mock job state.
v1::Entity Fixture(const std::string& type, const std::string& class_name,
                   const std::string& key,
                   std::map<std::string, std::string> properties = {});
// Adds `entities` to `run` as a step before the ones under test.
void Seed(FakeRun& run, std::vector<v1::Entity> entities);

}  // namespace graphmill::worker::heroku::test_util

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_STEPS_TEST_UTIL_H_
