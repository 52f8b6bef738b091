// Tests of the per-task step helper and the per-task HTTP options.
#include "worker/integrations/common/task_step.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "worker/integrations/common/fake_step_context.h"
#include "worker/integrations/common/task_http_options.h"

namespace graphmill::worker {
namespace {

using ::graphmill::worker::testing::FakeRun;
using ::graphmill::worker::testing::FakeStepContext;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string Describe(absl::string_view resource, const absl::Status& error) {
  return absl::StrCat("no ", resource, ": ", error.message());
}

constexpr TaskStepOptions kOptions = {"test", 4, &Describe};

v1::Entity Entity(const std::string& key) {
  v1::Entity entity;
  entity.set_key(key);
  entity.set_type("t");
  entity.add_classes("C");
  return entity;
}

TEST(TaskStepTest, AddsEachKeyOnceAcrossFanOutThreads) {
  FakeRun run({});
  FakeStepContext context(run, "s", "", 0, 1);
  TaskStep step(kOptions, "s", {"t"}, context);
  ASSERT_TRUE(step.FanOut(40,
                          [&](size_t i) {
                            return step.AddEntityOnce(
                                Entity(absl::StrCat("k", i % 10)));
                          })
                  .ok());
  context.Commit();
  EXPECT_EQ(run.entities().size(), 10u);
  EXPECT_TRUE(run.repeated_in_task().empty());
}

// A context the coordinator gave a share of requests in flight.
class SharedBudgetContext : public FakeStepContext {
 public:
  SharedBudgetContext(FakeRun& run, int in_flight)
      : FakeStepContext(run, "s", "", 0, 1), in_flight_(in_flight) {}
  int max_requests_in_flight() const override { return in_flight_; }

