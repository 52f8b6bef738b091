// Every attack of issue 11, replayed against real processes (a coordinator
// serving mTLS and tokens, real workers, the CLI, fake providers) the way an
// attacker on the same network would try it, each shown to fail with the
// right code and to leave nothing leaked or changed:
//
// 1. Calls without a token or with a wrong one (UNAUTHENTICATED), and a reader
//    token deleting an instance (PERMISSION_DENIED).
// 2. Opening WorkerGateway.Connect without the worker role while a run waits
//    for a worker: no TaskAssignment (which carries the decrypted apiKey).
// 3. Pointing an instance's baseUrl, or its JupiterOne upload, at the
//    attacker's server without knowing the secret: refused, and the attacker's
//    server (a real HTTP server on loopback) receives no request.
// 4. A WorkerHello that re-declares the registered circleci definition with
//    apiKey plain: refused; new instances still keep apiKey secret.
// 5. Forged SubmitResults for guessed task ids with attempt 1 and no lease id:
//    refused; the run's graph is the clean run's, nothing deleted.
//
// Every cluster also checks, when destroyed, that no secret it handed out
// appears in any process log.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "graphmill/v1/worker.grpc.pb.h"
#include "rapidjson/document.h"
#include "re2/re2.h"
#include "tests/e2e/expected_graph.h"
#include "tests/fakes/common/server_thread.h"

namespace graphmill::testing {
namespace {

constexpr char kLogin[] = "security-org";
constexpr char kInstance[] = "ci";
// Provider requests per second: the rate is not what these tests are about.
constexpr char kRateLimit[] = "1000";
constexpr char kJ1Token[] = "j1-token-3b8e61d4";
constexpr char kJ1Account[] = "j1-account-11";
// Shaped like a real token (gm_ and 43 base64url characters), issued by no
// one.
constexpr char kWrongToken[] = "gm_Wr0ngT0kenWr0ngT0kenWr0ngT0kenWr0ngT0ken-_A";

// 2 orgs, 4 projects, 8 pipelines, 16 workflows, 32 jobs.
fakes::GeneratorOptions Dataset() {
  fakes::GeneratorOptions options;
  options.seed = 11;
  options.login = kLogin;
  options.orgs = 2;
  options.projects_per_org = 2;
  options.pipelines_per_project = 2;
  options.workflows_per_pipeline = 2;
  options.jobs_per_workflow = 2;
  options.contexts_per_org = 1;
  options.env_vars_per_project = 1;
  options.env_vars_per_context = 1;
  options.project_restrictions_per_context = 1;
  return options;
}

// The attacker's server: a real HTTP server on loopback that answers every
// request 200 "{}" and records its method, path and headers.
class AttackerServer {
 public:
  struct Request {
    std::string method;
    std::string path;
    std::multimap<std::string, std::string> headers;
  };

  AttackerServer() : thread_(server_) {
    const absl::Status started = thread_.Start(
        {.name = "attacker", .threads = 8},
        [this](const httplib::Request& request, httplib::Response& response) {
          Request recorded{request.method, request.path, {}};
          for (const auto& [name, value] : request.headers) {
            recorded.headers.emplace(name, value);
          }
          {
            absl::MutexLock lock(&mu_);
            requests_.push_back(std::move(recorded));
          }
          response.status = 200;
          response.set_content("{}", "application/json");
        });
    EXPECT_TRUE(started.ok()) << started;
  }

  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", thread_.port());
  }

  std::vector<Request> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

  // Each request as "METHOD PATH" and its headers, for failure messages.
  std::string Describe() const {
    std::string text;
    for (const Request& request : requests()) {
      absl::StrAppend(&text, request.method, " ", request.path, "\n");
      for (const auto& [name, value] : request.headers) {
        absl::StrAppend(&text, "  ", name, ": ", value, "\n");
      }
    }
    return text;
  }

