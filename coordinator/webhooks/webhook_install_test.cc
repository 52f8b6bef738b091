// WebhookInstaller against a real SqliteStore (an instance with sealed
// secrets and circleci_project entities) and a loopback HTTP server playing
// CircleCI's webhook API, through the real handlers (DefaultWebhookHandlers).
#include "coordinator/webhooks/webhook_install.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/graph_objects.h"
#include "common/http/http_client_test_util.h"
#include "coordinator/secrets/secret_box.h"
#include "coordinator/store/sqlite/sqlite_store.h"
#include "coordinator/webhooks/webhook_receiver.h"
#include "rapidjson/document.h"

namespace graphmill::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kApiKey[] = "CCIPAT_install-test-key";
constexpr char kSecret[] = "whsec-install-test";

v1::IntegrationDefinition CircleCiDefinition() {
  v1::IntegrationDefinition definition;
  definition.set_name("circleci");
  definition.set_version("1");
  for (const char* name :
       {"apiKey", "login", "userId", "baseUrl", "webhookSecret"}) {
    v1::ConfigField& field = *definition.add_config_fields();
    field.set_name(name);
    field.set_type(v1::CONFIG_FIELD_TYPE_STRING);
    const std::string field_name(name);
    field.set_secret(field_name == "apiKey" || field_name == "webhookSecret");
    field.set_optional(field_name == "baseUrl" ||
                       field_name == "webhookSecret");
    field.set_endpoint(field_name == "baseUrl");
  }
  v1::StepDefinition& step = *definition.add_steps();
  step.set_id("fetch-projects");
  step.add_entities()->set_type("circleci_project");
  return definition;
}

// An integration without webhooks.
v1::IntegrationDefinition OtherDefinition() {
  v1::IntegrationDefinition definition;
  definition.set_name("other");
  definition.set_version("1");
  v1::ConfigField& field = *definition.add_config_fields();
  field.set_name("apiKey");
  field.set_type(v1::CONFIG_FIELD_TYPE_STRING);
  return definition;
}

// CircleCI's webhook API: webhooks per project id, as created. A project
// "proj-denied" answers 403 (echoing the key and secret); a create on
// "proj-flaky" is stored but answered with 503.
class FakeCircleCi {
 public:
  FakeCircleCi() {
    server_.http.Get("/api/v2/webhook", [this](const httplib::Request& request,
                                               httplib::Response& reply) {
      const std::string project = request.get_param_value("scope-id");
      if (project == "proj-denied" ||
          request.get_header_value("Circle-Token") != kApiKey) {
        reply.status = 403;
        reply.set_content(absl::StrCat(R"({"message":"no access for )", kApiKey,
                                       " ", kSecret, R"("})"),
                          "application/json");
        return;
      }
      absl::MutexLock lock(&mutex_);
      std::string items;
      for (const std::string& url : webhooks_[project]) {
        absl::StrAppend(&items, items.empty() ? "" : ",",
                        R"({"id":"w","name":"graphmill","url":")", url,
                        R"("})");
      }
      reply.set_content(
          absl::StrCat(R"({"items":[)", items, R"(],"next_page_token":null})"),
          "application/json");
    });
    server_.http.Post("/api/v2/webhook", [this](const httplib::Request& request,
                                                httplib::Response& reply) {
      rapidjson::Document body;
      body.Parse(request.body.c_str());
      const std::string project = body["scope"]["id"].GetString();
      {
        absl::MutexLock lock(&mutex_);
        ++posts_;
        webhooks_[project].push_back(body["url"].GetString());
        secrets_.push_back(body["signing-secret"].GetString());
      }
      if (project == "proj-flaky") {
        reply.status = 503;
        return;
      }
      reply.status = 201;
      reply.set_content(R"({"id":"created"})", "application/json");
    });
    server_.Start();
  }

  std::string BaseUrl() const { return server_.Url("/api/v2"); }
  int posts() {
    absl::MutexLock lock(&mutex_);
    return posts_;
  }
  std::vector<std::string> webhooks(const std::string& project) {
    absl::MutexLock lock(&mutex_);
    return webhooks_[project];
  }
  std::vector<std::string> secrets() {
    absl::MutexLock lock(&mutex_);
    return secrets_;
  }

 private:
  http::testing::TestServer server_;
  absl::Mutex mutex_;
  int posts_ ABSL_GUARDED_BY(mutex_) = 0;
  std::map<std::string, std::vector<std::string>> webhooks_
      ABSL_GUARDED_BY(mutex_);
  std::vector<std::string> secrets_ ABSL_GUARDED_BY(mutex_);
};

class WebhookInstallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ASSERT_TRUE(store_->PutIntegration(CircleCiDefinition()).ok());
    ASSERT_TRUE(store_->PutIntegration(OtherDefinition()).ok());
    const std::map<std::string, std::string> config = {
        {"apiKey", kApiKey},
        {"login", "acme"},
        {"userId", "u-1"},
        {"baseUrl", circleci_.BaseUrl()}};
    std::map<std::string, std::string> with_secret = config;
    with_secret["webhookSecret"] = kSecret;
    AddInstance("ci", "circleci", with_secret);
    AddInstance("no-secret", "circleci", config);
    AddInstance("empty", "circleci", with_secret);
    AddInstance("other", "other", {{"apiKey", "k"}});
    AddProjects("ci", {"proj-a", "proj-b"});
    AddProjects("no-secret", {"proj-a"});

    http::HttpClientOptions http;
    http.max_attempts = 2;
    http.initial_backoff = absl::Milliseconds(1);
    http.max_backoff = absl::Milliseconds(2);
    installer_ = std::make_unique<WebhookInstaller>(
        store_.get(), &secrets_, DefaultWebhookHandlers(http));
  }

  void AddInstance(const std::string& id, const std::string& integration,
                   const std::map<std::string, std::string>& config) {
    v1::Instance instance;
    instance.set_id(id);
    instance.set_integration(integration);
    instance.mutable_config()->insert(config.begin(), config.end());
    absl::StatusOr<v1::IntegrationDefinition> definition =
        store_->GetIntegration(integration);
    ASSERT_TRUE(definition.ok());
    ASSERT_TRUE(secrets_.Seal(*definition, &instance).ok());
    ASSERT_TRUE(store_->CreateInstance(instance).ok());
  }

  // circleci_project entities in the instance's graph, as a patch puts them.
  void AddProjects(const std::string& instance_id,
                   const std::vector<std::string>& ids) {
    GraphPatch patch;
    patch.instance_id = instance_id;
    patch.event_id = absl::StrCat("seed-", ++seeds_);
    patch.as_of_ms = 1;
    patch.now_ms = 1;
    patch.entity_types = {"circleci_project"};
    for (const std::string& id : ids) {
      v1::Entity& entity = *patch.objects.add_entities();
      entity.set_key(absl::StrCat("circleci_project:", id));
      entity.set_type("circleci_project");
      entity.add_classes("Repository");
      (*entity.mutable_properties())["id"] = StringValue(id);
      patch.objects.add_entity_scopes("");
    }
    absl::StatusOr<PatchCounts> applied = store_->ApplyPatch(patch);
    ASSERT_TRUE(applied.ok()) << applied.status();
    ASSERT_EQ(applied->created, static_cast<int64_t>(ids.size()));
  }

  FakeCircleCi circleci_;
  InstanceSecrets secrets_{*SecretBox::FromKeyMaterial(std::string(32, 'k'))};
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<WebhookInstaller> installer_;
  int seeds_ = 0;
};

TEST_F(WebhookInstallTest, CreatesOnEveryProjectOnceAndThenFindsThem) {
  absl::StatusOr<v1::InstallWebhooksResponse> first =
      installer_->Install("ci", "https://hooks.example.com/");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->endpoint_url(), "https://hooks.example.com/webhooks/ci");
  ASSERT_EQ(first->results_size(), 2);
  EXPECT_EQ(first->results(0).resource(), "circleci_project:proj-a");
  EXPECT_EQ(first->results(1).resource(), "circleci_project:proj-b");
  for (const v1::WebhookInstallResult& result : first->results()) {
    EXPECT_TRUE(result.created()) << result.resource();
    EXPECT_EQ(result.error(), "") << result.resource();
  }
  EXPECT_EQ(circleci_.webhooks("proj-a"),
            std::vector<std::string>{"https://hooks.example.com/webhooks/ci"});
  EXPECT_EQ(circleci_.secrets(), (std::vector<std::string>{kSecret, kSecret}));

  // Again: the webhooks are there, nothing is created.
  absl::StatusOr<v1::InstallWebhooksResponse> second =
      installer_->Install("ci", "https://hooks.example.com");
  ASSERT_TRUE(second.ok()) << second.status();
  for (const v1::WebhookInstallResult& result : second->results()) {
    EXPECT_FALSE(result.created()) << result.resource();
    EXPECT_EQ(result.error(), "") << result.resource();
  }
  EXPECT_EQ(circleci_.posts(), 2);

  // A new project later: only it gets one.
  AddProjects("ci", {"proj-c"});
  absl::StatusOr<v1::InstallWebhooksResponse> third =
      installer_->Install("ci", "https://hooks.example.com");
  ASSERT_TRUE(third.ok()) << third.status();
  ASSERT_EQ(third->results_size(), 3);
  EXPECT_FALSE(third->results(0).created());
  EXPECT_TRUE(third->results(2).created());
  EXPECT_EQ(circleci_.posts(), 3);
}

