// HTTP tests of fault injection on the fake Heroku: statuses and their bodies,
// Retry-After, HTML 5xx, malformed and truncated bodies, latency, resets,
// times/resource matching, and the control endpoint.
#include <cerrno>
#include <chrono>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/heroku/fake_heroku.h"
#include "tests/fakes/heroku/test_util.h"

namespace graphmill::fakes {
namespace {

using heroku_test::Get;
using heroku_test::MakeClient;
using heroku_test::ParseJson;
using heroku_test::RawGet;
using heroku_test::RawResult;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<FakeHeroku>> server =
        FakeHeroku::Start(FakeHerokuOptions());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = MakeClient(server_->port());
  }
  void Add(const std::string& spec) {
    ASSERT_TRUE(server_->AddFault(spec).ok()) << spec;
  }
  std::string AppsOf(int team) const {
    return "/teams/" + server_->dataset().teams[team].id + "/apps";
  }

  std::unique_ptr<FakeHeroku> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(FaultsTest, StatusFaultsUseHerokuErrorBodies) {
  struct Case {
    std::string spec;
    std::string target;
    int status;
    std::string id;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"account:401:times=1", "/account", 401, "unauthorized",
       "Invalid credentials provided."},
      {"account:403:times=1", "/account", 403, "forbidden",
       "The scope of this OAuth authorization does not allow access to this "
       "resource."},
      {"team-apps:404:times=1", AppsOf(0), 404, "not_found",
       "Couldn't find that team."},
      {"account:500:times=1", "/account", 500, "internal_server_error",
       "Internal server error. Please try again later."},
      {"account:503:times=1", "/account", 503, "unavailable",
       "The service is temporarily unavailable. Please try again later."},
      {"account:429:times=1", "/account", 429, "rate_limit",
       "Your account reached the API rate limit\nPlease wait a few minutes "
       "before making new requests"}};
  for (const Case& c : cases) {
    Add(c.spec);
    httplib::Result res = Get(*client_, c.target);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status) << c.spec;
    rapidjson::Document doc = ParseJson(res->body);
    EXPECT_EQ(doc["id"].GetString(), c.id) << c.spec;
    EXPECT_EQ(doc["message"].GetString(), c.message) << c.spec;
    EXPECT_EQ(res->get_header_value("Content-Type"),
              "application/json; charset=utf-8");
    httplib::Result after = Get(*client_, c.target);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->status, 200) << c.spec;
  }
  // Injected faults do not touch the bucket.
  EXPECT_EQ(server_->RateLimit("test-token").taken,
            static_cast<int64_t>(cases.size()));
}

TEST_F(FaultsTest, RetryAfterOnlyWhenAsked) {
  Add("account:429:times=1");
  Add("account:429:times=1:retry_after=2");
  httplib::Result without = Get(*client_, "/account");
  ASSERT_TRUE(without);
  EXPECT_EQ(without->status, 429);
  EXPECT_FALSE(without->has_header("Retry-After"));
  EXPECT_EQ(without->get_header_value("RateLimit-Remaining"), "0");
  httplib::Result with = Get(*client_, "/account");
  ASSERT_TRUE(with);
  EXPECT_EQ(with->status, 429);
  EXPECT_EQ(with->get_header_value("Retry-After"), "2");
}

TEST_F(FaultsTest, HtmlServerError) {
  Add("*:503:body=html:times=1");
  httplib::Result res = Get(*client_, "/enterprise-accounts");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_THAT(res->get_header_value("Content-Type"), StartsWith("text/html"));
  EXPECT_THAT(res->body, StartsWith("<!DOCTYPE html>"));
}

TEST_F(FaultsTest, MalformedBody) {
  Add("enterprise-accounts:malformed:times=1");
  httplib::Result res = Get(*client_, "/enterprise-accounts");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  rapidjson::Document doc;
  doc.Parse(res->body.c_str());
  EXPECT_TRUE(doc.HasParseError());
}

TEST_F(FaultsTest, TruncatedBodyIsShorterThanDeclared) {
  Add("team-apps:truncated:times=1");
  const RawResult raw = RawGet(server_->port(), AppsOf(0));
  const size_t header_end = raw.received.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos) << raw.received;
  const std::string head = raw.received.substr(0, header_end);
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200"));
  const size_t at = head.find("Content-Length: ");
  ASSERT_NE(at, std::string::npos) << head;
  const size_t declared = std::stoul(head.substr(at + 16));
  const size_t got = raw.received.size() - header_end - 4;
  EXPECT_GT(declared, 100u);
  EXPECT_EQ(got, declared / 2);

  httplib::Result next = Get(*client_, AppsOf(0));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body.size(), declared);
}