 private:
  httplib::Server server_;
  fakes::common::ServerThread thread_;
  mutable absl::Mutex mu_;
  std::vector<Request> requests_ ABSL_GUARDED_BY(mu_);
};

// What a Connect stream did: its final status and what the coordinator sent.
struct ConnectOutcome {
  grpc::Status status;
  std::vector<v1::CoordinatorMessage> received;
};

// Opens WorkerGateway.Connect on `channel`, sends `hello` and reads until the
// coordinator ends the stream (or 5 s pass); stops at the first message
// received.
ConnectOutcome ConnectAsWorker(const std::shared_ptr<grpc::Channel>& channel,
                               const v1::WorkerHello& hello) {
  auto stub = v1::WorkerGateway::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  auto stream = stub->Connect(&context);
  v1::WorkerMessage message;
  *message.mutable_hello() = hello;
  stream->Write(message);
  ConnectOutcome outcome;
  v1::CoordinatorMessage received;
  while (stream->Read(&received)) {
    outcome.received.push_back(received);
    context.TryCancel();
  }
  outcome.status = stream->Finish();
  return outcome;
}

// SubmitResults as the forger of issue 11 sent it: a guessed task id, attempt
// 1 and no lease id, an empty batch, then SUCCEEDED.
grpc::Status ForgeResults(v1::WorkerGateway::Stub& stub, int64_t task_id) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::SubmitResultsResponse response;
  auto writer = stub.SubmitResults(&context, &response);
  v1::TaskResultMessage message;
  message.mutable_attempt()->set_task_id(task_id);
  message.mutable_attempt()->set_attempt(1);
  writer->Write(message);
  message.Clear();
  message.mutable_batch();
  writer->Write(message);
  message.Clear();
  message.mutable_outcome()->set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  writer->Write(message);
  writer->WritesDone();
  return writer->Finish();
}

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// The CLI failed with the server's `code`: exit 1, no data on stdout, and one
// line "graphmill: CODE: ..." on stderr.
void ExpectCliError(const CommandResult& result, absl::string_view code,
                    absl::string_view what) {
  EXPECT_EQ(result.exit_code, 1) << what << "\n" << result.out << result.err;
  // Nothing read: `graph entities` prints its table's header before the first
  // page arrives, and nothing after it.
  EXPECT_TRUE(result.out.empty() ||
              (absl::StartsWith(result.out, "KEY ") &&
               std::count(result.out.begin(), result.out.end(), '\n') == 1))
      << what << ": " << result.out;
  EXPECT_TRUE(
      absl::StartsWith(result.err, absl::StrCat("graphmill: ", code, ": ")))
      << what << ": " << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1)
      << what << ": " << result.err;
}

class SecurityTest : public ::testing::Test {
 protected:
  void StartCluster(ClusterOptions options) {
    options.fakes["circleci"] = CircleCiFake(FakeCircleCiFlags(Dataset(), 20));
    cluster_ = std::make_unique<Cluster>(std::move(options));
    const absl::Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
    admin_ = v1::Admin::NewStub(cluster_->NewChannel());
  }

  CommandResult CreateInstance(const std::string& id,
                               std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--rate-limit", kRateLimit});
    return CreateCircleCiInstance(*cluster_, id, kLogin, kCircleCiToken, extra);
  }

  // `run start ID --watch`; the run's id, or 0 after a test failure.
  int64_t RunToSuccess(const std::string& instance) {
    CommandResult run = cluster_->Cli({"run", "start", instance, "--watch"});
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    int64_t id = 0;
    EXPECT_TRUE(RE2::PartialMatch(run.out, R"(run (\d+) started)", &id))
        << run.out;
    return id;
  }

