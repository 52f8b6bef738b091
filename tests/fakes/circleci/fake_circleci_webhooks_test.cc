// Tests of the fake CircleCI's webhooks: a mutation that finishes a workflow
// or job delivers a signed body of CircleCI's documented shape to a real
// loopback receiver before the mutation request is answered; targets filter
// by event and project; redelivery repeats the body; the webhook API routes
// register and list targets and validate their input.
#include <httplib.h>

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/hmac.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/fakes/circleci/fake_circleci.h"
#include "tests/fakes/circleci/mutations.h"
#include "tests/fakes/circleci/test_util.h"
#include "tests/fakes/common/webhook_receiver.h"

namespace graphmill::fakes {
namespace {

using common::ReceivedRequest;
using common::WebhookReceiver;
using fake_test::kToken;
using fake_test::MakeClient;
using fake_test::ParseJson;
using fake_test::PostMutations;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kUuidPattern[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

std::vector<std::string> Keys(const rapidjson::Value& object) {
  std::vector<std::string> keys;
  for (const auto& member : object.GetObject()) {
    keys.emplace_back(member.name.GetString());
  }
  return keys;
}

std::string Str(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject() || !object.HasMember(key) || !object[key].IsString()) {
    ADD_FAILURE() << "no string member " << key;
    return "";
  }
  return object[key].GetString();
}

// True if the request carries circleci-signature v1=<hex HMAC of the body>.
bool SignedWith(const ReceivedRequest& request, const std::string& secret) {
  const std::string header = request.Header("circleci-signature");
  return absl::StartsWith(header, "v1=") &&
         ConstantTimeEquals(header.substr(3),
                            HmacSha256Hex(secret, request.body));
}

class FakeCircleCiWebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeCircleCiOptions options;
    options.generator.orgs = 2;
    options.generator.projects_per_org = 2;
    options.generator.pipelines_per_project = 2;
    options.generator.workflows_per_pipeline = 2;
    options.generator.jobs_per_workflow = 2;
    absl::StatusOr<std::unique_ptr<FakeCircleCi>> server =
        FakeCircleCi::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = MakeClient(server_->port());
    absl::StatusOr<std::unique_ptr<WebhookReceiver>> receiver =
        WebhookReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
  }

  // POST /_control/webhooks; returns the new target's id.
  std::string AddTarget(const std::string& body) {
    httplib::Result res =
        client_->Post("/_control/webhooks", body, "application/json");
    EXPECT_TRUE(res);
    if (!res) return "";
    EXPECT_EQ(res->status, 201) << res->body;
    rapidjson::Document doc = ParseJson(res->body);
    return doc.IsObject() && doc.HasMember("id") ? doc["id"].GetString() : "";
  }

  // A target for `path` of the receiver with `secret` and `extra` members.
  std::string AddTarget(const std::string& path, const std::string& secret,
                        const std::string& extra = "") {
    return AddTarget(absl::StrCat(R"({"url":")", receiver_->url(path),
                                  R"(","secret":")", secret, R"(")", extra,
                                  "}"));
  }

  // Applies `mutations` over HTTP; expects 200.
  void Mutate(const std::vector<Mutation>& mutations) {
    std::string body = "[";
    for (const Mutation& m : mutations) {
      if (body.size() > 1) body += ",";
      body += MutationToJson(m);
    }
    body += "]";
    httplib::Result res = PostMutations(*client_, body);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }

  httplib::Result PostApi(const std::string& target, const std::string& body,
                          const std::string& token = kToken) {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Circle-Token", token);
    return client_->Post(target, headers, body, "application/json");
  }

  // The paths the receiver was sent to, in order.
  std::vector<std::string> ReceivedPaths() const {
    std::vector<std::string> paths;
    for (const ReceivedRequest& r : receiver_->requests()) {
      paths.push_back(r.target);
    }
    return paths;
  }

  const Project& ProjectOf(const std::string& slug) const {
    for (const Project& p : server_->dataset().projects) {
      if (p.slug == slug) return p;
    }
    ADD_FAILURE() << "no project " << slug;
    return server_->dataset().projects[0];
  }

  // The webhook API body for a project webhook.
  static std::string ApiBody(
      const std::string& url, const std::string& project_id,
      const std::string& events = R"(["workflow-completed","job-completed"])") {
    return absl::StrCat(
        R"({"name":"graphmill-ci","events":)", events, R"(,"url":")", url,
        R"(","verify-tls":true,"signing-secret":"api-secret",)",
        R"("scope":{"id":")", project_id, R"(","type":"project"}})");
  }

  std::unique_ptr<FakeCircleCi> server_;
  std::unique_ptr<httplib::Client> client_;
  std::unique_ptr<WebhookReceiver> receiver_;
};

