// Tests of the HTTP client's retries on a fake clock (so retries never sleep):
// Retry-After in seconds or as a date, exponential back-off with jitter up to
// its cap, the total budget, and parsing Retry-After.
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/http/http_client_test_util.h"
#include "common/testing/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace graphmill::http {
namespace {

using ::graphmill::http::testing::ClosedPort;
using ::graphmill::http::testing::Gzip;
using ::graphmill::http::testing::RawServer;
using ::graphmill::http::testing::TestOptions;
using ::graphmill::http::testing::TestServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(HttpClientTest, RetryAfterSecondsIsHonouredAndHooksSeeEveryAttempt) {
  TestServer server;
  server.http.Get(
      "/p", [&](const httplib::Request&, httplib::Response& response) {
        if (++server.requests == 1) {
          response.status = 429;
          response.set_header("Retry-After", "2");
          response.set_header("x-ratelimit-limit", "51");
          response.set_content(R"({"message":"Rate limit exceeded."})",
                               "application/json");
          return;
        }
        response.set_content("ok", "text/plain");
      });
  server.Start();
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  int before_calls = 0;
  std::vector<int> seen_statuses;
  options.before_request = [&] { ++before_calls; };
  options.after_response = [&](const HttpResponse& r) {
    seen_statuses.push_back(r.status);
  };
  HttpClient client(options);

  absl::StatusOr<HttpResponse> response = client.Get(server.Url("/p"), {});

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "ok");
  EXPECT_THAT(clock.sleeps(), ElementsAre(absl::Seconds(2)));
  EXPECT_EQ(server.requests, 2);
  EXPECT_EQ(before_calls, 2);
  EXPECT_THAT(seen_statuses, ElementsAre(429, 200));
}

TEST(HttpClientTest, RetryAfterHttpDateIsHonoured) {
  TestServer server;
  FakeClock clock;
  const std::string date =
      absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT",
                       clock.Now() + absl::Seconds(7), absl::UTCTimeZone());
  server.http.Get("/p",
                  [&](const httplib::Request&, httplib::Response& response) {
                    if (++server.requests == 1) {
                      response.status = 503;
                      response.set_header("Retry-After", date);
                      return;
                    }
                    response.set_content("ok", "text/plain");
                  });
  server.Start();
  HttpClient client(TestOptions(&clock));

  absl::StatusOr<HttpResponse> response = client.Get(server.Url("/p"), {});

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(clock.sleeps(), ElementsAre(absl::Seconds(7)));
}

TEST(HttpClientTest, QuotaHeaderIsNeverUsedAsAWait) {
  TestServer server;
  server.http.Get("/p",
                  [&](const httplib::Request&, httplib::Response& response) {
                    if (++server.requests == 1) {
                      response.status = 429;
                      response.set_header("x-ratelimit-limit", "51");
                      response.set_header("ratelimit-limit", "51");
                      return;
                    }
                    response.set_content("ok", "text/plain");
                  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  ASSERT_TRUE(client.Get(server.Url("/p"), {}).ok());
  EXPECT_THAT(clock.sleeps(), ElementsAre(absl::Milliseconds(100)));
}

TEST(HttpClientTest, RetryAfterZeroOrInvalidFallsBackToBackoff) {
  TestServer server;
  server.http.Get("/p",
                  [&](const httplib::Request&, httplib::Response& response) {
                    const int n = ++server.requests;
                    if (n <= 2) {
                      response.status = 429;
                      response.set_header("Retry-After", n == 1 ? "0" : "soon");
                      return;
                    }
                    response.set_content("ok", "text/plain");
                  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  ASSERT_TRUE(client.Get(server.Url("/p"), {}).ok());
  EXPECT_THAT(clock.sleeps(),
              ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200)));
}

TEST(HttpClientTest, RateLimitedAfterAllAttempts) {
  TestServer server;
  server.http.Get(
      "/p", [&](const httplib::Request&, httplib::Response& response) {
        ++server.requests;
        response.status = 429;
        response.set_content(R"({"message":"Rate limit exceeded."})",
                             "application/json");
      });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  absl::StatusOr<HttpResponse> response = client.Get(server.Url("/p"), {});

  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(HttpErrorKindOf(response.status()), HttpErrorKind::kRateLimited);
  EXPECT_EQ(HttpStatusOf(response.status()), 429);
  EXPECT_EQ(response.status().message(),
            absl::StrCat("GET ", server.Url("/p"),
                         ": HTTP 429 (Rate limit exceeded.) after 4 attempts"));
  EXPECT_EQ(server.requests, 4);
}

TEST(HttpClientTest, ServerErrorsBackOffExponentiallyUpToTheCap) {
  TestServer server;
  server.http.Get(
      "/p", [&](const httplib::Request&, httplib::Response& response) {
        ++server.requests;
        response.status = 500;
        response.set_content(R"({"message":"Internal server error."})",
                             "application/json");
      });
  server.Start();
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.max_attempts = 6;
  options.max_backoff = absl::Milliseconds(300);
  HttpClient client(options);

  absl::StatusOr<HttpResponse> response = client.Get(server.Url("/p"), {});

  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(HttpErrorKindOf(response.status()), HttpErrorKind::kServer);
  EXPECT_EQ(HttpStatusOf(response.status()), 500);
  EXPECT_THAT(response.status().message(),
              HasSubstr("HTTP 500 (Internal server error.) after 6 attempts"));
  EXPECT_EQ(server.requests, 6);
  EXPECT_THAT(clock.sleeps(),
              ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200),
                          absl::Milliseconds(300), absl::Milliseconds(300),
                          absl::Milliseconds(300)));
}

