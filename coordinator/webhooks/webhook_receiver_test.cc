// WebhookReceiver against a real SqliteStore, with Heroku deliveries (which
// need no API reads) and an instance whose secrets are sealed as in
// production.
#include "coordinator/webhooks/webhook_receiver.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "common/hmac.h"
#include "common/testing/fake_clock.h"
#include "coordinator/secrets/secret_box.h"
#include "coordinator/store/sqlite/sqlite_store.h"

namespace graphmill::coordinator {
namespace {

constexpr char kSecret[] = "whsec-test";

v1::IntegrationDefinition HerokuDefinition() {
  v1::IntegrationDefinition definition;
  definition.set_name("heroku");
  definition.set_version("1");
  for (const char* name : {"apiKey", "webhookSecret"}) {
    v1::ConfigField& field = *definition.add_config_fields();
    field.set_name(name);
    field.set_type(v1::CONFIG_FIELD_TYPE_STRING);
    field.set_secret(true);
    field.set_optional(std::string(name) == "webhookSecret");
  }
  v1::StepDefinition& step = *definition.add_steps();
  step.set_id("fetch-team-apps");
  for (const char* type :
       {"heroku_team", "heroku_application", "heroku_addon"}) {
    step.add_entities()->set_type(type);
  }
  return definition;
}

// An api:<resource> event as Heroku sends it.
std::string Event(const std::string& id, const std::string& resource,
                  const std::string& action, const std::string& data,
                  const std::string& created_at = "2026-12-03T10:00:00Z") {
  return absl::Substitute(
      R"({"id":"$0","action":"$1","resource":"$2","created_at":"$3",)"
      R"("data":$4,"version":"application/vnd.heroku+json; version=3"})",
      id, action, resource, created_at, data);
}

std::string App(const std::string& name) {
  return absl::Substitute(
      R"({"id":"app-1","name":"$0","created_at":"2026-01-01T00:00:00Z",)"
      R"("updated_at":"2026-12-03T10:00:00Z","owner":{"email":"o@x.io"},)"
      R"("team":{"id":"team-1","name":"t"}})",
      name);
}

worker::WebhookHeaders Signed(const std::string& body,
                              const std::string& secret = kSecret) {
  return {{"heroku-webhook-hmac-sha256", HmacSha256Base64(secret, body)}};
}

class WebhookReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ASSERT_TRUE(store_->PutIntegration(HerokuDefinition()).ok());
    AddInstance("h1", {{"apiKey", "key"}, {"webhookSecret", kSecret}});
    AddInstance("no-secret", {{"apiKey", "key"}});
    Recreate(/*rate=*/50);
  }

  void AddInstance(const std::string& id,
                   std::map<std::string, std::string> config) {
    v1::Instance instance;
    instance.set_id(id);
    instance.set_integration("heroku");
    instance.mutable_config()->insert(config.begin(), config.end());
    ASSERT_TRUE(secrets_.Seal(HerokuDefinition(), &instance).ok());
    ASSERT_TRUE(store_->CreateInstance(instance).ok());
  }

  void Recreate(double rate) {
    receiver_ = std::make_unique<WebhookReceiver>(
        store_.get(), &secrets_,
        DefaultWebhookHandlers(http::HttpClientOptions()),
        WebhookReceiverOptions{.clock = &clock_,
                               .rate_per_instance = rate,
                               .on_change = [this] { ++changes_; }});
  }

  WebhookReply Post(const std::string& instance, const std::string& body,
                    const worker::WebhookHeaders& headers) {
    return receiver_->Receive(instance, headers, body);
  }

  std::string AppName() {
    absl::StatusOr<v1::Entity> app = store_->GetEntity("h1", "app-1");
    if (!app.ok()) return "";
    return app->properties().at("name").string_value();
  }

  int64_t LastSequence() { return store_->GetChangeLogBounds()->last_sequence; }

  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  InstanceSecrets secrets_{*SecretBox::FromKeyMaterial(std::string(32, 'k'))};
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<WebhookReceiver> receiver_;
  int changes_ = 0;
};

TEST_F(WebhookReceiverTest, ASignedEventIsAppliedOnceWithItsChanges) {
  const std::string body = Event("ev-1", "app", "update", App("shop"));
  WebhookReply reply = Post("h1", body, Signed(body));
  EXPECT_EQ(reply.http_status, 200) << reply.body;
  EXPECT_EQ(reply.outcome, "applied");
  EXPECT_EQ(AppName(), "shop");
  EXPECT_EQ(changes_, 1);
  const int64_t sequence = LastSequence();
  EXPECT_EQ(sequence, 1);  // the app (its team is not in the graph: no edge)

  // Heroku retries the delivery: 200, nothing changes.
  reply = Post("h1", body, Signed(body));
  EXPECT_EQ(reply.http_status, 200);
  EXPECT_EQ(reply.outcome, "duplicate");
  EXPECT_EQ(LastSequence(), sequence);
  EXPECT_EQ(changes_, 1);
}

