// Tests of webhook_sender.h: deliveries to real loopback servers (http and
// https), signatures checked with //common:hmac, filtering by event and scope,
// statuses, redelivery, and the /_control/webhooks endpoints over HTTP.
#include "tests/fakes/common/webhook_sender.h"

#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/hmac.h"
#include "coordinator/auth/test_certs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/fakes/common/control.h"
#include "tests/fakes/common/server_thread.h"
#include "tests/fakes/common/webhook_receiver.h"

namespace graphmill::fakes::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A render function that signs like CircleCI: the body names the target, so
// each target's body (and signature) differs.
WebhookSender::Render Signed(const std::string& event) {
  return [event](const WebhookTarget& target) {
    WebhookMessage message;
    message.body = absl::StrCat(R"({"type":")", event, R"(","webhook":")",
                                target.id, R"("})");
    message.headers = {
        {"Content-Type", "application/json"},
        {"User-Agent", "Test-Webhook/1.0"},
        {"x-signature",
         absl::StrCat("v1=", HmacSha256Hex(target.secret, message.body))}};
    return message;
  };
}

// True if `request` carries a signature of its exact body with `secret`.
bool SignedWith(const ReceivedRequest& request, const std::string& secret) {
  const std::string header = request.Header("x-signature");
  return absl::StartsWith(header, "v1=") &&
         ConstantTimeEquals(header.substr(3),
                            HmacSha256Hex(secret, request.body));
}

// The headers the client sent (httplib adds the addresses as headers).
httplib::Headers SentHeaders(const ReceivedRequest& request) {
  httplib::Headers out;
  for (const auto& [name, value] : request.headers) {
    if (!absl::StartsWith(name, "REMOTE_") &&
        !absl::StartsWith(name, "LOCAL_")) {
      out.emplace(name, value);
    }
  }
  return out;
}

rapidjson::Document Parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

class WebhookSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<WebhookReceiver>> receiver =
        WebhookReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
  }

  WebhookTarget Target(const std::string& secret,
                       std::vector<std::string> events = {},
                       const std::string& scope = "") {
    WebhookTarget target;
    target.url = receiver_->url("/hooks/in?src=test");
    target.secret = secret;
    target.events = std::move(events);
    target.scope = scope;
    return target;
  }

  std::unique_ptr<WebhookReceiver> receiver_;
};

TEST_F(WebhookSenderTest, DeliversSignedBodyWithHeadersAndRecordsTheStatus) {
  WebhookSender sender;
  absl::StatusOr<WebhookTarget> added = sender.Add(Target("s3cret"));
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->id.size(), 36u);

  std::vector<DeliveryResult> results =
      sender.Deliver("workflow-completed", "", Signed("workflow-completed"));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].target_id, added->id);
  EXPECT_EQ(results[0].status, 200);

  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/hooks/in?src=test");
  EXPECT_EQ(got[0].body, absl::StrCat(R"({"type":"workflow-completed",)",
                                      R"("webhook":")", added->id, R"("})"));
  EXPECT_EQ(got[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(got[0].Header("User-Agent"), "Test-Webhook/1.0");
  EXPECT_TRUE(SignedWith(got[0], "s3cret"));
  EXPECT_FALSE(SignedWith(got[0], "other"));

  const std::vector<WebhookTarget> targets = sender.Targets();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].deliveries, 1);
  EXPECT_EQ(targets[0].last_status, 200);
}

TEST_F(WebhookSenderTest, OnlyTargetsThatTakeTheEventAndScopeGetIt) {
  WebhookSender sender;
  absl::StatusOr<WebhookTarget> jobs = sender.Add(Target("a", {"job"}));
  absl::StatusOr<WebhookTarget> all_of_p1 = sender.Add(Target("b", {}, "p1"));
  absl::StatusOr<WebhookTarget> workflows_of_p2 =
      sender.Add(Target("c", {"workflow"}, "p2"));
  ASSERT_TRUE(jobs.ok() && all_of_p1.ok() && workflows_of_p2.ok());

  auto ids = [](const std::vector<DeliveryResult>& results) {
    std::vector<std::string> out;
    for (const DeliveryResult& r : results) out.push_back(r.target_id);
    return out;
  };
  EXPECT_THAT(ids(sender.Deliver("job", "p1", Signed("job"))),
              ElementsAre(jobs->id, all_of_p1->id));
  EXPECT_THAT(ids(sender.Deliver("workflow", "p2", Signed("workflow"))),
              ElementsAre(workflows_of_p2->id));
  EXPECT_THAT(ids(sender.Deliver("workflow", "p3", Signed("workflow"))),
              IsEmpty());

  // Each target got exactly its events, signed with its own secret.
  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(SignedWith(got[0], "a"));
  EXPECT_TRUE(SignedWith(got[1], "b"));
  EXPECT_TRUE(SignedWith(got[2], "c"));
  EXPECT_THAT(got[2].body, HasSubstr(workflows_of_p2->id));
  for (const WebhookTarget& target : sender.Targets()) {
    EXPECT_EQ(target.deliveries, 1) << target.id;
  }
}

