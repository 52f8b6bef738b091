// The whole CLI in-process (RunCli) against fake Admin and Graph services on
// 127.0.0.1: output, exit statuses, paging, and the one-line errors.
#include "client/cli.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_context.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/json_output.h"
#include "client/render.h"
#include "client/table.h"
#include "common/graph_json.h"
#include "common/graph_objects.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "rapidjson/document.h"

namespace graphmill::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;

constexpr int64_t kStartMs = 1711015200000;  // 2024-03-21T10:00:00Z
constexpr int kEntityCount = 1100;           // 3 pages of 500
// What the fake Admin.CreateToken returns.
constexpr char kFakeToken[] = "gm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

v1::Entity FakeEntity(int index) {
  v1::Entity entity;
  entity.set_key(absl::StrFormat("fake_entity:%04d", index));
  entity.set_type("fake_entity");
  entity.add_classes("Resource");
  (*entity.mutable_properties())["name"] =
      StringValue(absl::StrCat("e", index));
  (*entity.mutable_properties())["displayName"] =
      StringValue(absl::StrCat("Entity ", index));
  v1::RawData* raw = entity.add_raw_data();
  raw->set_name("default");
  raw->set_json(absl::StrCat(R"({"id":)", index, "}"));
  return entity;
}

v1::Run FakeRun(int64_t id, v1::RunStatus status) {
  v1::Run run;
  run.set_id(id);
  run.set_instance_id("ci-prod");
  run.set_status(status);
  run.set_trigger(v1::RUN_TRIGGER_MANUAL);
  run.set_created_at_ms(kStartMs);
  if (IsFinished(status)) run.set_ended_at_ms(kStartMs + 2'000);
  v1::StepRun& step = *run.add_steps();
  step.set_step_id("fetch-users");
  step.set_status(status == v1::RUN_STATUS_RUNNING ? v1::STEP_STATUS_RUNNING
                                                   : v1::STEP_STATUS_SUCCESS);
  step.set_started_at_ms(kStartMs);
  if (IsFinished(status)) step.set_ended_at_ms(kStartMs + 2'000);
  (*step.mutable_type_counts())["fake_user"] = 4;
  (*step.mutable_type_counts())["fake_account_has_user"] = 4;
  if (status == v1::RUN_STATUS_FAILED) run.set_error("invalid credentials");
  return run;
}

v1::UploadStatus FakeUpload(v1::UploadState state, int64_t entities) {
  v1::UploadStatus upload;
  upload.set_state(state);
  upload.set_entities_uploaded(entities);
  if (state != v1::UPLOAD_STATE_PENDING) upload.set_job_id("job-7");
  if (state == v1::UPLOAD_STATE_FAILED) upload.set_error("HTTP 401 from J1");
  return upload;
}

// "full": every setting, as GetInstance returns it (secrets masked).
v1::Instance FullInstance() {
  v1::Instance instance;
  instance.set_id("full");
  instance.set_integration("fake");
  instance.set_created_at_ms(kStartMs);
  instance.set_updated_at_ms(kStartMs);
  instance.set_next_run_at_ms(kStartMs + 3'600'000);
  (*instance.mutable_config())["apiKey"] = "***";
  (*instance.mutable_config())["orgSlug"] = "gh/acme";
  (*instance.mutable_config())["extraProjects"] = "gh/acme/x";
  instance.mutable_schedule()->set_interval(v1::POLLING_INTERVAL_ONE_HOUR);
  instance.mutable_schedule()->set_jitter_seconds(180);
  instance.add_disabled_steps("fetch-envvars");
  instance.add_disabled_steps("fetch-jobs");
  instance.set_rate_limit_per_second(2);
  instance.mutable_incremental()->set_disabled(true);
  v1::JupiterOneUpload& upload = *instance.mutable_upload();
  upload.set_account_id("acct-1");
  upload.set_api_token("***");
  upload.set_integration_instance_id("ii-1");
  return instance;
}

// What a server shows of a stored instance: secrets masked.
v1::Instance Masked(v1::Instance instance) {
  if (instance.config().contains("apiKey")) {
    (*instance.mutable_config())["apiKey"] = "***";
  }
  if (instance.has_upload()) instance.mutable_upload()->set_api_token("***");
  return instance;
}

class FakeAdmin final : public v1::Admin::Service {
 public:
  grpc::Status ListIntegrations(
      grpc::ServerContext* context, const v1::ListIntegrationsRequest*,
      v1::ListIntegrationsResponse* response) override {
    Record(context);
    v1::IntegrationDefinition& definition = *response->add_integrations();
    definition.set_name("fake");
    definition.set_version("1.0.0");
    definition.set_display_name("Fake Provider");
    v1::StepDefinition& step = *definition.add_steps();
    step.set_id("fetch-users");
    step.add_entities()->set_type("fake_user");
    step.add_relationships()->set_type("fake_account_has_user");
    v1::StepDefinition& projects = *definition.add_steps();
    projects.set_id("fetch-projects");
    projects.set_name("Fetch projects");
    projects.add_depends_on("fetch-users");
    projects.set_parent_type("fake_user");
    v1::ConfigField& key = *definition.add_config_fields();
    key.set_name("apiKey");
    key.set_type(v1::CONFIG_FIELD_TYPE_STRING);
    key.set_secret(true);
    key.set_description("API key");
    v1::ConfigField& host = *definition.add_config_fields();
    host.set_name("apiHost");
    host.set_type(v1::CONFIG_FIELD_TYPE_STRING);
    host.set_optional(true);
    host.set_default_value("api.fake.test");
    return grpc::Status::OK;
  }

  grpc::Status CreateInstance(grpc::ServerContext* context,
                              const v1::CreateInstanceRequest* request,
                              v1::Instance* response) override {
    Record(context);
    {
      absl::MutexLock lock(&mutex_);
      created_ = request->instance();
    }
    if (!request->instance().config().contains("apiKey")) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("instance '", request->instance().id(),
                                       "': config field 'apiKey' is required"));
    }
    *response = Masked(request->instance());
    response->set_created_at_ms(kStartMs);
    response->set_updated_at_ms(kStartMs);
    return grpc::Status::OK;
  }

  grpc::Status GetInstance(grpc::ServerContext* context,
                           const v1::GetInstanceRequest* request,
                           v1::Instance* response) override {
    Record(context);
    if (request->instance_id() == "slow") {
      // Answers only when the client gives up.
      while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(10));
      return grpc::Status::CANCELLED;
    }
    if (request->instance_id() == "full") {
      *response = FullInstance();
      return grpc::Status::OK;
    }
    if (request->instance_id() != "ci-prod") {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("instance '", request->instance_id(), "' not found"));
    }
    response->set_id("ci-prod");
    response->set_integration("fake");
    (*response->mutable_config())["apiKey"] = "***";
    return grpc::Status::OK;
  }

  grpc::Status ListInstances(grpc::ServerContext* context,
                             const v1::ListInstancesRequest*,
                             v1::ListInstancesResponse* response) override {
    Record(context);
    v1::Instance& instance = *response->add_instances();
    instance.set_id("ci-prod");
    instance.set_integration("fake");
    instance.set_created_at_ms(kStartMs);
    return grpc::Status::OK;
  }

  grpc::Status StartRun(grpc::ServerContext* context,
                        const v1::StartRunRequest* request,
                        v1::Run* response) override {
    Record(context);
    if (request->instance_id() == "no-workers") {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "no connected worker implements integration 'fake'");
    }
    if (request->instance_id() == "busy") {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "instance 'busy' has active run 7");
    }
    *response = FakeRun(12, v1::RUN_STATUS_VALIDATING);
    response->set_instance_id(request->instance_id());
    {
      absl::MutexLock lock(&mutex_);
      last_start_full_ = request->full();
    }
    return grpc::Status::OK;
  }

  grpc::Status GetRun(grpc::ServerContext* context,
                      const v1::GetRunRequest* request,
                      v1::GetRunResponse* response) override {
    Record(context);
    *response->mutable_run() =
        FakeRun(request->run_id(), v1::RUN_STATUS_PARTIAL);
    *response->mutable_run()->mutable_upload() =
        FakeUpload(v1::UPLOAD_STATE_FAILED, 40);
    v1::Event& event = *response->add_events();
    event.set_time_ms(kStartMs + 1'000);
    event.set_level(v1::EVENT_LEVEL_WARN);
    event.set_name("warn_missing_permission");
    event.set_description("403 on team x");
    return grpc::Status::OK;
  }

  grpc::Status ListRuns(grpc::ServerContext* context,
                        const v1::ListRunsRequest* request,
                        v1::ListRunsResponse* response) override {
    Record(context);
    {
      absl::MutexLock lock(&mutex_);
      list_runs_ = *request;
    }
    *response->add_runs() = FakeRun(13, v1::RUN_STATUS_SUCCEEDED);
    response->mutable_runs(0)->set_trigger(v1::RUN_TRIGGER_SCHEDULE);
    *response->mutable_runs(0)->mutable_upload() =
        FakeUpload(v1::UPLOAD_STATE_SUCCEEDED, 8);
    *response->add_runs() = FakeRun(12, v1::RUN_STATUS_FAILED);
    return grpc::Status::OK;
  }

  grpc::Status UpdateInstance(grpc::ServerContext* context,
                              const v1::UpdateInstanceRequest* request,
                              v1::Instance* response) override {
    Record(context);
    {
      absl::MutexLock lock(&mutex_);
      updates_.push_back(request->instance());
    }
    if (request->instance().config().contains("bad")) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("instance '", request->instance().id(),
                                       "': unknown config field 'bad'"));
    }
    *response = Masked(request->instance());
    response->set_created_at_ms(kStartMs);
    response->set_updated_at_ms(kStartMs + 60'000);
    return grpc::Status::OK;
  }

  grpc::Status DeleteInstance(grpc::ServerContext* context,
                              const v1::DeleteInstanceRequest* request,
                              v1::DeleteInstanceResponse*) override {
    Record(context);
    if (request->instance_id() == "busy") {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "instance 'busy' has active run 7");
    }
    absl::MutexLock lock(&mutex_);
    deleted_.push_back(request->instance_id());
    return grpc::Status::OK;
  }

  grpc::Status ValidateInstance(
      grpc::ServerContext* context, const v1::ValidateInstanceRequest* request,
      v1::ValidateInstanceResponse* response) override {
    Record(context);
    if (request->instance_id() == "nope") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "instance 'nope' not found");
    }
    const bool valid = request->instance_id() == "ci-prod";
    response->set_valid(valid);
    response->set_message(valid ? "authenticated as kim"
                                : "HTTP 401 from /api/v2/me: invalid token");
    response->set_worker_id("w-1");
    return grpc::Status::OK;
  }

  // "ci-prod": two projects, one created now, one that had the webhook;
  // "full": one that the provider refused; others are unknown.
  grpc::Status InstallWebhooks(grpc::ServerContext* context,
                               const v1::InstallWebhooksRequest* request,
                               v1::InstallWebhooksResponse* response) override {
    Record(context);
    if (request->instance_id() != "ci-prod" &&
        request->instance_id() != "full") {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("instance '", request->instance_id(), "' not found"));
    }
    if (request->url() == "http://hooks.example.com") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "url must use https://");
    }
    response->set_endpoint_url(
        absl::StrCat(request->url(), "/webhooks/", request->instance_id()));
    v1::WebhookInstallResult& first = *response->add_results();
    first.set_resource("fake_project:1");
    first.set_created(true);
    v1::WebhookInstallResult& second = *response->add_results();
    second.set_resource("fake_project:2");
    if (request->instance_id() == "full") {
      second.set_error("PERMISSION_DENIED: POST /webhook: HTTP 403");
    }
    return grpc::Status::OK;
  }

  // Run 12 is active and gets cancelled; 13 has ended.
  grpc::Status CancelRun(grpc::ServerContext* context,
                         const v1::CancelRunRequest* request,
                         v1::Run* response) override {
    Record(context);
    if (request->run_id() == 13) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "run 13 has ended (SUCCEEDED)");
    }
    *response = FakeRun(request->run_id(), v1::RUN_STATUS_CANCELLED);
    return grpc::Status::OK;
  }

  // Run 12's failed upload restarts; 14 has no upload.
  grpc::Status RetryUpload(grpc::ServerContext* context,
                           const v1::RetryUploadRequest* request,
                           v1::Run* response) override {
    Record(context);
    if (request->run_id() == 14) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "run 14: instance 'ci-prod' has no upload");
    }
    *response = FakeRun(request->run_id(), v1::RUN_STATUS_SUCCEEDED);
    *response->mutable_upload() = FakeUpload(v1::UPLOAD_STATE_PENDING, 0);
    return grpc::Status::OK;
  }

  // Run 12 and 20 succeed, 21 ends PARTIAL, 22 FAILED; 23's stream ends while
  // it runs.
  grpc::Status WatchRun(grpc::ServerContext* context,
                        const v1::WatchRunRequest* request,
                        grpc::ServerWriter<v1::RunUpdate>* writer) override {
    Record(context);
    const int64_t id = request->run_id();
    if (id == 404) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "run 404 not found");
    }
    v1::RunUpdate update;
    *update.mutable_run() = FakeRun(id, v1::RUN_STATUS_RUNNING);
    writer->Write(update);
    v1::Event& event = *update.add_new_events();
    event.set_time_ms(kStartMs + 1'000);
    event.set_level(v1::EVENT_LEVEL_WARN);
    event.set_name("warn_missing_permission");
    event.set_step_id("fetch-users");
    event.set_description("403 on team x");
    writer->Write(update);
    if (id == 23) return grpc::Status::OK;
    update.clear_new_events();
    const v1::RunStatus end = id == 21   ? v1::RUN_STATUS_PARTIAL
                              : id == 22 ? v1::RUN_STATUS_FAILED
                                         : v1::RUN_STATUS_SUCCEEDED;
    *update.mutable_run() = FakeRun(id, end);
    if (id == 24) {
      *update.mutable_run()->mutable_upload() =
          FakeUpload(v1::UPLOAD_STATE_UPLOADING, 0);
      writer->Write(update);
      *update.mutable_run()->mutable_upload() =
          FakeUpload(v1::UPLOAD_STATE_SUCCEEDED, 8);
    }
    writer->Write(update);
    return grpc::Status::OK;
  }

  // "taken" exists already.
  grpc::Status CreateToken(grpc::ServerContext* context,
                           const v1::CreateTokenRequest* request,
                           v1::CreateTokenResponse* response) override {
    Record(context);
    if (request->name() == "taken") {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "token 'taken' already exists");
    }
    response->set_token(kFakeToken);
    response->set_name(request->name());
    response->set_role(request->role());
    return grpc::Status::OK;
  }

  grpc::Status ListTokens(grpc::ServerContext* context,
                          const v1::ListTokensRequest*,
                          v1::ListTokensResponse* response) override {
    Record(context);
    v1::TokenInfo& admin = *response->add_tokens();
    admin.set_name("bootstrap-admin");
    admin.set_role(v1::TOKEN_ROLE_ADMIN);
    admin.set_created_at_ms(kStartMs);
    v1::TokenInfo& worker = *response->add_tokens();
    worker.set_name("pool-a");
    worker.set_role(v1::TOKEN_ROLE_WORKER);
    worker.set_created_at_ms(kStartMs + 60'000);
    return grpc::Status::OK;
  }

  // "nope" does not exist.
  grpc::Status RevokeToken(grpc::ServerContext* context,
                           const v1::RevokeTokenRequest* request,
                           v1::RevokeTokenResponse*) override {
    Record(context);
    if (request->name() == "nope") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "token 'nope' not found");
    }
    absl::MutexLock lock(&mutex_);
    revoked_.push_back(request->name());
    return grpc::Status::OK;
  }

  std::vector<std::string> revoked() {
    absl::MutexLock lock(&mutex_);
    return revoked_;
  }

  v1::Instance created() {
    absl::MutexLock lock(&mutex_);
    return created_;
  }
  bool last_start_full() {
    absl::MutexLock lock(&mutex_);
    return last_start_full_;
  }
  v1::ListRunsRequest list_runs() {
    absl::MutexLock lock(&mutex_);
    return list_runs_;
  }
  std::vector<v1::Instance> updates() {
    absl::MutexLock lock(&mutex_);
    return updates_;
  }
  std::vector<std::string> deleted() {
    absl::MutexLock lock(&mutex_);
    return deleted_;
  }
  std::string last_authorization() {
    absl::MutexLock lock(&mutex_);
    return last_authorization_;
  }

 private:
  void Record(grpc::ServerContext* context) {
    absl::MutexLock lock(&mutex_);
    auto it = context->client_metadata().find("authorization");
    last_authorization_ =
        it == context->client_metadata().end()
            ? ""
            : std::string(it->second.data(), it->second.size());
  }

  absl::Mutex mutex_;
  v1::Instance created_ ABSL_GUARDED_BY(mutex_);
  v1::ListRunsRequest list_runs_ ABSL_GUARDED_BY(mutex_);
  std::vector<v1::Instance> updates_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::string> deleted_ ABSL_GUARDED_BY(mutex_);
  std::string last_authorization_ ABSL_GUARDED_BY(mutex_);
  bool last_start_full_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::string> revoked_ ABSL_GUARDED_BY(mutex_);
};

