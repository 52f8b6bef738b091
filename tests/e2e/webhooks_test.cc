// Webhooks across real processes: the fake CircleCI sends a signed
// job-completed delivery when a job changes, the coordinator re-reads the
// workflow through the steps' client and a subscriber sees the change, with no
// run. A bad signature stores nothing, a retried delivery changes nothing, and
// a run that read the job before the webhook does not undo it at finalize.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/hmac.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "rapidjson/document.h"
#include "tests/e2e/expected_graph.h"

namespace graphmill::testing {
namespace {

constexpr char kLogin[] = "webhook-org";
constexpr char kSecret[] = "e2e-webhook-secret";

// A free loopback port for the coordinator's webhook endpoint.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

// Collects a Subscribe stream in a background thread.
class Subscriber {
 public:
  Subscriber(std::shared_ptr<grpc::Channel> channel,
             const v1::SubscribeRequest& request)
      : stub_(v1::Graph::NewStub(std::move(channel))) {
    thread_ = std::thread([this, request] {
      auto reader = stub_->Subscribe(&context_, request);
      v1::ChangeEvent event;
      while (reader->Read(&event)) {
        absl::MutexLock lock(&mu_);
        events_.push_back({event, absl::Now()});
      }
      reader->Finish();
    });
  }
  ~Subscriber() {
    context_.TryCancel();
    thread_.join();
  }
  // When the first change of `key` arrived (waits up to `timeout`).
  std::optional<absl::Time> WaitForKey(const std::string& key,
                                       absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    std::optional<absl::Time> at;
    auto seen = [&] {
      for (const auto& [event, time] : events_) {
        const std::string& changed = event.has_entity()
                                         ? event.entity().key()
                                         : event.relationship().key();
        if (changed == key) {
          at = time;
          return true;
        }
      }
      return false;
    };
    mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
    return at;
  }

 private:
  std::unique_ptr<v1::Graph::Stub> stub_;
  grpc::ClientContext context_;
  absl::Mutex mu_;
  std::vector<std::pair<v1::ChangeEvent, absl::Time>> events_
      ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class WebhooksTest : public ::testing::TestWithParam<ClusterStore> {
 protected:
  void SetUp() override {
    generator_.seed = 61;
    generator_.login = kLogin;
    generator_.orgs = 1;
    generator_.projects_per_org = 2;
    generator_.pipelines_per_project = 3;
    generator_.workflows_per_pipeline = 1;
    generator_.jobs_per_workflow = 2;
    generator_.contexts_per_org = 1;
    auto dataset = fakes::GenerateDataset(generator_);
    ASSERT_TRUE(dataset.ok());
    dataset_ = *dataset;
    webhook_port_ = FreePort();
    ClusterOptions options;
    options.store = GetParam();
    options.workers = 1;
    std::vector<std::string> fake_flags = FakeCircleCiFlags(generator_, 5);
    // The coordinator's endpoint serves TLS with the cluster's certificate.
    fake_flags.push_back("--webhook_ca_file={ca_file}");
    options.fakes["circleci"] = CircleCiFake(fake_flags);
    options.coordinator_flags = {
        absl::StrCat("--webhook_listen=127.0.0.1:", webhook_port_)};
    cluster_ = std::make_unique<Cluster>(options);
    ASSERT_TRUE(cluster_->Start().ok());
    ASSERT_EQ(CreateCircleCiInstance(
                  *cluster_, "ci", kLogin, kCircleCiToken,
                  {"--config", absl::StrCat("webhookSecret=", kSecret)})
                  .exit_code,
              0);
  }

  std::string Endpoint() const {
    return absl::StrCat("https://127.0.0.1:", webhook_port_, "/webhooks/ci");
  }

  // The fake's control API: POST `body` to `path`; the response.
  httplib::Result FakePost(const std::string& path, const std::string& body) {
    httplib::Client client(cluster_->fake_url("circleci"));
    return client.Post(path.c_str(), body, "application/json");
  }

  void RegisterWebhook() {
    auto registered =
        FakePost("/_control/webhooks",
                 absl::StrCat(R"({"url":")", Endpoint(), R"(","secret":")",
                              kSecret, R"("})"));
    ASSERT_TRUE(registered);
    ASSERT_EQ(registered->status, 201) << registered->body;
  }