TEST_F(FakeCircleCiWebhooksTest, SetJobStatusDeliversASignedJobCompleted) {
  const std::string target_id = AddTarget("/hooks/ci", "job-secret");
  const Dataset before = server_->dataset();
  const Job job = before.jobs[5];
  const absl::Time start = absl::Now();
  Mutate({Mutation::SetJobStatus(job.id, "failed")});

  // Delivered before the mutation request was answered.
  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 1u);
  const ReceivedRequest& request = got[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/hooks/ci");
  EXPECT_EQ(request.Header("Content-Type"), "application/json");
  EXPECT_EQ(request.Header("User-Agent"), "CircleCI-Webhook/1.0");
  EXPECT_EQ(request.Header("circleci-event-type"), "job-completed");
  EXPECT_TRUE(SignedWith(request, "job-secret"));
  EXPECT_FALSE(SignedWith(request, "job-secreT"));
  EXPECT_TRUE(std::regex_match(request.Header("circleci-signature"),
                               std::regex("v1=[0-9a-f]{64}")));

  const Dataset& data = server_->dataset();
  const Workflow* workflow = nullptr;
  for (const Workflow& w : data.workflows) {
    if (w.id == job.workflow_id) workflow = &w;
  }
  ASSERT_NE(workflow, nullptr);
  const Pipeline* pipeline = nullptr;
  for (const Pipeline& p : data.pipelines) {
    if (p.id == workflow->pipeline_id) pipeline = &p;
  }
  ASSERT_NE(pipeline, nullptr);
  const Project& project = ProjectOf(job.project_slug);

  rapidjson::Document body = ParseJson(request.body);
  ASSERT_TRUE(body.IsObject());
  EXPECT_THAT(Keys(body),
              ElementsAre("type", "id", "happened_at", "webhook", "project",
                          "organization", "workflow", "pipeline", "job"));
  EXPECT_EQ(Str(body, "type"), "job-completed");
  EXPECT_TRUE(std::regex_match(Str(body, "id"), std::regex(kUuidPattern)));
  const std::string happened_at = Str(body, "happened_at");
  EXPECT_TRUE(std::regex_match(
      happened_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << happened_at;
  absl::Time happened;
  std::string error;
  ASSERT_TRUE(
      absl::ParseTime(absl::RFC3339_full, happened_at, &happened, &error))
      << error;
  EXPECT_GE(happened, start - absl::Milliseconds(1));
  EXPECT_LE(happened, absl::Now());

  EXPECT_THAT(Keys(body["webhook"]), ElementsAre("id", "name"));
  EXPECT_EQ(Str(body["webhook"], "id"), target_id);
  EXPECT_EQ(Str(body["webhook"], "name"), "graphmill");
  EXPECT_THAT(Keys(body["project"]), ElementsAre("id", "name", "slug"));
  EXPECT_EQ(Str(body["project"], "id"), project.id);
  EXPECT_EQ(Str(body["project"], "name"), project.name);
  EXPECT_EQ(Str(body["project"], "slug"), project.slug);
  EXPECT_THAT(Keys(body["organization"]), ElementsAre("id", "name"));
  EXPECT_EQ(Str(body["organization"], "id"), project.organization_id);
  EXPECT_EQ(Str(body["organization"], "name"), project.organization_name);

  const rapidjson::Value& w = body["workflow"];
  EXPECT_THAT(Keys(w), ElementsAre("id", "name", "created_at", "stopped_at",
                                   "url", "status"));
  EXPECT_EQ(Str(w, "id"), workflow->id);
  EXPECT_EQ(Str(w, "name"), workflow->name);
  EXPECT_EQ(Str(w, "created_at"), workflow->created_at);
  EXPECT_EQ(Str(w, "stopped_at"), workflow->stopped_at);
  EXPECT_EQ(Str(w, "status"), workflow->status);
  EXPECT_EQ(Str(w, "url"),
            absl::StrCat("https://app.circleci.com/pipelines/", project.slug,
                         "/", pipeline->number, "/workflows/", workflow->id));

  const rapidjson::Value& p = body["pipeline"];
  EXPECT_THAT(Keys(p),
              ElementsAre("id", "number", "created_at", "trigger", "vcs"));
  EXPECT_EQ(Str(p, "id"), pipeline->id);
  EXPECT_EQ(p["number"].GetInt(), pipeline->number);
  EXPECT_EQ(Str(p, "created_at"), pipeline->created_at);
  EXPECT_THAT(Keys(p["trigger"]), ElementsAre("type"));
  EXPECT_EQ(Str(p["trigger"], "type"), pipeline->trigger_type);
  EXPECT_THAT(Keys(p["vcs"]),
              ElementsAre("provider_name", "origin_repository_url",
                          "target_repository_url", "revision", "branch"));
  EXPECT_EQ(Str(p["vcs"], "provider_name"), "github");
  EXPECT_EQ(Str(p["vcs"], "revision"), pipeline->revision);
  EXPECT_EQ(Str(p["vcs"], "branch"), pipeline->branch);
  EXPECT_TRUE(absl::StartsWith(Str(p["vcs"], "origin_repository_url"),
                               "https://github.com/"));
  EXPECT_EQ(Str(p["vcs"], "target_repository_url"),
            Str(p["vcs"], "origin_repository_url"));

  const rapidjson::Value& j = body["job"];
  EXPECT_THAT(Keys(j), ElementsAre("id", "name", "number", "started_at",
                                   "stopped_at", "status"));
  EXPECT_EQ(Str(j, "id"), job.id);
  EXPECT_EQ(Str(j, "name"), job.name);
  EXPECT_EQ(j["number"].GetInt(), job.job_number);
  EXPECT_EQ(Str(j, "started_at"), job.started_at);
  EXPECT_EQ(Str(j, "stopped_at"), job.stopped_at);
  EXPECT_EQ(Str(j, "status"), "failed");

  // The API serves the change, and the target's statistics show the delivery.
  httplib::Result jobs = fake_test::Get(
      *client_, absl::StrCat("/api/v2/workflow/", job.workflow_id, "/job"));
  ASSERT_TRUE(jobs);
  EXPECT_THAT(jobs->body, HasSubstr(R"("status":"failed")"));
  const common::WebhookTarget stored = *server_->webhooks().Find(target_id);
  EXPECT_EQ(stored.deliveries, 1);
  EXPECT_EQ(stored.last_status, 200);
}

TEST_F(FakeCircleCiWebhooksTest, FinishingAWorkflowDeliversWorkflowCompleted) {
  AddTarget("/hooks", "wf-secret", R"(,"name":"named hook")");
  const Project& project = server_->dataset().projects[1];
  Mutate({Mutation::AddPipeline(project.slug, "p-run", "running")});
  std::string workflow_id;
  for (const Workflow& w : server_->dataset().workflows) {
    if (w.pipeline_id == "p-run") workflow_id = w.id;
  }
  ASSERT_FALSE(workflow_id.empty());
  std::string running_job;
  for (const Job& j : server_->dataset().jobs) {
    if (j.workflow_id == workflow_id && j.status == "running") {
      running_job = j.id;
    }
  }
  ASSERT_FALSE(running_job.empty());
  // Nothing has finished yet: an added pipeline, statuses that do not finish.
  Mutate({Mutation::SetWorkflowStatus(workflow_id, "on_hold"),
          Mutation::SetJobStatus(running_job, "queued")});
  EXPECT_THAT(receiver_->requests(), IsEmpty());

  // The job finishes first: its workflow has not stopped (null).
  Mutate({Mutation::SetJobStatus(running_job, "success")});
  std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].Header("circleci-event-type"), "job-completed");
  rapidjson::Document job_body = ParseJson(got[0].body);
  EXPECT_EQ(Str(job_body["workflow"], "status"), "on_hold");
  EXPECT_TRUE(job_body["workflow"]["stopped_at"].IsNull());
  EXPECT_EQ(Str(job_body["job"], "stopped_at"), kMutationTime);

  Mutate({Mutation::SetWorkflowStatus(workflow_id, "success")});
  got = receiver_->requests();
  ASSERT_EQ(got.size(), 2u);
  got.erase(got.begin());
  EXPECT_EQ(got[0].Header("circleci-event-type"), "workflow-completed");
  EXPECT_TRUE(SignedWith(got[0], "wf-secret"));
  rapidjson::Document body = ParseJson(got[0].body);
  EXPECT_THAT(Keys(body),
              ElementsAre("type", "id", "happened_at", "webhook", "project",
                          "organization", "workflow", "pipeline"));
  EXPECT_EQ(Str(body, "type"), "workflow-completed");
  EXPECT_EQ(Str(body["webhook"], "name"), "named hook");
  EXPECT_EQ(Str(body["project"], "id"), project.id);
  EXPECT_EQ(Str(body["workflow"], "id"), workflow_id);
  EXPECT_EQ(Str(body["workflow"], "status"), "success");
  // A workflow that was running gets its stopped_at when it finishes.
  EXPECT_EQ(Str(body["workflow"], "stopped_at"), kMutationTime);
  EXPECT_EQ(Str(body["pipeline"], "id"), "p-run");
  EXPECT_EQ(Str(body["pipeline"]["trigger"], "type"), "api");
}

