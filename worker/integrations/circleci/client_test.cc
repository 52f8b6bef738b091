// Tests of the CircleCI client against a local cpp-httplib server: what a
// listing returns when an item echoes the API key and fails to convert.
#include "worker/integrations/circleci/client.h"

#include <string>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "worker/integrations/circleci/converters.h"

namespace graphmill::worker::circleci {
namespace {

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

}  // namespace
}  // namespace graphmill::worker::circleci