TEST_F(WebhookSenderTest, RecordsErrorStatusesAndUnreachableTargets) {
  WebhookSender sender;
  absl::StatusOr<WebhookTarget> failing = sender.Add(Target("a"));
  ASSERT_TRUE(failing.ok());
  receiver_->set_status(503);
  std::vector<DeliveryResult> results = sender.Deliver("e", "", Signed("e"));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, 503);
  EXPECT_EQ(sender.Find(failing->id)->last_status, 503);

  // A port nobody listens on any more: no answer is -1.
  absl::StatusOr<std::unique_ptr<WebhookReceiver>> gone =
      WebhookReceiver::Start();
  ASSERT_TRUE(gone.ok());
  const std::string gone_url = (*gone)->url();
  gone->reset();
  WebhookTarget unreachable = Target("b");
  unreachable.url = gone_url;
  ASSERT_TRUE(sender.Add(unreachable).ok());
  results = sender.Deliver("e", "", Signed("e"));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status, 503);
  EXPECT_EQ(results[1].status, -1);
  const std::vector<WebhookTarget> targets = sender.Targets();
  EXPECT_EQ(targets[0].deliveries, 2);
  EXPECT_EQ(targets[1].deliveries, 1);
  EXPECT_EQ(targets[1].last_status, -1);
}

TEST_F(WebhookSenderTest, RedeliverSendsTheLastEventAgainByteForByte) {
  WebhookSender sender;
  EXPECT_THAT(sender.Redeliver(), IsEmpty());  // nothing sent yet
  absl::StatusOr<WebhookTarget> first = sender.Add(Target("a", {"e1", "e2"}));
  absl::StatusOr<WebhookTarget> second = sender.Add(Target("b", {"e1"}));
  ASSERT_TRUE(first.ok() && second.ok());
  sender.Deliver("e1", "", Signed("e1"));
  sender.Deliver("e2", "", Signed("e2"));  // the last event: `first` only
  // An event nobody takes does not replace it.
  EXPECT_THAT(sender.Deliver("none", "", Signed("none")), IsEmpty());

  std::vector<DeliveryResult> again = sender.Redeliver();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].target_id, first->id);
  EXPECT_EQ(again[0].status, 200);
  std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_THAT(got[2].body, HasSubstr("e2"));
  EXPECT_EQ(got[3].body, got[2].body);
  EXPECT_EQ(SentHeaders(got[3]), SentHeaders(got[2]));
  EXPECT_TRUE(SignedWith(got[3], "a"));
  EXPECT_EQ(sender.Find(first->id)->deliveries, 3);
  EXPECT_EQ(sender.Find(second->id)->deliveries, 1);

  // A removed target gets no redelivery.
  ASSERT_TRUE(sender.Remove(first->id));
  EXPECT_FALSE(sender.Remove(first->id));
  EXPECT_THAT(sender.Redeliver(), IsEmpty());
  EXPECT_EQ(receiver_->requests().size(), 4u);
}

TEST_F(WebhookSenderTest, AddRejectsBadTargetsNamingTheField) {
  WebhookSenderOptions options;
  options.known_events = {"workflow-completed", "job-completed"};
  WebhookSender sender(options);
  struct Case {
    std::string url;
    std::string secret;
    std::vector<std::string> events;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"ftp://127.0.0.1/x", "s", {}, "\"url\""},
      {"http://", "s", {}, "\"url\""},
      {"http://127.0.0.1:99999/", "s", {}, "\"url\""},
      {"127.0.0.1:80/hooks", "s", {}, "\"url\""},
      {"http://user@127.0.0.1/", "s", {}, "\"url\""},
      {receiver_->url(), "", {}, "\"secret\""},
      {receiver_->url(),
       "s",
       {"job-completed", "pipeline-run"},
       "pipeline-run"},
  };
  for (const Case& c : cases) {
    WebhookTarget target;
    target.url = c.url;
    target.secret = c.secret;
    target.events = c.events;
    absl::StatusOr<WebhookTarget> added = sender.Add(target);
    ASSERT_FALSE(added.ok()) << c.url;
    EXPECT_EQ(added.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(added.status().message(), HasSubstr(c.expected)) << c.url;
  }
  EXPECT_THAT(sender.Targets(), IsEmpty());

  WebhookTarget named = Target("s", {"job-completed"});
  named.id = "fixed-id";
  ASSERT_TRUE(sender.Add(named).ok());
  absl::StatusOr<WebhookTarget> again = sender.Add(named);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.status().message(), HasSubstr("fixed-id"));
  // A URL without a path posts to "/".
  WebhookTarget bare = Target("s");
  bare.url = absl::StrCat("http://127.0.0.1:", receiver_->port());
  ASSERT_TRUE(sender.Add(bare).ok());
  sender.Deliver("job-completed", "", Signed("job-completed"));
  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].target, "/");
}