TEST_F(FakeCircleCiWebhooksTest, TargetsGetOnlyTheirEventsAndProject) {
  const Dataset& data = server_->dataset();
  const Project& x = data.projects[0];
  const Project& y = data.projects[3];
  ASSERT_NE(x.id, y.id);
  auto first_workflow_of = [&](const Project& project) -> const Workflow& {
    for (const Workflow& w : data.workflows) {
      if (w.project_slug == project.slug) return w;
    }
    ADD_FAILURE() << "no workflow";
    return data.workflows[0];
  };
  auto first_job_of = [&](const Project& project) -> const Job& {
    for (const Job& j : data.jobs) {
      if (j.project_slug == project.slug) return j;
    }
    ADD_FAILURE() << "no job";
    return data.jobs[0];
  };
  const std::string x_workflow = first_workflow_of(x).id;
  const std::string x_job = first_job_of(x).id;
  const std::string y_workflow = first_workflow_of(y).id;
  const std::string y_job = first_job_of(y).id;

  AddTarget("/jobs-anywhere", "a", R"(,"events":["job-completed"])");
  AddTarget("/workflows-of-x", "b",
            absl::StrCat(R"(,"events":["workflow-completed"],"scope":")", x.id,
                         R"(")"));
  // Registered through CircleCI's API: both events of project y.
  httplib::Result created =
      PostApi("/api/v2/webhook", ApiBody(receiver_->url("/api-y"), y.id));
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;

  // One batch, delivered in mutation order.
  Mutate({Mutation::SetJobStatus(x_job, "failed"),
          Mutation::SetWorkflowStatus(x_workflow, "failed"),
          Mutation::SetWorkflowStatus(y_workflow, "canceled"),
          Mutation::SetJobStatus(y_job, "timedout")});
  EXPECT_THAT(ReceivedPaths(),
              ElementsAre("/jobs-anywhere",   // x's job
                          "/workflows-of-x",  // x's workflow
                          "/api-y",           // y's workflow
                          "/jobs-anywhere",   // y's job
                          "/api-y"));
  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 5u);
  EXPECT_TRUE(SignedWith(got[0], "a"));
  EXPECT_TRUE(SignedWith(got[1], "b"));
  EXPECT_TRUE(SignedWith(got[2], "api-secret"));
  EXPECT_EQ(Str(ParseJson(got[2].body)["webhook"], "name"), "graphmill-ci");
  EXPECT_EQ(Str(ParseJson(got[2].body)["workflow"], "status"), "canceled");
  // The same event goes to every target with the same id.
  EXPECT_EQ(Str(ParseJson(got[3].body), "id"),
            Str(ParseJson(got[4].body), "id"));
  EXPECT_NE(Str(ParseJson(got[0].body), "id"),
            Str(ParseJson(got[3].body), "id"));
  EXPECT_NE(got[3].Header("circleci-signature"),
            got[4].Header("circleci-signature"));

  // A failing batch changes nothing and sends nothing.
  httplib::Result failed = PostMutations(
      *client_, absl::StrCat(R"([{"op":"set_job_status","id":")", x_job,
                             R"(","status":"success"},)",
                             R"({"op":"set_job_status","id":"nope",)",
                             R"("status":"success"}])"));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 404);
  EXPECT_EQ(receiver_->requests().size(), 5u);
}

