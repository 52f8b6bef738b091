// HerokuWebhookHandler::Install against a minimal local server playing
// Heroku's app webhooks: created once, found afterwards, a create answered
// with an error after Heroku made it, and the refusals before any request.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/graph_objects.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "worker/integrations/heroku/mini_server_test_util.h"
#include "worker/integrations/heroku/webhook.h"

namespace graphmill::worker::heroku {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Reply = testing::MiniServer::Reply;
using Request = testing::MiniServer::Request;

constexpr char kKey[] = "heroku-install-key";
constexpr char kSecret[] = "whsec-heroku-install";

// Heroku's app webhooks by app: GET lists them, POST adds one. POSTs to
// "flaky" are stored but answered 503.
class FakeHeroku {
 public:
  FakeHeroku()
      : server_([this](const Request& request) { return Handle(request); }) {}

  std::string BaseUrl() const { return server_.BaseUrl(); }
  int posts() {
    absl::MutexLock lock(&mutex_);
    return posts_;
  }
  std::vector<std::string> bodies() {
    absl::MutexLock lock(&mutex_);
    return bodies_;
  }
  std::vector<std::string> urls(const std::string& app) {
    absl::MutexLock lock(&mutex_);
    return urls_[app];
  }

 private:
  Reply Handle(const Request& request) {
    const std::string prefix = "/apps/";
    const std::string suffix = "/webhooks";
    if (request.path.rfind(prefix, 0) != 0 ||
        request.path.size() <= prefix.size() + suffix.size() ||
        request.path.substr(request.path.size() - suffix.size()) != suffix ||
        request.Header("authorization") != absl::StrCat("Bearer ", kKey)) {
      return testing::Json(404, R"({"id":"not_found","message":"no"})");
    }
    const std::string app = request.path.substr(
        prefix.size(), request.path.size() - prefix.size() - suffix.size());
    absl::MutexLock lock(&mutex_);
    if (request.method == "GET") {
      std::string items;
      for (const std::string& url : urls_[app]) {
        absl::StrAppend(&items, items.empty() ? "" : ",",
                        R"({"id":"w","url":")", url, R"(","level":"notify"})");
      }
      return testing::Json(200, absl::StrCat("[", items, "]"));
    }
    ++posts_;
    bodies_.push_back(request.body);
    rapidjson::Document body;
    body.Parse(request.body.c_str());
    urls_[app].push_back(body["url"].GetString());
    if (app == "flaky") return testing::Json(503, R"({"message":"oops"})");
    return testing::Json(201, R"({"id":"wh-1"})");
  }

  absl::Mutex mutex_;
  int posts_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, std::vector<std::string>> urls_ ABSL_GUARDED_BY(mutex_);
  testing::MiniServer server_;  // last: stopped before the state goes
};

v1::Entity App(const std::string& id) {
  v1::Entity entity;
  entity.set_key(id);
  entity.set_type("heroku_application");
  entity.add_classes("Application");
  (*entity.mutable_properties())["id"] = StringValue(id);
  return entity;
}

class HerokuWebhookInstallTest : public ::testing::Test {
 protected:
  InstanceConfig Config() const {
    return {{"apiKey", kKey},
            {"baseUrl", heroku_.BaseUrl()},
            {"webhookSecret", kSecret}};
  }

  FakeHeroku heroku_;
  HerokuWebhookHandler handler_{[] {
    http::HttpClientOptions options;
    options.max_attempts = 3;
    options.initial_backoff = absl::Milliseconds(1);
    options.max_backoff = absl::Milliseconds(2);
    return options;
  }()};
};

TEST_F(HerokuWebhookInstallTest, CreatesOnceThenFindsIt) {
  EXPECT_EQ(handler_.install_entity_type(), "heroku_application");
  const std::string url = "https://hooks.example.com/webhooks/hk";
  absl::StatusOr<bool> created = handler_.Install(Config(), App("app-1"), url);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(*created);
  absl::StatusOr<bool> again = handler_.Install(Config(), App("app-1"), url);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(*again);
  EXPECT_EQ(heroku_.posts(), 1);
  EXPECT_EQ(heroku_.bodies()[0],
            absl::StrCat(R"({"include":["api:app","api:addon",)"
                         R"("api:addon-attachment"],"level":"notify","url":")",
                         url, R"(","secret":")", kSecret, R"("})"));
  // Another URL on the same app is another webhook.
  absl::StatusOr<bool> other =
      handler_.Install(Config(), App("app-1"), "https://other.example/w");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_TRUE(*other);
}

TEST_F(HerokuWebhookInstallTest, AFailedCreateThatHerokuMadeIsNotRepeated) {
  absl::StatusOr<bool> created =
      handler_.Install(Config(), App("flaky"), "https://h.example/w");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(*created);
  // max_attempts is 3, but the create was sent once.
  EXPECT_EQ(heroku_.posts(), 1);
  EXPECT_EQ(heroku_.urls("flaky").size(), 1u);
}

TEST_F(HerokuWebhookInstallTest, ErrorsNameTheProblemAndNoSecret) {
  InstanceConfig no_secret = Config();
  no_secret.erase("webhookSecret");
  absl::Status status =
      handler_.Install(no_secret, App("app-1"), "https://h.example/w").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("webhookSecret"));

  v1::Entity no_id = App("app-1");
  no_id.mutable_properties()->erase("id");
  status = handler_.Install(Config(), no_id, "https://h.example/w").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;

  v1::Entity team = App("team-1");
  team.set_type("heroku_team");
  status = handler_.Install(Config(), team, "https://h.example/w").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;

  InstanceConfig wrong_key = Config();
  wrong_key["apiKey"] = "wrong-key-0123456";
  status =
      handler_.Install(wrong_key, App("app-1"), "https://h.example/w").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("wrong-key")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr(kSecret)));
  EXPECT_EQ(heroku_.posts(), 0);
}

}  // namespace
}  // namespace graphmill::worker::heroku
