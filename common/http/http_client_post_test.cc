// Tests of the HTTP client's POST: the body and headers sent, retries with the
// same body, and errors that keep the status without quoting the body.
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

TEST(HttpClientPostTest, SendsBodyAndHeadersWithoutExpectContinue) {
  TestServer server;
  std::string seen_body, seen_type, seen_encoding, seen_expect, seen_method;
  // Large enough that curl would otherwise ask for 100 Continue first.
  const std::string body =
      absl::StrCat(R"({"entities":[")", std::string(2'000'000, 'e'), R"("]})");
  server.http.Post("/jobs/j1/entities", [&](const httplib::Request& request,
                                            httplib::Response& response) {
    seen_method = request.method;
    seen_body = request.body;
    seen_type = request.get_header_value("Content-Type");
    seen_encoding = request.get_header_value("Content-Encoding");
    seen_expect = request.get_header_value("Expect");
    response.set_content(R"({"job":{"id":"j1"}})", "application/json");
  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  absl::StatusOr<HttpResponse> response =
      client.Post(server.Url("/jobs/j1/entities"),
                  {{"Content-Type", "application/json"}}, body);

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"job":{"id":"j1"}})");
  EXPECT_EQ(seen_method, "POST");
  EXPECT_EQ(seen_body, body);
  EXPECT_EQ(seen_type, "application/json");
  EXPECT_EQ(seen_encoding, "");
  EXPECT_EQ(seen_expect, "");
}

TEST(HttpClientPostTest, EmptyBodyIsSent) {
  TestServer server;
  std::string seen_length = "unset";
  server.http.Post("/finalize", [&](const httplib::Request& request,
                                    httplib::Response& response) {
    seen_length = request.get_header_value("Content-Length");
    response.set_content("{}", "application/json");
  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  absl::StatusOr<HttpResponse> response =
      client.Post(server.Url("/finalize"), {}, "");

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(seen_length, "0");
}

TEST(HttpClientPostTest, ServerErrorAndRateLimitAreRetriedWithTheSameBody) {
  TestServer server;
  std::vector<std::string> bodies;
  absl::Mutex mutex;
  server.http.Post(
      "/up", [&](const httplib::Request& request, httplib::Response& response) {
        {
          absl::MutexLock lock(&mutex);
          bodies.push_back(request.body);
        }
        const int number = ++server.requests;
        if (number == 1) {
          response.status = 503;
          response.set_content(
              R"({"error":{"code":"UNAVAILABLE","message":"try later"}})",
              "application/json");
        } else if (number == 2) {
          response.status = 429;
          response.set_header("Retry-After", "3");
          response.set_content("{}", "application/json");
        } else {
          response.set_content("{}", "application/json");
        }
      });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  absl::StatusOr<HttpResponse> response =
      client.Post(server.Url("/up"), {}, "payload-1");

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(server.requests, 3);
  EXPECT_THAT(bodies, ElementsAre("payload-1", "payload-1", "payload-1"));
  // Backoff (jitter pinned to the top: 100 ms), then the Retry-After.
  EXPECT_THAT(clock.sleeps(),
              ElementsAre(absl::Milliseconds(100), absl::Seconds(3)));
}

TEST(HttpClientPostTest, PayloadTooLargeIsNotRetriedAndKeepsTheStatus) {
  TestServer server;
  server.http.Post("/up", [&](const httplib::Request&,
                              httplib::Response& response) {
    ++server.requests;
    response.status = 413;
    response.set_content(R"({"error":{"code":"RequestEntityTooLargeException",)"
                         R"("message":"Request body too large"}})",
                         "application/json");
  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  const absl::Status status =
      client.Post(server.Url("/up"), {}, std::string(1000, 'x')).status();

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(HttpErrorKindOf(status), HttpErrorKind::kClient);
  EXPECT_EQ(HttpStatusOf(status), 413);
  EXPECT_EQ(status.message(),
            absl::StrCat("POST ", server.Url("/up"),
                         ": HTTP 413 (RequestEntityTooLargeException: Request "
                         "body too large)"));
  EXPECT_EQ(server.requests, 1);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(HttpClientPostTest, UnauthorizedIsAuthErrorWithoutTheTokenOrBody) {
  const std::string token = "j1-secret-token";
  TestServer server;
  server.http.Post(
      "/jobs", [&](const httplib::Request&, httplib::Response& response) {
        ++server.requests;
        response.status = 401;
        response.set_content(R"({"error":{"message":"Unauthorized"}})",
                             "application/json");
      });
  server.Start();
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.redact = {token};
  HttpClient client(options);

  const absl::Status status =
      client
          .Post(server.Url("/jobs"), {{"Authorization", "Bearer " + token}},
                R"({"source":"integration-external"})")
          .status();

  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(HttpErrorKindOf(status), HttpErrorKind::kAuth);
  EXPECT_EQ(status.message(), absl::StrCat("POST ", server.Url("/jobs"),
                                           ": HTTP 401 (Unauthorized)"));
  EXPECT_EQ(server.requests, 1);
}

}  // namespace
}  // namespace graphmill::http