TEST_F(FakeCircleCiWebhooksTest, StatusesAreRecordedAndRedeliverRepeats) {
  const std::string id = AddTarget("/hooks", "s");
  const std::string job = server_->dataset().jobs[0].id;
  receiver_->set_status(500);
  Mutate({Mutation::SetJobStatus(job, "canceled")});
  httplib::Result listed = client_->Get("/_control/webhooks");
  ASSERT_TRUE(listed);
  rapidjson::Document doc = ParseJson(listed->body);
  ASSERT_EQ(doc["targets"].Size(), 1u);
  EXPECT_EQ(Str(doc["targets"][0], "id"), id);
  EXPECT_EQ(doc["targets"][0]["deliveries"].GetInt(), 1);
  EXPECT_EQ(doc["targets"][0]["last_status"].GetInt(), 500);
  EXPECT_THAT(listed->body, ::testing::Not(HasSubstr(R"("s")")));

  // The provider retries: the same body (event id) and signature.
  receiver_->set_status(204);
  httplib::Result again =
      client_->Post("/_control/webhooks/redeliver", "", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(again->body,
            absl::StrCat(R"({"statuses":[204],"targets":[")", id, R"("]})"));
  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].body, got[0].body);
  EXPECT_EQ(got[1].Header("circleci-signature"),
            got[0].Header("circleci-signature"));
  EXPECT_EQ(got[1].Header("circleci-event-type"), "job-completed");
  EXPECT_EQ(server_->webhooks().Find(id)->deliveries, 2);
  EXPECT_EQ(server_->webhooks().Find(id)->last_status, 204);

  // A receiver that is gone: -1, and the mutation still succeeds.
  receiver_->Stop();
  Mutate({Mutation::SetJobStatus(job, "success")});
  EXPECT_EQ(server_->webhooks().Find(id)->last_status, -1);
  EXPECT_EQ(server_->webhooks().Find(id)->deliveries, 3);

  httplib::Result cleared = client_->Delete("/_control/webhooks");
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->body, R"({"targets":[]})");
}