// Sequences the fake change log no longer retains.
constexpr int64_t kEarliestRetained = 40;

v1::ChangeEvent FakeChange(int64_t sequence, v1::ChangeKind kind) {
  v1::ChangeEvent event;
  event.set_sequence(sequence);
  event.set_kind(kind);
  event.set_instance_id("ci-prod");
  event.set_run_id(12);
  event.set_time_ms(kStartMs + sequence);
  return event;
}

// Entities of instance "big": kBigRawBytes of raw data each, so two of them
// are more than gRPC's default 4 MiB receive limit.
constexpr int kBigEntityCount = 5;
constexpr size_t kBigRawBytes = 3 << 20;

v1::Entity BigEntity(int index) {
  v1::Entity entity = FakeEntity(index);
  entity.mutable_raw_data(0)->set_json(
      absl::StrCat(R"({"id":)", index, R"(,"blob":")",
                   std::string(kBigRawBytes, 'x'), R"("})"));
  return entity;
}

// Instance "fan": one fake_account that HAS kFanJobCount fake_jobs, the
// shape folding is for.
constexpr int kFanJobCount = 30;

v1::Entity FanAccount() {
  v1::Entity account;
  account.set_key("fake_account:1");
  account.set_type("fake_account");
  account.add_classes("Account");
  return account;
}

v1::Entity FanJob(int index) {
  v1::Entity job;
  job.set_key(absl::StrFormat("fake_job:%02d", index));
  job.set_type("fake_job");
  job.add_classes("Task");
  return job;
}

// Like the coordinator: raw data only when the request asks for it.
v1::Entity Trimmed(v1::Entity entity, bool include_raw_data) {
  if (!include_raw_data) entity.clear_raw_data();
  return entity;
}

// Serves kEntityCount entities in pages; a page token is the offset of the next
// page. Instance "half" has entities but its relationships fail; instance
// "big" serves kBigEntityCount big entities, two per page whatever is asked
// (as the coordinator bounds pages by bytes).
class FakeGraph final : public v1::Graph::Service {
 public:
  grpc::Status ListEntities(grpc::ServerContext*,
                            const v1::ListEntitiesRequest* request,
                            v1::ListEntitiesResponse* response) override {
    {
      absl::MutexLock lock(&mutex_);
      entity_requests_.push_back(*request);
    }
    if (request->filter().instance_id() == "big") {
      int offset = 0;
      if (!request->page_token().empty() &&
          !absl::SimpleAtoi(request->page_token(), &offset)) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "bad page token");
      }
      const int end = std::min(kBigEntityCount, offset + 2);
      for (int i = offset; i < end; ++i) {
        *response->add_entities() =
            Trimmed(BigEntity(i), request->include_raw_data());
      }
      if (end < kBigEntityCount) {
        response->set_next_page_token(absl::StrCat(end));
      }
      return grpc::Status::OK;
    }
    if (request->filter().instance_id() == "fan") {
      *response->add_entities() = FanAccount();
      for (int i = 0; i < kFanJobCount; ++i) {
        *response->add_entities() = FanJob(i);
      }
      return grpc::Status::OK;
    }
    if (request->filter().instance_id() != "ci-prod" &&
        request->filter().instance_id() != "half") {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("instance '", request->filter().instance_id(),
                       "' not found"));
    }
    int offset = 0;
    if (!request->page_token().empty() &&
        !absl::SimpleAtoi(request->page_token(), &offset)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad page token");
    }
    const int page_size =
        request->page_size() == 0 ? 500 : request->page_size();
    const int end = std::min(kEntityCount, offset + page_size);
    for (int i = offset; i < end; ++i) {
      *response->add_entities() =
          Trimmed(FakeEntity(i), request->include_raw_data());
    }
    if (end < kEntityCount) response->set_next_page_token(absl::StrCat(end));
    return grpc::Status::OK;
  }

  grpc::Status ListRelationships(
      grpc::ServerContext*, const v1::ListRelationshipsRequest* request,
      v1::ListRelationshipsResponse* response) override {
    {
      absl::MutexLock lock(&mutex_);
      relationship_requests_.push_back(*request);
    }
    if (request->filter().instance_id() == "half") {
      return grpc::Status(grpc::StatusCode::INTERNAL, "store unavailable");
    }
    if (request->filter().instance_id() == "fan") {
      for (int i = 0; i < kFanJobCount; ++i) {
        *response->add_relationships() =
            DirectRelationship(FanAccount(), "HAS", FanJob(i));
      }
      return grpc::Status::OK;
    }
    const bool first_page = request->page_token().empty();
    for (int i = first_page ? 0 : 2; i < (first_page ? 2 : 3); ++i) {
      *response->add_relationships() =
          DirectRelationship(FakeEntity(i), "HAS", FakeEntity(i + 1));
    }
    if (first_page) response->set_next_page_token("second");
    return grpc::Status::OK;
  }

  // fake_entity:0007 and 0001 exist; fake_entity:huge is too large with raw
  // data.
  grpc::Status GetEntity(grpc::ServerContext*,
                         const v1::GetEntityRequest* request,
                         v1::Entity* response) override {
    {
      absl::MutexLock lock(&mutex_);
      get_entity_requests_.push_back(*request);
    }
    if (request->key() == "fake_entity:huge" && request->include_raw_data()) {
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          "entity 'fake_entity:huge' is 17825812 bytes with raw data, more "
          "than the 16777216-byte message limit; read it without raw data "
          "(include_raw_data = false)");
    }
    if (request->key() != "fake_entity:0007" &&
        request->key() != "fake_entity:0001") {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("entity '", request->key(), "' not found in instance '",
                       request->instance_id(), "'"));
    }
    *response =
        Trimmed(FakeEntity(request->key() == "fake_entity:0001" ? 1 : 7),
                request->include_raw_data());
    return grpc::Status::OK;
  }

  // fake_entity:0001 has 5 neighbors, served 2 per page whatever is asked;
  // odd ones point out, even ones in.
  grpc::Status ListNeighbors(grpc::ServerContext*,
                             const v1::ListNeighborsRequest* request,
                             v1::ListNeighborsResponse* response) override {
    {
      absl::MutexLock lock(&mutex_);
      neighbor_requests_.push_back(*request);
    }
    if (!absl::StartsWith(request->key(), "fake_entity:")) {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("entity '", request->key(), "' not found in instance '",
                       request->instance_id(), "'"));
    }
    // One hop further: fake_entity:0101 links back to 0001 and on to 0200;
    // the other neighbors have none.
    if (request->key() == "fake_entity:0101") {
      const v1::Entity self = FakeEntity(101);
      v1::Neighbor back;
      *back.mutable_relationship() =
          DirectRelationship(FakeEntity(1), "HAS", self);
      *back.mutable_entity() = FakeEntity(1);
      back.set_direction(v1::DIRECTION_IN);
      *response->add_neighbors() = back;
      v1::Neighbor on;
      *on.mutable_relationship() =
          DirectRelationship(self, "HAS", FakeEntity(200));
      *on.mutable_entity() = FakeEntity(200);
      on.set_direction(v1::DIRECTION_OUT);
      *response->add_neighbors() = on;
      return grpc::Status::OK;
    }
    if (request->key() != "fake_entity:0001") return grpc::Status::OK;
    int offset = 0;
    if (!request->page_token().empty() &&
        !absl::SimpleAtoi(request->page_token(), &offset)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad page token");
    }
    const int end = std::min(5, offset + 2);
    for (int i = offset; i < end; ++i) {
      *response->add_neighbors() = FakeNeighbor(i);
      if (!request->include_raw_data()) {
        response->mutable_neighbors()
            ->rbegin()
            ->mutable_entity()
            ->clear_raw_data();
      }
    }
    if (end < 5) response->set_next_page_token(absl::StrCat(end));
    return grpc::Status::OK;
  }

  static v1::Neighbor FakeNeighbor(int index) {
    const bool out = index % 2 == 1;
    const v1::Entity self = FakeEntity(1);
    const v1::Entity other = FakeEntity(100 + index);
    v1::Neighbor neighbor;
    *neighbor.mutable_relationship() =
        out ? DirectRelationship(self, "HAS", other)
            : DirectRelationship(other, "USES", self);
    *neighbor.mutable_entity() = other;
    neighbor.set_direction(out ? v1::DIRECTION_OUT : v1::DIRECTION_IN);
    return neighbor;
  }

  // after_sequence 1 is too old; instance "forever" streams one change and
  // then waits for the client to go, as does "marked" after one change and
  // the caught_up marker at 52 (if asked for); otherwise three changes, then
  // the end.
  grpc::Status Subscribe(grpc::ServerContext* context,
                         const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::ChangeEvent>* writer) override {
    {
      absl::MutexLock lock(&mutex_);
      subscribe_request_ = *request;
    }
    if (request->after_sequence() > 0 &&
        request->after_sequence() < kEarliestRetained) {
      return grpc::Status(
          grpc::StatusCode::OUT_OF_RANGE,
          absl::StrCat("changes after sequence ", request->after_sequence(),
                       " are no longer retained; the earliest available "
                       "sequence is ",
                       kEarliestRetained));
    }
    // "flaky": the first stream delivers two changes and breaks; a resumed
    // one (after 42) delivers the third and ends; anything else is refused.
    if (!request->instance_ids().empty() &&
        request->instance_ids(0) == "flaky") {
      const std::vector<v1::ChangeEvent> changes = FakeChanges();
      if (request->after_sequence() == 0) {
        writer->Write(changes[0]);
        writer->Write(changes[1]);
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server restarting");
      }
      if (request->after_sequence() != changes[1].sequence()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "resumed from the wrong sequence");
      }
      writer->Write(changes[2]);
      return grpc::Status::OK;
    }
    if (!request->instance_ids().empty() &&
        request->instance_ids(0) == "broken") {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server restarting");
    }
    if (!request->instance_ids().empty() &&
        (request->instance_ids(0) == "forever" ||
         request->instance_ids(0) == "marked")) {
      v1::ChangeEvent event = FakeChange(50, v1::CHANGE_KIND_CREATED);
      *event.mutable_entity() = FakeEntity(50);
      writer->Write(event);
      if (request->instance_ids(0) == "marked" && request->mark_caught_up()) {
        v1::ChangeEvent marker;
        marker.set_sequence(52);
        marker.set_caught_up(true);
        writer->Write(marker);
      }
      while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
      return grpc::Status::CANCELLED;
    }
    for (v1::ChangeEvent event : FakeChanges()) {
      if (!request->include_raw_data() && event.has_entity()) {
        event.mutable_entity()->clear_raw_data();
      }
      if (!request->include_raw_data() && event.has_previous_entity()) {
        event.mutable_previous_entity()->clear_raw_data();
      }
      writer->Write(event);
    }
    return grpc::Status::OK;
  }

  static std::vector<v1::ChangeEvent> FakeChanges() {
    v1::ChangeEvent created = FakeChange(41, v1::CHANGE_KIND_CREATED);
    *created.mutable_entity() = FakeEntity(41);
    v1::ChangeEvent updated = FakeChange(42, v1::CHANGE_KIND_UPDATED);
    *updated.mutable_relationship() =
        DirectRelationship(FakeEntity(1), "HAS", FakeEntity(41));
    (*updated.mutable_relationship()->mutable_properties())["role"] =
        StringValue("admin");
    *updated.mutable_previous_relationship() =
        DirectRelationship(FakeEntity(1), "HAS", FakeEntity(41));
    v1::ChangeEvent deleted = FakeChange(44, v1::CHANGE_KIND_DELETED);
    *deleted.mutable_entity() = FakeEntity(9);
    *deleted.mutable_previous_entity() = FakeEntity(9);
    return {created, updated, deleted};
  }

  // ci-prod: two chunks as of sequence 57; "empty" ends without a chunk;
  // "big": one big entity per chunk.
  grpc::Status GetSnapshot(
      grpc::ServerContext*, const v1::GetSnapshotRequest* request,
      grpc::ServerWriter<v1::SnapshotChunk>* writer) override {
    {
      absl::MutexLock lock(&mutex_);
      snapshot_requests_.push_back(*request);
    }
    if (request->instance_id() == "empty") return grpc::Status::OK;
    if (request->instance_id() == "big") {
      v1::SnapshotChunk chunk;
      chunk.set_as_of_sequence(9);
      writer->Write(chunk);
      for (int i = 0; i < kBigEntityCount; ++i) {
        chunk.Clear();
        *chunk.add_entities() =
            Trimmed(BigEntity(i), request->include_raw_data());
        writer->Write(chunk);
      }
      return grpc::Status::OK;
    }
    if (request->instance_id() != "ci-prod") {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("instance '", request->instance_id(), "' not found"));
    }
    const bool raw = request->include_raw_data();
    v1::SnapshotChunk first;
    first.set_as_of_sequence(57);
    *first.add_entities() = Trimmed(FakeEntity(0), raw);
    *first.add_entities() = Trimmed(FakeEntity(1), raw);
    writer->Write(first);
    v1::SnapshotChunk second;
    *second.add_entities() = Trimmed(FakeEntity(2), raw);
    *second.add_relationships() =
        DirectRelationship(FakeEntity(0), "HAS", FakeEntity(1));
    writer->Write(second);
    return grpc::Status::OK;
  }

  std::vector<v1::ListEntitiesRequest> entity_requests() {
    absl::MutexLock lock(&mutex_);
    return entity_requests_;
  }
  std::vector<v1::ListRelationshipsRequest> relationship_requests() {
    absl::MutexLock lock(&mutex_);
    return relationship_requests_;
  }
  std::vector<v1::ListNeighborsRequest> neighbor_requests() {
    absl::MutexLock lock(&mutex_);
    return neighbor_requests_;
  }
  v1::SubscribeRequest subscribe_request() {
    absl::MutexLock lock(&mutex_);
    return subscribe_request_;
  }
  std::vector<v1::GetEntityRequest> get_entity_requests() {
    absl::MutexLock lock(&mutex_);
    return get_entity_requests_;
  }
  std::vector<v1::GetSnapshotRequest> snapshot_requests() {
    absl::MutexLock lock(&mutex_);
    return snapshot_requests_;
  }

 private:
  absl::Mutex mutex_;
  std::vector<v1::ListEntitiesRequest> entity_requests_ ABSL_GUARDED_BY(mutex_);
  std::vector<v1::ListRelationshipsRequest> relationship_requests_
      ABSL_GUARDED_BY(mutex_);
  std::vector<v1::ListNeighborsRequest> neighbor_requests_
      ABSL_GUARDED_BY(mutex_);
  v1::SubscribeRequest subscribe_request_ ABSL_GUARDED_BY(mutex_);
  std::vector<v1::GetEntityRequest> get_entity_requests_
      ABSL_GUARDED_BY(mutex_);
  std::vector<v1::GetSnapshotRequest> snapshot_requests_
      ABSL_GUARDED_BY(mutex_);
};