TEST_F(WebhookInstallTest, AProviderErrorIsOneResultsAndHoldsNoSecret) {
  AddProjects("ci", {"proj-denied"});
  absl::StatusOr<v1::InstallWebhooksResponse> response =
      installer_->Install("ci", "https://hooks.example.com");
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 3);
  const v1::WebhookInstallResult& denied = response->results(2);
  EXPECT_EQ(denied.resource(), "circleci_project:proj-denied");
  EXPECT_FALSE(denied.created());
  EXPECT_THAT(denied.error(), HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(denied.error(), HasSubstr("HTTP 403"));
  EXPECT_THAT(denied.error(), Not(HasSubstr(kApiKey)));
  EXPECT_THAT(denied.error(), Not(HasSubstr(kSecret)));
  // The others were installed all the same.
  EXPECT_TRUE(response->results(0).created());
  EXPECT_TRUE(response->results(1).created());
}

TEST_F(WebhookInstallTest, ACreateThatFailedAfterTheProviderMadeItIsCreated) {
  AddProjects("ci", {"proj-flaky"});
  absl::StatusOr<v1::InstallWebhooksResponse> response =
      installer_->Install("ci", "https://hooks.example.com");
  ASSERT_TRUE(response.ok()) << response.status();
  const v1::WebhookInstallResult& flaky = response->results(2);
  EXPECT_EQ(flaky.resource(), "circleci_project:proj-flaky");
  EXPECT_TRUE(flaky.created());
  EXPECT_EQ(flaky.error(), "");
  // Sent once, never retried: one webhook.
  EXPECT_EQ(circleci_.webhooks("proj-flaky").size(), 1u);
  EXPECT_EQ(circleci_.posts(), 3);
}

TEST_F(WebhookInstallTest, RefusalsBeforeAnyProviderRequest) {
  const std::string url = "https://hooks.example.com";
  absl::Status status = installer_->Install("nobody", url).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;

  status = installer_->Install("other", url).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("has no webhooks"));

  status = installer_->Install("no-secret", url).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("graphmill instance update no-secret --config "
                        "webhookSecret=..."));

  status = installer_->Install("empty", url).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("no circleci_project entities"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("run the instance first"));

  status = installer_->Install("ci", "http://hooks.example.com").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("url "));
  EXPECT_EQ(circleci_.posts(), 0);
}

TEST(WebhookEndpointUrlTest, AppendsThePathToAnHttpsOrLoopbackBase) {
  for (const auto& [base, endpoint] :
       std::vector<std::pair<std::string, std::string>>{
           {"https://hooks.example.com",
            "https://hooks.example.com/webhooks/i"},
           {"https://hooks.example.com/",
            "https://hooks.example.com/webhooks/i"},
           {"https://h.example:8443/gm//",
            "https://h.example:8443/gm/webhooks/i"},
           {"http://127.0.0.1:8080", "http://127.0.0.1:8080/webhooks/i"},
           {"http://localhost/", "http://localhost/webhooks/i"},
           {"http://[::1]:9000", "http://[::1]:9000/webhooks/i"},
       }) {
    absl::StatusOr<std::string> url = WebhookEndpointUrl(base, "i");
    ASSERT_TRUE(url.ok()) << base << ": " << url.status();
    EXPECT_EQ(*url, endpoint) << base;
  }
}

TEST(WebhookEndpointUrlTest, RefusesWhatAProviderShouldNotBeGiven) {
  for (const char* base : {
           "",
           "hooks.example.com",
           "ftp://hooks.example.com",
           "http://hooks.example.com",
           "http://10.0.0.1:8080",
           "http://0.0.0.0:8080",
           "https://hooks.example.com/?a=b",
           "https://hooks.example.com/#x",
           "https://user:hunter2@hooks.example.com",
           "https://",
           "https://:443/x",
           "https://hooks.example.com/a b",
       }) {
    absl::StatusOr<std::string> url = WebhookEndpointUrl(base, "i");
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument) << base;
    const std::string message(url.status().message());
    EXPECT_THAT(message, testing::StartsWith("url ")) << base;
    EXPECT_THAT(message, Not(HasSubstr("hunter2")));
  }
}

}  // namespace
}  // namespace graphmill::coordinator
