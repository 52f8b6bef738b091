// HTTP tests of the fake Heroku's token bucket: RateLimit headers, 429 when
// empty, refill, the free /account/rate-limits, per-token buckets, statistics
// and the control endpoint.
#include <atomic>
#include <string>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/heroku/fake_heroku.h"
#include "tests/fakes/heroku/test_util.h"

namespace graphmill::fakes {
namespace {

using heroku_test::Get;
using heroku_test::MakeClient;
using heroku_test::ParseJson;

constexpr char kRateLimitBody[] =
    "{\"id\":\"rate_limit\",\"message\":\"Your account reached the API rate "
    "limit\\nPlease wait a few minutes before making new requests\"}";

// A clock the test moves by hand.
class FakeClock {
 public:
  absl::Time Now() {
    absl::MutexLock lock(&mutex_);
    return now_;
  }
  void Advance(absl::Duration duration) {
    absl::MutexLock lock(&mutex_);
    now_ += duration;
  }

 private:
  absl::Mutex mutex_;
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
};

class RateLimitTest : public ::testing::Test {
 protected:
  void Start(int retry_after = -1) {
    FakeHerokuOptions options;
    options.tokens = {*heroku::ParseTokenSpec("t1:global:admin"),
                      *heroku::ParseTokenSpec("t2:read:admin")};
    options.rate_limit.capacity = 50;
    options.rate_limit.refill_per_second = 20;
    options.rate_limit.retry_after_seconds = retry_after;
    options.clock = [this] { return clock_.Now(); };
    absl::StatusOr<std::unique_ptr<FakeHeroku>> server =
        FakeHeroku::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = MakeClient(server_->port());
  }

  int Status(const std::string& token, const std::string& target = "/account") {
    httplib::Result res = Get(*client_, target, token);
    return res ? res->status : -1;
  }

  FakeClock clock_;
  std::unique_ptr<FakeHeroku> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(RateLimitTest, CountsDownThen429ThenRefills) {
  Start();
  for (int expected = 49; expected >= 0; --expected) {
    httplib::Result res = Get(*client_, "/enterprise-accounts", "t1");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("RateLimit-Remaining"),
              std::to_string(expected));
    EXPECT_EQ(res->get_header_value("RateLimit-Multiplier"), "1");
  }
  httplib::Result limited = Get(*client_, "/enterprise-accounts", "t1");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->body, kRateLimitBody);
  EXPECT_EQ(limited->get_header_value("RateLimit-Remaining"), "0");
  EXPECT_FALSE(limited->has_header("Retry-After"));

  heroku::BucketState state = server_->RateLimit("t1");
  EXPECT_TRUE(state.exceeded());
  EXPECT_EQ(state.rate_limited, 1);
  EXPECT_EQ(state.min_remaining, 0);
  EXPECT_EQ(state.taken, 50);
  EXPECT_EQ(server_->StatusCount(429), 1);

  // 20 per second: 100 ms gives two requests.
  clock_.Advance(absl::Milliseconds(100));
  EXPECT_EQ(Status("t1"), 200);
  EXPECT_EQ(Status("t1"), 200);
  EXPECT_EQ(Status("t1"), 429);
  clock_.Advance(absl::Seconds(10));
  httplib::Result full = Get(*client_, "/account", "t1");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->get_header_value("RateLimit-Remaining"), "49");
}

TEST_F(RateLimitTest, RateLimitsRouteIsFree) {
  Start();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Status("t1"), 200);
  for (int i = 0; i < 100; ++i) {
    httplib::Result res = Get(*client_, "/account/rate-limits", "t1");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    EXPECT_EQ(ParseJson(res->body)["remaining"].GetInt(), 40);
  }
  EXPECT_EQ(server_->RateLimit("t1").taken, 10);
  EXPECT_EQ(server_->RequestCount("rate-limits"), 100);

  // Still answers when the bucket is empty.
  server_->SetRateLimitRemaining("t1", 0);
  httplib::Result empty = Get(*client_, "/account/rate-limits", "t1");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(ParseJson(empty->body)["remaining"].GetInt(), 0);
}

