// Tests of the CircleCI client against a local cpp-httplib server: what a
// listing returns when an item echoes the API key and fails to convert; a
// project's webhooks listed and created.
#include "worker/integrations/circleci/client.h"

#include <string>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/http/http_client_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "worker/integrations/circleci/converters.h"

namespace graphmill::worker::circleci {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// '/', '+', '=' and ' ' make the encoded forms differ from the raw one.
constexpr char kKey[] = "CCIPAT_key/with+odd= chars_0123";

// Serves `body` on every GET from 127.0.0.1 (ephemeral port).
class Server {
 public:
  explicit Server(std::string body) : body_(std::move(body)) {
    http_.Get(".*", [this](const httplib::Request&, httplib::Response& reply) {
      reply.set_content(body_, "application/json");
    });
    port_ = http_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { http_.listen_after_bind(); });
    // stop() is a no-op until the listen loop runs.
    for (int i = 0; i < 500 && !http_.is_running(); ++i) {
      absl::SleepFor(absl::Milliseconds(2));
    }
  }
  ~Server() {
    http_.stop();
    thread_.join();
  }
  std::string BaseUrl() const {
    return absl::StrCat("http://127.0.0.1:", port_, "/api/v2");
  }

 private:
  const std::string body_;
  httplib::Server http_;
  int port_ = 0;
  std::thread thread_;
};

http::HttpClientOptions FastOptions() {
  http::HttpClientOptions options;
  options.max_attempts = 1;
  options.request_timeout = absl::Seconds(10);
  return options;
}

// The hostile answer of issue 10: a pipeline that echoes the API key (in
// several forms) and has no string id. The step's error must hold no form of
// the key and quote at most ~200 bytes of the megabyte item.
TEST(CircleCiClientTest, AnItemEchoingTheKeyFailsRedactedAndShort) {
  const std::string key = kKey;
  Server server(absl::StrCat(
      R"({"items":[{"id":5,"token":")", key, R"(","b64":")",
      absl::Base64Escape(key), R"(","lower":")", absl::AsciiStrToLower(key),
      R"(","url":")", http::UrlEncode(key), R"(","big":")",
      std::string(1 << 20, 'b'), R"("}],"next_page_token":null})"));
  CircleCiClient client(server.BaseUrl(), key, FastOptions());

  const absl::Status status =
      client.ListPipelines("gh/org", [](const rapidjson::Value& item) {
        return PipelineEntity(item).status();
      });

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const std::string message(status.message());
  EXPECT_THAT(
      message,
      HasSubstr(
          R"(pipeline has no string 'id': {"id":5,"token":"***","b64":"***","lower":"***","url":"***")"));
  for (const std::string& form :
       {key, absl::Base64Escape(key), absl::AsciiStrToLower(key),
        http::UrlEncode(key), std::string("0123")}) {
    EXPECT_THAT(message, Not(HasSubstr(form))) << message;
  }
  EXPECT_LE(message.size(), 300u) << message;
}

TEST(CircleCiClientTest, CollaborationErrorsAreRedactedToo) {
  Server server(absl::StrCat(R"([{"name":")", kKey, R"("}])"));
  CircleCiClient client(server.BaseUrl(), kKey, FastOptions());

  const absl::Status status =
      client.ListCollaborations([](const rapidjson::Value& item) {
        return UserGroupEntity(item).status();
      });

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(R"({"name":"***"})"));
  EXPECT_THAT(status.message(), Not(HasSubstr("CCIPAT")));
}

// What the webhook tests' server saw of each request.
struct Seen {
  std::string method;
  std::string path;  // with the query
  std::string token;
  std::string content_type;
  std::string body;
};

class WebhookApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.http.Get("/api/v2/webhook", [this](const httplib::Request& request,
                                               httplib::Response& reply) {
      Record(request);
      if (!request.has_param("page-token")) {
        reply.set_content(
            R"({"items":[{"id":"w1","url":"https://a.example/x"}],)"
            R"("next_page_token":"p2"})",
            "application/json");
      } else {
        reply.set_content(
            R"({"items":[{"id":"w2","url":"https://b.example/y"}],)"
            R"("next_page_token":null})",
            "application/json");
      }
    });
    server_.http.Post("/api/v2/webhook", [this](const httplib::Request& request,
                                                httplib::Response& reply) {
      Record(request);
      reply.status = post_status_;
      reply.set_content(post_reply_, "application/json");
    });
    server_.Start();
  }

  void Record(const httplib::Request& request) {
    std::string path = request.path;
    for (const auto& [name, value] : request.params) {
      absl::StrAppend(&path, path == request.path ? "?" : "&", name, "=",
                      value);
    }
    absl::MutexLock lock(&mutex_);
    seen_.push_back({request.method, path,
                     request.get_header_value("Circle-Token"),
                     request.get_header_value("Content-Type"), request.body});
  }

  std::vector<Seen> seen() {
    absl::MutexLock lock(&mutex_);
    return seen_;
  }

  std::string BaseUrl() const { return server_.Url("/api/v2"); }

  http::testing::TestServer server_;
  int post_status_ = 201;
  std::string post_reply_ = R"({"id":"wh-new","url":"https://h.example/w"})";
  absl::Mutex mutex_;
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mutex_);
};

TEST_F(WebhookApiTest, ListsAProjectsWebhooksPageByPage) {
  CircleCiClient client(BaseUrl(), kKey, FastOptions());
  std::vector<std::string> urls;
  absl::Status status =
      client.ListProjectWebhooks("proj-1", [&](const rapidjson::Value& item) {
        urls.push_back(item["url"].GetString());
        return absl::OkStatus();
      });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(urls, ElementsAre("https://a.example/x", "https://b.example/y"));
  const std::vector<Seen> requests = seen();
  ASSERT_EQ(requests.size(), 2u);
  // httplib lists the parameters in name order.
  EXPECT_EQ(requests[0].path,
            "/api/v2/webhook?scope-id=proj-1&scope-type=project");
  EXPECT_EQ(requests[1].path,
            "/api/v2/webhook?page-token=p2&scope-id=proj-1&scope-type=project");
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].token, kKey);
}

TEST_F(WebhookApiTest, CreatesAProjectWebhookSignedWithTheSecret) {
  CircleCiClient client(BaseUrl(), kKey, FastOptions());
  absl::StatusOr<std::string> id = client.CreateProjectWebhook(
      "proj-1", "https://h.example/webhooks/ci", "whsec-1");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "wh-new");
  const std::vector<Seen> requests = seen();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/api/v2/webhook");
  EXPECT_EQ(requests[0].token, kKey);
  EXPECT_EQ(requests[0].content_type, "application/json");
  EXPECT_EQ(requests[0].body,
            R"({"name":"graphmill","events":["workflow-completed",)"
            R"("job-completed"],"url":"https://h.example/webhooks/ci",)"
            R"("verify-tls":true,"signing-secret":"whsec-1",)"
            R"("scope":{"id":"proj-1","type":"project"}})");
}

TEST_F(WebhookApiTest, ARefusedCreateQuotesCircleCiButNeverTheSecret) {
  const std::string secret = "whsec-0123456789";
  post_status_ = 400;
  post_reply_ =
      absl::StrCat(R"({"message":"signing-secret )", secret, R"( too short"})");
  http::HttpClientOptions options = FastOptions();
  options.redact.push_back(secret);  // as the handler does
  CircleCiClient client(BaseUrl(), kKey, options);
  absl::StatusOr<std::string> id =
      client.CreateProjectWebhook("proj-1", "https://h.example/w", secret);
  ASSERT_FALSE(id.ok());
  const std::string message(id.status().message());
  EXPECT_THAT(message, HasSubstr("POST " + BaseUrl() + "/webhook"));
  EXPECT_THAT(message, HasSubstr("too short"));
  EXPECT_THAT(message, Not(HasSubstr("0123456789")));
  EXPECT_THAT(message, Not(HasSubstr(kKey)));
}

TEST_F(WebhookApiTest, ACreatedWebhookWithoutAnIdIsMalformed) {
  post_reply_ = R"({"url":"https://h.example/w"})";
  CircleCiClient client(BaseUrl(), kKey, FastOptions());
  absl::StatusOr<std::string> id =
      client.CreateProjectWebhook("proj-1", "https://h.example/w", "s");
  EXPECT_EQ(http::HttpErrorKindOf(id.status()),
            http::HttpErrorKind::kMalformedBody)
      << id.status();
}

}  // namespace
}  // namespace graphmill::worker::circleci
