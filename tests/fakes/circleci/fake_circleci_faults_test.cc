// Tests of the fake CircleCI server's fault injection over real HTTP and raw
// sockets.
#include <cerrno>
#include <chrono>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/fakes/circleci/fake_circleci.h"
#include "tests/fakes/circleci/test_util.h"
#include "tests/fakes/circleci/url_util.h"

namespace graphmill::fakes {
namespace {

using fake_test::Get;
using fake_test::MakeClient;
using fake_test::ParseJson;
using fake_test::RawGet;
using fake_test::RawResult;

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(FakeCircleCiOptions options) {
    server_.reset();
    absl::StatusOr<std::unique_ptr<FakeCircleCi>> server =
        FakeCircleCi::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = MakeClient(server_->port());
  }

  std::string FeedTarget(int org = 0) const {
    return absl::StrCat("/api/v2/pipeline?org-slug=",
                        PercentEncode(server_->dataset().orgs[org].slug));
  }
  std::string ProjectTarget(int project) const {
    return absl::StrCat(
        "/api/v2/project/",
        PercentEncode(server_->dataset().projects[project].slug));
  }

  int Status(const std::string& target) {
    httplib::Result res = Get(*client_, target);
    return res ? res->status : -1;
  }

  std::unique_ptr<FakeCircleCi> server_;
  std::unique_ptr<httplib::Client> client_;
};

// Splits a raw HTTP response into its head and body.
std::pair<std::string, std::string> HeadAndBody(const std::string& raw) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return {raw, ""};
  return {raw.substr(0, end), raw.substr(end + 4)};
}

TEST_F(FaultsTest, RateLimitTwiceThenSucceed) {
  ASSERT_TRUE(server_->AddFault("pipeline:429:times=2:retry_after=1").ok());
  for (int attempt = 0; attempt < 2; ++attempt) {
    httplib::Result res = Get(*client_, FeedTarget());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 429);
    EXPECT_EQ(res->get_header_value("Retry-After"), "1");
    EXPECT_FALSE(res->has_header("x-ratelimit-limit"));
    EXPECT_EQ(res->body, R"({"message":"Rate limit exceeded."})");
  }
  EXPECT_EQ(Status(FeedTarget()), 200);
  EXPECT_EQ(Status(FeedTarget()), 200);
  EXPECT_EQ(server_->RequestCount("pipeline"), 4);
  ASSERT_EQ(server_->Faults().size(), 1u);
  EXPECT_EQ(server_->Faults()[0].fired, 2);
}

TEST_F(FaultsTest, RateLimitHeaderVariants) {
  ASSERT_TRUE(
      server_->AddFault("me:429:times=1:retry_after=none:quota=51").ok());
  httplib::Result res = Get(*client_, "/api/v2/me");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_FALSE(res->has_header("Retry-After"));
  EXPECT_EQ(res->get_header_value("x-ratelimit-limit"), "51");
}

TEST_F(FaultsTest, StatusFaultsCarryCircleCiMessages) {
  struct Case {
    const char* spec;
    std::string target;
    int status;
    const char* message;
  };
  const Dataset& data = server_->dataset();
  const std::vector<Case> cases = {
      {"me:401:times=1", "/api/v2/me", 401, "Invalid token provided."},
      {"collaborations:403:times=1", "/api/v2/me/collaborations", 403,
       "Permission denied."},
      {"project:404:times=1", ProjectTarget(0), 404, "Project not found"},
      {"restrictions:404:times=1",
       absl::StrCat("/api/v2/context/", data.contexts[0].id, "/restrictions"),
       404, "Context not found."},
      {"pipeline-workflows:500:times=1",
       absl::StrCat("/api/v2/pipeline/", data.pipelines[0].id, "/workflow"),
       500, "Internal server error."},
      {"workflow-jobs:503:times=1",
       absl::StrCat("/api/v2/workflow/", data.workflows[0].id, "/job"), 503,
       "Injected fault (status 503)."},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(server_->AddFault(c.spec).ok()) << c.spec;
    httplib::Result res = Get(*client_, c.target);
    ASSERT_TRUE(res) << c.spec;
    EXPECT_EQ(res->status, c.status) << c.spec;
    EXPECT_EQ(ParseJson(res->body)["message"].GetString(),
              std::string(c.message));
    EXPECT_EQ(Status(c.target), 200) << c.spec << " should have fired once";
  }
}

TEST_F(FaultsTest, ResourceFaultsHitOnlyThatResource) {
  const Dataset& data = server_->dataset();
  ASSERT_TRUE(server_
                  ->AddFault(absl::StrCat("project:404:resource=",
                                          data.projects[1].slug))
                  .ok());
  Fault org_fault;
  org_fault.route = "pipeline";
  org_fault.status = 403;
  org_fault.resource = data.orgs[1].slug;
  server_->AddFault(org_fault);

  EXPECT_EQ(Status(ProjectTarget(0)), 200);
  EXPECT_EQ(Status(ProjectTarget(1)), 404);
  EXPECT_EQ(Status(ProjectTarget(1)), 404);
  EXPECT_EQ(Status(ProjectTarget(2)), 200);
  EXPECT_EQ(Status(FeedTarget(0)), 200);
  EXPECT_EQ(Status(FeedTarget(1)), 403);
}