// Collects output and signals once a whole line has been flushed, so a test
// can wait for the CLI to print without reading a stream it is writing.
class LineSignallingBuffer : public std::stringbuf {
 public:
  absl::Notification& line_flushed() { return line_flushed_; }

 protected:
  int sync() override {
    if (!line_flushed_.HasBeenNotified() &&
        str().find('\n') != std::string::npos) {
      line_flushed_.Notify();
    }
    return std::stringbuf::sync();
  }

 private:
  absl::Notification line_flushed_;
};

struct CliResult {
  int exit_status;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&admin_);
    builder.RegisterService(&graph_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    address_ = absl::StrCat("127.0.0.1:", port);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  CliResult Run(std::vector<std::string> args,
                std::map<std::string, std::string> env = {},
                bool terminal = false) {
    env.try_emplace("GRAPHMILL_SERVER", address_);
    CliEnvironment environment{
        .env = [env](const std::string& name) -> std::optional<std::string> {
          auto it = env.find(name);
          if (it == env.end()) return std::nullopt;
          return it->second;
        },
        .out_is_terminal = terminal,
        .now_ms = [] { return kStartMs + 5'000; },
        .tick_interval = absl::Milliseconds(5),
        .in = &stdin_,
        .in_is_terminal = stdin_is_terminal_,
        .handle_interrupts = handle_interrupts_,
    };
    std::ostringstream out;
    std::ostringstream err;
    std::ostream& result_out = out_ != nullptr ? *out_ : out;
    const int status = RunCli(args, result_out, err, environment);
    return {status, out.str(), err.str()};
  }

  // Where the CLI writes instead of CliResult::out, when set.
  std::ostream* out_ = nullptr;
  // What the CLI reads as stdin, and whether it counts as a terminal.
  std::istringstream stdin_;
  bool stdin_is_terminal_ = false;
  bool handle_interrupts_ = false;
  FakeAdmin admin_;
  FakeGraph graph_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST_F(CliTest, MainEntryPointParsesArgv) {
  // argv[0] is skipped; a usage error needs no server.
  char program[] = "graphmill";
  char command[] = "bogus";
  char* argv[] = {program, command, nullptr};
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunCli(2, argv, out, err), kExitUsage);
  EXPECT_EQ(err.str(),
            "graphmill: unknown command 'bogus' (try: graphmill --help)\n");
  EXPECT_EQ(out.str(), "");
}

TEST_F(CliTest, UsageErrorsExit64WithOneLine) {
  CliResult result = Run(
      {"instance", "create", "ci", "--integration", "fake", "--config", "abc"});
  EXPECT_EQ(result.exit_status, kExitUsage);
  EXPECT_EQ(result.err, "graphmill: --config expects KEY=VALUE, got 'abc'\n");
  EXPECT_EQ(result.out, "");
}

TEST_F(CliTest, HelpPrintsUsageAndSucceeds) {
  CliResult result = Run({"run", "watch", "--help"});
  EXPECT_EQ(result.exit_status, kExitSuccess);
  EXPECT_THAT(result.out, StartsWith("usage: graphmill run watch RUN_ID\n"));
  EXPECT_EQ(result.err, "");
}

TEST_F(CliTest, IntegrationListAsTableAndJson) {
  CliResult table = Run({"integration", "list"});
  EXPECT_EQ(table.exit_status, kExitSuccess) << table.err;
  EXPECT_EQ(table.out,
            "NAME  VERSION  DISPLAY NAME   STEPS\n"
            "fake  1.0.0    Fake Provider  2\n");

  CliResult json = Run({"integration", "list", "--output=json"});
  ASSERT_EQ(json.exit_status, kExitSuccess) << json.err;
  ASSERT_EQ(Lines(json.out).size(), 1u);
  rapidjson::Document document;
  document.Parse(json.out.c_str());
  ASSERT_TRUE(document.IsObject());
  EXPECT_STREQ(document["displayName"].GetString(), "Fake Provider");
}

TEST_F(CliTest, IntegrationDescribeListsConfigFieldsAndSteps) {
  CliResult table = Run({"integration", "describe", "fake"});
  EXPECT_EQ(table.exit_status, kExitSuccess) << table.err;
  EXPECT_EQ(table.out,
            "fake 1.0.0 (Fake Provider)\n"
            "\n"
            "Config fields (--config NAME=VALUE):\n"
            "NAME     TYPE    SECRET  OPTIONAL  DEFAULT        DESCRIPTION\n"
            "apiKey   string  yes     no        -              API key\n"
            "apiHost  string  no      yes       api.fake.test  -\n"
            "\n"
            "Steps (--disable-step ID, --enable-step ID):\n"
            "ID              NAME            DEPENDS ON   SPLIT BY   TYPES\n"
            "fetch-users     -               -            -          "
            "fake_user,fake_account_has_user\n"
            "fetch-projects  Fetch projects  fetch-users  fake_user  -\n");

  CliResult json = Run({"integration", "describe", "fake", "-o", "json"});
  ASSERT_EQ(json.exit_status, kExitSuccess) << json.err;
  rapidjson::Document document;
  document.Parse(json.out.c_str());
  ASSERT_TRUE(document.IsObject());
  EXPECT_EQ(document["configFields"].Size(), 2u);
  EXPECT_EQ(document["steps"].Size(), 2u);
}

TEST_F(CliTest, IntegrationDescribeOfAnUnknownNameSuggestsOne) {
  CliResult typo = Run({"integration", "describe", "fak"});
  EXPECT_EQ(typo.exit_status, kExitFailure);
  EXPECT_EQ(typo.err,
            "graphmill: integration 'fak' not found (did you mean 'fake'?)\n");
  CliResult unknown = Run({"integration", "describe", "gitlab"});
  EXPECT_EQ(unknown.exit_status, kExitFailure);
  EXPECT_EQ(unknown.err,
            "graphmill: integration 'gitlab' not found (connected workers "
            "implement: fake)\n");
}

TEST_F(CliTest, CompletionNeedsNoCoordinator) {
  CliResult result = Run({"completion", "bash", "--server", "127.0.0.1:1"});
  EXPECT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_THAT(result.out, HasSubstr("complete -o default -F _graphmill"));
  CliResult bad = Run({"completion", "powershell"});
  EXPECT_EQ(bad.exit_status, kExitUsage);
  EXPECT_EQ(bad.err,
            "graphmill: completion: unknown shell 'powershell' (expected "
            "bash, zsh or fish)\n");
}

TEST_F(CliTest, InstanceCreateSendsConfigButNeverPrintsIt) {
  CliResult result =
      Run({"instance", "create", "ci-prod", "--integration", "fake", "--config",
           "orgSlug=gh/acme", "--config-env", "apiKey=FAKE_TOKEN"},
          {{"FAKE_TOKEN", "s3cret-token-value"}});
  EXPECT_EQ(result.exit_status, kExitSuccess) << result.err;
  const v1::Instance sent = admin_.created();
  EXPECT_EQ(sent.id(), "ci-prod");
  EXPECT_EQ(sent.integration(), "fake");
  EXPECT_EQ(sent.config().at("apiKey"), "s3cret-token-value");
  EXPECT_EQ(sent.config().at("orgSlug"), "gh/acme");
  EXPECT_EQ(result.out,
            "id              ci-prod\n"
            "integration     fake\n"
            "created         2024-03-21T10:00:00Z\n"
            "updated         2024-03-21T10:00:00Z\n"
            "schedule        none (manual runs only)\n"
            "next run        -\n"
            "disabled steps  -\n"
            "rate limit      integration default\n"
            "runs            incremental (look back 24h, a full run every "
            "24h)\n"
            "upload          none\n"
            "config.apiKey   ***\n"
            "config.orgSlug  gh/acme\n");
  EXPECT_FALSE(sent.has_schedule());
  EXPECT_FALSE(sent.has_upload());
  EXPECT_THAT(result.out + result.err, Not(HasSubstr("s3cret")));
}

TEST_F(CliTest, InstanceCreateRejectedPrintsTheServersMessage) {
  CliResult result = Run({"instance", "create", "x", "--integration", "fake",
                          "--config", "orgSlug=gh/acme"});
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_EQ(
      result.err,
      "graphmill: INVALID_ARGUMENT: instance 'x': config field 'apiKey' is "
      "required\n");
  EXPECT_EQ(result.out, "");
}

TEST_F(CliTest, InstanceListAndGet) {
  CliResult list = Run({"instance", "list"});
  EXPECT_EQ(list.exit_status, kExitSuccess) << list.err;
  EXPECT_EQ(
      list.out,
      "ID       INTEGRATION  SCHEDULE  LAST RUN                           "
      "NEXT RUN\n"
      "ci-prod  fake         none      13 SUCCEEDED 2024-03-21T10:00:02Z  "
      "-\n");
  EXPECT_EQ(admin_.list_runs().instance_id(), "ci-prod");
  EXPECT_EQ(admin_.list_runs().limit(), 1);

  CliResult get = Run({"instance", "get", "ci-prod", "--output", "json"});
  EXPECT_EQ(get.exit_status, kExitSuccess) << get.err;
  EXPECT_THAT(get.out, HasSubstr(R"("config":{"apiKey":"***"})"));
  EXPECT_EQ(Lines(get.out).size(), 1u);
}

TEST_F(CliTest, NotFoundIsOneLineAndExit1) {
  CliResult result = Run({"instance", "get", "nope"});
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_EQ(result.err, "graphmill: NOT_FOUND: instance 'nope' not found\n");
  EXPECT_EQ(result.out, "");
}

TEST_F(CliTest, UnreachableServerIsOneLine) {
  // A bound socket that never listens: connections to it are refused.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string server =
      absl::StrCat("127.0.0.1:", ntohs(address.sin_port));

  const absl::Time start = absl::Now();
  CliResult result = Run({"instance", "list", "--server", server});
  close(fd);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_THAT(result.err, StartsWith("graphmill: cannot reach coordinator at " +
                                     server + ": "));
  EXPECT_EQ(Lines(result.err).size(), 1u) << result.err;
  EXPECT_EQ(result.out, "");
}

TEST_F(CliTest, SlowServerHitsTheTimeout) {
  const absl::Time start = absl::Now();
  CliResult result = Run({"instance", "get", "slow", "--timeout", "0.2"});
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_THAT(result.err, StartsWith("graphmill: DEADLINE_EXCEEDED: "));
  EXPECT_THAT(result.err,
              HasSubstr("(no answer within 200ms; see --timeout)\n"));
}

TEST_F(CliTest, TokenTravelsAsBearerAuthorization) {
  ASSERT_EQ(
      Run({"instance", "list"}, {{"GRAPHMILL_TOKEN", "t0k3n"}}).exit_status,
      kExitSuccess);
  EXPECT_EQ(admin_.last_authorization(), "Bearer t0k3n");
  ASSERT_EQ(Run({"instance", "list"}).exit_status, kExitSuccess);
  EXPECT_EQ(admin_.last_authorization(), "");
}

TEST_F(CliTest, GraphEntitiesPagesThroughEveryPage) {
  CliResult result =
      Run({"graph", "entities", "--instance", "ci-prod", "--type",
           "fake_entity", "--class", "Resource", "--output", "json"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kEntityCount));
  for (int i = 0; i < kEntityCount; i += 99) {
    EXPECT_EQ(lines[i],
              EntityToJson(FakeEntity(i), /*include_raw_data=*/false));
  }
  EXPECT_EQ(lines.back(), EntityToJson(FakeEntity(kEntityCount - 1), false));

  const std::vector<v1::ListEntitiesRequest> requests =
      graph_.entity_requests();
  ASSERT_EQ(requests.size(), 3u);
  std::vector<std::string> tokens;
  for (const v1::ListEntitiesRequest& request : requests) {
    EXPECT_EQ(request.page_size(), 500);
    EXPECT_EQ(request.filter().instance_id(), "ci-prod");
    EXPECT_EQ(request.filter().type(), "fake_entity");
    EXPECT_EQ(request.filter().class_name(), "Resource");
    tokens.push_back(request.page_token());
  }
  EXPECT_THAT(tokens, ElementsAre("", "500", "1000"));
}

TEST_F(CliTest, GraphEntitiesStopsAtTheLimitWithRawData) {
  CliResult result = Run({"graph", "entities", "--instance", "ci-prod",
                          "--limit", "600", "--raw", "--output", "json"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 600u);
  EXPECT_EQ(lines[599],
            EntityToJson(FakeEntity(599), /*include_raw_data=*/true));
  EXPECT_THAT(
      lines[0],
      HasSubstr(R"("_rawData":[{"name":"default","rawData":{"id":0}}])"));
  const std::vector<v1::ListEntitiesRequest> requests =
      graph_.entity_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].page_size(), 500);
  EXPECT_EQ(requests[1].page_size(), 100);
}