TEST_F(FaultsTest, ConnectionResetSendsNothing) {
  Add("account:reset:times=1");
  const RawResult raw = RawGet(server_->port(), "/account");
  EXPECT_EQ(raw.received, "");
  EXPECT_EQ(raw.error, ECONNRESET);
  // A keep-alive client sees an error, then the server works again.
  Add("account:reset:times=1");
  EXPECT_FALSE(Get(*client_, "/account"));
  httplib::Result ok = Get(*client_, "/account");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(FaultsTest, LatencyDelaysTheAnswer) {
  Add("account:latency:ms=120:times=1");
  const auto start = std::chrono::steady_clock::now();
  httplib::Result res = Get(*client_, "/account");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(120));
  const auto second = std::chrono::steady_clock::now();
  ASSERT_TRUE(Get(*client_, "/account"));
  EXPECT_LT(std::chrono::steady_clock::now() - second,
            std::chrono::milliseconds(100));
}

TEST_F(FaultsTest, ResourceMatchesIdOrNameWhicheverIsSent) {
  const heroku::Team& team = server_->dataset().teams[1];
  const heroku::App& app = server_->dataset().apps[0];
  Add("team-members:403:resource=" + team.name);
  Add("app-addons:500:resource=" + app.id);
  EXPECT_EQ(Get(*client_, "/teams/" + team.id + "/members")->status, 403);
  EXPECT_EQ(Get(*client_, "/teams/" + team.name + "/members")->status, 403);
  EXPECT_EQ(
      Get(*client_, "/teams/" + server_->dataset().teams[0].id + "/members")
          ->status,
      200);
  EXPECT_EQ(Get(*client_, "/apps/" + app.name + "/addons")->status, 500);
  EXPECT_EQ(Get(*client_, "/apps/" + server_->dataset().apps[1].id + "/addons")
                ->status,
            200);
  const std::vector<heroku::FaultTable::Entry> faults = server_->Faults();
  ASSERT_EQ(faults.size(), 2u);
  EXPECT_EQ(faults[0].fired, 2);
  EXPECT_EQ(faults[1].fired, 1);
}

TEST_F(FaultsTest, AuthComesBeforeFaults) {
  Add("*:500:times=1");
  httplib::Result denied = Get(*client_, "/account", "wrong");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(server_->Faults()[0].fired, 0);
  EXPECT_EQ(Get(*client_, "/account")->status, 500);
  EXPECT_EQ(server_->RequestCount("account"), 2);
  EXPECT_EQ(server_->StatusCount(500), 1);
}

TEST_F(FaultsTest, ControlEndpoint) {
  httplib::Result added = client_->Post(
      "/_control/faults",
      "{\"faults\":[\"account:500:times=1\",{\"route\":\"team-apps\","
      "\"kind\":\"429\",\"times\":2,\"retry_after\":3}]}",
      "application/json");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 200) << added->body;
  httplib::Result spec = client_->Post(
      "/_control/faults", "{\"spec\":\"user:latency:ms=1,*:503:times=0\"}",
      "application/json");
  ASSERT_TRUE(spec);
  ASSERT_EQ(spec->status, 200);
  EXPECT_EQ(Get(*client_, "/account")->status, 500);
  httplib::Result limited = Get(*client_, AppsOf(0));
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "3");

  httplib::Result listed = client_->Get("/_control/faults");
  ASSERT_TRUE(listed);
  rapidjson::Document doc = ParseJson(listed->body);
  ASSERT_EQ(doc["faults"].Size(), 4u);
  EXPECT_STREQ(doc["faults"][0]["spec"].GetString(), "account:500:times=1");
  EXPECT_EQ(doc["faults"][0]["fired"].GetInt64(), 1);
  EXPECT_STREQ(doc["faults"][1]["spec"].GetString(),
               "team-apps:429:times=2:retry_after=3");

  for (const char* bad :
       {"not json", "{\"spec\":\"nope:500\"}", "{\"faults\":[{\"x\":1}]}",
        "{\"route\":\"account\",\"kind\":\"latency\"}"}) {
    httplib::Result res =
        client_->Post("/_control/faults", bad, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << bad;
    EXPECT_STREQ(ParseJson(res->body)["id"].GetString(), "bad_request");
  }
  EXPECT_EQ(server_->Faults().size(), 4u);  // all or nothing

  httplib::Result cleared = client_->Delete("/_control/faults");
  ASSERT_TRUE(cleared);
  EXPECT_TRUE(server_->Faults().empty());
  EXPECT_EQ(Get(*client_, AppsOf(0))->status, 200);

  httplib::Result health = client_->Get("/_control/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->body, "{\"status\":\"ok\"}");
  httplib::Result unknown = client_->Get("/_control/nothing");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

}  // namespace
}  // namespace graphmill::fakes
