// Tests of the Heroku steps when the provider fails (401, 5xx, malformed
// bodies) or rate-limits (every attempt through the task's budget, pacing by
// RateLimit-Remaining on a small bucket, a 429 storm retried to completion).
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/graph_objects.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/fakes/heroku/fake_heroku.h"
#include "worker/integrations/common/fake_step_context.h"
#include "worker/integrations/common/step_test_util.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/definition.h"
#include "worker/integrations/heroku/heroku_integration.h"
#include "worker/integrations/heroku/steps/steps.h"
#include "worker/integrations/heroku/steps_test_util.h"

namespace graphmill::worker::heroku {
namespace {

namespace fh = ::graphmill::fakes::heroku;
using ::graphmill::fakes::FakeHeroku;
using ::graphmill::fakes::FakeHerokuMode;
using ::graphmill::fakes::FakeHerokuOptions;
using ::graphmill::worker::testing::EntityCounts;
using ::graphmill::worker::testing::ExpectAllOk;
using ::graphmill::worker::testing::ExpectNoDanglingRelationships;
using ::graphmill::worker::testing::FakeRun;
using ::graphmill::worker::testing::FakeStepContext;
using ::graphmill::worker::testing::FastRetryHttpOptions;
using ::graphmill::worker::testing::RecordedEvent;
using ::graphmill::worker::testing::RelationshipCounts;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

using ::graphmill::worker::heroku::test_util::ConfigFor;
using ::graphmill::worker::heroku::test_util::ExpectedFor;
using ::graphmill::worker::heroku::test_util::FastOptions;
using ::graphmill::worker::heroku::test_util::kToken;
using ::graphmill::worker::heroku::test_util::SmallData;
using ::graphmill::worker::heroku::test_util::Start;
using ::graphmill::worker::heroku::test_util::StartGenerated;

TEST(StepsFaultTest, UnauthorizedFailsTheStepAndTheRunGoesOn) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("team-apps:401").ok());
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  std::map<std::string, absl::Status> results = run.RunAll(integration);
  const absl::Status& apps = results.at(kStepFetchTeamApps);
  EXPECT_EQ(apps.code(), absl::StatusCode::kUnauthenticated) << apps;
  EXPECT_THAT(std::string(apps.message()), HasSubstr("/apps"));
  EXPECT_THAT(std::string(apps.message()), Not(HasSubstr(kToken)));
  for (const auto& [step, status] : results) {
    if (step != kStepFetchTeamApps) {
      EXPECT_TRUE(status.ok()) << step << ": " << status;
    }
  }
  EXPECT_EQ(run.CountEntities(kTeamType),
            static_cast<int>(fake->dataset().teams.size()));
}

TEST(StepsFaultTest, ServerErrorsAreRetriedByTheHttpClient) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("app-addons:503:times=3").ok());
  HerokuIntegrationOptions options = FastOptions();
  options.http.max_attempts = 4;
  HerokuIntegration integration(options);
  FakeRun run(ConfigFor(*fake));
  ExpectAllOk(run.RunAll(integration));
  EXPECT_EQ(run.CountEntities(kAddonType),
            static_cast<int>(fake->dataset().addons.size()));
  EXPECT_EQ(fake->StatusCount(503), 3);
}

TEST(StepsFaultTest, MalformedBodyFailsTheStepNamingTheUrl) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("account-teams:malformed").ok());
  HerokuIntegration integration(FastOptions());
  FakeRun run(ConfigFor(*fake));
  ASSERT_TRUE(run.RunStep(integration, kStepFetchAccounts).ok());
  absl::Status status = run.RunStep(integration, kStepFetchTeams);
  EXPECT_EQ(http::HttpErrorKindOf(status), http::HttpErrorKind::kMalformedBody)
      << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("/teams"));
}

// --- Rate limits.

// A StepContext that also counts the rate-budget hooks.
class CountingContext : public FakeStepContext {
 public:
  using FakeStepContext::FakeStepContext;
  void AwaitRequestSlot() override { ++slots; }
  void OnProviderResponse(int http_status) override {
    absl::MutexLock lock(&mutex);
    ++statuses[http_status];
  }
  std::atomic<int> slots{0};
  absl::Mutex mutex;
  std::map<int, int> statuses;
};