  v1::Run GetRun(int64_t id) {
    grpc::ClientContext context;
    v1::GetRunRequest request;
    request.set_run_id(id);
    v1::GetRunResponse response;
    const grpc::Status status = admin_->GetRun(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.run();
  }

  v1::Instance GetInstance(const std::string& id) {
    grpc::ClientContext context;
    v1::GetInstanceRequest request;
    request.set_instance_id(id);
    v1::Instance instance;
    const grpc::Status status =
        admin_->GetInstance(&context, request, &instance);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return instance;
  }

  // The circleci definition the coordinator has registered.
  v1::IntegrationDefinition CircleCiDefinition() {
    grpc::ClientContext context;
    v1::ListIntegrationsResponse response;
    const grpc::Status status = admin_->ListIntegrations(
        &context, v1::ListIntegrationsRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const v1::IntegrationDefinition& definition :
         response.integrations()) {
      if (definition.name() == "circleci") return definition;
    }
    ADD_FAILURE() << "circleci is not registered";
    return {};
  }

  // The CLI with no token from anywhere: no --token-file, no
  // $GRAPHMILL_TOKEN, and a home directory without ~/.config/graphmill/token
  // (client/command_line.cc looks in these three places).
  CommandResult CliWithoutToken(std::vector<std::string> args) {
    std::map<std::string, std::optional<std::string>> saved;
    for (const char* name : {"HOME", "XDG_CONFIG_HOME", "GRAPHMILL_TOKEN"}) {
      const char* value = getenv(name);
      saved[name] =
          value == nullptr ? std::nullopt : std::optional<std::string>(value);
      unsetenv(name);
    }
    setenv("HOME", NewTempDir("home-without-token").c_str(), 1);
    std::vector<std::string> flags;
    for (const std::string& flag : cluster_->CliFlags()) {
      if (!absl::StartsWith(flag, "--token-file")) flags.push_back(flag);
    }
    args.insert(args.begin(), flags.begin(), flags.end());
    CommandResult result =
        RunCommand(Runfile("client/graphmill"), args, absl::Seconds(60));
    for (const auto& [name, value] : saved) {
      if (value.has_value()) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
    return result;
  }

  // A file holding kWrongToken.
  std::string WrongTokenFile() {
    const std::string path = cluster_->dir() + "/wrong.token";
    std::ofstream(path) << kWrongToken << "\n";
    return path;
  }

  // A file that does not exist: NewChannel() then sends no token.
  std::string NoTokenFile() { return cluster_->dir() + "/no-such.token"; }

  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

// Attack 1: `instance delete` and graph reads with no token or a wrong one;
// deletion with a reader token.
TEST_F(SecurityTest, CallsWithoutAValidTokenOrRoleAreRefused) {
  ClusterOptions options;
  options.workers = 1;
  StartCluster(options);
  ASSERT_EQ(CreateInstance(kInstance).exit_code, 0);
  RunToSuccess(kInstance);
  const CommandResult entities =
      cluster_->Cli({"graph", "entities", "--instance", kInstance});
  ASSERT_EQ(entities.exit_code, 0) << entities.err;
  ASSERT_TRUE(absl::StrContains(entities.out, "circleci_job"));

  const std::vector<std::vector<std::string>> attacks = {
      {"instance", "delete", kInstance, "--yes"},
      {"graph", "entities", "--instance", kInstance},
      {"instance", "list"},
  };
  const std::string wrong = WrongTokenFile();
  for (const std::vector<std::string>& attack : attacks) {
    const std::string what = absl::StrJoin(attack, " ");
    const CommandResult anonymous = CliWithoutToken(attack);
    ExpectCliError(anonymous, "UNAUTHENTICATED", "no token: " + what);
    EXPECT_TRUE(absl::StrContains(anonymous.err, "(no token sent"))
        << anonymous.err;
    const CommandResult forged = cluster_->CliWithToken(wrong, attack);
    ExpectCliError(forged, "UNAUTHENTICATED", "wrong token: " + what);
    EXPECT_FALSE(absl::StrContains(forged.err, kWrongToken)) << forged.err;
  }

  // The same without the CLI: a raw gRPC client with no token, and with the
  // wrong one.
  for (const std::string& token_file : {NoTokenFile(), wrong}) {
    const std::shared_ptr<grpc::Channel> channel =
        cluster_->NewChannel(token_file);
    grpc::ClientContext delete_context;
    v1::DeleteInstanceRequest request;
    request.set_instance_id(kInstance);
    v1::DeleteInstanceResponse deleted;
    EXPECT_EQ(v1::Admin::NewStub(channel)
                  ->DeleteInstance(&delete_context, request, &deleted)
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << token_file;
    grpc::ClientContext list_context;
    v1::ListEntitiesRequest list;
    list.mutable_filter()->set_instance_id(kInstance);
    v1::ListEntitiesResponse listed;
    const grpc::Status status =
        v1::Graph::NewStub(channel)->ListEntities(&list_context, list, &listed);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << token_file;
    EXPECT_EQ(listed.entities_size(), 0);
  }

  // A reader may read the graph but not delete.
  const CommandResult reader_delete =
      cluster_->CliWithToken(cluster_->reader_token_file(),
                             {"instance", "delete", kInstance, "--yes"});
  ExpectCliError(reader_delete, "PERMISSION_DENIED", "reader: instance delete");
  EXPECT_TRUE(absl::StrContains(reader_delete.err, "reader"))
      << reader_delete.err;
  const CommandResult reader_read =
      cluster_->CliWithToken(cluster_->reader_token_file(),
                             {"graph", "entities", "--instance", kInstance});
  EXPECT_EQ(reader_read.exit_code, 0) << reader_read.err;
  EXPECT_EQ(reader_read.out, entities.out);

  // The instance and its graph are still there.
  const CommandResult got = cluster_->Cli({"instance", "get", kInstance});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(cluster_->Cli({"graph", "entities", "--instance", kInstance}).out,
            entities.out);
  EXPECT_FALSE(absl::StrContains(cluster_->AllLogs(), kWrongToken));
}

// Attack 2: WorkerGateway.Connect without the worker role, while a run waits
// for a worker to take its first task (which carries the decrypted apiKey).
TEST_F(SecurityTest, OnlyWorkersMayConnectAndReceiveTasks) {
  ClusterOptions options;
  options.workers = 1;
  StartCluster(options);
  ASSERT_EQ(CreateInstance(kInstance).exit_code, 0);
  v1::WorkerHello hello;
  hello.set_worker_id("intruder");
  hello.set_capacity(8);
  *hello.add_integrations() = CircleCiDefinition();
  // No worker: the run's validation task waits for the first one to connect.
  cluster_->workers()[0]->Stop();
  const CommandResult started = cluster_->Cli({"run", "start", kInstance});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  int64_t run_id = 0;
  ASSERT_TRUE(RE2::PartialMatch(started.out, R"(run (\d+) started)", &run_id))
      << started.out;

  const struct {
    std::string name;
    std::string token_file;
    grpc::StatusCode code;
  } intruders[] = {
      {"reader token", cluster_->reader_token_file(),
       grpc::StatusCode::PERMISSION_DENIED},
      {"no token", NoTokenFile(), grpc::StatusCode::UNAUTHENTICATED},
      {"wrong token", WrongTokenFile(), grpc::StatusCode::UNAUTHENTICATED},
  };
  for (const auto& intruder : intruders) {
    const ConnectOutcome outcome =
        ConnectAsWorker(cluster_->NewChannel(intruder.token_file), hello);
    EXPECT_EQ(outcome.status.error_code(), intruder.code)
        << intruder.name << ": " << CodeName(outcome.status.error_code())
        << ": " << outcome.status.error_message();
    EXPECT_TRUE(outcome.received.empty())
        << intruder.name << " received " << outcome.received.size()
        << " messages, the first: " << outcome.received[0].DebugString();
  }
  // Nothing was leased: the run still waits for its validation.
  const v1::Run waiting = GetRun(run_id);
  EXPECT_EQ(waiting.status(), v1::RUN_STATUS_VALIDATING)
      << waiting.DebugString();

  // The run was there to be taken: a real worker takes it and it completes.
  ASSERT_TRUE(cluster_->StartWorker(0).ok());
  const CommandResult watched =
      cluster_->Cli({"run", "watch", absl::StrCat(run_id)});
  EXPECT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  EXPECT_EQ(GetRun(run_id).status(), v1::RUN_STATUS_SUCCEEDED);
}

// Attack 3: point the provider's baseUrl, or the JupiterOne upload, at the
// attacker's server without knowing the secret that would be sent there.
TEST_F(SecurityTest, SecretsCannotBeRedirectedWithoutGivingThemAgain) {
  ClusterOptions options;
  options.workers = 2;
  options.fakes["jupiterone"] =
      Fake("jupiterone", {absl::StrCat("--token=", kJ1Token),
                          absl::StrCat("--account=", kJ1Account)});
  StartCluster(options);
  AttackerServer attacker;
  setenv("E2E_SECURITY_J1_TOKEN", kJ1Token, 1);
  ASSERT_EQ(CreateInstance(
                kInstance,
                {"--j1-base-url", cluster_->fake_url("jupiterone"),
                 "--j1-account", kJ1Account, "--j1-token-env",
                 "E2E_SECURITY_J1_TOKEN", "--j1-integration-instance", "j1-ci"})
                .exit_code,
            0);
  const int64_t first = RunToSuccess(kInstance);
  httplib::Client j1(cluster_->fake_url("jupiterone"));
  auto job_count = [&j1]() -> int {
    auto response = j1.Get("/_control/jobs");
    if (!response || response->status != 200) return -1;
    rapidjson::Document jobs;
    jobs.Parse(response->body.c_str());
    return jobs.IsObject() && jobs.HasMember("jobs") ? jobs["jobs"].Size() : -1;
  };
  EXPECT_EQ(job_count(), 1);
  const v1::Instance before = GetInstance(kInstance);

  // The CLI sends the stored config back with apiKey as "***".
  const std::string attacker_api = attacker.url() + "/api/v2";
  CommandResult redirected = cluster_->Cli(
      {"instance", "update", kInstance, "--config", "baseUrl=" + attacker_api});
  ExpectCliError(redirected, "FAILED_PRECONDITION", "baseUrl to the attacker");
  EXPECT_TRUE(absl::StrContains(redirected.err, "'apiKey'")) << redirected.err;
  // A raw client leaving apiKey out, or the upload's token empty.
  {
    v1::UpdateInstanceRequest request;
    *request.mutable_instance() = before;
    request.mutable_instance()->mutable_config()->erase("apiKey");
    (*request.mutable_instance()->mutable_config())["baseUrl"] = attacker_api;
    grpc::ClientContext context;
    v1::Instance updated;
    const grpc::Status status =
        admin_->UpdateInstance(&context, request, &updated);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << status.error_message();
    EXPECT_TRUE(absl::StrContains(status.error_message(), "'apiKey'"))
        << status.error_message();
  }
  CommandResult upload_redirected = cluster_->Cli(
      {"instance", "update", kInstance, "--j1-base-url", attacker.url()});
  ExpectCliError(upload_redirected, "FAILED_PRECONDITION",
                 "upload to the attacker");
  EXPECT_TRUE(absl::StrContains(upload_redirected.err, "upload.api_token"))
      << upload_redirected.err;
  CommandResult account_changed = cluster_->Cli(
      {"instance", "update", kInstance, "--j1-account", "attacker-account"});
  ExpectCliError(account_changed, "FAILED_PRECONDITION",
                 "upload to another account");
  EXPECT_TRUE(absl::StrContains(account_changed.err, "upload.api_token"))
      << account_changed.err;
  {
    v1::UpdateInstanceRequest request;
    *request.mutable_instance() = before;
    request.mutable_instance()->mutable_upload()->set_base_url(attacker.url());
    request.mutable_instance()->mutable_upload()->clear_api_token();
    grpc::ClientContext context;
    v1::Instance updated;
    const grpc::Status status =
        admin_->UpdateInstance(&context, request, &updated);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << status.error_message();
  }
  const v1::Instance after = GetInstance(kInstance);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(before, after))
      << before.DebugString() << "\n"
      << after.DebugString();

  // The upload retried and a new run go where they went before.
  const CommandResult retried =
      cluster_->Cli({"run", "upload", absl::StrCat(first)});
  ASSERT_EQ(retried.exit_code, 0) << retried.err;
  EXPECT_EQ(cluster_->Cli({"run", "watch", absl::StrCat(first)}).exit_code, 0);
  EXPECT_EQ(GetRun(first).upload().state(), v1::UPLOAD_STATE_SUCCEEDED);
  EXPECT_EQ(job_count(), 2);
  httplib::Client circleci(cluster_->fake_url("circleci"));
  ASSERT_TRUE(circleci.Delete("/_control/counters"));
  RunToSuccess(kInstance);
  auto counters = circleci.Get("/_control/counters");
  ASSERT_TRUE(counters && counters->status == 200);
  rapidjson::Document counts;
  counts.Parse(counters->body.c_str());
  ASSERT_TRUE(counts.IsObject() && counts.HasMember("total"));
  EXPECT_GT(counts["total"].GetInt64(), 10) << counters->body;
  EXPECT_EQ(job_count(), 3);
  EXPECT_TRUE(attacker.requests().empty()) << attacker.Describe();
}

// Attack 4: a worker re-declares the registered circleci definition with
// apiKey plain, so that new instances would store and print it in clear.
TEST_F(SecurityTest, RegisteredDefinitionsCannotBeWeakened) {
  ClusterOptions options;
  options.workers = 1;
  StartCluster(options);
  const v1::IntegrationDefinition registered = CircleCiDefinition();
  ASSERT_FALSE(registered.version().empty());

  auto weakened = [&](const std::string& version, const std::string& field,
                      bool secret, bool endpoint) {
    v1::IntegrationDefinition definition = registered;
    definition.set_version(version);
    bool found = false;
    for (v1::ConfigField& config : *definition.mutable_config_fields()) {
      if (config.name() != field) continue;
      config.set_secret(secret);
      config.set_endpoint(endpoint);
      found = true;
    }
    EXPECT_TRUE(found) << field;
    return definition;
  };
  const struct {
    std::string name;
    v1::IntegrationDefinition definition;
  } attempts[] = {
      {"apiKey plain, same version",
       weakened(registered.version(), "apiKey", false, false)},
      {"apiKey plain, new version", weakened("99.0.0", "apiKey", false, false)},
      {"baseUrl not an endpoint, new version",
       weakened("99.0.1", "baseUrl", false, false)},
  };
  const std::shared_ptr<grpc::Channel> worker_channel =
      cluster_->NewChannel(cluster_->worker_token_file());
  for (const auto& attempt : attempts) {
    v1::WorkerHello hello;
    hello.set_worker_id("rogue-worker");
    hello.set_capacity(4);
    *hello.add_integrations() = attempt.definition;
    const ConnectOutcome outcome = ConnectAsWorker(worker_channel, hello);
    EXPECT_EQ(outcome.status.error_code(),
              grpc::StatusCode::FAILED_PRECONDITION)
        << attempt.name << ": " << CodeName(outcome.status.error_code()) << ": "
        << outcome.status.error_message();
    EXPECT_TRUE(outcome.received.empty()) << attempt.name;
  }
  const v1::IntegrationDefinition now = CircleCiDefinition();
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(registered, now))
      << now.DebugString();

  ASSERT_EQ(CreateInstance("after").exit_code, 0);
  const std::string& key = kCircleCiToken;
  const CommandResult table = cluster_->Cli({"instance", "get", "after"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_FALSE(absl::StrContains(table.out, key)) << table.out;
  const std::vector<std::string> json =
      cluster_->CliJsonLines({"instance", "get", "after"});
  ASSERT_EQ(json.size(), 1u);
  EXPECT_FALSE(absl::StrContains(json[0], key)) << json[0];
  rapidjson::Document document;
  document.Parse(json[0].c_str());
  ASSERT_TRUE(document.IsObject() && document.HasMember("config") &&
              document["config"].HasMember("apiKey"))
      << json[0];
  EXPECT_STREQ(document["config"]["apiKey"].GetString(), "***");
  // And the key still reaches the provider: the new instance runs.
  RunToSuccess("after");
}

// Attack 5: forged SubmitResults for guessed task ids (sequential) with
// attempt 1, no lease id, an empty batch and SUCCEEDED, while a real worker
// runs them; accepted, they dropped the worker's results and finalize deleted
// objects.
TEST_F(SecurityTest, ForgedResultsForGuessedTasksAreRefused) {
  ClusterOptions options;
  options.workers = 1;
  // Small shards: many tasks, so that most guesses name one.
  options.coordinator_flags = {"--shard_size=2"};
  StartCluster(options);
  ASSERT_EQ(CreateInstance(kInstance).exit_code, 0);
  const int64_t clean_id = RunToSuccess(kInstance);
  const GraphByType clean = ReadGraph(*cluster_, kInstance);
  const fakes::Dataset dataset = *fakes::GenerateDataset(Dataset());
  // The clean run collected the whole dataset.
  ASSERT_EQ(CountByType(clean), ExpectedCircleCiCounts(dataset, kLogin));
  int tasks = 1;  // validation
  const v1::Run clean_run = GetRun(clean_id);
  for (const v1::StepRun& step : clean_run.steps()) {
    tasks += step.tasks_total();
  }
  // The next run's tasks follow the first run's; guess well past them.
  const int64_t last_guess = 2 * tasks + 10;

  // Slow answers keep the next run's tasks leased for a while.
  httplib::Client circleci(cluster_->fake_url("circleci"));
  auto fault = circleci.Post(
      "/_control/faults", R"({"spec":"*:latency:ms=80"})", "application/json");
  ASSERT_TRUE(fault && fault->status == 200);
  const CommandResult started = cluster_->Cli({"run", "start", kInstance});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  int64_t run_id = 0;
  ASSERT_TRUE(RE2::PartialMatch(started.out, R"(run (\d+) started)", &run_id));

  auto forger = v1::WorkerGateway::NewStub(
      cluster_->NewChannel(cluster_->worker_token_file()));
  std::map<std::string, int> codes;  // code name -> calls
  int live_leases_hit = 0;
  std::string unexpected;
  auto sweep = [&] {
    for (int64_t task = 1; task <= last_guess; ++task) {
      const grpc::Status status = ForgeResults(*forger, task);
      ++codes[CodeName(status.error_code())];
      if (absl::StrContains(status.error_message(),
                            "lease id does not match")) {
        ++live_leases_hit;
      }
      // NOT_FOUND: no task with this id (yet).
      if (status.error_code() != grpc::StatusCode::FAILED_PRECONDITION &&
          !(status.error_code() == grpc::StatusCode::NOT_FOUND &&
            task > tasks)) {
        absl::StrAppend(&unexpected, "task ", task, ": ",
                        CodeName(status.error_code()), " ",
                        status.error_message(), "\n");
      }
    }
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  v1::Run run;
  int sweeps = 0;
  while (absl::Now() < deadline) {
    sweep();
    ++sweeps;
    run = GetRun(run_id);
    if (run.status() != v1::RUN_STATUS_VALIDATING &&
        run.status() != v1::RUN_STATUS_RUNNING) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  sweep();  // every task now ended
  EXPECT_EQ(unexpected, "");
  EXPECT_EQ(codes["OK"], 0);
  // The forgeries named tasks while they were leased with attempt 1: only the
  // lease id told them apart from the worker's results.
  EXPECT_GT(live_leases_hit, 0)
      << sweeps << " sweeps of " << last_guess << " ids; codes: "
      << absl::StrJoin(codes, ", ", absl::PairFormatter("="));
  const CommandResult watched =
      cluster_->Cli({"run", "watch", absl::StrCat(run_id)});
  EXPECT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  run = GetRun(run_id);
  EXPECT_EQ(run.status(), v1::RUN_STATUS_SUCCEEDED) << run.DebugString();
  EXPECT_EQ(run.deleted_count(), 0);
  EXPECT_EQ(GraphDifference(clean, ReadGraph(*cluster_, kInstance)), "");
}

}  // namespace
}  // namespace graphmill::testing