  void SetJobStatus(const std::string& job_id, const std::string& status) {
    auto changed =
        FakePost("/_control/mutations",
                 absl::StrCat(R"({"op":"set_job_status","id":")", job_id,
                              R"(","status":")", status, R"("})"));
    ASSERT_TRUE(changed);
    ASSERT_EQ(changed->status, 200) << changed->body;
  }

  // Runs "ci" to its end; returns the run (with its change counts).
  v1::Run RunToEnd(bool full) { return FinishRun(*cluster_, "ci", full); }

  int64_t LastSequence() { return testing::LastSequence(*cluster_, "ci"); }

  std::string JobStatus(const std::string& job_id) {
    auto stub = v1::Graph::NewStub(cluster_->NewChannel());
    grpc::ClientContext context;
    v1::GetEntityRequest request;
    request.set_instance_id("ci");
    request.set_key("circleci_job:" + job_id);
    v1::Entity entity;
    const grpc::Status status = stub->GetEntity(&context, request, &entity);
    if (!status.ok()) return status.error_message();
    auto found = entity.properties().find("status");
    return found == entity.properties().end() ? ""
                                              : found->second.string_value();
  }

  int RunCount() {
    auto admin = v1::Admin::NewStub(cluster_->NewChannel());
    grpc::ClientContext context;
    v1::ListRunsRequest request;
    request.set_instance_id("ci");
    v1::ListRunsResponse response;
    EXPECT_TRUE(admin->ListRuns(&context, request, &response).ok());
    return response.runs_size();
  }