TEST_F(RateLimitTest, BucketsArePerTokenAnd401sCostNothing) {
  Start();
  server_->SetRateLimitRemaining("t1", 0);
  EXPECT_EQ(Status("t1"), 429);
  EXPECT_EQ(Status("t2", "/enterprise-accounts"), 200);
  EXPECT_EQ(server_->RateLimit("t2").min_remaining, 49);
  EXPECT_FALSE(server_->RateLimit("t2").exceeded());
  for (int i = 0; i < 60; ++i) EXPECT_EQ(Status("wrong"), 401);
  EXPECT_EQ(server_->RateLimit("t2").remaining, 49);
  // Denied scope still costs a request, as on Heroku.
  EXPECT_EQ(Status("t2", "/teams/x/members"), 403);
  EXPECT_EQ(server_->RateLimit("t2").remaining, 48);
  EXPECT_EQ(server_->RateLimit("unknown-token").taken, 0);
}

TEST_F(RateLimitTest, AClientThatWatchesRemainingNeverExceeds) {
  Start();
  int sent = 0;
  for (int i = 0; i < 200; ++i) {
    httplib::Result res = Get(*client_, "/enterprise-accounts", "t1");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    ++sent;
    // Pace: wait for a refill whenever fewer than 5 remain.
    if (std::stoi(res->get_header_value("RateLimit-Remaining")) < 5) {
      clock_.Advance(absl::Milliseconds(500));
    }
  }
  const heroku::BucketState state = server_->RateLimit("t1");
  EXPECT_EQ(sent, 200);
  EXPECT_FALSE(state.exceeded());
  EXPECT_GE(state.min_remaining, 4);
  EXPECT_LT(state.min_remaining, 5);
}

TEST_F(RateLimitTest, RetryAfterIsOptional) {
  Start(/*retry_after=*/7);
  server_->SetRateLimitRemaining("t1", 0);
  httplib::Result res = Get(*client_, "/account", "t1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->get_header_value("Retry-After"), "7");
}

TEST_F(RateLimitTest, ControlEndpointShowsSetsAndResets) {
  Start();
  EXPECT_EQ(Status("t1"), 200);
  httplib::Result set =
      client_->Post("/_control/rate-limit", "{\"index\":0,\"remaining\":1}",
                    "application/json");
  ASSERT_TRUE(set);
  ASSERT_EQ(set->status, 200);
  EXPECT_EQ(Status("t1"), 200);
  EXPECT_EQ(Status("t1"), 429);

  httplib::Result state = client_->Get("/_control/rate-limit");
  ASSERT_TRUE(state);
  rapidjson::Document doc = ParseJson(state->body);
  EXPECT_EQ(doc["capacity"].GetInt(), 50);
  EXPECT_DOUBLE_EQ(doc["refill_per_second"].GetDouble(), 20.0);
  const rapidjson::Value& t1 = doc["tokens"][0];
  EXPECT_STREQ(t1["token"].GetString(), "***:global:admin");
  EXPECT_EQ(t1["remaining"].GetInt(), 0);
  EXPECT_EQ(t1["min_remaining"].GetInt(), 0);
  EXPECT_EQ(t1["taken"].GetInt64(), 2);
  EXPECT_EQ(t1["rate_limited"].GetInt64(), 1);
  EXPECT_TRUE(t1["exceeded"].GetBool());
  EXPECT_EQ(state->body.find("t1\""), std::string::npos);  // no token shown

  httplib::Result all = client_->Post("/_control/rate-limit",
                                      "{\"remaining\":3}", "application/json");
  ASSERT_TRUE(all);
  EXPECT_EQ(server_->RateLimit("t2").remaining, 3);

  httplib::Result bad =
      client_->Post("/_control/rate-limit", "{\"index\":9,\"remaining\":1}",
                    "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);

  httplib::Result reset = client_->Delete("/_control/rate-limit");
  ASSERT_TRUE(reset);
  EXPECT_EQ(server_->RateLimit("t1").remaining, 50);
  EXPECT_FALSE(server_->RateLimit("t1").exceeded());
}

TEST(RateLimitRealClockTest, RefillsWithTheRealClock) {
  FakeHerokuOptions options;
  options.rate_limit.capacity = 3;
  options.rate_limit.refill_per_second = 20;
  auto server = FakeHeroku::Start(options);
  ASSERT_TRUE(server.ok());
  auto client = MakeClient((*server)->port());
  int limited = 0;
  for (int i = 0; i < 6; ++i) {
    httplib::Result res = Get(*client, "/account");
    ASSERT_TRUE(res);
    limited += res->status == 429;
  }
  EXPECT_GE(limited, 2);
  absl::SleepFor(absl::Milliseconds(120));
  httplib::Result res = Get(*client, "/account");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

}  // namespace
}  // namespace graphmill::fakes