TEST_F(WebhookReceiverTest, ABadOrMissingSignatureStoresNothing) {
  const std::string body = Event("ev-2", "app", "update", App("evil"));
  for (const worker::WebhookHeaders& headers :
       {Signed(body, "wrong-secret"), worker::WebhookHeaders{},
        Signed(body + " ")}) {
    WebhookReply reply = Post("h1", body, headers);
    EXPECT_EQ(reply.http_status, 401);
    EXPECT_EQ(reply.outcome, "unauthorized");
  }
  EXPECT_EQ(LastSequence(), 0);
  EXPECT_EQ(AppName(), "");
  // The event id was not used up: the genuine delivery still applies.
  WebhookReply genuine = Post("h1", body, Signed(body));
  EXPECT_EQ(genuine.outcome, "applied") << genuine.body;
}

TEST_F(WebhookReceiverTest, EveryRefusalLooksTheSameFromOutside) {
  const std::string body = Event("ev-3", "app", "update", App("x"));
  WebhookReply bad_signature = Post("h1", body, Signed(body, "nope"));
  WebhookReply unknown = Post("nobody", body, Signed(body));
  WebhookReply no_secret = Post("no-secret", body, Signed(body, ""));
  EXPECT_EQ(unknown.http_status, 401);
  EXPECT_EQ(unknown.body, bad_signature.body);
  EXPECT_EQ(no_secret.http_status, 401);
  EXPECT_EQ(no_secret.body, bad_signature.body);
  // The secret never appears in a reply.
  for (const WebhookReply* reply : {&bad_signature, &unknown, &no_secret}) {
    EXPECT_EQ(reply->body.find(kSecret), std::string::npos);
  }
}

TEST_F(WebhookReceiverTest, DestroyDeletesAndOtherResourcesAreIgnored) {
  std::string body = Event("ev-4", "app", "create", App("shop"));
  ASSERT_EQ(Post("h1", body, Signed(body)).outcome, "applied");
  body = Event("ev-5", "addon-attachment", "create", R"({"id":"att-1"})");
  WebhookReply ignored = Post("h1", body, Signed(body));
  EXPECT_EQ(ignored.http_status, 202);
  EXPECT_EQ(ignored.outcome, "ignored");
  body = Event("ev-6", "app", "destroy", App("shop"), "2026-12-03T10:00:05Z");
  WebhookReply destroyed = Post("h1", body, Signed(body));
  EXPECT_EQ(destroyed.outcome, "applied") << destroyed.body;
  EXPECT_NE(destroyed.body.find(R"("deleted":1)"), std::string::npos)
      << destroyed.body;
  EXPECT_EQ(AppName(), "");
}

TEST_F(WebhookReceiverTest, AnOlderEventDoesNotUndoANewerOne) {
  std::string newer =
      Event("ev-7", "app", "update", App("new-name"), "2026-12-03T10:00:10Z");
  std::string older =
      Event("ev-8", "app", "update", App("old-name"), "2026-12-03T10:00:01Z");
  ASSERT_EQ(Post("h1", newer, Signed(newer)).outcome, "applied");
  WebhookReply late = Post("h1", older, Signed(older));
  EXPECT_EQ(late.outcome, "applied");
  // The app (a newer event wrote it) and team OWNS app (no team entity).
  EXPECT_NE(late.body.find(R"("skipped":2)"), std::string::npos) << late.body;
  EXPECT_EQ(AppName(), "new-name");
}

TEST_F(WebhookReceiverTest, AMalformedSignedBodyIsABadRequest) {
  for (const std::string& body :
       {std::string("not json"), std::string(R"({"resource":"app"})"),
        Event("ev-9", "app", "update", R"({"name":"no id"})")}) {
    WebhookReply reply = Post("h1", body, Signed(body));
    EXPECT_EQ(reply.http_status, 400) << body;
    EXPECT_EQ(reply.outcome, "invalid");
  }
  EXPECT_EQ(LastSequence(), 0);
}

TEST_F(WebhookReceiverTest, DeliveriesBeyondTheInstancesRateGet429) {
  Recreate(/*rate=*/1);  // a burst of 2
  const std::string body =
      Event("ev-10", "addon-attachment", "create", R"({"id":"att-1"})");
  EXPECT_EQ(Post("h1", body, Signed(body)).http_status, 202);
  EXPECT_EQ(Post("h1", body, Signed(body)).http_status, 202);
  EXPECT_EQ(Post("h1", body, Signed(body)).http_status, 429);
  clock_.Sleep(absl::Seconds(1));
  EXPECT_EQ(Post("h1", body, Signed(body)).http_status, 202);
}

}  // namespace
}  // namespace graphmill::coordinator
