// Tests of the Heroku client against a minimal local HTTP server: headers,
// Range pagination (Next-Range on 206 and on 200), loop guard, malformed bodies
// and error messages; an app's webhooks listed and created.
#include "worker/integrations/heroku/client.h"

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker/integrations/heroku/converters.h"
#include "worker/integrations/heroku/mini_server_test_util.h"

namespace graphmill::worker::heroku {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "heroku-secret-key-0123";

using testing::Json;
using testing::MiniServer;
using Reply = MiniServer::Reply;
using Request = MiniServer::Request;

http::HttpClientOptions FastOptions() {
  http::HttpClientOptions options;
  options.max_attempts = 2;
  options.initial_backoff = absl::Milliseconds(1);
  options.max_backoff = absl::Milliseconds(2);
  options.request_timeout = absl::Seconds(10);
  return options;
}

// Collects the `id` of each listed item.
std::vector<std::string> ListIds(
    const std::function<absl::Status(const ItemVisitor&)>& list,
    absl::Status* status) {
  std::vector<std::string> ids;
  *status = list([&](const rapidjson::Value& item) {
    ids.push_back(item["id"].GetString());
    return absl::OkStatus();
  });
  return ids;
}

TEST(HerokuClientTest, SendsBearerKeyVersionAcceptAndFirstRange) {
  MiniServer server([](const Request& request) {
    if (request.path == "/account") return Json(200, R"({"id":"u1"})");
    return Json(200, R"([{"id":"a1"}])");
  });
  HerokuClient client(server.BaseUrl(), kKey, FastOptions());
  absl::Status status;
  EXPECT_THAT(ListIds(
                  [&](const ItemVisitor& visit) {
                    return client.ListEnterpriseAccounts(visit);
                  },
                  &status),
              ElementsAre("a1"));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(client.CheckAccount().ok());
  EXPECT_THAT(server.Paths(), ElementsAre("/enterprise-accounts", "/account"));
  EXPECT_THAT(server.HeaderValues("authorization"),
              ElementsAre(absl::StrCat("Bearer ", kKey),
                          absl::StrCat("Bearer ", kKey)));
  EXPECT_THAT(server.HeaderValues("accept"),
              ElementsAre("application/vnd.heroku+json; version=3",
                          "application/vnd.heroku+json; version=3"));
  // Lists start with the largest page; /account is not a list.
  EXPECT_THAT(server.HeaderValues("range"), ElementsAre("id ..; max=1000", ""));
}

TEST(HerokuClientTest, FollowsNextRangeOn206AndOn200UntilAPageHasNone) {
  MiniServer server([](const Request& request) {
    const std::string range = request.Header("range");
    if (range == "id ..; max=1000") {
      return Json(206, R"([{"id":"app-1"},{"id":"app-2"}])",
                  {{"Next-Range", "id ]app-2..; max=1000"}});
    }
    if (range == "id ]app-2..; max=1000") {
      // A 200 that still names a next range (heroku-client follows it).
      return Json(200, R"([{"id":"app-3"}])",
                  {{"Next-Range", "id ]app-3..; max=1000"}});
    }
    return Json(200, R"([{"id":"app-4"}])");
  });
  HerokuClient client(server.BaseUrl(), kKey, FastOptions());
  absl::Status status;
  EXPECT_THAT(
      ListIds(
          [&](const ItemVisitor& v) { return client.ListTeamApps("t1", v); },
          &status),
      ElementsAre("app-1", "app-2", "app-3", "app-4"));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(server.Paths(), Each(Eq("/teams/t1/apps")));
  EXPECT_THAT(server.HeaderValues("range"),
              ElementsAre("id ..; max=1000", "id ]app-2..; max=1000",
                          "id ]app-3..; max=1000"));
}

TEST(HerokuClientTest, ARepeatedNextRangeIsDataLossNotAnEndlessLoop) {
  MiniServer server([](const Request&) {
    return Json(206, R"([{"id":"a"}])", {{"Next-Range", "id ]a..; max=1000"}});
  });
  HerokuClient client(server.BaseUrl(), kKey, FastOptions());
  absl::Status status = client.ListAppAddons(
      "x", [](const rapidjson::Value&) { return absl::OkStatus(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("Next-Range"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("/apps/x/addons"));
  EXPECT_EQ(server.Paths().size(), 2u);
}

TEST(HerokuClientTest, ANonArrayOrNonJsonPageIsMalformed) {
  MiniServer server([](const Request& request) {
    if (request.path == "/teams/obj/members") return Json(200, R"({"id":"x"})");
    return Reply{200, {{"Content-Type", "text/html"}}, "<html>"};
  });
  HerokuClient client(server.BaseUrl(), kKey, FastOptions());
  auto ignore = [](const rapidjson::Value&) { return absl::OkStatus(); };
  absl::Status object = client.ListTeamMembers("obj", ignore);
  EXPECT_EQ(http::HttpErrorKindOf(object), http::HttpErrorKind::kMalformedBody)
      << object;
  EXPECT_THAT(std::string(object.message()), HasSubstr("not a JSON array"));
  absl::Status text = client.ListTeamMembers("text", ignore);
  EXPECT_EQ(http::HttpErrorKindOf(text), http::HttpErrorKind::kMalformedBody)
      << text;
}

TEST(HerokuClientTest, ErrorsCarryHerokusMessageButNeverTheKey) {
  MiniServer server([](const Request&) {
    return Json(
        401,
        R"({"id":"unauthorized","message":"Invalid credentials provided."})");
  });
  HerokuClient client(server.BaseUrl(), kKey, FastOptions());
  absl::Status status = client.CheckAccount();
  EXPECT_EQ(http::HttpErrorKindOf(status), http::HttpErrorKind::kAuth);
  EXPECT_EQ(status.message(),
            absl::StrCat("GET ", server.BaseUrl(),
                         "/account: HTTP 401 (Invalid credentials provided.)"));
  EXPECT_THAT(client.Redact(absl::StrCat("x", kKey, "y")),
              Not(HasSubstr(kKey)));
}

// The hostile answer of issue 10: an item that echoes the API key (in several
// forms) and fails to convert. The step's error must hold no form of the key
// and quote at most ~200 bytes of a megabyte item.
TEST(HerokuClientTest, AnItemEchoingTheKeyFailsRedactedAndShort) {
  // '/', '+', '=' and ' ' make the URL-encoded form differ.
  const std::string key = "hrku/secret+key= 0123";
  const std::string item = absl::StrCat(
      R"([{"id":5,"token":")", key, R"(","b64":")", absl::Base64Escape(key),
      R"(","upper":")", absl::AsciiStrToUpper(key), R"(","url":")",
      http::UrlEncode(key), R"(","big":")", std::string(1 << 20, 'b'),
      R"("}])");
  MiniServer server([&](const Request&) { return Json(200, item); });
  HerokuClient client(server.BaseUrl(), key, FastOptions());

  const absl::Status status =
      client.ListTeamApps("t1", [](const rapidjson::Value& app) {
        return ApplicationEntity(app, "t1").status();
      });

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const std::string message(status.message());
  EXPECT_THAT(
      message,
      HasSubstr(
          R"(app has no string 'id': {"id":5,"token":"***","b64":"***","upper":"***","url":"***")"));
  for (const std::string& form :
       {key, absl::Base64Escape(key), absl::AsciiStrToUpper(key),
        http::UrlEncode(key), std::string("ecret")}) {
    EXPECT_THAT(message, Not(HasSubstr(form))) << message;
  }
  EXPECT_LE(message.size(), 300u) << message;
}

TEST(HerokuClientTest, AVisitorErrorStopsTheListing) {
  MiniServer server([](const Request&) {
    return Json(206, R"([{"id":"t1"},{"id":"t2"}])",
                {{"Next-Range", "id ]t2..; max=1000"}});
  });
  HerokuClient client(server.BaseUrl(), kKey, FastOptions());
  int visited = 0;
  absl::Status status =
      client.ListEnterpriseAccountTeams("a", [&](const rapidjson::Value&) {
        ++visited;
        return absl::CancelledError("stop");
      });
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(visited, 1);
  EXPECT_EQ(server.Paths().size(), 1u);
}

TEST(HerokuClientTest, HooksSeeEveryAttempt) {
  MiniServer server([](const Request& request) {
    if (request.Header("range") == "id ..; max=1000") {
      return Json(206, R"([{"id":"m1"}])",
                  {{"Next-Range", "id ]m1..; max=1000"},
                   {"RateLimit-Remaining", "4498"}});
    }
    return Json(200, R"([{"id":"m2"}])", {{"RateLimit-Remaining", "4497"}});
  });
  http::HttpClientOptions options = FastOptions();
  std::atomic<int> before{0};
  std::vector<std::string> remaining;
  options.before_request = [&] { ++before; };
  options.after_response = [&](const http::HttpResponse& response) {
    remaining.push_back(response.Header("RateLimit-Remaining").value_or(""));
  };
  HerokuClient client(server.BaseUrl(), kKey, options);
  absl::Status status;
  EXPECT_THAT(ListIds(
                  [&](const ItemVisitor& v) {
                    return client.ListEnterpriseAccountMembers("acct", v);
                  },
                  &status),
              ElementsAre("m1", "m2"));
  EXPECT_EQ(before.load(), 2);
  EXPECT_THAT(remaining, ElementsAre("4498", "4497"));
}

TEST(HerokuClientTest, UrlsEncodeIds) {
  HerokuClient client("https://api.heroku.com", kKey, FastOptions());
  EXPECT_EQ(client.AccountsUrl(), "https://api.heroku.com/enterprise-accounts");
  EXPECT_EQ(client.AccountMembersUrl("a/b"),
            "https://api.heroku.com/enterprise-accounts/a%2Fb/members");
  EXPECT_EQ(client.AccountTeamsUrl("a"),
            "https://api.heroku.com/enterprise-accounts/a/teams");
  EXPECT_EQ(client.TeamAppsUrl("t"), "https://api.heroku.com/teams/t/apps");
  EXPECT_EQ(client.TeamMembersUrl("t"),
            "https://api.heroku.com/teams/t/members");
  EXPECT_EQ(client.AppAddonsUrl("p"), "https://api.heroku.com/apps/p/addons");
  EXPECT_EQ(client.AppWebhooksUrl("a/b"),
            "https://api.heroku.com/apps/a%2Fb/webhooks");
}

TEST(HerokuClientTest, ListsAnAppsWebhooksWithRanges) {
  MiniServer server([](const Request& request) {
    if (request.Header("range") == "id ..; max=1000") {
      return Json(206,
                  R"([{"id":"w1","url":"https://a.example/x","include":[]}])",
                  {{"Next-Range", "id ]w1..; max=1000"}});
    }
    return Json(200, R"([{"id":"w2","url":"https://b.example/y"}])");
  });
  HerokuClient client(server.BaseUrl(), kKey, FastOptions());
  absl::Status status;
  EXPECT_THAT(ListIds(
                  [&](const ItemVisitor& visit) {
                    return client.ListAppWebhooks("app-1", visit);
                  },
                  &status),
              ElementsAre("w1", "w2"));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(server.Paths(), Each(Eq("/apps/app-1/webhooks")));
  EXPECT_THAT(server.HeaderValues("authorization"),
              Each(Eq(absl::StrCat("Bearer ", kKey))));
}

TEST(HerokuClientTest, CreatesAnAppWebhookSignedWithTheSecret) {
  MiniServer server([](const Request&) {
    return Json(201, R"({"id":"wh-9","url":"https://h.example/webhooks/i"})");
  });
  HerokuClient client(server.BaseUrl(), kKey, FastOptions());
  absl::StatusOr<std::string> id = client.CreateAppWebhook(
      "app/1", "https://h.example/webhooks/i", "whsec \"quoted\"");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "wh-9");
  ASSERT_EQ(server.requests().size(), 1u);
  const Request request = server.requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/apps/app%2F1/webhooks");
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_EQ(request.Header("accept"), "application/vnd.heroku+json; version=3");
  EXPECT_EQ(request.Header("authorization"), absl::StrCat("Bearer ", kKey));
  EXPECT_EQ(request.Header("range"), "");
  EXPECT_EQ(request.body,
            R"({"include":["api:app","api:addon","api:addon-attachment"],)"
            R"("level":"notify","url":"https://h.example/webhooks/i",)"
            R"("secret":"whsec \"quoted\""})");
}

TEST(HerokuClientTest, ARefusedCreateQuotesHerokuButNeverTheSecret) {
  const std::string secret = "whsec-0123456789";
  MiniServer server([&](const Request&) {
    return Json(422,
                absl::StrCat(R"({"id":"invalid_params","message":"secret )",
                             secret, R"( is not accepted"})"));
  });
  // The handler puts the webhook secret in the redact list.
  http::HttpClientOptions options = FastOptions();
  options.redact.push_back(secret);
  HerokuClient client(server.BaseUrl(), kKey, options);
  absl::StatusOr<std::string> id =
      client.CreateAppWebhook("app-1", "https://h.example/w", secret);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(http::HttpErrorKindOf(id.status()), http::HttpErrorKind::kClient);
  EXPECT_THAT(std::string(id.status().message()),
              HasSubstr("POST " + server.BaseUrl() + "/apps/app-1/webhooks"));
  EXPECT_THAT(std::string(id.status().message()), HasSubstr("is not accepted"));
  EXPECT_THAT(std::string(id.status().message()), Not(HasSubstr("0123456789")));
  EXPECT_THAT(std::string(id.status().message()), Not(HasSubstr(kKey)));
}

TEST(HerokuClientTest, ACreatedWebhookWithoutAnIdIsMalformed) {
  MiniServer server([](const Request&) { return Json(201, R"({"url":"x"})"); });
  HerokuClient client(server.BaseUrl(), kKey, FastOptions());
  absl::StatusOr<std::string> id =
      client.CreateAppWebhook("app-1", "https://h.example/w", "s");
  EXPECT_EQ(http::HttpErrorKindOf(id.status()),
            http::HttpErrorKind::kMalformedBody)
      << id.status();
}

}  // namespace
}  // namespace graphmill::worker::heroku