 private:
  const int in_flight_;
};

// The most calls of `step.FanOut` running at once over `count` items.
int PeakConcurrency(TaskStep& step, size_t count) {
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  EXPECT_TRUE(step.FanOut(count,
                          [&](size_t) {
                            const int now = ++running;
                            int seen = peak.load();
                            while (now > seen &&
                                   !peak.compare_exchange_weak(seen, now)) {
                            }
                            // Long enough for the others to start.
                            absl::SleepFor(absl::Milliseconds(20));
                            --running;
                            return absl::OkStatus();
                          })
                  .ok());
  return peak.load();
}

TEST(TaskStepTest, FanOutRunsTheCoordinatorsShareOfRequestsInFlight) {
  FakeRun run({});
  SharedBudgetContext three(run, 3);
  TaskStep shared(kOptions, "s", {"t"}, three);
  EXPECT_EQ(PeakConcurrency(shared, 12), 3);
  SharedBudgetContext none(run, 0);
  TaskStep fallback(kOptions, "s", {"t"}, none);
  EXPECT_EQ(PeakConcurrency(fallback, 12), kOptions.max_in_flight_requests)
      << "no share: the integration's default";
}

// The error HttpClient gives for a 403 from a real server on 127.0.0.1.
absl::Status ForbiddenError() {
  httplib::Server server;
  server.set_keep_alive_max_count(1);
  server.Get("/x", [](const httplib::Request&, httplib::Response& response) {
    response.status = 403;
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::yield();
  absl::Status status;
  {
    http::HttpClientOptions options;
    options.max_attempts = 1;
    http::HttpClient client(options);  // closes its connections when destroyed
    status =
        client.Get(absl::StrCat("http://127.0.0.1:", port, "/x"), {}).status();
  }
  server.stop();
  thread.join();
  return status;
}

TEST(TaskStepTest, MissingPermissionWarnsAndMarksDeclaredTypesPartial) {
  FakeRun run({});
  FakeStepContext context(run, "s", "", 0, 1);
  TaskStep step(kOptions, "s", {"t", "t_has_u"}, context);
  absl::Status forbidden = ForbiddenError();
  ASSERT_EQ(http::HttpErrorKindOf(forbidden), http::HttpErrorKind::kPermission)
      << forbidden;
  EXPECT_TRUE(
      step.WarnIfMissingPermission(forbidden, "team 'a'", "GET /teams/{id}")
          .ok());
  absl::Status broken = absl::InternalError("boom");
  EXPECT_EQ(step.WarnIfMissingPermission(broken, "team 'b'", "GET /teams/{id}"),
            broken);
  EXPECT_TRUE(
      step.WarnIfMissingPermission(absl::OkStatus(), "c", "GET /c").ok());
  context.Commit();
  ASSERT_EQ(run.events().size(), 1u);
  EXPECT_EQ(run.events()[0].name, kMissingPermissionEvent);
  EXPECT_THAT(run.events()[0].description, HasSubstr("no team 'a': "));
  EXPECT_THAT(run.partial_types().at("s"), ElementsAre("t", "t_has_u"));
  EXPECT_TRUE(run.incomplete_scopes().empty());
}

TEST(TaskStepTest, MissingPermissionInAScopeMarksOnlyThatScope) {
  FakeRun run({});
  FakeStepContext context(run, "s", "", 0, 1);
  TaskStep step(kOptions, "s", {"t", "t_has_u"}, context);
  EXPECT_TRUE(step.WarnIfMissingPermission(ForbiddenError(), "team 'a'",
                                           "GET /teams/{id}/apps", "team-a-key")
                  .ok());
  ASSERT_TRUE(step.AddEntityOnce(Entity("k2"), "team-b-key").ok());
  context.Commit();
  EXPECT_TRUE(run.partial_types().empty());
  EXPECT_THAT(
      run.incomplete_scopes().at("s"),
      ElementsAre(Pair("team-a-key", "HTTP 403 on GET /teams/{id}/apps")));
  EXPECT_EQ(run.ScopeOf("k2"), "team-b-key");
}

TEST(ReadParentsTest, RejectsAnEntityWithoutId) {
  FakeRun run({});
  FakeStepContext context(run, "s", "", 0, 1);
  ASSERT_TRUE(context.AddEntity(Entity("k1"), "").ok());
  context.Commit();
  FakeStepContext reader(run, "r", "", 0, 1);
  absl::StatusOr<std::vector<ParentEntity>> parents = ReadParents(reader, "t");
  EXPECT_EQ(parents.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parents.status().message(), HasSubstr("'k1'"));
}

// Records the order in which the rate-budget hooks are called.
class HookRecordingContext : public FakeStepContext {
 public:
  HookRecordingContext(FakeRun& run, std::vector<std::string>& calls)
      : FakeStepContext(run, "s", "", 0, 1), calls_(calls) {}
  void AwaitRequestSlot() override { calls_.push_back("slot"); }
  void OnProviderResponse(int http_status) override {
    calls_.push_back(absl::StrCat("report ", http_status));
  }
  void OnProviderRemaining(int64_t remaining) override {
    calls_.push_back(absl::StrCat("remaining ", remaining));
  }

 private:
  std::vector<std::string>& calls_;
};

TEST(TaskHttpClientOptionsTest, ChainsBaseIntegrationAndBudgetHooksInOrder) {
  std::vector<std::string> calls;
  FakeRun run({});
  HookRecordingContext context(run, calls);
  http::HttpClientOptions base;
  base.max_attempts = 3;
  base.before_request = [&] { calls.push_back("base before"); };
  base.after_response = [&](const http::HttpResponse&) {
    calls.push_back("base after");
  };
  http::HttpClientOptions options = TaskHttpClientOptions(
      base, context,
      {[&] { calls.push_back("pacer before"); },
       [&](const http::HttpResponse&) { calls.push_back("pacer after"); }});
  EXPECT_EQ(options.max_attempts, 3);
  options.before_request();
  http::HttpResponse response;
  response.status = 429;
  options.after_response(response);
  EXPECT_THAT(calls, ElementsAre("base before", "pacer before", "slot",
                                 "base after", "report 429", "pacer after"));
}

TEST(TaskHttpClientOptionsTest, WorksWithoutBaseOrIntegrationHooks) {
  std::vector<std::string> calls;
  FakeRun run({});
  HookRecordingContext context(run, calls);
  http::HttpClientOptions options = TaskHttpClientOptions({}, context);
  options.before_request();
  http::HttpResponse response;
  response.status = 200;
  options.after_response(response);
  EXPECT_THAT(calls, ElementsAre("slot", "report 200"));
}

TEST(TaskHttpClientOptionsTest, ReportsTheRateLimitRemainingHeader) {
  std::vector<std::string> calls;
  FakeRun run({});
  HookRecordingContext context(run, calls);
  http::HttpClientOptions options = TaskHttpClientOptions({}, context);
  http::HttpResponse heroku;
  heroku.status = 200;
  heroku.headers = {{"ratelimit-remaining", " 4431 "}};
  options.after_response(heroku);
  http::HttpResponse circleci;
  circleci.status = 200;
  circleci.headers = {{"X-RateLimit-Remaining", "12"}};
  options.after_response(circleci);
  http::HttpResponse garbled;
  garbled.status = 200;
  garbled.headers = {{"RateLimit-Remaining", "-3"},
                     {"X-RateLimit-Remaining", "lots"}};
  options.after_response(garbled);
  EXPECT_THAT(calls, ElementsAre("report 200", "remaining 4431", "report 200",
                                 "remaining 12", "report 200"));
}

TEST(WithRedactedTest, AppendsTheSecret) {
  http::HttpClientOptions options;
  options.redact = {"a"};
  EXPECT_THAT(WithRedacted(options, "key").redact, ElementsAre("a", "key"));
}

}  // namespace
}  // namespace graphmill::worker