TEST_F(FakeCircleCiWebhooksTest, WebhookApiRegistersAndListsProjectWebhooks) {
  const Project& project = server_->dataset().projects[2];
  const std::string url = receiver_->url("/ci");
  // CircleCI's auth, like every route.
  httplib::Result unauthorized =
      PostApi("/api/v2/webhook", ApiBody(url, project.id), "");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
  EXPECT_THAT(server_->webhooks().Targets(), IsEmpty());

  httplib::Result created =
      PostApi("/api/v2/webhook",
              ApiBody(url, project.id, R"(["job-completed","job-completed"])"));
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(created->get_header_value("x-route"), "/api/v2/webhook");
  rapidjson::Document doc = ParseJson(created->body);
  EXPECT_THAT(Keys(doc),
              ElementsAre("id", "name", "url", "verify-tls", "signing-secret",
                          "scope", "events", "created-at", "updated-at"));
  const std::string id = Str(doc, "id");
  EXPECT_TRUE(std::regex_match(id, std::regex(kUuidPattern)));
  EXPECT_EQ(Str(doc, "name"), "graphmill-ci");
  EXPECT_EQ(Str(doc, "url"), url);
  EXPECT_TRUE(doc["verify-tls"].GetBool());
  EXPECT_EQ(Str(doc, "signing-secret"), "****");
  EXPECT_THAT(created->body, ::testing::Not(HasSubstr("api-secret")));
  EXPECT_EQ(Str(doc["scope"], "id"), project.id);
  EXPECT_EQ(Str(doc["scope"], "type"), "project");
  ASSERT_EQ(doc["events"].Size(), 1u);
  EXPECT_EQ(std::string(doc["events"][0].GetString()), "job-completed");
  EXPECT_TRUE(std::regex_match(
      Str(doc, "created-at"),
      std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_EQ(Str(doc, "updated-at"), Str(doc, "created-at"));
  const std::optional<common::WebhookTarget> stored =
      server_->webhooks().Find(id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->secret, "api-secret");
  EXPECT_EQ(stored->scope, project.id);

  // Another project's webhook does not show in this project's list.
  ASSERT_EQ(PostApi("/api/v2/webhook",
                    ApiBody(url, server_->dataset().projects[0].id))
                ->status,
            201);
  httplib::Result listed = fake_test::Get(
      *client_, absl::StrCat("/api/v2/webhook?scope-id=", project.id,
                             "&scope-type=project"));
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200) << listed->body;
  rapidjson::Document list = ParseJson(listed->body);
  EXPECT_THAT(Keys(list), ElementsAre("items", "next_page_token"));
  EXPECT_TRUE(list["next_page_token"].IsNull());
  ASSERT_EQ(list["items"].Size(), 1u);
  EXPECT_EQ(Str(list["items"][0], "id"), id);
  EXPECT_THAT(listed->body, HasSubstr(R"("signing-secret":"****")"));

  // Errors of the list.
  const std::vector<std::pair<std::string, int>> bad_lists = {
      {"/api/v2/webhook", 400},
      {absl::StrCat("/api/v2/webhook?scope-id=", project.id), 400},
      {absl::StrCat("/api/v2/webhook?scope-id=", project.id,
                    "&scope-type=organization"),
       400},
      {"/api/v2/webhook?scope-id=00000000-0000-4000-8000-000000000000&"
       "scope-type=project",
       404},
  };
  for (const auto& [target, status] : bad_lists) {
    httplib::Result res = fake_test::Get(*client_, target);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << target << " " << res->body;
  }
  EXPECT_EQ(server_->RequestCount("webhook-create"), 3);
  EXPECT_EQ(server_->RequestCount("webhook-list"), 5);
  EXPECT_EQ(server_->RequestCount("unmatched"), 0);
}

TEST_F(FakeCircleCiWebhooksTest, WebhookApiRejectsBadBodiesWithAMessage) {
  const std::string project = server_->dataset().projects[0].id;
  const std::string url = receiver_->url();
  auto body = [&](const std::string& name, const std::string& events,
                  const std::string& target_url, const std::string& verify,
                  const std::string& secret, const std::string& scope) {
    std::vector<std::string> members;
    if (!name.empty()) members.push_back(absl::StrCat(R"("name":)", name));
    if (!events.empty()) {
      members.push_back(absl::StrCat(R"("events":)", events));
    }
    if (!target_url.empty()) {
      members.push_back(absl::StrCat(R"("url":)", target_url));
    }
    if (!verify.empty()) {
      members.push_back(absl::StrCat(R"("verify-tls":)", verify));
    }
    if (!secret.empty()) {
      members.push_back(absl::StrCat(R"("signing-secret":)", secret));
    }
    if (!scope.empty()) members.push_back(absl::StrCat(R"("scope":)", scope));
    std::string out = "{";
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0) out += ",";
      out += members[i];
    }
    return out + "}";
  };
  const std::string n = R"("hook")";
  const std::string e = R"(["workflow-completed"])";
  const std::string u = absl::StrCat("\"", url, "\"");
  const std::string v = "true";
  const std::string s = R"("secret")";
  const std::string sc =
      absl::StrCat(R"({"id":")", project, R"(","type":"project"})");
  ASSERT_EQ(PostApi("/api/v2/webhook", body(n, e, u, v, s, sc))->status, 201);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "JSON object"},
      {body("", e, u, v, s, sc), "'name'"},
      {body(R"("")", e, u, v, s, sc), "'name'"},
      {body(n, "", u, v, s, sc), "'events'"},
      {body(n, "[]", u, v, s, sc), "'events'"},
      {body(n, R"(["workflow-completed","ping"])", u, v, s, sc),
       "Invalid event 'ping'"},
      {body(n, e, "", v, s, sc), "'url'"},
      {body(n, e, R"("ftp://x")", v, s, sc), "\"url\""},
      {body(n, e, u, "", s, sc), "'verify-tls'"},
      {body(n, e, u, R"("yes")", s, sc), "'verify-tls'"},
      {body(n, e, u, v, "", sc), "'signing-secret'"},
      {body(n, e, u, v, s, ""), "'scope'"},
      {body(n, e, u, v, s, absl::StrCat(R"({"id":")", project, R"("})")),
       "'scope'"},
      {body(n, e, u, v, s,
            absl::StrCat(R"({"id":")", project, R"(","type":"organization"})")),
       "Invalid scope type 'organization'"},
      {body(n, e, u, v, s, R"({"id":"no-such-project","type":"project"})"),
       "Project 'no-such-project' not found"},
  };
  for (const auto& [request, message] : cases) {
    httplib::Result res = PostApi("/api/v2/webhook", request);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << request;
    rapidjson::Document doc = ParseJson(res->body);
    EXPECT_THAT(Keys(doc), ElementsAre("message")) << res->body;
    EXPECT_THAT(Str(doc, "message"), HasSubstr(message)) << request;
  }
  EXPECT_EQ(server_->webhooks().Targets().size(), 1u);
}

}  // namespace
}  // namespace graphmill::fakes