TEST_F(CliTest, GraphEntitiesTable) {
  CliResult result =
      Run({"graph", "entities", "--instance", "ci-prod", "--limit", "2"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_EQ(result.out,
            "KEY               TYPE         CLASS     DISPLAY NAME\n"
            "fake_entity:0000  fake_entity  Resource  Entity 0\n"
            "fake_entity:0001  fake_entity  Resource  Entity 1\n");
}

TEST_F(CliTest, GraphErrorsFromTheServer) {
  CliResult missing =
      Run({"graph", "entity", "--instance", "ci-prod", "fake_entity:9999"});
  EXPECT_EQ(missing.exit_status, kExitFailure);
  EXPECT_EQ(
      missing.err,
      "graphmill: NOT_FOUND: entity 'fake_entity:9999' not found in instance "
      "'ci-prod'\n");
  CliResult no_instance = Run({"graph", "entities", "--instance", "nope"});
  EXPECT_EQ(no_instance.exit_status, kExitFailure);
  EXPECT_EQ(no_instance.err,
            "graphmill: NOT_FOUND: instance 'nope' not found\n");
  // No empty table that could pass for an empty graph.
  EXPECT_EQ(no_instance.out, "");
  for (const char* format : {"jsonl", "dot"}) {
    CliResult export_nope =
        Run({"graph", "export", "--instance", "nope", "--format", format});
    EXPECT_EQ(export_nope.exit_status, kExitFailure) << format;
    EXPECT_EQ(export_nope.out, "") << format;
  }
}

TEST_F(CliTest, GraphEntityAndRelationships) {
  CliResult entity = Run({"graph", "entity", "--instance", "ci-prod",
                          "fake_entity:0007", "--output", "json", "--raw"});
  ASSERT_EQ(entity.exit_status, kExitSuccess) << entity.err;
  EXPECT_EQ(entity.out, EntityToJson(FakeEntity(7), true) + "\n");

  CliResult relationships = Run(
      {"graph", "relationships", "--instance", "ci-prod", "--output", "json"});
  ASSERT_EQ(relationships.exit_status, kExitSuccess) << relationships.err;
  const std::vector<std::string> lines = Lines(relationships.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], RelationshipToJson(DirectRelationship(
                          FakeEntity(2), "HAS", FakeEntity(3))));
}

TEST_F(CliTest, RunStartPrintsTheRunId) {
  CliResult table = Run({"run", "start", "ci-prod"});
  EXPECT_EQ(table.exit_status, kExitSuccess) << table.err;
  EXPECT_EQ(table.out, "run 12 started for instance ci-prod\n");
  EXPECT_FALSE(admin_.last_start_full());
  ASSERT_EQ(Run({"run", "start", "ci-prod", "--full"}).exit_status,
            kExitSuccess);
  EXPECT_TRUE(admin_.last_start_full());

  CliResult json = Run({"run", "start", "ci-prod", "--output", "json"});
  EXPECT_EQ(json.exit_status, kExitSuccess) << json.err;
  EXPECT_THAT(json.out, StartsWith(R"({"id":"12","instanceId":"ci-prod",)"));

  CliResult busy = Run({"run", "start", "busy"});
  EXPECT_EQ(busy.exit_status, kExitFailure);
  EXPECT_EQ(
      busy.err,
      "graphmill: FAILED_PRECONDITION: instance 'busy' has active run 7\n");
}

TEST_F(CliTest, UnavailableFromAReachableServerKeepsItsMessage) {
  CliResult result = Run({"run", "start", "no-workers"});
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_EQ(
      result.err,
      "graphmill: UNAVAILABLE: no connected worker implements integration "
      "'fake'\n");
}

TEST_F(CliTest, RunStartWatchFollowsToTheEnd) {
  CliResult result = Run({"run", "start", "ci-prod", "--watch"});
  EXPECT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_EQ(
      result.out,
      "run 12 started for instance ci-prod\n"
      "run 12 RUNNING for instance ci-prod\n"
      "10:00:00Z step fetch-users RUNNING\n"
      "10:00:01Z WARN warn_missing_permission [fetch-users] 403 on team x\n"
      "10:00:02Z step fetch-users SUCCESS 2.0s tasks - objects 8\n"
      "run 12 SUCCEEDED in 2.0s: 0 created, 0 updated, 0 deleted\n");
}

TEST_F(CliTest, RunWatchExitStatusFollowsTheRun) {
  CliResult partial = Run({"run", "watch", "21"});
  EXPECT_EQ(partial.exit_status, kExitPartial);
  EXPECT_THAT(partial.out, HasSubstr("run 21 PARTIAL in 2.0s"));
  EXPECT_EQ(partial.err, "");

  CliResult failed = Run({"run", "watch", "22"});
  EXPECT_EQ(failed.exit_status, kExitFailure);
  EXPECT_EQ(failed.err,
            "graphmill: run 22 FAILED in 2.0s: invalid credentials\n");

  CliResult cut = Run({"run", "watch", "23"});
  EXPECT_EQ(cut.exit_status, kExitFailure);
  EXPECT_EQ(cut.err,
            "graphmill: watch of run 23 ended before the run did (last status "
            "RUNNING)\n");

  CliResult missing = Run({"run", "watch", "404"});
  EXPECT_EQ(missing.exit_status, kExitFailure);
  EXPECT_EQ(missing.err, "graphmill: NOT_FOUND: run 404 not found\n");
}

TEST_F(CliTest, RunWatchJsonIsOneUpdatePerLine) {
  CliResult result = Run({"run", "watch", "22", "--output", "json"});
  EXPECT_EQ(result.exit_status, kExitFailure);
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) {
    rapidjson::Document document;
    document.Parse(line.c_str());
    ASSERT_TRUE(document.IsObject()) << line;
    EXPECT_TRUE(document.HasMember("run"));
    EXPECT_TRUE(document.HasMember("newEvents"));
  }
  EXPECT_THAT(lines[2], HasSubstr(R"("status":"RUN_STATUS_FAILED")"));
  EXPECT_EQ(result.err,
            "graphmill: run 22 FAILED in 2.0s: invalid credentials\n");
}

TEST_F(CliTest, RunWatchOnATerminalSplitsEntitiesFromRelationships) {
  CliResult result = Run({"run", "watch", "20"}, {}, /*terminal=*/true);
  EXPECT_EQ(result.exit_status, kExitSuccess) << result.err;
  // The integration's declared relationship types come from ListIntegrations.
  EXPECT_THAT(result.out, HasSubstr("4 entities  4 relationships"));
  EXPECT_THAT(result.out, HasSubstr("\r\033[K"));
  EXPECT_THAT(
      result.out,
      HasSubstr("\r\033[Krun 20 SUCCEEDED in 2.0s: 0 created, 0 updated, "
                "0 deleted\n"));
}

TEST_F(CliTest, RunShowAndList) {
  CliResult show = Run({"run", "show", "12"});
  EXPECT_EQ(show.exit_status, kExitSuccess) << show.err;
  EXPECT_THAT(show.out, StartsWith("run       12\nstatus    PARTIAL\n"));
  EXPECT_THAT(show.out, HasSubstr("fetch-users  SUCCESS  2.0s      -      "
                                  "fake_account_has_user=4 fake_user=4\n"));
  EXPECT_THAT(
      show.out,
      HasSubstr("WARN   warn_missing_permission  -     403 on team x\n"));
  EXPECT_THAT(show.out, HasSubstr("trigger   MANUAL\n"));
  EXPECT_THAT(show.out,
              HasSubstr("\nUpload to JupiterOne:\n"
                        "state                   FAILED\n"
                        "job                     job-7\n"
                        "entities uploaded       40\n"
                        "relationships uploaded  0\n"
                        "skipped                 0\n"
                        "error                   HTTP 401 from J1\n"));

  CliResult list =
      Run({"run", "list", "--instance", "ci-prod", "--limit", "2"});
  EXPECT_EQ(list.exit_status, kExitSuccess) << list.err;
  EXPECT_EQ(admin_.list_runs().instance_id(), "ci-prod");
  EXPECT_EQ(admin_.list_runs().limit(), 2);
  const std::vector<std::string> lines = Lines(list.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], StartsWith("ID  INSTANCE  TRIGGER   STATUS"));
  EXPECT_THAT(lines[1], StartsWith("13  ci-prod   SCHEDULE  SUCCEEDED"));
  EXPECT_THAT(lines[1], HasSubstr("+0 ~0 -0  SUCCEEDED"));
  EXPECT_THAT(lines[2], StartsWith("12  ci-prod   MANUAL    FAILED"));
  EXPECT_THAT(lines[2], HasSubstr("invalid credentials"));
}

// --- instance create/get/update/delete/validate ------------------------------