TEST_F(FaultsTest, WildcardRouteHitsEveryRoute) {
  ASSERT_TRUE(server_->AddFault("*:500:times=3").ok());
  EXPECT_EQ(Status("/api/v2/me"), 500);
  EXPECT_EQ(Status(ProjectTarget(0)), 500);
  EXPECT_EQ(Status(FeedTarget()), 500);
  EXPECT_EQ(Status("/api/v2/me"), 200);
}

TEST_F(FaultsTest, MalformedBodyIsNotJson) {
  ASSERT_TRUE(server_->AddFault("collaborations:malformed:times=1").ok());
  httplib::Result res = Get(*client_, "/api/v2/me/collaborations");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  rapidjson::Document doc;
  doc.Parse(res->body.c_str());
  EXPECT_TRUE(doc.HasParseError()) << res->body;
}

TEST_F(FaultsTest, TruncatedBodyDeclaresMoreThanItSends) {
  ASSERT_TRUE(server_->AddFault("envvar:truncated:times=2").ok());
  const std::string target = ProjectTarget(0) + "/envvar";

  httplib::Result res = Get(*client_, target);
  EXPECT_FALSE(res);  // the client sees the connection end early

  const RawResult raw = RawGet(server_->port(), target);
  const auto [head, body] = HeadAndBody(raw.received);
  ASSERT_TRUE(absl::StartsWith(head, "HTTP/1.1 200")) << head;
  const size_t at = head.find("Content-Length: ");
  ASSERT_NE(at, std::string::npos) << head;
  size_t declared = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      head.substr(at + 16, head.find("\r\n", at) - at - 16), &declared));
  EXPECT_GT(declared, 0u);
  EXPECT_EQ(body.size(), declared / 2);

  httplib::Result after = Get(*client_, target);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(ParseJson(after->body)["items"].Size(), 2u);
}

TEST_F(FaultsTest, ResetClosesWithoutAResponse) {
  ASSERT_TRUE(server_->AddFault("me:reset:times=2").ok());
  httplib::Result res = Get(*client_, "/api/v2/me");
  EXPECT_FALSE(res);

  const RawResult raw = RawGet(server_->port(), "/api/v2/me");
  EXPECT_EQ(raw.received, "");
  EXPECT_EQ(raw.error, ECONNRESET);

  EXPECT_EQ(Status("/api/v2/me"), 200);
  EXPECT_EQ(server_->RequestCount("me"), 3);
}

TEST_F(FaultsTest, LatencyDelaysAndCombines) {
  ASSERT_TRUE(server_->AddFault("me:latency:ms=150:times=1").ok());
  ASSERT_TRUE(server_->AddFault("me:500:times=1").ok());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Status("/api/v2/me"), 500);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(
      std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(),
      150);

  const auto again = std::chrono::steady_clock::now();
  EXPECT_EQ(Status("/api/v2/me"), 200);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - again)
                .count(),
            150);
}

TEST_F(FaultsTest, RepeatTokenLoopsUntilTheFaultIsUsedUp) {
  ASSERT_TRUE(server_->AddFault("pipeline:repeat_token:times=3").ok());
  const std::string target = FeedTarget();
  rapidjson::Document first = ParseJson(Get(*client_, target)->body);
  const std::string token = first["next_page_token"].GetString();
  const std::string first_id = first["items"][0]["id"].GetString();

  // Two more requests with the token: the same page and the same token again.
  for (int i = 0; i < 2; ++i) {
    rapidjson::Document page =
        ParseJson(Get(*client_, target + "&page-token=" + token)->body);
    ASSERT_TRUE(page["next_page_token"].IsString());
    EXPECT_EQ(page["next_page_token"].GetString(), token);
    EXPECT_EQ(page["items"][0]["id"].GetString(), first_id);
    EXPECT_EQ(page["items"].Size(), 20u);
  }
  // Fault used up: the same page once more, now with the real next token, which
  // leads on.
  rapidjson::Document after =
      ParseJson(Get(*client_, target + "&page-token=" + token)->body);
  EXPECT_EQ(after["items"][0]["id"].GetString(), first_id);
  ASSERT_TRUE(after["next_page_token"].IsString());
  const std::string real = after["next_page_token"].GetString();
  EXPECT_NE(real, token);
  rapidjson::Document second =
      ParseJson(Get(*client_, target + "&page-token=" + real)->body);
  EXPECT_TRUE(second["next_page_token"].IsNull());
  EXPECT_EQ(second["items"].Size(), 5u);
}