// https: the receiver's certificate is checked against the configured CA;
// verify_tls = false skips the check.
TEST_F(WebhookSenderTest, HttpsTargetsAreVerifiedWithTheCaFile) {
  absl::StatusOr<graphmill::testing::TestCa> ca =
      graphmill::testing::TestCa::Create("webhook test CA");
  ASSERT_TRUE(ca.ok()) << ca.status();
  absl::StatusOr<graphmill::testing::PemPair> leaf =
      ca->Issue("127.0.0.1", {"IP:127.0.0.1", "DNS:localhost"}, false);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string ca_file = dir + "/webhook-ca.pem";
  const std::string cert_file = dir + "/webhook-server.pem";
  const std::string key_file = dir + "/webhook-server.key";
  ASSERT_TRUE(
      graphmill::testing::WriteFileAtomically(ca_file, ca->cert_pem()).ok());
  ASSERT_TRUE(
      graphmill::testing::WriteFileAtomically(cert_file, leaf->cert).ok());
  ASSERT_TRUE(
      graphmill::testing::WriteFileAtomically(key_file, leaf->key).ok());
  absl::StatusOr<std::unique_ptr<WebhookReceiver>> tls_receiver =
      WebhookReceiver::Start(cert_file, key_file);
  ASSERT_TRUE(tls_receiver.ok()) << tls_receiver.status();
  WebhookTarget target = Target("tls-secret");
  target.url = (*tls_receiver)->url("/secure");

  WebhookSenderOptions with_ca;
  with_ca.ca_file = ca_file;
  WebhookSender trusting(with_ca);
  ASSERT_TRUE(trusting.Add(target).ok());
  std::vector<DeliveryResult> results = trusting.Deliver("e", "", Signed("e"));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, 200);
  std::vector<ReceivedRequest> got = (*tls_receiver)->requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(SignedWith(got[0], "tls-secret"));

  // The system's CAs do not know the test CA.
  WebhookSender system_cas;
  ASSERT_TRUE(system_cas.Add(target).ok());
  results = system_cas.Deliver("e", "", Signed("e"));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, -1);
  EXPECT_EQ((*tls_receiver)->requests().size(), 1u);

  target.verify_tls = false;
  WebhookSender unverified;
  ASSERT_TRUE(unverified.Add(target).ok());
  results = unverified.Deliver("e", "", Signed("e"));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, 200);
}

// The endpoints through HandleSharedControl on a real server.
enum class Kind { kStatus, kLatency };
struct TestFault {
  std::string route = "*";
  Kind kind = Kind::kStatus;
  int status = 500;
  int times = -1;
  int retry_after_seconds = 1;
  int delay_ms = 0;
};

class WebhookControlTest : public WebhookSenderTest {
 protected:
  void SetUp() override {
    WebhookSenderTest::SetUp();
    WebhookSenderOptions options;
    options.known_events = {"job-completed", "workflow-completed"};
    sender_ = std::make_unique<WebhookSender>(options);
    hooks_.syntax = &syntax_;
    hooks_.faults = &faults_;
    hooks_.counters_json = [] { return std::string("{}"); };
    hooks_.reset_counters = [] {};
    hooks_.bad_request_body = [](absl::string_view message) {
      return absl::StrCat(R"({"message":")", message, R"("})");
    };
    hooks_.webhooks = sender_.get();
    ServerThreadOptions options_thread;
    options_thread.name = "control";
    options_thread.threads = 2;
    options_thread.internal_error_body = "{}";
    ASSERT_TRUE(
        thread_
            .Start(options_thread,
                   [this](const httplib::Request& req, httplib::Response& res) {
                     if (!HandleSharedControl(
                             req.method, absl::string_view(req.path).substr(10),
                             req.body, hooks_, res)) {
                       res.status = 404;
                     }
                   })
            .ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", thread_.port());
  }

  httplib::Result Post(const std::string& path, const std::string& body) {
    return client_->Post(path, body, "application/json");
  }

  FaultSyntax<TestFault> syntax_;
  FaultTable<TestFault> faults_;
  std::unique_ptr<WebhookSender> sender_;
  ControlHooks<TestFault> hooks_;
  httplib::Server server_;
  ServerThread thread_{server_};
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(WebhookControlTest, RegistersListsRedeliversAndClears) {
  httplib::Result created = Post(
      "/_control/webhooks",
      absl::StrCat(R"({"url":")", receiver_->url(),
                   R"(","secret":"top-secret","events":["job-completed"],)",
                   R"("name":"ci","scope":"project-1"})"));
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  rapidjson::Document doc = Parse(created->body);
  ASSERT_TRUE(doc.HasMember("id") && doc["id"].IsString());
  const std::string id = doc["id"].GetString();