  fakes::GeneratorOptions generator_;
  fakes::Dataset dataset_;
  int webhook_port_ = 0;
  std::unique_ptr<Cluster> cluster_;
};

TEST_P(WebhooksTest, AChangedJobReachesASubscriberWithoutARun) {
  RunToEnd(/*full=*/true);
  const int runs = RunCount();
  ASSERT_NO_FATAL_FAILURE(RegisterWebhook());
  const fakes::Job& job = dataset_.jobs[0];
  const std::string new_status = job.status == "failed" ? "success" : "failed";
  v1::SubscribeRequest request;
  request.add_instance_ids("ci");
  request.set_after_sequence(LastSequence());
  Subscriber subscriber(cluster_->NewChannel(), request);

  const absl::Time changed_at = absl::Now();
  ASSERT_NO_FATAL_FAILURE(SetJobStatus(job.id, new_status));
  std::optional<absl::Time> seen =
      subscriber.WaitForKey("circleci_job:" + job.id, absl::Seconds(10));
  ASSERT_TRUE(seen.has_value()) << cluster_->AllLogs();
  // The figure docs/performance.md quotes ("Webhooks").
  std::cout << "webhook-to-subscriber latency: "
            << absl::ToDoubleMilliseconds(*seen - changed_at) << " ms\n";
  EXPECT_EQ(JobStatus(job.id), new_status);
  EXPECT_EQ(RunCount(), runs);  // no run was started
  // The webhook stored exactly what a run stores: a full run changes nothing.
  const v1::Run after = RunToEnd(/*full=*/true);
  EXPECT_EQ(
      after.created_count() + after.updated_count() + after.deleted_count(), 0)
      << after.DebugString();
}

TEST_P(WebhooksTest, InstallRegistersEveryProjectAndDeliveriesFollow) {
  RunToEnd(/*full=*/true);
  const std::string base = absl::StrCat("https://127.0.0.1:", webhook_port_);
  CommandResult installed =
      cluster_->Cli({"instance", "webhooks", "install", "ci", "--url", base});
  ASSERT_EQ(installed.exit_code, 0) << installed.out << installed.err;
  EXPECT_TRUE(absl::StrContains(installed.out, Endpoint())) << installed.out;
  // One registration per project, made through CircleCI's API.
  httplib::Client fake(cluster_->fake_url("circleci"));
  auto targets = fake.Get("/_control/webhooks");
  ASSERT_TRUE(targets);
  rapidjson::Document listed;
  listed.Parse(targets->body.c_str());
  ASSERT_TRUE(listed.IsObject() && listed["targets"].IsArray())
      << targets->body;
  EXPECT_EQ(listed["targets"].Size(), dataset_.projects.size())
      << targets->body;
  // Installing again keeps them.
  CommandResult again =
      cluster_->Cli({"instance", "webhooks", "install", "ci", "--url", base});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_FALSE(absl::StrContains(again.out, "created")) << again.out;
  targets = fake.Get("/_control/webhooks");
  listed.Parse(targets->body.c_str());
  EXPECT_EQ(listed["targets"].Size(), dataset_.projects.size());

  // A job changes: its project's registration delivers it.
  const fakes::Job& job = dataset_.jobs[3];
  const std::string new_status = job.status == "failed" ? "success" : "failed";
  v1::SubscribeRequest request;
  request.add_instance_ids("ci");
  request.set_after_sequence(LastSequence());
  Subscriber subscriber(cluster_->NewChannel(), request);
  ASSERT_NO_FATAL_FAILURE(SetJobStatus(job.id, new_status));
  ASSERT_TRUE(subscriber.WaitForKey("circleci_job:" + job.id, absl::Seconds(10))
                  .has_value())
      << cluster_->AllLogs();
  EXPECT_EQ(JobStatus(job.id), new_status);
}

TEST_P(WebhooksTest, ABadSignatureIsRefusedAndAReplayChangesNothing) {
  RunToEnd(/*full=*/true);
  ASSERT_NO_FATAL_FAILURE(RegisterWebhook());
  const fakes::Job& job = dataset_.jobs[1];
  ASSERT_NO_FATAL_FAILURE(
      SetJobStatus(job.id, job.status == "failed" ? "success" : "failed"));
  const int64_t sequence = LastSequence();

  // The fake delivers the same event again (a provider retry): 200, no change.
  auto redelivered = FakePost("/_control/webhooks/redeliver", "{}");
  ASSERT_TRUE(redelivered);
  EXPECT_EQ(redelivered->status, 200) << redelivered->body;
  EXPECT_TRUE(absl::StrContains(redelivered->body, "200")) << redelivered->body;
  EXPECT_EQ(LastSequence(), sequence);

  // A forged delivery: 401 and nothing stored.
  const std::string forged = absl::StrCat(
      R"({"type":"job-completed","id":"forged-1","happened_at":"2026-12-03T00:00:00Z",)",
      R"("workflow":{"id":")", job.workflow_id,
      R"("},"pipeline":{"id":"x"},"job":{"id":")", job.id, R"("}})");
  httplib::SSLClient coordinator("127.0.0.1", webhook_port_);
  coordinator.set_ca_cert_path(cluster_->ca_file().c_str());
  coordinator.enable_server_certificate_verification(true);
  for (const std::string& signature :
       {absl::StrCat("v1=", HmacSha256Hex("not-the-secret", forged)),
        std::string("v1=00"), std::string("")}) {
    httplib::Headers headers;
    if (!signature.empty()) headers.emplace("circleci-signature", signature);
    auto refused =
        coordinator.Post("/webhooks/ci", headers, forged, "application/json");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401) << refused->body;
  }
  // An unknown instance looks the same as a bad signature.
  auto unknown = coordinator.Post(
      "/webhooks/nobody",
      {{"circleci-signature", "v1=" + HmacSha256Hex(kSecret, forged)}}, forged,
      "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 401);
  // Too large a body: 413 before it is read.
  auto large = coordinator.Post("/webhooks/ci", std::string(2 << 20, 'x'),
                                "application/json");
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 413);
  EXPECT_EQ(LastSequence(), sequence);
}