TEST_F(FaultsTest, EchoTokenAnswersItemsThatEchoTheRequestToken) {
  FakeCircleCiOptions options;
  options.token = "Echo/Tok+en.5f?~";
  Start(options);
  const std::string envvars = ProjectTarget(0) + "/envvar";
  ASSERT_TRUE(server_->AddFault("envvar:echo_token:form=all:times=1").ok());
  ASSERT_TRUE(
      server_->AddFault("collaborations:echo_token:form=base64:times=1").ok());
  ASSERT_TRUE(server_->AddFault("me:echo_token:form=urlencoded:times=1").ok());

  httplib::Result page = Get(*client_, envvars, options.token);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  rapidjson::Document doc = ParseJson(page->body);
  ASSERT_TRUE(doc.IsObject()) << page->body;
  EXPECT_TRUE(doc["next_page_token"].IsNull());
  const std::vector<std::string> forms =
      EchoTokenForms(options.token, EchoForm::kAll);
  ASSERT_EQ(doc["items"].Size(), forms.size());
  for (size_t i = 0; i < forms.size(); ++i) {
    const rapidjson::Value& item = doc["items"][static_cast<unsigned>(i)];
    // A number id and no name: no converter accepts it.
    EXPECT_EQ(item["id"].GetInt(), 5 + static_cast<int>(i));
    EXPECT_EQ(item["token"].GetString(), forms[i]);
    EXPECT_EQ(item.MemberCount(), 2u);
  }
  EXPECT_EQ(forms[3], "RWNoby9Ub2srZW4uNWY/fg==");  // the '/' of base64
  EXPECT_EQ(forms[5], "Echo%2FTok%2Ben.5f%3F~");

  httplib::Result array =
      Get(*client_, "/api/v2/me/collaborations", options.token);
  ASSERT_TRUE(array);
  EXPECT_EQ(array->body, R"([{"id":5,"token":"RWNoby9Ub2srZW4uNWY/fg=="}])");
  httplib::Result me = Get(*client_, "/api/v2/me", options.token);
  ASSERT_TRUE(me);
  EXPECT_EQ(me->body, R"({"id":5,"token":"Echo%2FTok%2Ben.5f%3F~"})");

  // Each fired once; the routes answer normally again, and a request with a
  // wrong token is refused before any fault.
  ASSERT_TRUE(server_->AddFault("envvar:echo_token").ok());
  httplib::Result refused = Get(*client_, envvars, "wrong");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  server_->ClearFaults();
  httplib::Result normal = Get(*client_, envvars, options.token);
  ASSERT_TRUE(normal);
  EXPECT_EQ(ParseJson(normal->body)["items"][0].HasMember("token"), false);
  EXPECT_EQ(ParseJson(normal->body)["items"][0]["name"].IsString(), true);
}

TEST_F(FaultsTest, ControlEndpointAddsListsAndClearsFaults) {
  httplib::Result added = client_->Post(
      "/_control/faults",
      R"({"faults": ["me:500:times=1", {"route": "collaborations", "kind": 429, "times": 1, "retry_after": 2}]})",
      "application/json");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 200) << added->body;
  rapidjson::Document listed = ParseJson(added->body);
  ASSERT_EQ(listed["faults"].Size(), 2u);
  EXPECT_STREQ(listed["faults"][1]["spec"].GetString(),
               "collaborations:429:times=1:retry_after=2");

  EXPECT_EQ(Status("/api/v2/me"), 500);
  httplib::Result limited = Get(*client_, "/api/v2/me/collaborations");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "2");

  httplib::Result spec = client_->Post(
      "/_control/faults", R"({"spec": "*:403"})", "application/json");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->status, 200);
  EXPECT_EQ(Status("/api/v2/me"), 403);
  httplib::Result fired = client_->Get("/_control/faults");
  ASSERT_TRUE(fired);
  EXPECT_EQ(ParseJson(fired->body)["faults"][2]["fired"].GetInt64(), 1);

  httplib::Result cleared = client_->Delete("/_control/faults");
  ASSERT_TRUE(cleared);
  EXPECT_EQ(ParseJson(cleared->body)["faults"].Size(), 0u);
  EXPECT_EQ(Status("/api/v2/me"), 200);

  for (const char* bad : {"not json", R"({"faults": ["me:999"]})",
                          R"({"route": "me"})", R"({"kind": "latency"})"}) {
    httplib::Result res =
        client_->Post("/_control/faults", bad, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << bad;
    EXPECT_TRUE(ParseJson(res->body).HasMember("message")) << bad;
  }
  EXPECT_TRUE(server_->Faults().empty());
}

TEST_F(FaultsTest, FaultsFromOptionsAndClearFromCpp) {
  FakeCircleCiOptions options;
  options.faults = *ParseFaultList("me:500,collaborations:404:times=1");
  Start(options);
  EXPECT_EQ(Status("/api/v2/me"), 500);
  EXPECT_EQ(Status("/api/v2/me"), 500);
  EXPECT_EQ(Status("/api/v2/me/collaborations"), 404);
  EXPECT_EQ(Status("/api/v2/me/collaborations"), 200);
  server_->ClearFaults();
  EXPECT_EQ(Status("/api/v2/me"), 200);
}

TEST_F(FaultsTest, AuthIsCheckedBeforeFaults) {
  ASSERT_TRUE(server_->AddFault("me:500:times=1").ok());
  httplib::Result unauthorized = Get(*client_, "/api/v2/me", "bad");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
  EXPECT_EQ(Status("/api/v2/me"), 500);  // the fault was not used up by the 401
}

}  // namespace
}  // namespace graphmill::fakes