TEST_F(CliTest, InstanceCreateSendsScheduleStepsRateAndUpload) {
  CliResult result =
      Run({"instance",
           "create",
           "ci-new",
           "--integration",
           "fake",
           "--config-env",
           "apiKey=FAKE_TOKEN",
           "--cron",
           "0 */6 * * *",
           "--jitter",
           "60",
           "--disable-step",
           "fetch-projects",
           "--rate-limit",
           "1.5",
           "--incremental",
           "off",
           "--full-run-every",
           "48",
           "--j1-account",
           "acct-1",
           "--j1-token-env",
           "J1_TOKEN",
           "--j1-integration-instance",
           "ii-1",
           "--j1-compress"},
          {{"FAKE_TOKEN", "s3cret"}, {"J1_TOKEN", "j1-s3cret-token"}});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  const v1::Instance sent = admin_.created();
  EXPECT_EQ(sent.schedule().cron(), "0 */6 * * *");
  EXPECT_EQ(sent.schedule().jitter_seconds(), 60);
  EXPECT_THAT(sent.disabled_steps(), ElementsAre("fetch-projects"));
  EXPECT_EQ(sent.rate_limit_per_second(), 1.5);
  EXPECT_TRUE(sent.incremental().disabled());
  EXPECT_EQ(sent.incremental().full_run_every_hours(), 48);
  EXPECT_EQ(sent.upload().account_id(), "acct-1");
  EXPECT_EQ(sent.upload().api_token(), "j1-s3cret-token");
  EXPECT_EQ(sent.upload().integration_instance_id(), "ii-1");
  EXPECT_TRUE(sent.upload().compress());
  EXPECT_THAT(result.out, HasSubstr("schedule                    cron 0 */6 "
                                    "* * * (jitter 60s)\n"));
  EXPECT_THAT(result.out, HasSubstr("upload.token                ***\n"));
  EXPECT_THAT(result.out + result.err, Not(HasSubstr("s3cret")));
}

TEST_F(CliTest, InstanceGetShowsEverySetting) {
  CliResult table = Run({"instance", "get", "full"});
  ASSERT_EQ(table.exit_status, kExitSuccess) << table.err;
  EXPECT_EQ(table.out,
            "id                          full\n"
            "integration                 fake\n"
            "created                     2024-03-21T10:00:00Z\n"
            "updated                     2024-03-21T10:00:00Z\n"
            "schedule                    every 1h (jitter 180s)\n"
            "next run                    2024-03-21T11:00:00Z\n"
            "disabled steps              fetch-envvars,fetch-jobs\n"
            "rate limit                  2 requests/s\n"
            "runs                        full only\n"
            "upload.account              acct-1\n"
            "upload.integrationInstance  ii-1\n"
            "upload.baseUrl              https://api.us.jupiterone.io "
            "(default)\n"
            "upload.token                ***\n"
            "upload.compress             no\n"
            "config.apiKey               ***\n"
            "config.extraProjects        gh/acme/x\n"
            "config.orgSlug              gh/acme\n");

  CliResult json = Run({"instance", "get", "full", "--output", "json"});
  ASSERT_EQ(json.exit_status, kExitSuccess) << json.err;
  rapidjson::Document document;
  document.Parse(json.out.c_str());
  ASSERT_TRUE(document.IsObject()) << json.out;
  EXPECT_STREQ(document["schedule"]["interval"].GetString(),
               "POLLING_INTERVAL_ONE_HOUR");
  EXPECT_STREQ(document["nextRunAtMs"].GetString(), "1711018800000");
  EXPECT_STREQ(document["upload"]["apiToken"].GetString(), "***");
}

TEST_F(CliTest, InstanceUpdateSendsTheWholeMergedInstance) {
  CliResult result = Run(
      {"instance", "update", "full", "--config", "orgSlug=gh/new",
       "--unset-config", "extraProjects", "--enable-step", "fetch-envvars",
       "--disable-step", "fetch-projects", "--schedule", "4h", "--rate-limit",
       "3", "--j1-base-url", "https://api.eu.jupiterone.io"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  const std::vector<v1::Instance> updates = admin_.updates();
  ASSERT_EQ(updates.size(), 1u);
  const v1::Instance& sent = updates[0];
  EXPECT_EQ(sent.id(), "full");
  EXPECT_EQ(sent.integration(), "fake");
  // The secret the CLI was not given travels as "***": the server keeps it.
  const std::map<std::string, std::string> config(sent.config().begin(),
                                                  sent.config().end());
  EXPECT_EQ(config, (std::map<std::string, std::string>{
                        {"apiKey", "***"}, {"orgSlug", "gh/new"}}));
  EXPECT_THAT(sent.disabled_steps(),
              ElementsAre("fetch-jobs", "fetch-projects"));
  EXPECT_EQ(sent.schedule().interval(), v1::POLLING_INTERVAL_FOUR_HOURS);
  EXPECT_EQ(sent.schedule().jitter_seconds(), 180);
  EXPECT_EQ(sent.rate_limit_per_second(), 3);
  EXPECT_EQ(sent.upload().api_token(), "***");
  EXPECT_EQ(sent.upload().account_id(), "acct-1");
  EXPECT_EQ(sent.upload().base_url(), "https://api.eu.jupiterone.io");
  EXPECT_EQ(sent.next_run_at_ms(), 0);
  // It prints what the server stored.
  EXPECT_THAT(result.out, HasSubstr("updated                     "
                                    "2024-03-21T10:01:00Z\n"));
  EXPECT_THAT(result.out, HasSubstr("schedule                    every 4h "
                                    "(jitter 180s)\n"));
  EXPECT_THAT(result.out, Not(HasSubstr("extraProjects")));
}

TEST_F(CliTest, InstanceUpdateSendsANewTokenButNeverPrintsIt) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR") != nullptr
                                            ? std::getenv("TEST_TMPDIR")
                                            : "/tmp",
                                        "/j1-token");
  std::ofstream(path) << "j1-file-s3cret\n";
  CliResult result =
      Run({"instance", "update", "full", "--j1-token-file", path,
           "--config-env", "apiKey=FAKE_TOKEN", "--no-j1-compress"},
          {{"FAKE_TOKEN", "new-api-s3cret"}});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  const std::vector<v1::Instance> updates = admin_.updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].upload().api_token(), "j1-file-s3cret");
  EXPECT_EQ(updates[0].config().at("apiKey"), "new-api-s3cret");
  EXPECT_FALSE(updates[0].upload().compress());
  EXPECT_THAT(result.out + result.err, Not(HasSubstr("s3cret")));

  CliResult removed = Run({"instance", "update", "full", "--no-upload"});
  ASSERT_EQ(removed.exit_status, kExitSuccess) << removed.err;
  ASSERT_EQ(admin_.updates().size(), 2u);
  EXPECT_FALSE(admin_.updates()[1].has_upload());
  EXPECT_THAT(removed.out, ::testing::ContainsRegex("\nupload +none\n"));
}

TEST_F(CliTest, InstanceUpdateFailures) {
  // Not found: nothing is sent.
  CliResult missing = Run({"instance", "update", "nope", "--rate-limit", "1"});
  EXPECT_EQ(missing.exit_status, kExitFailure);
  EXPECT_EQ(missing.err, "graphmill: NOT_FOUND: instance 'nope' not found\n");
  // The stored instance has no schedule to jitter: nothing is sent.
  CliResult jitter = Run({"instance", "update", "ci-prod", "--jitter", "30"});
  EXPECT_EQ(jitter.exit_status, kExitFailure);
  EXPECT_EQ(jitter.err,
            "graphmill: instance 'ci-prod' has no schedule: give --schedule or "
            "--cron with --jitter\n");
  // A new upload needs its account, token and integration instance.
  CliResult upload =
      Run({"instance", "update", "ci-prod", "--j1-account", "acct"});
  EXPECT_EQ(upload.exit_status, kExitFailure);
  EXPECT_EQ(upload.err,
            "graphmill: instance 'ci-prod': JupiterOne upload is incomplete: "
            "missing --j1-token-env ENVVAR or --j1-token-file FILE, "
            "--j1-integration-instance ID\n");
  EXPECT_TRUE(admin_.updates().empty());
  // The server's refusal.
  CliResult rejected =
      Run({"instance", "update", "ci-prod", "--config", "bad=1"});
  EXPECT_EQ(rejected.exit_status, kExitFailure);
  EXPECT_EQ(rejected.err,
            "graphmill: INVALID_ARGUMENT: instance 'ci-prod': unknown config "
            "field 'bad'\n");
  EXPECT_EQ(rejected.out, "");
  // A bad command line never reaches the server.
  CliResult usage = Run({"instance", "update", "ci-prod"});
  EXPECT_EQ(usage.exit_status, kExitUsage);
  EXPECT_EQ(admin_.updates().size(), 1u);
}

