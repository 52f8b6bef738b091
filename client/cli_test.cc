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
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/render.h"
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
using ::testing::StartsWith;

constexpr int64_t kStartMs = 1711015200000;  // 2024-03-21T10:00:00Z
constexpr int kEntityCount = 1100;           // 3 pages of 500

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
    definition.add_steps()->set_id("fetch-projects");
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
    *response = request->instance();
    (*response->mutable_config())["apiKey"] = "***";
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
    return grpc::Status::OK;
  }

  grpc::Status GetRun(grpc::ServerContext* context,
                      const v1::GetRunRequest* request,
                      v1::GetRunResponse* response) override {
    Record(context);
    *response->mutable_run() =
        FakeRun(request->run_id(), v1::RUN_STATUS_PARTIAL);
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
    *response->add_runs() = FakeRun(12, v1::RUN_STATUS_FAILED);
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
    writer->Write(update);
    return grpc::Status::OK;
  }

  v1::Instance created() {
    absl::MutexLock lock(&mutex_);
    return created_;
  }
  v1::ListRunsRequest list_runs() {
    absl::MutexLock lock(&mutex_);
    return list_runs_;
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
  std::string last_authorization_ ABSL_GUARDED_BY(mutex_);
};

// Serves kEntityCount entities in pages; a page token is the offset of the next
// page.
class FakeGraph final : public v1::Graph::Service {
 public:
  grpc::Status ListEntities(grpc::ServerContext*,
                            const v1::ListEntitiesRequest* request,
                            v1::ListEntitiesResponse* response) override {
    {
      absl::MutexLock lock(&mutex_);
      entity_requests_.push_back(*request);
    }
    if (request->filter().instance_id() != "ci-prod") {
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
    for (int i = offset; i < end; ++i)
      *response->add_entities() = FakeEntity(i);
    if (end < kEntityCount) response->set_next_page_token(absl::StrCat(end));
    return grpc::Status::OK;
  }

  grpc::Status ListRelationships(
      grpc::ServerContext*, const v1::ListRelationshipsRequest* request,
      v1::ListRelationshipsResponse* response) override {
    const bool first_page = request->page_token().empty();
    for (int i = first_page ? 0 : 2; i < (first_page ? 2 : 3); ++i) {
      *response->add_relationships() =
          DirectRelationship(FakeEntity(i), "HAS", FakeEntity(i + 1));
    }
    if (first_page) response->set_next_page_token("second");
    return grpc::Status::OK;
  }

  grpc::Status GetEntity(grpc::ServerContext*,
                         const v1::GetEntityRequest* request,
                         v1::Entity* response) override {
    if (request->key() != "fake_entity:0007") {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("entity '", request->key(), "' not found in instance '",
                       request->instance_id(), "'"));
    }
    *response = FakeEntity(7);
    return grpc::Status::OK;
  }

  std::vector<v1::ListEntitiesRequest> entity_requests() {
    absl::MutexLock lock(&mutex_);
    return entity_requests_;
  }

 private:
  absl::Mutex mutex_;
  std::vector<v1::ListEntitiesRequest> entity_requests_ ABSL_GUARDED_BY(mutex_);
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
    };
    std::ostringstream out;
    std::ostringstream err;
    const int status = RunCli(args, out, err, environment);
    return {status, out.str(), err.str()};
  }

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
            "config.apiKey   ***\n"
            "config.orgSlug  gh/acme\n");
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
  EXPECT_EQ(list.out,
            "ID       INTEGRATION  CREATED               UPDATED\n"
            "ci-prod  fake         2024-03-21T10:00:00Z  -\n");

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

  CliResult list =
      Run({"run", "list", "--instance", "ci-prod", "--limit", "2"});
  EXPECT_EQ(list.exit_status, kExitSuccess) << list.err;
  EXPECT_EQ(admin_.list_runs().instance_id(), "ci-prod");
  EXPECT_EQ(admin_.list_runs().limit(), 2);
  const std::vector<std::string> lines = Lines(list.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[1], StartsWith("13  ci-prod   SUCCEEDED"));
  EXPECT_THAT(lines[2], HasSubstr("invalid credentials"));
}

}  // namespace
}  // namespace graphmill::cli