TEST(StepsRateLimitTest, EveryAttemptPassesThroughTheTasksRateBudget) {
  std::unique_ptr<FakeHeroku> fake = StartGenerated(SmallData());
  ASSERT_NE(fake, nullptr);
  ASSERT_TRUE(fake->AddFault("app-addons:429:times=2").ok());
  HerokuIntegrationOptions options = FastOptions();
  options.http.max_attempts = 3;
  // A 429 makes the pacer wait for the bucket to refill to the reserve: keep
  // that short here.
  options.rate_limit.refill_interval = absl::Milliseconds(1);
  HerokuIntegration integration(options);
  FakeRun run(ConfigFor(*fake));
  ASSERT_TRUE(run.RunStep(integration, kStepFetchAccounts).ok());
  ASSERT_TRUE(run.RunStep(integration, kStepFetchTeams).ok());
  ASSERT_TRUE(run.RunStep(integration, kStepFetchTeamApps).ok());
  fake->ResetCounters();

  CountingContext context(run, kStepFetchAppAddons, kApplicationType, 0, 1);
  absl::Status status = integration.ExecuteStep(kStepFetchAppAddons, context);
  context.Commit();
  ASSERT_TRUE(status.ok()) << status;
  const int apps = static_cast<int>(fake->dataset().apps.size());
  EXPECT_EQ(context.slots.load(), apps + 2);  // two 429s retried
  EXPECT_EQ(fake->RequestCount("total"), apps + 2);
  absl::MutexLock lock(&context.mutex);
  EXPECT_EQ(context.statuses, (std::map<int, int>{{200, apps}, {429, 2}}));
  EXPECT_EQ(run.CountEntities(kAddonType),
            static_cast<int>(fake->dataset().addons.size()));
}

// A bucket of 40 refilled at 50 per second, and a policy scaled to it. Slow
// enough that even a loaded machine sends faster than it refills, so the
// client has to pace (at 200 per second a busy 2-core machine did not).
constexpr int kSmallBucket = 40;
constexpr double kSmallRefillPerSecond = 50;

std::unique_ptr<FakeHeroku> StartWithSmallBucket(
    double refill_per_second = kSmallRefillPerSecond) {
  FakeHerokuOptions options;
  options.mode = FakeHerokuMode::kGenerated;
  options.dataset = SmallData();
  options.dataset.apps_per_team = 20;  // 120 apps: ~160 requests in all
  options.rate_limit.capacity = kSmallBucket;
  options.rate_limit.refill_per_second = refill_per_second;
  return Start(std::move(options));
}

TEST(StepsRateLimitTest, PacingKeepsASmallBucketFromEverRunningDry) {
  std::unique_ptr<FakeHeroku> fake = StartWithSmallBucket();
  ASSERT_NE(fake, nullptr);
  HerokuIntegrationOptions options = FastOptions();
  options.rate_limit.refill_interval =
      absl::Seconds(1) / kSmallRefillPerSecond;  // 20 ms
  options.rate_limit.pace_below_remaining = 25;
  options.rate_limit.reserve_remaining = 12;  // > kMaxInFlightRequests
  HerokuIntegration integration(options);
  FakeRun run(ConfigFor(*fake));
  ExpectAllOk(run.RunAll(integration));

  EXPECT_EQ(EntityCounts(run), ExpectedFor(fake->dataset()).entities);
  EXPECT_EQ(RelationshipCounts(run),
            ExpectedFor(fake->dataset()).relationships);
  const fh::BucketState bucket = fake->RateLimit(kToken);
  EXPECT_GT(bucket.taken, 2 * kSmallBucket);  // the bucket had to refill
  EXPECT_LT(bucket.min_remaining, 25);        // so pacing was needed
  EXPECT_GT(bucket.min_remaining, 0);         // and it held
  EXPECT_EQ(bucket.rate_limited, 0);
  EXPECT_EQ(fake->StatusCount(429), 0);
}

TEST(StepsRateLimitTest, WithoutPacingA429StormIsRetriedToCompletion) {
  // An empty bucket refilled at 50 per second: ~160 requests must meet 429s
  // however slowly a loaded machine sends them, and each can wait seconds.
  std::unique_ptr<FakeHeroku> fake = StartWithSmallBucket();
  ASSERT_NE(fake, nullptr);
  fake->SetRateLimitRemaining(kToken, 0);
  HerokuIntegrationOptions options = FastOptions();
  options.rate_limit.pace_below_remaining = 0;  // never pace
  options.rate_limit.reserve_remaining = 0;
  options.http.max_attempts = 200;
  options.http.initial_backoff = absl::Milliseconds(5);
  options.http.max_backoff = absl::Milliseconds(50);
  HerokuIntegration integration(options);
  FakeRun run(ConfigFor(*fake));
  ExpectAllOk(run.RunAll(integration));

  EXPECT_EQ(EntityCounts(run), ExpectedFor(fake->dataset()).entities);
  EXPECT_EQ(RelationshipCounts(run),
            ExpectedFor(fake->dataset()).relationships);
  EXPECT_GT(fake->StatusCount(429), 0);
  EXPECT_TRUE(fake->RateLimit(kToken).exceeded());
}

}  // namespace
}  // namespace graphmill::worker::heroku