TEST_P(WebhooksTest, ARunThatReadTheJobEarlierDoesNotUndoTheWebhook) {
  RunToEnd(/*full=*/true);
  ASSERT_NO_FATAL_FAILURE(RegisterWebhook());
  const fakes::Job& job = dataset_.jobs[2];
  const std::string new_status = job.status == "failed" ? "success" : "failed";
  // A run reads every job, then waits on project env vars (slow).
  auto slowed =
      FakePost("/_control/faults", R"({"spec":"envvar:latency:ms=3000"})");
  ASSERT_TRUE(slowed);
  ASSERT_EQ(slowed->status, 200) << slowed->body;
  const int64_t run = StartRun(*cluster_, "ci", /*full=*/true);
  // Wait until the run has read the jobs (its step ended).
  auto admin = v1::Admin::NewStub(cluster_->NewChannel());
  bool jobs_read = false;
  for (int i = 0; i < 200 && !jobs_read; ++i) {
    grpc::ClientContext context;
    v1::GetRunRequest get;
    get.set_run_id(run);
    v1::GetRunResponse response;
    ASSERT_TRUE(admin->GetRun(&context, get, &response).ok());
    for (const v1::StepRun& step : response.run().steps()) {
      jobs_read = jobs_read || (step.step_id() == "fetch-workflow-jobs" &&
                                step.status() == v1::STEP_STATUS_SUCCESS);
    }
    if (!jobs_read) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(jobs_read) << cluster_->AllLogs();
  // The job changes after the run read it; the webhook applies at once.
  ASSERT_NO_FATAL_FAILURE(SetJobStatus(job.id, new_status));
  EXPECT_EQ(JobStatus(job.id), new_status);
  CommandResult watched = cluster_->Cli({"run", "watch", absl::StrCat(run)});
  EXPECT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  // The run staged the job as it was; the webhook's newer version stays.
  EXPECT_EQ(JobStatus(job.id), new_status);
  // The next run read the provider after the webhook: it agrees.
  httplib::Client(cluster_->fake_url("circleci")).Delete("/_control/faults");
  RunToEnd(/*full=*/true);
  EXPECT_EQ(JobStatus(job.id), new_status);
}

// Heroku app webhooks: a renamed app and a removed app (with its add-ons)
// reach a subscriber at once, as the objects a run makes.
class HerokuWebhooksTest : public ::testing::TestWithParam<ClusterStore> {
 protected:
  void SetUp() override {
    webhook_port_ = FreePort();
    ClusterOptions options;
    options.store = GetParam();
    options.workers = 1;
    options.fakes["heroku"] =
        Fake("heroku", {"--mode=generated", "--token=hk-key:global:admin",
                        "--accounts=1", "--shared_members=0",
                        "--teams_per_account=1", "--apps_per_team=3",
                        "--addons_per_app=2", "--webhook_ca_file={ca_file}"});
    options.coordinator_flags = {
        absl::StrCat("--webhook_listen=127.0.0.1:", webhook_port_)};
    cluster_ = std::make_unique<Cluster>(options);
    const absl::Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
    CommandResult created = cluster_->Cli(
        {"instance", "create", "hk", "--integration", "heroku", "--config",
         "apiKey=hk-key", "--config", "baseUrl=" + cluster_->fake_url("heroku"),
         "--config", absl::StrCat("webhookSecret=", kSecret)});
    ASSERT_EQ(created.exit_code, 0) << created.err;
  }

  httplib::Result FakePost(const std::string& path, const std::string& body) {
    httplib::Client client(cluster_->fake_url("heroku"));
    return client.Post(path.c_str(), body, "application/json");
  }

  std::vector<v1::Entity> Apps() {
    auto stub = v1::Graph::NewStub(cluster_->NewChannel());
    grpc::ClientContext context;
    v1::ListEntitiesRequest request;
    request.mutable_filter()->set_instance_id("hk");
    request.mutable_filter()->set_type("heroku_application");
    v1::ListEntitiesResponse response;
    EXPECT_TRUE(stub->ListEntities(&context, request, &response).ok());
    return {response.entities().begin(), response.entities().end()};
  }

  int webhook_port_ = 0;
  std::unique_ptr<Cluster> cluster_;
};

TEST_P(HerokuWebhooksTest, RenamedAndRemovedAppsReachASubscriberAsARunWould) {
  FinishRun(*cluster_, "hk", /*full=*/true);
  std::vector<v1::Entity> apps = Apps();
  ASSERT_EQ(apps.size(), 3u);
  auto registered =
      FakePost("/_control/webhooks",
               absl::StrCat(R"({"url":"https://127.0.0.1:)", webhook_port_,
                            R"(/webhooks/hk","secret":")", kSecret, R"("})"));
  ASSERT_TRUE(registered);
  ASSERT_EQ(registered->status, 201) << registered->body;
  v1::SubscribeRequest request;
  request.add_instance_ids("hk");
  request.set_after_sequence(LastSequence(*cluster_, "hk"));
  Subscriber subscriber(cluster_->NewChannel(), request);

  const std::string renamed = apps[0].key();
  const std::string removed = apps[1].key();
  auto mutated = FakePost(
      "/_control/mutations",
      absl::StrCat(
          R"([{"op":"rename_app","id":")", renamed,
          R"(","name":"renamed-by-webhook"},{"op":"remove_app","id":")",
          removed, R"("}])"));
  ASSERT_TRUE(mutated);
  ASSERT_EQ(mutated->status, 200) << mutated->body;
  ASSERT_TRUE(subscriber.WaitForKey(renamed, absl::Seconds(10)).has_value())
      << cluster_->AllLogs();
  ASSERT_TRUE(subscriber.WaitForKey(removed, absl::Seconds(10)).has_value());
  apps = Apps();
  ASSERT_EQ(apps.size(), 2u);
  for (const v1::Entity& app : apps) {
    EXPECT_NE(app.key(), removed);
    if (app.key() == renamed) {
      EXPECT_EQ(app.properties().at("name").string_value(),
                "renamed-by-webhook");
    }
  }
  // The same objects a run makes, deletions included: a full run creates and
  // deletes nothing. It updates only the renamed app's add-ons, whose raw
  // data embeds their app's name (Heroku sends no add-on event for that).
  int renamed_addons = 0;
  {
    auto stub = v1::Graph::NewStub(cluster_->NewChannel());
    grpc::ClientContext context;
    v1::ListEntitiesRequest addons;
    addons.mutable_filter()->set_instance_id("hk");
    addons.mutable_filter()->set_type("heroku_addon");
    v1::ListEntitiesResponse response;
    ASSERT_TRUE(stub->ListEntities(&context, addons, &response).ok());
    for (const v1::Entity& addon : response.entities()) {
      renamed_addons +=
          addon.properties().at("applicationId").string_value() == renamed;
    }
  }
  ASSERT_GT(renamed_addons, 0);
  const int64_t before_run = LastSequence(*cluster_, "hk");
  const v1::Run after = FinishRun(*cluster_, "hk", /*full=*/true);
  const std::string changes =
      cluster_
          ->Cli({"subscribe", "--instance", "hk", "--from",
                 absl::StrCat(before_run), "--until-caught-up"})
          .out;
  EXPECT_EQ(after.created_count() + after.deleted_count(), 0) << changes;
  EXPECT_EQ(after.updated_count(), renamed_addons) << changes;
}

INSTANTIATE_TEST_SUITE_P(Stores, HerokuWebhooksTest,
                         ::testing::ValuesIn(StoresUnderTest()),
                         StoreParamName);

INSTANTIATE_TEST_SUITE_P(Stores, WebhooksTest,
                         ::testing::ValuesIn(StoresUnderTest()),
                         StoreParamName);

}  // namespace
}  // namespace graphmill::testing