TEST(HttpClientTest, RandomJitterStaysWithinTheExponentialBound) {
  TestServer server;
  server.http.Get("/p",
                  [&](const httplib::Request&, httplib::Response& response) {
                    response.status = 502;
                  });
  server.Start();
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.random_fraction = nullptr;
  options.max_attempts = 8;
  options.max_backoff = absl::Milliseconds(800);
  HttpClient client(options);

  EXPECT_EQ(HttpErrorKindOf(client.Get(server.Url("/p"), {}).status()),
            HttpErrorKind::kServer);

  const std::vector<absl::Duration> sleeps = clock.sleeps();
  ASSERT_EQ(sleeps.size(), 7u);
  absl::Duration bound = absl::Milliseconds(100);
  int below_bound = 0;
  for (const absl::Duration sleep : sleeps) {
    EXPECT_GE(sleep, absl::ZeroDuration());
    EXPECT_LE(sleep, bound);
    if (sleep < bound) ++below_bound;
    bound = std::min(bound * 2, absl::Milliseconds(800));
  }
  EXPECT_GT(below_bound, 0) << "waits are not jittered";
}

TEST(HttpClientTest, TotalBudgetStopsRetriesEarly) {
  TestServer server;
  server.http.Get("/p",
                  [&](const httplib::Request&, httplib::Response& response) {
                    ++server.requests;
                    response.status = 504;
                  });
  server.Start();
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.max_attempts = 10;
  options.max_backoff = absl::Seconds(10);
  options.total_budget = absl::Seconds(1);
  HttpClient client(options);

  absl::StatusOr<HttpResponse> response = client.Get(server.Url("/p"), {});

  EXPECT_EQ(HttpErrorKindOf(response.status()), HttpErrorKind::kServer);
  EXPECT_THAT(response.status().message(), HasSubstr("after 4 attempts"));
  EXPECT_THAT(response.status().message(), HasSubstr("retry budget"));
  // 100 + 200 + 400 ms spent; the next 800 ms wait would end past 1 s.
  EXPECT_THAT(clock.sleeps(),
              ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200),
                          absl::Milliseconds(400)));
  EXPECT_EQ(server.requests, 4);
}

TEST(HttpClientTest, TimeBlockedInBeforeRequestIsNotCountedInTheBudget) {
  TestServer server;
  server.http.Get("/p",
                  [&](const httplib::Request&, httplib::Response& response) {
                    if (++server.requests <= 2) {
                      response.status = 503;
                      return;
                    }
                    response.set_content("ok", "text/plain");
                  });
  server.Start();
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.total_budget = absl::Seconds(1);
  options.before_request = [&] {
    clock.Sleep(absl::Seconds(10));
  };  // a rate budget wait
  HttpClient client(options);

  ASSERT_TRUE(client.Get(server.Url("/p"), {}).ok());
  EXPECT_THAT(
      clock.sleeps(),
      ElementsAre(absl::Seconds(10), absl::Milliseconds(100), absl::Seconds(10),
                  absl::Milliseconds(200), absl::Seconds(10)));
}

TEST(HttpClientTest, RetryAfterBeyondTheBudgetStopsAtOnce) {
  TestServer server;
  server.http.Get("/p",
                  [&](const httplib::Request&, httplib::Response& response) {
                    ++server.requests;
                    response.status = 429;
                    response.set_header("Retry-After", "3600");
                  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  absl::StatusOr<HttpResponse> response = client.Get(server.Url("/p"), {});

  EXPECT_EQ(HttpErrorKindOf(response.status()), HttpErrorKind::kRateLimited);
  EXPECT_EQ(server.requests, 1);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(ParseRetryAfterTest, DeltaSeconds) {
  const absl::Time now = absl::FromUnixSeconds(1'445'412'480);
  EXPECT_EQ(ParseRetryAfter("5", now), absl::Seconds(5));
  EXPECT_EQ(ParseRetryAfter(" 120 ", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter("0", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-3", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("1.5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", now), std::nullopt);
}

TEST(ParseRetryAfterTest, HttpDates) {
  // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
  const absl::Time now = absl::FromUnixSeconds(1'445'412'480 - 30);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now),
            absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wednesday, 21-Oct-15 07:28:00 GMT", now),
            absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed Oct 21 07:28:00 2015", now),
            absl::Seconds(30));
  EXPECT_EQ(
      ParseRetryAfter("Wed Oct  1 07:28:00 2015", now - absl::Hours(24 * 30)),
      absl::Seconds(30) + absl::Hours(24 * 10));
  // Past or present dates are no wait.
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now),
            std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:27:30 GMT", now),
            std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 PST", now),
            std::nullopt);
}

}  // namespace
}  // namespace graphmill::http