TEST_F(CliTest, InstanceDeleteWithYes) {
  CliResult result = Run({"instance", "delete", "ci-prod", "--yes"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_EQ(result.out, "instance ci-prod deleted\n");
  EXPECT_EQ(result.err, "");
  EXPECT_THAT(admin_.deleted(), ElementsAre("ci-prod"));

  CliResult json =
      Run({"instance", "delete", "ci-other", "--yes", "--output", "json"});
  ASSERT_EQ(json.exit_status, kExitSuccess) << json.err;
  EXPECT_EQ(json.out, "{\"instanceId\":\"ci-other\"}\n");

  CliResult busy = Run({"instance", "delete", "busy", "--yes"});
  EXPECT_EQ(busy.exit_status, kExitFailure);
  EXPECT_EQ(busy.err,
            "graphmill: FAILED_PRECONDITION: instance 'busy' has active run "
            "7\n");
}

TEST_F(CliTest, InstanceDeleteWithoutATerminalNeedsYes) {
  stdin_.str("y\n");  // Piped input is no confirmation.
  CliResult result = Run({"instance", "delete", "ci-prod"});
  EXPECT_EQ(result.exit_status, kExitUsage);
  EXPECT_EQ(result.err,
            "graphmill: refusing to delete instance 'ci-prod' without "
            "confirmation: stdin is not a terminal (add --yes)\n");
  EXPECT_EQ(result.out, "");
  EXPECT_TRUE(admin_.deleted().empty());
}

TEST_F(CliTest, InstanceDeleteAsksOnATerminal) {
  stdin_is_terminal_ = true;
  stdin_.str(" Yes \n");
  CliResult yes = Run({"instance", "delete", "ci-prod"});
  ASSERT_EQ(yes.exit_status, kExitSuccess) << yes.err;
  EXPECT_EQ(yes.err,
            "Delete instance 'ci-prod' with its runs, graph and change "
            "history? [y/N] ");
  EXPECT_EQ(yes.out, "instance ci-prod deleted\n");
  EXPECT_THAT(admin_.deleted(), ElementsAre("ci-prod"));

  for (const char* answer : {"n\n", "\n", "yess\n"}) {
    stdin_.clear();
    stdin_.str(answer);
    CliResult no = Run({"instance", "delete", "ci-two"});
    EXPECT_EQ(no.exit_status, kExitFailure) << answer;
    EXPECT_EQ(no.err,
              "Delete instance 'ci-two' with its runs, graph and change "
              "history? [y/N] graphmill: instance 'ci-two' not deleted\n");
  }
  // End of input: the prompt's line is ended before the error.
  stdin_.clear();
  stdin_.str("");
  CliResult eof = Run({"instance", "delete", "ci-two"});
  EXPECT_EQ(eof.exit_status, kExitFailure);
  EXPECT_EQ(eof.err,
            "Delete instance 'ci-two' with its runs, graph and change "
            "history? [y/N] \ngraphmill: instance 'ci-two' not deleted\n");
  EXPECT_THAT(admin_.deleted(), ElementsAre("ci-prod"));
}

TEST_F(CliTest, InstanceValidateExitStatusFollowsTheAnswer) {
  CliResult valid = Run({"instance", "validate", "ci-prod"});
  EXPECT_EQ(valid.exit_status, kExitSuccess);
  EXPECT_EQ(valid.out, "valid: authenticated as kim (worker w-1)\n");
  EXPECT_EQ(valid.err, "");

  CliResult invalid = Run({"instance", "validate", "full"});
  EXPECT_EQ(invalid.exit_status, kExitFailure);
  EXPECT_EQ(invalid.out,
            "invalid: HTTP 401 from /api/v2/me: invalid token (worker w-1)\n");
  EXPECT_EQ(invalid.err, "");

  CliResult json = Run({"instance", "validate", "full", "--output", "json"});
  EXPECT_EQ(json.exit_status, kExitFailure);
  EXPECT_THAT(json.out, StartsWith(R"({"valid":false,"message":"HTTP 401)"));

  CliResult missing = Run({"instance", "validate", "nope"});
  EXPECT_EQ(missing.exit_status, kExitFailure);
  EXPECT_EQ(missing.err, "graphmill: NOT_FOUND: instance 'nope' not found\n");
}

TEST_F(CliTest, InstanceWebhooksInstallPrintsALinePerResource) {
  CliResult installed = Run({"instance", "webhooks", "install", "ci-prod",
                             "--url", "https://hooks.example.com"});
  EXPECT_EQ(installed.exit_status, kExitSuccess) << installed.err;
  EXPECT_EQ(installed.out,
            "webhooks to https://hooks.example.com/webhooks/ci-prod\n"
            "RESOURCE        WEBHOOK  ERROR\n"
            "fake_project:1  created\n"
            "fake_project:2  exists\n");
  EXPECT_EQ(installed.err, "");

  // A resource that failed: its error, and exit status 1.
  CliResult failed = Run({"instance", "webhooks", "install", "full", "--url",
                          "https://hooks.example.com"});
  EXPECT_EQ(failed.exit_status, kExitFailure);
  EXPECT_THAT(failed.out,
              HasSubstr("fake_project:2  error    PERMISSION_DENIED: POST "
                        "/webhook: HTTP 403\n"));
  EXPECT_EQ(failed.err, "");

  CliResult json = Run({"instance", "webhooks", "install", "full", "--url",
                        "https://hooks.example.com", "-o", "json"});
  EXPECT_EQ(json.exit_status, kExitFailure);
  EXPECT_EQ(json.out,
            R"({"endpointUrl":"https://hooks.example.com/webhooks/full",)"
            R"("results":[{"resource":"fake_project:1","created":true,)"
            R"("error":""},{"resource":"fake_project:2","created":false,)"
            R"("error":"PERMISSION_DENIED: POST /webhook: HTTP 403"}]})"
            "\n");

  CliResult missing = Run({"instance", "webhooks", "install", "nope", "--url",
                           "https://hooks.example.com"});
  EXPECT_EQ(missing.exit_status, kExitFailure);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err, "graphmill: NOT_FOUND: instance 'nope' not found\n");

  CliResult bad_url = Run({"instance", "webhooks", "install", "ci-prod",
                           "--url", "http://hooks.example.com"});
  EXPECT_EQ(bad_url.exit_status, kExitFailure);
  EXPECT_EQ(bad_url.err,
            "graphmill: INVALID_ARGUMENT: url must use https://\n");

  CliResult usage = Run({"instance", "webhooks", "install", "ci-prod"});
  EXPECT_EQ(usage.exit_status, kExitUsage);
}

// --- run cancel/upload/watch
// ---------------------------------------------------

TEST_F(CliTest, RunCancel) {
  CliResult result = Run({"run", "cancel", "12"});
  EXPECT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_EQ(result.out, "run 12 CANCELLED for instance ci-prod\n");

  CliResult json = Run({"run", "cancel", "12", "--output", "json"});
  EXPECT_THAT(json.out, HasSubstr(R"("status":"RUN_STATUS_CANCELLED")"));

  CliResult ended = Run({"run", "cancel", "13"});
  EXPECT_EQ(ended.exit_status, kExitFailure);
  EXPECT_EQ(ended.err,
            "graphmill: FAILED_PRECONDITION: run 13 has ended (SUCCEEDED)\n");
  EXPECT_EQ(ended.out, "");
}

TEST_F(CliTest, RunUploadPrintsTheUploadStatus) {
  CliResult result = Run({"run", "upload", "12"});
  EXPECT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_EQ(result.out,
            "run 12 upload to JupiterOne\n"
            "state                   PENDING\n"
            "job                     -\n"
            "entities uploaded       0\n"
            "relationships uploaded  0\n"
            "skipped                 0\n");

  CliResult none = Run({"run", "upload", "14"});
  EXPECT_EQ(none.exit_status, kExitFailure);
  EXPECT_EQ(none.err,
            "graphmill: FAILED_PRECONDITION: run 14: instance 'ci-prod' has "
            "no upload\n");
}

TEST_F(CliTest, RunWatchShowsUploadProgress) {
  CliResult result = Run({"run", "watch", "24"});
  EXPECT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_THAT(result.out,
              HasSubstr("upload UPLOADING job job-7: 0 entities, 0 "
                        "relationships uploaded, 0 skipped\n"
                        "upload SUCCEEDED job job-7: 8 entities, 0 "
                        "relationships uploaded, 0 skipped\n"
                        "run 24 SUCCEEDED in 2.0s: 0 created, 0 updated, 0 "
                        "deleted; upload SUCCEEDED\n"));
}

// --- graph
// ---------------------------------------------------------------------

TEST_F(CliTest, PropertyFiltersAreSentTyped) {
  CliResult result = Run({"graph", "entities", "--instance", "ci-prod",
                          "--property", "name=e1", "--property", "count=3",
                          "--property-string", "id=7", "--limit", "1"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  const std::vector<v1::ListEntitiesRequest> requests =
      graph_.entity_requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& properties = requests[0].filter().properties();
  ASSERT_EQ(properties.size(), 3u);
  EXPECT_EQ(properties.at("name").string_value(), "e1");
  EXPECT_EQ(properties.at("count").kind_case(), v1::Value::kIntValue);
  EXPECT_EQ(properties.at("count").int_value(), 3);
  EXPECT_EQ(properties.at("id").string_value(), "7");

  CliResult relationships = Run({"graph", "relationships", "--instance",
                                 "ci-prod", "--property", "active=false"});
  ASSERT_EQ(relationships.exit_status, kExitSuccess) << relationships.err;
  const v1::GraphFilter filter = graph_.relationship_requests().at(0).filter();
  EXPECT_EQ(filter.properties().at("active").kind_case(),
            v1::Value::kBoolValue);
  EXPECT_FALSE(filter.properties().at("active").bool_value());
}

TEST_F(CliTest, NeighborsPageThroughAsJsonLines) {
  CliResult result =
      Run({"graph", "neighbors", "--instance", "ci-prod", "fake_entity:0001",
           "--direction", "out", "--class", "HAS", "--output", "json"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const v1::Neighbor neighbor = FakeGraph::FakeNeighbor(i);
    EXPECT_EQ(
        lines[i],
        absl::StrCat(
            R"({"direction":")", i % 2 == 1 ? "DIRECTION_OUT" : "DIRECTION_IN",
            R"(","relationship":)", RelationshipToJson(neighbor.relationship()),
            R"(,"entity":)", EntityToJson(neighbor.entity(), false), "}"));
    rapidjson::Document document;
    document.Parse(lines[i].c_str());
    EXPECT_TRUE(document.IsObject()) << lines[i];
  }
  const std::vector<v1::ListNeighborsRequest> requests =
      graph_.neighbor_requests();
  std::vector<std::string> tokens;
  for (const v1::ListNeighborsRequest& request : requests) {
    EXPECT_EQ(request.instance_id(), "ci-prod");
    EXPECT_EQ(request.key(), "fake_entity:0001");
    EXPECT_EQ(request.direction(), v1::DIRECTION_OUT);
    EXPECT_EQ(request.relationship_class(), "HAS");
    EXPECT_EQ(request.page_size(), 500);
    tokens.push_back(request.page_token());
  }
  EXPECT_THAT(tokens, ElementsAre("", "2", "4"));
}

TEST_F(CliTest, NeighborsTableAndErrors) {
  CliResult table = Run({"graph", "neighbors", "--instance", "ci-prod",
                         "fake_entity:0001", "--limit", "2"});
  ASSERT_EQ(table.exit_status, kExitSuccess) << table.err;
  EXPECT_EQ(table.out,
            "DIRECTION  CLASS  RELATIONSHIP                            "
            "NEIGHBOR          TYPE         DISPLAY NAME\n"
            "in         USES   fake_entity:0100|uses|fake_entity:0001  "
            "fake_entity:0100  fake_entity  Entity 100\n"
            "out        HAS    fake_entity:0001|has|fake_entity:0101   "
            "fake_entity:0101  fake_entity  Entity 101\n");
  EXPECT_EQ(graph_.neighbor_requests().at(0).direction(),
            v1::DIRECTION_UNSPECIFIED);

  CliResult missing =
      Run({"graph", "neighbors", "--instance", "ci-prod", "nope:12345"});
  EXPECT_EQ(missing.exit_status, kExitFailure);
  EXPECT_EQ(missing.err,
            "graphmill: NOT_FOUND: entity 'nope:12345' not found in instance "
            "'ci-prod'\n");
}

TEST_F(CliTest, NeighborsFollowHopsBreadthFirstExpandingEachEntityOnce) {
  CliResult table = Run({"graph", "neighbors", "--instance", "ci-prod",
                         "fake_entity:0001", "--depth", "3"});
  ASSERT_EQ(table.exit_status, kExitSuccess) << table.err;
  const std::vector<std::string> lines = Lines(table.out);
  ASSERT_EQ(lines.size(), 8u) << table.out;  // header, 5 + 2 rows
  EXPECT_TRUE(absl::StartsWith(lines[0], "DEPTH  FROM  ")) << lines[0];
  EXPECT_TRUE(absl::StartsWith(lines[1], "1      fake_entity:0001  in "))
      << lines[1];
  EXPECT_TRUE(absl::StartsWith(lines[6], "2      fake_entity:0101  in "))
      << lines[6];
  EXPECT_TRUE(absl::StartsWith(lines[7], "2      fake_entity:0101  out "))
      << lines[7];
  EXPECT_TRUE(absl::StrContains(lines[7], "fake_entity:0200"));
  // 0001 once (not again when 0101 leads back to it), its five neighbors,
  // and 0200 at depth 3: 7 requests' worth of keys.
  std::set<std::string> asked;
  for (const v1::ListNeighborsRequest& request : graph_.neighbor_requests())
    asked.insert(request.key());
  EXPECT_EQ(asked.size(), 7u);

  CliResult json = Run({"graph", "neighbors", "--instance", "ci-prod",
                        "fake_entity:0001", "--depth", "2", "-o", "json"});
  ASSERT_EQ(json.exit_status, kExitSuccess) << json.err;
  const std::vector<std::string> objects = Lines(json.out);
  ASSERT_EQ(objects.size(), 7u);
  EXPECT_TRUE(absl::StartsWith(
      objects[0], R"({"depth":1,"from":"fake_entity:0001","direction":)"))
      << objects[0];
  EXPECT_TRUE(
      absl::StartsWith(objects[6], R"({"depth":2,"from":"fake_entity:0101",)"))
      << objects[6];
  for (const std::string& object : objects) {
    rapidjson::Document document;
    document.Parse(object.c_str());
    EXPECT_TRUE(document.IsObject()) << object;
  }

  CliResult limited = Run({"graph", "neighbors", "--instance", "ci-prod",
                           "fake_entity:0001", "--depth", "2", "--limit", "6"});
  EXPECT_EQ(Lines(limited.out).size(), 7u) << "header and 6 rows";
  CliResult too_deep = Run({"graph", "neighbors", "--instance", "ci-prod",
                            "fake_entity:0001", "--depth", "6"});
  EXPECT_NE(too_deep.exit_status, kExitSuccess);
  EXPECT_THAT(too_deep.err, HasSubstr("--depth is at most 5"));
}

TEST_F(CliTest, ExportJsonLinesIsEntitiesThenRelationshipsAcrossPages) {
  CliResult result =
      Run({"graph", "export", "--instance", "ci-prod", "--format", "jsonl"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kEntityCount + 3));
  for (int i = 0; i < kEntityCount; ++i) {
    ASSERT_EQ(lines[i], EntityToJson(FakeEntity(i), false)) << i;
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[kEntityCount + i],
              RelationshipToJson(
                  DirectRelationship(FakeEntity(i), "HAS", FakeEntity(i + 1))));
  }
  EXPECT_EQ(graph_.entity_requests().size(), 3u);
  EXPECT_EQ(graph_.relationship_requests().size(), 2u);

  CliResult raw = Run({"graph", "export", "--instance", "ci-prod", "--format",
                       "jsonl", "--raw"});
  ASSERT_EQ(raw.exit_status, kExitSuccess) << raw.err;
  EXPECT_EQ(Lines(raw.out)[0], EntityToJson(FakeEntity(0), true));
}

TEST_F(CliTest, ExportDotHasEveryNodeThenEveryEdge) {
  CliResult result =
      Run({"graph", "export", "--instance", "ci-prod", "--format", "dot"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), static_cast<size_t>(4 + kEntityCount + 3 + 1));
  EXPECT_EQ(lines[0], "digraph \"ci-prod\" {");
  EXPECT_THAT(lines[4], StartsWith("  \"fake_entity:0000\" [label=\"Entity "
                                   "0\\nfake_entity\", shape="));
  // One _type, one style.
  const std::string style = lines[4].substr(lines[4].find(", shape="));
  for (int i = 0; i < kEntityCount; ++i) {
    ASSERT_THAT(lines[4 + i], ::testing::EndsWith(style)) << i;
  }
  EXPECT_EQ(lines[4 + kEntityCount],
            "  \"fake_entity:0000\" -> \"fake_entity:0001\" [label=\"HAS\"];");
  EXPECT_EQ(lines.back(), "}");
}

TEST_F(CliTest, FailedExportStopsWithOneLineAndNoClosingBrace) {
  // Streamed (--fold 0): what was read, unclosed.
  CliResult result = Run({"graph", "export", "--instance", "half", "--format",
                          "dot", "--fold", "0"});
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_EQ(result.err, "graphmill: INTERNAL: store unavailable\n");
  EXPECT_EQ(Lines(result.out).size(), static_cast<size_t>(4 + kEntityCount));
  EXPECT_THAT(result.out, Not(HasSubstr("}\n")));
  // Folded, the graph is written at the end: nothing.
  CliResult folded =
      Run({"graph", "export", "--instance", "half", "--format", "dot"});
  EXPECT_EQ(folded.exit_status, kExitFailure);
  EXPECT_EQ(folded.err, "graphmill: INTERNAL: store unavailable\n");
  EXPECT_EQ(folded.out, "");
}

// Node ids a DOT export declares ("fold N" for folded groups).
std::vector<std::string> DotNodes(const std::string& dot) {
  std::vector<std::string> nodes;
  for (const std::string& line : Lines(dot)) {
    if (absl::StrContains(line, " -> ") || !absl::StrContains(line, "[label="))
      continue;
    nodes.push_back(line.substr(3, line.find("\" [label=") - 3));
  }
  return nodes;
}

TEST_F(CliTest, ExportDotFoldsWideFansByDefault) {
  CliResult folded =
      Run({"graph", "export", "--instance", "fan", "--format", "dot"});
  ASSERT_EQ(folded.exit_status, kExitSuccess) << folded.err;
  EXPECT_THAT(DotNodes(folded.out),
              ElementsAre("fake_account:1", "fake_job:00", "fake_job:01",
                          "fake_job:02", "fake_job:03", "fake_job:04",
                          "fake_job:05", "fake_job:06", "fold 0"));
  EXPECT_THAT(folded.out, HasSubstr("[label=\"+23 fake_job\""));
  EXPECT_THAT(folded.out, HasSubstr("\"fake_account:1\" -> \"fold 0\" "
                                    "[label=\"HAS\", style=dashed];"));
  EXPECT_THAT(folded.out, HasSubstr("23 entities not drawn"));
  EXPECT_TRUE(absl::EndsWith(folded.out, "}\n"));

  CliResult three = Run({"graph", "export", "--instance", "fan", "--format",
                         "dot", "--fold", "3"});
  ASSERT_EQ(three.exit_status, kExitSuccess) << three.err;
  EXPECT_THAT(DotNodes(three.out), ElementsAre("fake_account:1", "fake_job:00",
                                               "fake_job:01", "fold 0"));
  EXPECT_THAT(three.out, HasSubstr("+28 fake_job"));

  CliResult all = Run({"graph", "export", "--instance", "fan", "--format",
                       "dot", "--fold", "0"});
  ASSERT_EQ(all.exit_status, kExitSuccess) << all.err;
  EXPECT_EQ(DotNodes(all.out).size(), static_cast<size_t>(1 + kFanJobCount));
  EXPECT_THAT(all.out, Not(HasSubstr("fold")));

  CliResult jsonl = Run({"graph", "export", "--instance", "fan", "--format",
                         "jsonl", "--fold", "3"});
  EXPECT_EQ(jsonl.exit_status, kExitUsage);
  EXPECT_EQ(jsonl.err, "graphmill: --fold is for --format dot\n");
  CliResult negative = Run({"graph", "export", "--instance", "fan", "--format",
                            "dot", "--fold", "-1"});
  EXPECT_EQ(negative.exit_status, kExitUsage);
  EXPECT_THAT(negative.err, HasSubstr("--fold expects a non-negative"));
}

// fake_entity:0001's neighbors are 0100-0104; 0101's are 0001 and 0200.
TEST_F(CliTest, ExportFromARootWalksTheNeighborsApi) {
  CliResult two = Run({"graph", "export", "--instance", "ci-prod", "--format",
                       "jsonl", "--root", "fake_entity:0001", "--depth", "2"});
  ASSERT_EQ(two.exit_status, kExitSuccess) << two.err;
  std::vector<std::string> expected = {EntityToJson(FakeEntity(1), false)};
  for (int i = 100; i <= 104; ++i) {
    expected.push_back(EntityToJson(FakeEntity(i), false));
  }
  expected.push_back(EntityToJson(FakeEntity(200), false));
  // 0001's five (its HAS to 0101 once, though 0101 lists it too), then
  // 0101's to 0200.
  for (int i = 0; i < 5; ++i) {
    expected.push_back(
        RelationshipToJson(FakeGraph::FakeNeighbor(i).relationship()));
  }
  expected.push_back(RelationshipToJson(
      DirectRelationship(FakeEntity(101), "HAS", FakeEntity(200))));
  EXPECT_EQ(Lines(two.out), expected);
  // No listing of the whole graph; every hop asked both ways, all classes.
  EXPECT_TRUE(graph_.entity_requests().empty());
  EXPECT_TRUE(graph_.relationship_requests().empty());
  for (const v1::ListNeighborsRequest& request : graph_.neighbor_requests()) {
    EXPECT_EQ(request.direction(), v1::DIRECTION_UNSPECIFIED);
    EXPECT_EQ(request.relationship_class(), "");
  }

  // Depth 1 (the default): the root, its neighbors and their relationships;
  // DOT draws the same, every edge between drawn nodes.
  CliResult dot = Run({"graph", "export", "--instance", "ci-prod", "--format",
                       "dot", "--root", "fake_entity:0001"});
  ASSERT_EQ(dot.exit_status, kExitSuccess) << dot.err;
  EXPECT_THAT(
      DotNodes(dot.out),
      ElementsAre("fake_entity:0001", "fake_entity:0100", "fake_entity:0101",
                  "fake_entity:0102", "fake_entity:0103", "fake_entity:0104"));
  int edges = 0;
  for (const std::string& line : Lines(dot.out)) {
    edges += absl::StrContains(line, " -> ") ? 1 : 0;
  }
  EXPECT_EQ(edges, 5);
  EXPECT_THAT(dot.out, Not(HasSubstr("fake_entity:0200")));

  // Filters apply within the walk: USES relationships only.
  CliResult uses =
      Run({"graph", "export", "--instance", "ci-prod", "--format", "jsonl",
           "--root", "fake_entity:0001", "--class", "USES"});
  ASSERT_EQ(uses.exit_status, kExitSuccess) << uses.err;
  EXPECT_EQ(Lines(uses.out).size(), 3u) << uses.out;
  EXPECT_THAT(uses.out, Not(HasSubstr(R"("_class":"HAS")")));
}

TEST_F(CliTest, ExportFromAnUnknownRootIsNotFound) {
  for (const char* format : {"jsonl", "dot"}) {
    CliResult missing = Run({"graph", "export", "--instance", "ci-prod",
                             "--format", format, "--root", "nope:1"});
    EXPECT_EQ(missing.exit_status, kExitFailure) << format;
    EXPECT_EQ(missing.err,
              "graphmill: NOT_FOUND: entity 'nope:1' not found in instance "
              "'ci-prod'\n");
    EXPECT_EQ(missing.out, "") << format;
  }
  CliResult no_root = Run({"graph", "export", "--instance", "ci-prod",
                           "--format", "dot", "--depth", "2"});
  EXPECT_EQ(no_root.exit_status, kExitUsage);
  EXPECT_EQ(no_root.err,
            "graphmill: --depth needs --root KEY for graph export\n");
  CliResult too_deep =
      Run({"graph", "export", "--instance", "ci-prod", "--format", "dot",
           "--root", "fake_entity:0001", "--depth", "6"});
  EXPECT_EQ(too_deep.exit_status, kExitUsage);
  EXPECT_THAT(too_deep.err, HasSubstr("--depth is at most 5"));
}

// The fake ignores filters, so what the CLI asks for and what it filters
// itself show separately.
TEST_F(CliTest, ExportFiltersGoToTheServerOnePerType) {
  CliResult result =
      Run({"graph", "export", "--instance", "ci-prod", "--format", "jsonl",
           "--type", "fake_entity", "--type", "other", "--class", "Resource"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  std::vector<std::pair<std::string, std::string>> entity_filters;
  for (const v1::ListEntitiesRequest& request : graph_.entity_requests()) {
    if (request.page_token().empty()) {
      entity_filters.emplace_back(request.filter().type(),
                                  request.filter().class_name());
    }
  }
  EXPECT_THAT(entity_filters, ElementsAre(Pair("fake_entity", "Resource"),
                                          Pair("other", "Resource")));
  std::vector<std::pair<std::string, std::string>> relationship_filters;
  for (const v1::ListRelationshipsRequest& request :
       graph_.relationship_requests()) {
    if (request.page_token().empty()) {
      relationship_filters.emplace_back(request.filter().type(),
                                        request.filter().class_name());
    }
  }
  EXPECT_THAT(relationship_filters, ElementsAre(Pair("fake_entity", "Resource"),
                                                Pair("other", "Resource")));
}

TEST_F(CliTest, ExportWithSeveralClassesFiltersInTheCli) {
  // Entities are Resource, relationships HAS.
  CliResult entities_only =
      Run({"graph", "export", "--instance", "ci-prod", "--format", "jsonl",
           "--class", "Resource", "--class", "Other"});
  ASSERT_EQ(entities_only.exit_status, kExitSuccess) << entities_only.err;
  EXPECT_EQ(Lines(entities_only.out).size(), static_cast<size_t>(kEntityCount));
  EXPECT_THAT(entities_only.out, Not(HasSubstr(R"("_class":"HAS")")));
  EXPECT_EQ(graph_.entity_requests().back().filter().class_name(), "");

  // DOT: an edge only between entities drawn.
  CliResult dot = Run({"graph", "export", "--instance", "ci-prod", "--format",
                       "dot", "--class", "HAS", "--class", "Other"});
  ASSERT_EQ(dot.exit_status, kExitSuccess) << dot.err;
  EXPECT_THAT(dot.out, Not(HasSubstr("->")));
  EXPECT_THAT(dot.out, Not(HasSubstr("[label=")));
  CliResult both = Run({"graph", "export", "--instance", "ci-prod", "--format",
                        "dot", "--class", "HAS", "--class", "Resource"});
  ASSERT_EQ(both.exit_status, kExitSuccess) << both.err;
  EXPECT_EQ(Lines(both.out).size(),
            static_cast<size_t>(4 + kEntityCount + 3 + 1));
}

TEST_F(CliTest, ExportTypeAndClassAreForExportOnlyRepeatable) {
  CliResult twice = Run({"graph", "entities", "--instance", "ci-prod", "--type",
                         "a", "--type", "b"});
  EXPECT_EQ(twice.exit_status, kExitUsage);
  EXPECT_EQ(twice.err, "graphmill: --type given more than once\n");
}

TEST_F(CliTest, CountPrintsTypesAndClassesFromOneSnapshot) {
  CliResult table = Run({"graph", "count", "--instance", "ci-prod"});
  ASSERT_EQ(table.exit_status, kExitSuccess) << table.err;
  const std::string relationship_type =
      DirectRelationship(FakeEntity(0), "HAS", FakeEntity(1)).type();
  EXPECT_EQ(
      table.out,
      absl::StrCat("instance ci-prod as of sequence 57: 3 entities, 1 "
                   "relationships\n\n",
                   FormatTable({"KIND", "TYPE", "COUNT"},
                               {{"entity", "fake_entity", "3"},
                                {"relationship", relationship_type, "1"}}),
                   "\n",
                   FormatTable({"KIND", "CLASS", "COUNT"},
                               {{"entity", "Resource", "3"},
                                {"relationship", "HAS", "1"}})));
  ASSERT_FALSE(graph_.snapshot_requests().empty());
  EXPECT_FALSE(graph_.snapshot_requests().back().include_raw_data());

  CliResult json =
      Run({"graph", "count", "--instance", "ci-prod", "-o", "json"});
  ASSERT_EQ(json.exit_status, kExitSuccess) << json.err;
  EXPECT_EQ(
      json.out,
      absl::StrCat(
          R"({"instanceId":"ci-prod","asOfSequence":"57","entities":"3",)"
          R"("relationships":"1",)"
          R"("entityTypes":[{"name":"fake_entity","count":"3"}],)"
          R"("entityClasses":[{"name":"Resource","count":"3"}],)"
          R"("relationshipTypes":[{"name":")",
          relationship_type, R"(","count":"1"}],)",
          R"("relationshipClasses":[{"name":"HAS","count":"1"}]})", "\n"));

  CliResult nope = Run({"graph", "count", "--instance", "nope"});
  EXPECT_EQ(nope.exit_status, kExitFailure);
  EXPECT_EQ(nope.err, "graphmill: NOT_FOUND: instance 'nope' not found\n");
  EXPECT_EQ(nope.out, "");
}

