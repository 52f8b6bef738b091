// Tests of the provider HTTP client against real local servers (cpp-httplib,
// and a raw TCP listener for broken connections): responses, error classes
// and messages, network failures, redaction, connection reuse, request
// headers, response limits, and the helpers' errors and URLs. Retries and
// back-off: http_client_retry_test.cc; POST: http_client_post_test.cc.
#include "common/http/http_client.h"

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

TEST(HttpClientTest, ReturnsBodyAndHeadersAndSendsRequestHeaders) {
  TestServer server;
  std::string seen_token, seen_accept_encoding, seen_user_agent;
  server.http.Get("/api/v2/me", [&](const httplib::Request& request,
                                    httplib::Response& response) {
    seen_token = request.get_header_value("Circle-Token");
    seen_accept_encoding = request.get_header_value("Accept-Encoding");
    seen_user_agent = request.get_header_value("User-Agent");
    response.set_header("X-Request-Thing", "abc");
    response.set_content(R"({"id":"u1"})", "application/json");
  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  absl::StatusOr<HttpResponse> response =
      client.Get(server.Url("/api/v2/me"),
                 {{"Circle-Token", "t0k"}, {"User-Agent", "graphmill-test"}});

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"id":"u1"})");
  EXPECT_EQ(response->Header("x-request-thing"), "abc");
  EXPECT_EQ(response->Header("X-REQUEST-THING"), "abc");
  EXPECT_EQ(response->Header("content-type"), "application/json");
  EXPECT_EQ(response->Header("X-Absent"), std::nullopt);
  EXPECT_EQ(seen_token, "t0k");
  EXPECT_EQ(seen_user_agent, "graphmill-test");
  EXPECT_THAT(seen_accept_encoding, HasSubstr("gzip"));
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(HttpClientTest, DecodesGzipBody) {
  TestServer server;
  const std::string body = std::string(5000, 'x') + "end";
  server.http.Get("/z",
                  [&](const httplib::Request&, httplib::Response& response) {
                    response.set_header("Content-Encoding", "gzip");
                    response.set_content(Gzip(body), "application/json");
                  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  absl::StatusOr<HttpResponse> response = client.Get(server.Url("/z"), {});

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, body);
}

TEST(HttpClientTest, PartialContentIsSuccess) {
  TestServer server;
  server.http.Get("/apps",
                  [&](const httplib::Request&, httplib::Response& response) {
                    response.status = 206;
                    response.set_header("Next-Range", "id ]abc..; max=1000");
                    response.set_content("[]", "application/json");
                  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  absl::StatusOr<HttpResponse> response = client.Get(server.Url("/apps"), {});

  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 206);
  EXPECT_EQ(response->Header("next-range"), "id ]abc..; max=1000");
}

struct NonRetryableCase {
  int http_status;
  absl::StatusCode code;
  HttpErrorKind kind;
};

class NonRetryableStatusTest
    : public ::testing::TestWithParam<NonRetryableCase> {};

TEST_P(NonRetryableStatusTest, ReturnsAtOnceWithItsClassification) {
  const NonRetryableCase& test_case = GetParam();
  TestServer server;
  std::atomic<int> target_requests{0};
  server.http.Get("/api/v2/me",
                  [&](const httplib::Request&, httplib::Response& response) {
                    ++server.requests;
                    response.status = test_case.http_status;
                    response.set_header("Location", "/target");
                    response.set_content(R"({"message":"Provider says no."})",
                                         "application/json");
                  });
  server.http.Get("/target",
                  [&](const httplib::Request&, httplib::Response& response) {
                    ++target_requests;
                    response.set_content("redirected", "text/plain");
                  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  absl::StatusOr<HttpResponse> response =
      client.Get(server.Url("/api/v2/me"), {});

  EXPECT_EQ(response.status().code(), test_case.code);
  EXPECT_EQ(HttpErrorKindOf(response.status()), test_case.kind);
  EXPECT_EQ(HttpStatusOf(response.status()), test_case.http_status);
  EXPECT_EQ(response.status().message(),
            absl::StrCat("GET ", server.Url("/api/v2/me"), ": HTTP ",
                         test_case.http_status, " (Provider says no.)"));
  EXPECT_EQ(server.requests, 1);
  EXPECT_EQ(target_requests, 0);
  EXPECT_TRUE(clock.sleeps().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Statuses, NonRetryableStatusTest,
    ::testing::Values(NonRetryableCase{401, absl::StatusCode::kUnauthenticated,
                                       HttpErrorKind::kAuth},
                      NonRetryableCase{403, absl::StatusCode::kPermissionDenied,
                                       HttpErrorKind::kPermission},
                      NonRetryableCase{404, absl::StatusCode::kNotFound,
                                       HttpErrorKind::kNotFound},
                      NonRetryableCase{400,
                                       absl::StatusCode::kFailedPrecondition,
                                       HttpErrorKind::kClient},
                      NonRetryableCase{302,
                                       absl::StatusCode::kFailedPrecondition,
                                       HttpErrorKind::kClient}),
    [](const ::testing::TestParamInfo<NonRetryableCase>& info) {
      return absl::StrCat("Http", info.param.http_status);
    });

TEST(HttpClientTest, LongProviderMessageIsShortenedToOneLine) {
  TestServer server;
  server.http.Get(
      "/p", [&](const httplib::Request&, httplib::Response& response) {
        response.status = 403;
        response.set_content(
            absl::StrCat(R"({"id":"forbidden","message":"first\nsecond )",
                         std::string(1000, 'y'), R"("})"),
            "application/json");
      });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  const absl::Status status = client.Get(server.Url("/p"), {}).status();

  EXPECT_THAT(status.message(), HasSubstr("(first second yyy"));
  EXPECT_THAT(status.message(), HasSubstr("yyy… (1013 bytes))"));
  EXPECT_THAT(status.message(), Not(HasSubstr("\n")));
  EXPECT_LT(status.message().size(), server.Url("/p").size() + 240);
}

TEST(HttpClientTest, PlainTextErrorBodyIsQuotedAndHtmlIsNot) {
  TestServer server;
  server.http.Get(
      "/text", [&](const httplib::Request&, httplib::Response& response) {
        response.status = 401;
        response.set_content("Invalid token provided.", "text/plain");
      });
  server.http.Get(
      "/html", [&](const httplib::Request&, httplib::Response& response) {
        response.status = 400;
        response.set_content("<html>bad gateway page</html>", "text/html");
      });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  EXPECT_EQ(client.Get(server.Url("/text"), {}).status().message(),
            absl::StrCat("GET ", server.Url("/text"),
                         ": HTTP 401 (Invalid token provided.)"));
  EXPECT_EQ(client.Get(server.Url("/html"), {}).status().message(),
            absl::StrCat("GET ", server.Url("/html"), ": HTTP 400"));
}

TEST(HttpClientTest, ServerErrorThenNotFoundCountsAttempts) {
  TestServer server;
  server.http.Get("/p",
                  [&](const httplib::Request&, httplib::Response& response) {
                    response.status = ++server.requests == 1 ? 500 : 404;
                  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  const absl::Status status = client.Get(server.Url("/p"), {}).status();

  EXPECT_EQ(HttpErrorKindOf(status), HttpErrorKind::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("HTTP 404 after 2 attempts"));
  EXPECT_EQ(server.requests, 2);
}

TEST(HttpClientTest, ConnectionResetIsRetriedThenNetworkError) {
  RawServer server("", /*reset=*/true);
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.max_attempts = 3;
  HttpClient client(options);

  const absl::Status status = client.Get(server.Url("/p"), {}).status();

  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(HttpErrorKindOf(status), HttpErrorKind::kNetwork);
  EXPECT_EQ(HttpStatusOf(status), 0);
  EXPECT_THAT(status.message(), HasSubstr("after 3 attempts"));
  EXPECT_EQ(server.connections(), 3);
  EXPECT_EQ(clock.sleeps().size(), 2u);
}

TEST(HttpClientTest, TruncatedBodyIsRetriedThenNetworkError) {
  RawServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
                   /*reset=*/false);
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.max_attempts = 3;
  HttpClient client(options);

  const absl::Status status = client.Get(server.Url("/p"), {}).status();

  EXPECT_EQ(HttpErrorKindOf(status), HttpErrorKind::kNetwork);
  EXPECT_THAT(status.message(), HasSubstr("after 3 attempts"));
  EXPECT_EQ(server.connections(), 3);
}

TEST(HttpClientTest, ConnectionRefusedIsNetworkError) {
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.max_attempts = 2;
  HttpClient client(options);

  const absl::Status status =
      client.Get(absl::StrCat("http://127.0.0.1:", ClosedPort(), "/p"), {})
          .status();

  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(HttpErrorKindOf(status), HttpErrorKind::kNetwork);
  EXPECT_THAT(clock.sleeps(), ElementsAre(absl::Milliseconds(100)));
}

TEST(HttpClientTest, SlowResponseTimesOutAndIsRetried) {
  // A provider that answers only once the test is over: each attempt can end
  // only by the client's own (real-time) timeout. Declared before the server,
  // so the handlers are released before the server stops.
  absl::Notification test_over;
  struct ReleaseAtEnd {
    absl::Notification& done;
    ~ReleaseAtEnd() { done.Notify(); }
  };
  TestServer server;
  ReleaseAtEnd release{test_over};
  server.http.Get("/slow",
                  [&](const httplib::Request&, httplib::Response& response) {
                    ++server.requests;
                    test_over.WaitForNotificationWithTimeout(absl::Seconds(30));
                    response.set_content("late", "text/plain");
                  });
  server.Start();
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.request_timeout = absl::Milliseconds(150);
  options.max_attempts = 2;
  HttpClient client(options);

  const absl::Time start = absl::Now();
  const absl::Status status = client.Get(server.Url("/slow"), {}).status();

  // Two attempts of 150 ms each, not a wait for the answer.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(HttpErrorKindOf(status), HttpErrorKind::kNetwork);
  EXPECT_THAT(status.message(), HasSubstr("after 2 attempts"));
  EXPECT_EQ(server.requests, 2);
}

TEST(HttpClientTest, TokensNeverAppearInMessagesOrLogs) {
  // '/' and '+' make the URL-encoded form differ from the raw one.
  const std::string token = "tok-S3CRET/42+x";
  const std::string encoded_token = UrlEncode(token);
  ASSERT_NE(token, encoded_token);
  TestServer server;
  server.http.Get(
      "/p", [&](const httplib::Request&, httplib::Response& response) {
        response.status = ++server.requests % 2 == 1 ? 500 : 401;
        response.set_content(
            absl::StrCat(R"({"message":"token )", token, R"( is invalid"})"),
            "application/json");
      });
  server.Start();
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.redact = {token};
  HttpClient client(options);
  const HttpHeaders headers = {{"Circle-Token", token}};

  ::testing::internal::CaptureStderr();
  const absl::Status raw =
      client.Get(server.Url("/p?circle-token=" + token), headers).status();
  const absl::Status encoded =
      client
          .Get(AppendQueryParameter(server.Url("/p"), "circle-token", token),
               headers)
          .status();
  const absl::Status refused =
      client
          .Get(absl::StrCat("http://127.0.0.1:", ClosedPort(), "/p?t=", token),
               headers)
          .status();
  const std::string logs = ::testing::internal::GetCapturedStderr();

  EXPECT_THAT(logs, HasSubstr("WARN"));
  EXPECT_THAT(logs, HasSubstr("***"));
  for (const absl::Status& status : {raw, encoded, refused}) {
    EXPECT_FALSE(status.ok());
    EXPECT_THAT(status.message(), HasSubstr("***"));
    EXPECT_THAT(status.message(), Not(HasSubstr(token)));
    EXPECT_THAT(status.message(), Not(HasSubstr(encoded_token)));
  }
  EXPECT_THAT(logs, Not(HasSubstr(token)));
  EXPECT_THAT(logs, Not(HasSubstr(encoded_token)));
  EXPECT_EQ(client.Redact("a " + token + " b " + encoded_token), "a *** b ***");
}

// A provider that echoes the token in other forms, and a message long enough
// that the token straddles the quoting limit.
TEST(HttpClientTest, ProviderMessageIsRedactedInEveryFormBeforeItIsCut) {
  const std::string token = "tok-S3CRET/42+xyz";
  const std::string base64_token = absl::Base64Escape(token);
  TestServer server;
  server.http.Get("/p", [&](const httplib::Request& request,
                            httplib::Response& response) {
    response.status = 400;
    const std::string message =
        request.get_param_value("form") == "cut"
            ? absl::StrCat(std::string(190, 'm'), token, std::string(500, 'n'))
            : absl::StrCat("bad token ", base64_token, " / ",
                           absl::AsciiStrToUpper(token), " / ",
                           UrlEncode(token));
    response.set_content(absl::StrCat(R"({"message":")", message, R"("})"),
                         "application/json");
  });
  server.Start();
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.redact = {token};
  HttpClient client(options);

  const absl::Status forms = client.Get(server.Url("/p?form=all"), {}).status();
  EXPECT_EQ(forms.message(),
            absl::StrCat("GET ", server.Url("/p?form=all"),
                         ": HTTP 400 (bad token *** / *** / ***)"));

  const absl::Status cut = client.Get(server.Url("/p?form=cut"), {}).status();
  EXPECT_THAT(cut.message(),
              HasSubstr(absl::StrCat(std::string(190, 'm'), "***nnn")));
  EXPECT_THAT(cut.message(), HasSubstr("… (707 bytes))"));
  EXPECT_THAT(cut.message(), Not(HasSubstr("tok-")));
  EXPECT_LT(cut.message().size(), server.Url("/p?form=cut").size() + 240);
}

TEST(HttpClientTest, SequentialRequestsReuseOneConnection) {
  TestServer server;
  absl::Mutex mutex;
  std::set<int> client_ports;
  server.http.Get(
      "/p", [&](const httplib::Request& request, httplib::Response& response) {
        absl::MutexLock lock(&mutex);
        client_ports.insert(request.remote_port);
        response.set_content("ok", "text/plain");
      });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(client.Get(server.Url("/p"), {}).ok());

  absl::MutexLock lock(&mutex);
  EXPECT_EQ(client_ports.size(), 1u);
}

TEST(HttpClientTest, ConcurrentGetsAllSucceed) {
  TestServer server;
  absl::Mutex mutex;
  std::set<int> client_ports;
  server.http.Get(R"(/echo/(\d+)/(\d+))", [&](const httplib::Request& request,
                                              httplib::Response& response) {
    {
      absl::MutexLock lock(&mutex);
      client_ports.insert(request.remote_port);
    }
    response.set_content(request.path, "text/plain");
  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));
  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 25;
  std::atomic<int> successes{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequestsPerThread; ++i) {
        const std::string path = absl::StrCat("/echo/", t, "/", i);
        absl::StatusOr<HttpResponse> response =
            client.Get(server.Url(path), {});
        if (response.ok() && response->body == path) ++successes;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(successes, kThreads * kRequestsPerThread);
  absl::MutexLock lock(&mutex);
  EXPECT_LE(client_ports.size(), static_cast<size_t>(kThreads));
}

TEST(HttpClientTest, MalformedRequestHeaderIsRejectedWithoutSending) {
  TestServer server;
  server.http.Get("/p", [&](const httplib::Request&, httplib::Response&) {
    ++server.requests;
  });
  server.Start();
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  const absl::Status status =
      client.Get(server.Url("/p"), {{"Circle-Token", "abc\r\nX-Injected: 1"}})
          .status();

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("Circle-Token"));
  EXPECT_THAT(status.message(), Not(HasSubstr("abc")));
  EXPECT_EQ(server.requests, 0);
}

TEST(HttpClientTest, UnusableUrlIsInvalidArgumentWithoutRetry) {
  FakeClock clock;
  HttpClient client(TestOptions(&clock));

  for (const std::string url : {"", "ftp://127.0.0.1/file", "http://[::1"}) {
    const absl::Status status = client.Get(url, {}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << url << ": " << status;
    EXPECT_EQ(HttpErrorKindOf(status), HttpErrorKind::kClient) << url;
  }
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(HttpClientOptionsTest, ResponseLimitDefaultsTo64MiBAndCanBeSet) {
  EXPECT_EQ(HttpClientOptions().max_response_bytes, int64_t{64} << 20);
  SetDefaultMaxResponseBytes(12345);
  EXPECT_EQ(HttpClientOptions().max_response_bytes, 12345);
  SetDefaultMaxResponseBytes(0);
  EXPECT_EQ(HttpClientOptions().max_response_bytes, kDefaultMaxResponseBytes);
}

// A body streamed without Content-Length: only the write callback can stop
// it, and it must do so at the limit rather than after the whole body.
TEST(HttpClientTest, StreamedBodyOverTheLimitIsAbortedWithAClearError) {
  const std::string token = "tok-S3CRET/42+xyz";
  TestServer server;
  std::atomic<int64_t> sent{0};
  server.http.Get(
      "/big", [&](const httplib::Request&, httplib::Response& response) {
        ++server.requests;
        response.set_chunked_content_provider(
            "application/json", [&](size_t, httplib::DataSink& sink) {
              static const std::string chunk(64 * 1024, 'b');
              // 512 MiB if nobody stops it.
              if (sent >= (int64_t{512} << 20)) {
                sink.done();
                return true;
              }
              if (!sink.write(chunk.data(), chunk.size())) return false;
              sent += chunk.size();
              return true;
            });
      });
  server.Start();
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.max_response_bytes = 1 << 20;
  options.redact = {token};
  HttpClient client(options);
  const std::string url = server.Url("/big?circle-token=" + token);

  const absl::Status status = client.Get(url, {}).status();

  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(HttpErrorKindOf(status), HttpErrorKind::kMalformedBody);
  EXPECT_EQ(status.message(),
            absl::StrCat("response from GET ", server.Url("/big?circle-token="),
                         "*** exceeds 1048576 bytes (--max_response_bytes)"));
  EXPECT_EQ(server.requests, 1);
  // Socket buffers let the server run ahead a little, not by hundreds of MB.
  EXPECT_LT(sent.load(), int64_t{64} << 20);
}

TEST(HttpClientTest, OversizedBodyFailsWithoutRetry) {
  TestServer server;
  server.http.Get("/big",
                  [&](const httplib::Request&, httplib::Response& response) {
                    ++server.requests;
                    response.set_content(std::string(10000, 'b'), "text/plain");
                  });
  server.Start();
  FakeClock clock;
  HttpClientOptions options = TestOptions(&clock);
  options.max_response_bytes = 1000;
  HttpClient client(options);

  const absl::Status status = client.Get(server.Url("/big"), {}).status();

  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(HttpErrorKindOf(status), HttpErrorKind::kMalformedBody);
  EXPECT_EQ(status.message(),
            absl::StrCat("response from GET ", server.Url("/big"),
                         " exceeds 1000 bytes (--max_response_bytes)"));
  EXPECT_EQ(server.requests, 1);
}

TEST(HttpErrorTest, ForeignAndOkStatusesHaveNoKind) {
  EXPECT_EQ(HttpErrorKindOf(absl::OkStatus()), HttpErrorKind::kNone);
  EXPECT_EQ(HttpErrorKindOf(absl::NotFoundError("x")), HttpErrorKind::kNone);
  EXPECT_EQ(HttpStatusOf(absl::NotFoundError("x")), 0);
  const absl::Status malformed =
      MalformedBodyError("http://h/x", "missing 'items'");
  EXPECT_EQ(malformed.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(HttpErrorKindOf(malformed), HttpErrorKind::kMalformedBody);
  EXPECT_THAT(malformed.message(), HasSubstr("http://h/x"));
  EXPECT_THAT(malformed.message(), HasSubstr("missing 'items'"));
}

TEST(UrlEncodeTest, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UrlEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(UrlEncode("gh/org name"), "gh%2Forg%20name");
  EXPECT_EQ(UrlEncode("a+b=c&d?e#f%"), "a%2Bb%3Dc%26d%3Fe%23f%25");
  EXPECT_EQ(UrlEncode("\xC3\xA9"), "%C3%A9");
  EXPECT_EQ(UrlEncode(""), "");
}

TEST(AppendQueryParameterTest, ChoosesTheSeparator) {
  EXPECT_EQ(AppendQueryParameter("https://h/api/v2/pipeline/1/workflow",
                                 "page-token", "a/b"),
            "https://h/api/v2/pipeline/1/workflow?page-token=a%2Fb");
  EXPECT_EQ(AppendQueryParameter("https://h/pipeline?org-slug=gh%2Fo",
                                 "page-token", "x y"),
            "https://h/pipeline?org-slug=gh%2Fo&page-token=x%20y");
  EXPECT_EQ(AppendQueryParameter("https://h/p?", "a b", "1"),
            "https://h/p?a%20b=1");
  EXPECT_EQ(AppendQueryParameter("https://h/p?x=1&", "y", ""),
            "https://h/p?x=1&y=");
  EXPECT_EQ(AppendQueryParameter("https://h/p#top", "y", "2"),
            "https://h/p?y=2#top");
}

}  // namespace
}  // namespace graphmill::http