  // The sender delivers to it; the listing shows the count and status.
  sender_->Deliver("job-completed", "project-1", Signed("job-completed"));
  httplib::Result listed = client_->Get("/_control/webhooks");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200);
  EXPECT_THAT(listed->body, ::testing::Not(HasSubstr("top-secret")));
  doc = Parse(listed->body);
  ASSERT_TRUE(doc["targets"].IsArray());
  ASSERT_EQ(doc["targets"].Size(), 1u);
  const rapidjson::Value& target = doc["targets"][0];
  EXPECT_EQ(std::string(target["id"].GetString()), id);
  EXPECT_EQ(std::string(target["url"].GetString()), receiver_->url());
  EXPECT_EQ(std::string(target["name"].GetString()), "ci");
  EXPECT_EQ(std::string(target["scope"].GetString()), "project-1");
  ASSERT_EQ(target["events"].Size(), 1u);
  EXPECT_EQ(std::string(target["events"][0].GetString()), "job-completed");
  EXPECT_EQ(target["deliveries"].GetInt(), 1);
  EXPECT_EQ(target["last_status"].GetInt(), 200);

  receiver_->set_status(500);
  httplib::Result redelivered = Post("/_control/webhooks/redeliver", "");
  ASSERT_TRUE(redelivered);
  EXPECT_EQ(redelivered->status, 200);
  EXPECT_EQ(redelivered->body,
            absl::StrCat(R"({"statuses":[500],"targets":[")", id, R"("]})"));
  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].body, got[0].body);
  EXPECT_TRUE(SignedWith(got[1], "top-secret"));

  httplib::Result cleared = client_->Delete("/_control/webhooks");
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->status, 200);
  EXPECT_EQ(cleared->body, R"({"targets":[]})");
  EXPECT_THAT(sender_->Targets(), IsEmpty());
  redelivered = Post("/_control/webhooks/redeliver", "");
  ASSERT_TRUE(redelivered);
  EXPECT_EQ(redelivered->body, R"({"statuses":[],"targets":[]})");
}

TEST_F(WebhookControlTest, BadBodiesAre400NamingTheField) {
  const std::string url = receiver_->url();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "JSON object"},
      {R"(["x"])", "JSON object"},
      {R"({"secret":"s"})", "\"url\" is required"},
      {absl::StrCat(R"({"url":")", url, R"("})"), "\"secret\" is required"},
      {absl::StrCat(R"({"url":")", url, R"(","secret":""})"), "\"secret\""},
      {R"({"url":5,"secret":"s"})", "\"url\" must be a string"},
      {R"({"url":"mailto:x","secret":"s"})", "\"url\" must be an http"},
      {absl::StrCat(R"({"url":")", url, R"(","secret":"s","events":"x"})"),
       "\"events\" must be an array"},
      {absl::StrCat(R"({"url":")", url, R"(","secret":"s","events":[1]})"),
       "\"events\" must be an array"},
      {absl::StrCat(R"({"url":")", url, R"(","secret":"s","events":["push"]})"),
       "unknown event 'push'"},
      {absl::StrCat(R"({"url":")", url, R"(","secret":"s","colour":"red"})"),
       "unknown member \"colour\""},
  };
  for (const auto& [body, expected] : cases) {
    httplib::Result res = Post("/_control/webhooks", body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << body;
    EXPECT_THAT(res->body, HasSubstr(expected)) << body;
  }
  EXPECT_THAT(sender_->Targets(), IsEmpty());
  // Other paths are left to the fake.
  httplib::Result other = client_->Get("/_control/webhooks/redeliver");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
}

}  // namespace
}  // namespace graphmill::fakes::common
