// CircleCiWebhookHandler: signatures, and deliveries resolved by reading the
// workflow from a loopback server that plays CircleCI (including its
// failures).
#include "worker/integrations/circleci/webhook.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/hmac.h"
#include "common/http/http_client_test_util.h"

namespace graphmill::worker::circleci {
namespace {

constexpr char kSecret[] = "webhook-secret";
constexpr char kPipeline[] = "pipe-1";
constexpr char kWorkflow[] = "wf-1";

std::string Delivery(const std::string& type = "job-completed") {
  return absl::StrCat(
      R"({"type":")", type,
      R"(","id":"ev-1","happened_at":"2026-12-03T10:00:00.000Z",)",
      R"("project":{"id":"p1","name":"api","slug":"gh/acme/api"},)",
      R"("workflow":{"id":")", kWorkflow,
      R"(","name":"build","status":"success"},)", R"("pipeline":{"id":")",
      kPipeline, R"(","number":7},)",
      R"("job":{"id":"job-1","name":"test","status":"success"}})");
}

http::HttpClientOptions FastOptions() {
  http::HttpClientOptions options;
  options.max_attempts = 1;
  options.request_timeout = absl::Seconds(5);
  return options;
}

class CircleCiWebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.http.Get("/api/v2/pipeline/pipe-1/workflow", [this](
                                                             const httplib::
                                                                 Request& req,
                                                             httplib::Response&
                                                                 res) {
      ++workflow_reads_;
      res.status = workflow_status_;
      res.set_content(
          R"({"next_page_token":null,"items":[)"
          R"({"id":"wf-1","name":"build","pipeline_id":"pipe-1",)"
          R"("project_slug":"gh/acme/api","status":"success",)"
          R"("started_by":"u1","pipeline_number":7,"tag":null,)"
          R"("created_at":"2026-12-03T09:59:00Z","stopped_at":"2026-12-03T10:00:00Z"},)"
          R"({"id":"wf-0","name":"lint","pipeline_id":"pipe-1",)"
          R"("project_slug":"gh/acme/api","status":"failed",)"
          R"("started_by":"u1","pipeline_number":7,)"
          R"("created_at":"2026-12-03T09:58:00Z","stopped_at":"2026-12-03T09:59:00Z"}]})",
          "application/json");
    });
    server_.http.Get("/api/v2/workflow/wf-1/job", [](const httplib::Request&,
                                                     httplib::Response& res) {
      res.set_content(
          R"({"next_page_token":null,"items":[)"
          R"({"id":"job-1","name":"test","job_number":3,"status":"success",)"
          R"("type":"build","dependencies":[],"project_slug":"gh/acme/api",)"
          R"("started_at":"2026-12-03T09:59:10Z","stopped_at":"2026-12-03T10:00:00Z"}]})",
          "application/json");
    });
    server_.Start();
    config_ = {{"apiKey", "token"},
               {"login", "acme"},
               {"userId", "u1"},
               {"baseUrl", server_.Url("/api/v2")}};
  }

  http::testing::TestServer server_;
  std::atomic<int> workflow_reads_{0};
  std::atomic<int> workflow_status_{200};
  InstanceConfig config_;
  CircleCiWebhookHandler handler_{FastOptions()};
};

TEST_F(CircleCiWebhookTest, VerifiesTheV1Signature) {
  const std::string body = Delivery();
  const std::string good = "v1=" + HmacSha256Hex(kSecret, body);
  EXPECT_TRUE(
      handler_.Verify({{"circleci-signature", good}}, body, kSecret).ok());
  // Beside a signature of another version.
  EXPECT_TRUE(
      handler_
          .Verify({{"circleci-signature", "v2=abc, " + good}}, body, kSecret)
          .ok());
  for (const WebhookHeaders& headers :
       {WebhookHeaders{},
        WebhookHeaders{{"circleci-signature", HmacSha256Hex(kSecret, body)}},
        WebhookHeaders{
            {"circleci-signature", "v1=" + HmacSha256Hex("other", body)}},
        WebhookHeaders{{"circleci-signature", "v1="}}}) {
    absl::Status verified = handler_.Verify(headers, body, kSecret);
    EXPECT_EQ(verified.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(std::string(verified.message()).find(kSecret), std::string::npos);
  }
  EXPECT_FALSE(
      handler_.Verify({{"circleci-signature", good}}, body + "x", kSecret)
          .ok());
}

TEST_F(CircleCiWebhookTest, ReadsThePipelinesWorkflowsAndTheWorkflowsJobs) {
  auto change = handler_.Resolve(config_, Delivery(), 1'800'000'000'000);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->event_id, "ev-1");
  EXPECT_EQ(change->as_of_ms, 1'800'000'000'000);  // read now, not the event
  EXPECT_EQ(change->api_requests, 2);
  const v1::ResultBatch& objects = change->objects;
  ASSERT_EQ(objects.entities_size(), 3);
  EXPECT_EQ(objects.entities(0).key(), "circleci_workflow:wf-1");
  EXPECT_EQ(objects.entity_scopes(0), "circleci_pipeline:pipe-1");
  EXPECT_EQ(objects.entities(1).key(), "circleci_workflow:wf-0");
  EXPECT_EQ(objects.entities(2).key(), "circleci_job:job-1");
  EXPECT_EQ(objects.entity_scopes(2), "circleci_workflow:wf-1");
  // Properties the delivery does not carry come from the API.
  EXPECT_EQ(objects.entities(0).properties().at("startedBy").string_value(),
            "u1");
  EXPECT_EQ(objects.entities(2).properties().at("type").string_value(),
            "build");
  ASSERT_EQ(objects.relationships_size(), 3);
  EXPECT_EQ(objects.relationships(0).type(), "circleci_pipeline_has_workflow");
  EXPECT_EQ(objects.relationships(2).type(), "circleci_workflow_has_job");
  EXPECT_EQ(objects.relationship_scopes(2), "circleci_workflow:wf-1");
}

TEST_F(CircleCiWebhookTest, ProviderFailuresAreErrorsNotEmptyChanges) {
  for (int status : {403, 404, 500}) {
    workflow_status_ = status;
    auto change = handler_.Resolve(config_, Delivery(), 1);
    EXPECT_FALSE(change.ok()) << status;
    EXPECT_FALSE(absl::IsInvalidArgument(change.status())) << status;
  }
}

TEST_F(CircleCiWebhookTest, AWorkflowThePipelineDoesNotListIsNotFound) {
  std::string body = Delivery();
  body.replace(body.find(R"("id":"wf-1")"), 11, R"("id":"wf-9")");
  auto change = handler_.Resolve(config_, body, 1);
  EXPECT_EQ(change.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CircleCiWebhookTest, MalformedDeliveriesAndOtherEventTypes) {
  EXPECT_EQ(handler_.Resolve(config_, "[]", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(handler_.Resolve(config_, R"({"type":"job-completed"})", 1)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      handler_
          .Resolve(config_,
                   R"({"type":"job-completed","id":"e","workflow":{}})", 1)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  auto ping = handler_.Resolve(config_, R"({"type":"ping","id":"e2"})", 1);
  ASSERT_TRUE(ping.ok());
  EXPECT_TRUE(ping->ignored);
  EXPECT_EQ(workflow_reads_, 0);
}

}  // namespace
}  // namespace graphmill::worker::circleci