TEST_F(CliTest, SnapshotPrintsItsSequenceThenObjects) {
  CliResult result = Run({"graph", "snapshot", "--instance", "ci-prod"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_EQ(result.out, absl::StrCat("# as of sequence 57\n",
                                     EntityToJson(FakeEntity(0), false), "\n",
                                     EntityToJson(FakeEntity(1), false), "\n",
                                     EntityToJson(FakeEntity(2), false), "\n",
                                     RelationshipToJson(DirectRelationship(
                                         FakeEntity(0), "HAS", FakeEntity(1))),
                                     "\n"));

  CliResult empty = Run({"graph", "snapshot", "--instance", "empty"});
  EXPECT_EQ(empty.exit_status, kExitFailure);
  EXPECT_EQ(empty.err,
            "graphmill: snapshot of instance 'empty' ended before its first "
            "chunk\n");
  CliResult missing = Run({"graph", "snapshot", "--instance", "nope"});
  EXPECT_EQ(missing.err, "graphmill: NOT_FOUND: instance 'nope' not found\n");
}

// Raw data is most of an entity's size: the CLI asks for it only with --raw,
// and only where the output shows it (JSON, jsonl, the entity view).
TEST_F(CliTest, RawDataIsAskedForOnlyWhenItIsPrinted) {
  auto last_list = [&] { return graph_.entity_requests().back(); };
  ASSERT_EQ(Run({"graph", "entities", "--instance", "ci-prod", "--limit", "1",
                 "--output", "json"})
                .exit_status,
            kExitSuccess);
  EXPECT_FALSE(last_list().include_raw_data());
  ASSERT_EQ(Run({"graph", "entities", "--instance", "ci-prod", "--limit", "1",
                 "--output", "json", "--raw"})
                .exit_status,
            kExitSuccess);
  EXPECT_TRUE(last_list().include_raw_data());
  ASSERT_EQ(Run({"graph", "entities", "--instance", "ci-prod", "--limit", "1",
                 "--raw"})
                .exit_status,
            kExitSuccess);
  EXPECT_FALSE(last_list().include_raw_data());  // a table
  ASSERT_EQ(Run({"graph", "export", "--instance", "ci-prod", "--format",
                 "jsonl", "--raw"})
                .exit_status,
            kExitSuccess);
  EXPECT_TRUE(last_list().include_raw_data());
  ASSERT_EQ(Run({"graph", "export", "--instance", "ci-prod", "--format", "dot",
                 "--raw"})
                .exit_status,
            kExitSuccess);
  EXPECT_FALSE(last_list().include_raw_data());

  ASSERT_EQ(
      Run({"graph", "entity", "--instance", "ci-prod", "fake_entity:0007"})
          .exit_status,
      kExitSuccess);
  ASSERT_EQ(Run({"graph", "entity", "--instance", "ci-prod", "--raw",
                 "fake_entity:0007"})
                .exit_status,
            kExitSuccess);
  const std::vector<v1::GetEntityRequest> gets = graph_.get_entity_requests();
  ASSERT_EQ(gets.size(), 2u);
  EXPECT_FALSE(gets[0].include_raw_data());
  EXPECT_TRUE(gets[1].include_raw_data());

  ASSERT_EQ(Run({"graph", "neighbors", "--instance", "ci-prod", "--raw",
                 "fake_entity:0001"})
                .exit_status,
            kExitSuccess);
  EXPECT_FALSE(graph_.neighbor_requests().back().include_raw_data());
  ASSERT_EQ(Run({"graph", "neighbors", "--instance", "ci-prod", "--raw",
                 "--output", "json", "fake_entity:0001"})
                .exit_status,
            kExitSuccess);
  EXPECT_TRUE(graph_.neighbor_requests().back().include_raw_data());

  ASSERT_EQ(Run({"graph", "snapshot", "--instance", "ci-prod"}).exit_status,
            kExitSuccess);
  CliResult raw_snapshot =
      Run({"graph", "snapshot", "--instance", "ci-prod", "--raw"});
  ASSERT_EQ(raw_snapshot.exit_status, kExitSuccess);
  EXPECT_EQ(Lines(raw_snapshot.out)[1], EntityToJson(FakeEntity(0), true));
  const std::vector<v1::GetSnapshotRequest> snapshots =
      graph_.snapshot_requests();
  ASSERT_EQ(snapshots.size(), 2u);
  EXPECT_FALSE(snapshots[0].include_raw_data());
  EXPECT_TRUE(snapshots[1].include_raw_data());

  ASSERT_EQ(Run({"subscribe"}).exit_status, kExitSuccess);
  EXPECT_FALSE(graph_.subscribe_request().include_raw_data());
  CliResult raw_changes = Run({"subscribe", "--raw"});
  ASSERT_EQ(raw_changes.exit_status, kExitSuccess);
  EXPECT_TRUE(graph_.subscribe_request().include_raw_data());
  EXPECT_EQ(Lines(raw_changes.out)[0],
            ToJson(FakeGraph::FakeChanges()[0], true));
}

// Pages of big entities: fewer per page than asked (the coordinator bounds
// pages by bytes), and each page larger than gRPC's default 4 MiB receive
// limit, which the CLI raises to kMaxGrpcMessageBytes.
TEST_F(CliTest, BigEntitiesArriveInSmallerPagesLargerThanGrpcsDefault) {
  CliResult exported = Run(
      {"graph", "export", "--instance", "big", "--format", "jsonl", "--raw"});
  ASSERT_EQ(exported.exit_status, kExitSuccess) << exported.err;
  const std::vector<std::string> lines = Lines(exported.out);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kBigEntityCount + 3));
  for (int i = 0; i < kBigEntityCount; ++i) {
    EXPECT_TRUE(lines[i] == EntityToJson(BigEntity(i), true)) << i;
  }
  std::vector<std::string> tokens;
  for (const v1::ListEntitiesRequest& request : graph_.entity_requests()) {
    EXPECT_EQ(request.page_size(), 500);
    tokens.push_back(request.page_token());
  }
  EXPECT_THAT(tokens, ElementsAre("", "2", "4"));

  CliResult limited = Run({"graph", "entities", "--instance", "big", "--limit",
                           "3", "--output", "json", "--raw"});
  ASSERT_EQ(limited.exit_status, kExitSuccess) << limited.err;
  EXPECT_EQ(Lines(limited.out).size(), 3u);

  CliResult snapshot = Run({"graph", "snapshot", "--instance", "big", "--raw"});
  ASSERT_EQ(snapshot.exit_status, kExitSuccess) << snapshot.err;
  const std::vector<std::string> copied = Lines(snapshot.out);
  ASSERT_EQ(copied.size(), static_cast<size_t>(1 + kBigEntityCount));
  EXPECT_EQ(copied[0], "# as of sequence 9");
  EXPECT_TRUE(copied[kBigEntityCount] ==
              EntityToJson(BigEntity(kBigEntityCount - 1), true));
}

TEST_F(CliTest, AnEntityTooLargeWithRawDataSaysToDropRaw) {
  CliResult result = Run({"graph", "entity", "--instance", "ci-prod", "--raw",
                          "fake_entity:huge"});
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_EQ(result.err,
            "graphmill: RESOURCE_EXHAUSTED: entity 'fake_entity:huge' is "
            "17825812 bytes with raw data, more than the 16777216-byte "
            "message limit; read it without raw data (include_raw_data = "
            "false) (try again without --raw)\n");
}

// --- subscribe
// -----------------------------------------------------------------

TEST_F(CliTest, SubscribePrintsEachChangeUntilTheServerEnds) {
  CliResult result =
      Run({"subscribe", "--instance", "ci-prod", "--instance", "ci-other",
           "--type", "fake_.*", "--class", "Resource", "--kind", "created",
           "--kind", "deleted", "--from", "40"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_EQ(result.err, "");
  const std::vector<std::string> lines = Lines(result.out);
  const std::vector<v1::ChangeEvent> changes = FakeGraph::FakeChanges();
  ASSERT_EQ(lines.size(), changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    EXPECT_EQ(lines[i], ToJson(changes[i]));
  }
  // The same dialect as every other command's JSON (client/json_output.h):
  // int64 as strings, enums by name, objects flat.
  EXPECT_EQ(lines[0],
            absl::StrCat(R"({"sequence":"41","kind":"CHANGE_KIND_CREATED",)"
                         R"("instanceId":"ci-prod","runId":"12",)"
                         R"("timeMs":"1711015200041","entity":)",
                         EntityToJson(FakeEntity(41), false), "}"));
  rapidjson::Document updated;
  updated.Parse(lines[1].c_str());
  ASSERT_TRUE(updated.IsObject()) << lines[1];
  EXPECT_STREQ(updated["kind"].GetString(), "CHANGE_KIND_UPDATED");
  EXPECT_STREQ(updated["relationship"]["role"].GetString(), "admin");
  EXPECT_FALSE(updated["previousRelationship"].HasMember("role"));
  EXPECT_THAT(lines[2], HasSubstr(R"("kind":"CHANGE_KIND_DELETED")"));
  EXPECT_THAT(lines[2],
              HasSubstr(R"("previousEntity":{"_key":"fake_entity:0009")"));

  const v1::SubscribeRequest request = graph_.subscribe_request();
  EXPECT_THAT(request.instance_ids(), ElementsAre("ci-prod", "ci-other"));
  EXPECT_EQ(request.type_pattern(), "fake_.*");
  EXPECT_EQ(request.class_pattern(), "Resource");
  EXPECT_THAT(request.kinds(),
              ElementsAre(v1::CHANGE_KIND_CREATED, v1::CHANGE_KIND_DELETED));
  EXPECT_EQ(request.after_sequence(), 40);
}

// The backlog's end goes to stderr, not among the JSON lines; with
// --until-caught-up the command ends there (exit 0) while the stream would
// stay open.
TEST_F(CliTest, SubscribeUntilCaughtUpEndsAtTheMarker) {
  CliResult result =
      Run({"subscribe", "--instance", "marked", "--until-caught-up"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_TRUE(graph_.subscribe_request().mark_caught_up());
  ASSERT_EQ(Lines(result.out).size(), 1u) << result.out;
  EXPECT_THAT(result.out, StartsWith(R"({"sequence":"50",)"));
  EXPECT_EQ(result.err, "# caught up at sequence 52\n");
}

TEST_F(CliTest, SubscribeResumesAfterTheLastChangeWhenTheStreamBreaks) {
  CliResult result = Run({"subscribe", "--instance", "flaky"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  const std::vector<v1::ChangeEvent> changes = FakeGraph::FakeChanges();
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 3u) << result.out;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[i], ToJson(changes[i]));
  }
  EXPECT_EQ(
      result.err,
      absl::StrCat("graphmill: subscribe: UNAVAILABLE: server restarting; "
                   "reconnecting in 250ms to resume after sequence ",
                   changes[1].sequence(), "\n"));
  EXPECT_EQ(graph_.subscribe_request().after_sequence(), changes[1].sequence());
}

TEST_F(CliTest, SubscribeThatNeverStartedFailsAtOnce) {
  CliResult result = Run({"subscribe", "--instance", "broken"});
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_EQ(result.err, "graphmill: UNAVAILABLE: server restarting\n");
}

TEST_F(CliTest, SubscribeTooFarBackShowsTheServersMessage) {
  CliResult result = Run({"subscribe", "--from", "1"});
  EXPECT_EQ(result.exit_status, kExitFailure);
  EXPECT_EQ(result.err,
            "graphmill: OUT_OF_RANGE: changes after sequence 1 are no longer "
            "retained; the earliest available sequence is 40\n");
  EXPECT_EQ(result.out, "");
}

TEST_F(CliTest, SubscribeEndsQuietlyOnSigint) {
  handle_interrupts_ = true;
  LineSignallingBuffer buffer;
  std::ostream out(&buffer);
  out_ = &out;
  CliResult result;
  std::thread cli([&] {
    result = Run({"subscribe", "--instance", "forever"});
  });
  // The first change is printed, the stream stays open: Ctrl-C.
  ASSERT_TRUE(
      buffer.line_flushed().WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_EQ(kill(getpid(), SIGINT), 0);
  cli.join();
  EXPECT_EQ(result.exit_status, kExitSuccess);
  EXPECT_EQ(result.err, "");
  ASSERT_EQ(Lines(buffer.str()).size(), 1u);
  EXPECT_THAT(buffer.str(),
              StartsWith(R"({"sequence":"50","kind":"CHANGE_KIND_CREATED",)"));
}

// --- token ---

TEST_F(CliTest, TokenCreatePrintsTheTokenAloneOnTheLastLine) {
  CliResult result = Run({"token", "create", "ci-reader", "--role", "reader"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_EQ(result.out, std::string(kFakeToken) + "\n");
  EXPECT_EQ(result.err,
            "token 'ci-reader' created (role reader). It is shown only this "
            "once: store it now; the coordinator keeps only its hash.\n");

  CliResult json =
      Run({"token", "create", "pool-a", "--role=worker", "--output", "json"});
  ASSERT_EQ(json.exit_status, kExitSuccess) << json.err;
  EXPECT_EQ(json.out, absl::StrCat(R"({"token":")", kFakeToken,
                                   R"(","name":"pool-a","role":)"
                                   R"("TOKEN_ROLE_WORKER"})",
                                   "\n"));
  EXPECT_THAT(json.err, HasSubstr("shown only this once"));
}

TEST_F(CliTest, TokenCreateErrors) {
  CliResult no_role = Run({"token", "create", "ci"});
  EXPECT_EQ(no_role.exit_status, kExitUsage);
  EXPECT_EQ(no_role.err,
            "graphmill: missing --role admin|reader|worker for 'graphmill "
            "token create'\n");
  CliResult bad_role = Run({"token", "create", "ci", "--role", "root"});
  EXPECT_EQ(bad_role.exit_status, kExitUsage);
  EXPECT_EQ(bad_role.err,
            "graphmill: --role expects admin, reader or worker, got 'root'\n");
  CliResult taken = Run({"token", "create", "taken", "--role", "admin"});
  EXPECT_EQ(taken.exit_status, kExitFailure);
  EXPECT_EQ(taken.err,
            "graphmill: ALREADY_EXISTS: token 'taken' already exists\n");
  EXPECT_EQ(taken.out, "");
}

TEST_F(CliTest, TokenList) {
  CliResult table = Run({"token", "list"});
  ASSERT_EQ(table.exit_status, kExitSuccess) << table.err;
  EXPECT_EQ(table.out,
            "NAME             ROLE    CREATED\n"
            "bootstrap-admin  admin   2024-03-21T10:00:00Z\n"
            "pool-a           worker  2024-03-21T10:01:00Z\n");
  CliResult json = Run({"token", "list", "--output", "json"});
  ASSERT_EQ(json.exit_status, kExitSuccess) << json.err;
  EXPECT_EQ(json.out,
            "{\"name\":\"bootstrap-admin\",\"role\":\"TOKEN_ROLE_ADMIN\","
            "\"createdAtMs\":\"1711015200000\"}\n"
            "{\"name\":\"pool-a\",\"role\":\"TOKEN_ROLE_WORKER\","
            "\"createdAtMs\":\"1711015260000\"}\n");
}

TEST_F(CliTest, TokenRevoke) {
  CliResult result = Run({"token", "revoke", "pool-a"});
  ASSERT_EQ(result.exit_status, kExitSuccess) << result.err;
  EXPECT_EQ(result.out, "token pool-a revoked\n");
  CliResult json = Run({"token", "revoke", "old", "--output", "json"});
  ASSERT_EQ(json.exit_status, kExitSuccess) << json.err;
  EXPECT_EQ(json.out, "{\"name\":\"old\"}\n");
  EXPECT_THAT(admin_.revoked(), ElementsAre("pool-a", "old"));
  CliResult missing = Run({"token", "revoke", "nope"});
  EXPECT_EQ(missing.exit_status, kExitFailure);
  EXPECT_EQ(missing.err, "graphmill: NOT_FOUND: token 'nope' not found\n");
  CliResult no_name = Run({"token", "revoke"});
  EXPECT_EQ(no_name.exit_status, kExitUsage);
  EXPECT_EQ(no_name.err,
            "graphmill: missing NAME for 'graphmill token revoke' (usage: "
            "graphmill token revoke NAME)\n");
}

}  // namespace
}  // namespace graphmill::cli
