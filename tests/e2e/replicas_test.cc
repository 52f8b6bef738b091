// Several coordinator replicas on one PostgreSQL store, as real processes:
// replicas SIGKILLed at random moments of 20 runs (every run completes with
// the graph of a clean run, and a subscriber on one replica, resuming after
// its own replica's deaths, sees every change of the log exactly once and in
// order);
// 100 overdue schedule slots across 3 replicas, with the leader killed while
// they fire, start exactly 100 runs; an upload under way when the leader dies
// is finished by the next one; a token revoked on one replica stops working
// on the others. Failover times are printed (not asserted): the
// figures of docs/operations.md.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "coordinator/store/store.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "graphmill/v1/graph.grpc.pb.h"
#include "rapidjson/document.h"
#include "tests/e2e/expected_graph.h"

namespace graphmill::testing {
namespace {

constexpr char kLogin[] = "ha-org";
constexpr int kReplicas = 3;
constexpr char kLeaderLine[] = "now takes run-level decisions";
constexpr char kJ1Token[] = "j1-token-3b81f0aa";
constexpr char kJ1Account[] = "j1-account-7";

fakes::GeneratorOptions Generator() {
  fakes::GeneratorOptions options;
  options.seed = 11;
  options.login = kLogin;
  options.orgs = 1;
  options.projects_per_org = 3;
  options.pipelines_per_project = 4;
  options.workflows_per_pipeline = 2;
  options.jobs_per_workflow = 2;
  options.contexts_per_org = 2;
  return options;
}

int CountLines(const std::string& log, absl::string_view needle) {
  int count = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, needle)) ++count;
  }
  return count;
}

// Subscribes to every change on one replica and, whenever the stream ends
// (the replica died), subscribes again after the last sequence it saw, until
// stopped. Records the sequences in the order they arrived.
class ResumingSubscriber {
 public:
  ResumingSubscriber(const Cluster& cluster, std::string address)
      : cluster_(cluster), address_(std::move(address)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ResumingSubscriber() { Stop(); }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
  }

  // Waits until the last sequence received is at least `sequence`.
  bool WaitFor(int64_t sequence, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !sequences_.empty() && sequences_.back() >= sequence;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }

  std::vector<int64_t> sequences() {
    absl::MutexLock lock(&mu_);
    return sequences_;
  }
  int resumes() {
    absl::MutexLock lock(&mu_);
    return resumes_;
  }

 private:
  void Loop() {
    bool first = true;
    while (true) {
      grpc::ClientContext context;
      v1::SubscribeRequest request;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        context_ = &context;
        request.set_after_sequence(sequences_.empty() ? 0 : sequences_.back());
        if (!first) ++resumes_;
      }
      first = false;
      auto stub = v1::Graph::NewStub(cluster_.NewChannelTo(address_));
      auto reader = stub->Subscribe(&context, request);
      v1::ChangeEvent event;
      while (reader->Read(&event)) {
        absl::MutexLock lock(&mu_);
        sequences_.push_back(event.sequence());
      }
      reader->Finish().IgnoreError();
      {
        absl::MutexLock lock(&mu_);
        context_ = nullptr;
        if (stopping_) return;
      }
      absl::SleepFor(absl::Milliseconds(100));  // the replica restarts
    }
  }

  const Cluster& cluster_;
  const std::string address_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<int64_t> sequences_ ABSL_GUARDED_BY(mu_);
  int resumes_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

class ReplicasTest : public ::testing::Test {
 protected:
  // With `jupiterone`, also the fake JupiterOne (uploads).
  void Start(bool jupiterone = false) {
    auto dataset = fakes::GenerateDataset(Generator());
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    dataset_ = *dataset;
    ClusterOptions options;
    options.store = ClusterStore::kPostgres;
    options.coordinators = kReplicas;
    options.workers = 2;
    // Provider latency keeps tasks in flight when a replica dies.
    std::vector<std::string> circleci_flags = FakeCircleCiFlags(Generator(), 5);
    circleci_flags.push_back("--fault=*:latency:ms=20");
    options.fakes["circleci"] = CircleCiFake(std::move(circleci_flags));
    if (jupiterone) {
      // Small bodies: an upload takes many requests.
      options.fakes["jupiterone"] =
          Fake("jupiterone", {absl::StrCat("--token=", kJ1Token),
                              absl::StrCat("--account=", kJ1Account),
                              "--max_body_bytes=20000"});
    }
    options.coordinator_flags = {"--lease_seconds=5", "--shard_size=3"};
    cluster_ = std::make_unique<Cluster>(options);
    absl::Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  // Changes the fake's data before run `i`: a project renamed (updates) and,
  // for the first runs, a pipeline removed (deletions, by scope).
  void Mutate(int i) {
    std::string mutations =
        absl::StrCat(R"([{"op":"rename_project","project":")",
                     dataset_.projects[i % dataset_.projects.size()].id,
                     R"(","name":"renamed-)", i, R"("})");
    if (i < static_cast<int>(dataset_.pipelines.size()) - 2) {
      absl::StrAppend(&mutations, R"(,{"op":"remove_pipeline","id":")",
                      dataset_.pipelines[i].id, R"("})");
    }
    mutations += "]";
    httplib::Client client(cluster_->fake_url("circleci"));
    auto response =
        client.Post("/_control/mutations", mutations, "application/json");
    ASSERT_TRUE(response) << mutations;
    ASSERT_EQ(response->status, 200) << mutations << ": " << response->body;
  }

  v1::Run GetRun(int64_t run_id) {
    auto admin = v1::Admin::NewStub(cluster_->NewChannel());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::GetRunRequest request;
    request.set_run_id(run_id);
    v1::GetRunResponse response;
    admin->GetRun(&context, request, &response);
    return response.run();
  }

  // The replica whose current process holds leadership; -1 if none (yet).
  int Leader() {
    for (int i = 0; i < kReplicas; ++i) {
      Process* replica = cluster_->coordinator(i);
      if (replica != nullptr &&
          CountLines(replica->Log(), kLeaderLine) >
              CountLines(replica->Log(), "no longer takes run-level")) {
        return i;
      }
    }
    return -1;
  }

  // Whether worker `w` has a session on replica `r` (by the replica's log).
  bool ConnectedTo(int w, int r) {
    const std::string log = cluster_->coordinator(r)->Log();
    const std::string worker = absl::StrCat("worker 'e2e-worker-", w, "' ");
    return CountLines(log, worker + "connected") >
           CountLines(log, worker + "disconnected");
  }

  // SIGKILLs replica `victim`, restarts it, and adds to `figures` how long
  // another replica took to lead (if the victim led) and its workers took to
  // connect to another replica.
  void KillAndRestart(int victim,
                      std::map<std::string, std::vector<double>>& figures) {
    const bool was_leader = Leader() == victim;
    std::vector<int> orphans;  // workers connected to the victim
    std::vector<int> connections_before;
    for (int w = 0; w < 2; ++w) {
      connections_before.push_back(CountLines(cluster_->workers()[w]->Log(),
                                              "connected to coordinator"));
      if (ConnectedTo(w, victim)) orphans.push_back(w);
    }
    const absl::Time killed = absl::Now();
    cluster_->StopCoordinator(victim, SIGKILL);
    // Measured while the victim is down, so no one reconnects to it.
    const absl::Time deadline = killed + absl::Seconds(30);
    bool led = !was_leader;
    std::vector<bool> back(orphans.size(), false);
    while (absl::Now() < deadline &&
           !(led &&
             std::all_of(back.begin(), back.end(), [](bool b) { return b; }))) {
      if (!led && Leader() >= 0) {
        led = true;
        figures["leader taken over (ms)"].push_back(
            absl::ToDoubleMilliseconds(absl::Now() - killed));
      }
      for (size_t i = 0; i < orphans.size(); ++i) {
        const int w = orphans[i];
        if (!back[i] &&
            CountLines(cluster_->workers()[w]->Log(),
                       "connected to coordinator") > connections_before[w]) {
          back[i] = true;
          figures["worker connected to another replica (ms)"].push_back(
              absl::ToDoubleMilliseconds(absl::Now() - killed));
        }
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_TRUE(led) << "no replica took over leadership";
    absl::Status restarted = cluster_->StartCoordinator(victim);
    ASSERT_TRUE(restarted.ok()) << restarted;
  }

  // Run-level decisions were taken once: each step started once with the
  // tasks it counts, and the run was finalized once.
  void ExpectDecidedOnce(coordinator::Store& store, int64_t run_id) {
    absl::StatusOr<v1::Run> run = store.GetRun(run_id);
    ASSERT_TRUE(run.ok()) << run.status();
    absl::StatusOr<std::vector<coordinator::TaskRecord>> tasks =
        store.TasksOfRun(run_id);
    ASSERT_TRUE(tasks.ok()) << tasks.status();
    std::map<std::string, int> tasks_of_step;
    for (const coordinator::TaskRecord& task : *tasks) {
      if (task.kind == v1::TASK_KIND_STEP) ++tasks_of_step[task.step_id];
    }
    for (const v1::StepRun& step : run->steps()) {
      EXPECT_EQ(tasks_of_step[step.step_id()], step.tasks_total())
          << "run " << run_id << " step " << step.step_id();
    }
    absl::StatusOr<std::vector<v1::Event>> events = store.ListEvents(run_id, 0);
    ASSERT_TRUE(events.ok()) << events.status();
    std::map<std::string, int> count;
    for (const v1::Event& event : *events) {
      if (event.name() == "run_finalized" || event.name() == "step_start" ||
          event.name() == "validation_success") {
        ++count[absl::StrCat(event.name(), " ", event.step_id())];
      }
    }
    EXPECT_EQ(count["run_finalized "], 1) << "run " << run_id;
    for (const auto& [what, times] : count) {
      EXPECT_EQ(times, 1) << "run " << run_id << ": " << what;
    }
  }

  fakes::Dataset dataset_;
  std::unique_ptr<Cluster> cluster_;
};

std::string Summary(const std::vector<double>& values) {
  if (values.empty()) return "none";
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  return absl::StrCat("n=", sorted.size(), " min=", sorted.front(),
                      " median=", sorted[sorted.size() / 2],
                      " max=", sorted.back());
}

TEST_F(ReplicasTest, RunsSurviveKilledReplicasWithTheSameGraphAndChanges) {
  ASSERT_NO_FATAL_FAILURE(Start());
  // The reference: an uninterrupted run of another instance over the same
  // data, before each run of the instance under test.
  ASSERT_EQ(CreateCircleCiInstance(*cluster_, "clean", kLogin, kCircleCiToken)
                .exit_code,
            0);
  ASSERT_EQ(cluster_->Cli({"run", "start", "clean", "--watch"}).exit_code, 0);
  ASSERT_EQ(CountByType(ReadGraph(*cluster_, "clean")),
            ExpectedCircleCiCounts(dataset_, kLogin));

  // The subscriber stays on the last replica, which the first replica (the
  // first leader) does not share a process with: it sees the leader's
  // finalizes through the store, and resumes when its own replica dies.
  ResumingSubscriber subscriber(*cluster_,
                                cluster_->replica_address(kReplicas - 1));
  ASSERT_EQ(
      CreateCircleCiInstance(*cluster_, "ha", kLogin, kCircleCiToken).exit_code,
      0);
  absl::StatusOr<std::unique_ptr<coordinator::Store>> store =
      coordinator::Store::Open(cluster_->store_spec());
  ASSERT_TRUE(store.ok()) << store.status();
  std::mt19937 random(20261202);
  std::map<std::string, std::vector<double>> figures;
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(absl::StrCat("run ", i + 1, " of 20"));
    // Every run has changes to log: the data changes before it.
    if (i > 0) {
      ASSERT_NO_FATAL_FAILURE(Mutate(i));
    }
    // Full runs: the changes include removed pipelines, which only a full
    // run deletes.
    ASSERT_EQ(
        cluster_->Cli({"run", "start", "clean", "--watch", "--full"}).exit_code,
        0);
    const GraphByType clean = ReadGraph(*cluster_, "clean");
    const absl::Time started = absl::Now();
    const int64_t run = StartRun(*cluster_, "ha", /*full=*/true);
    ASSERT_GT(run, 0);
    absl::SleepFor(absl::Milliseconds(
        std::uniform_int_distribution<int>(0, 2500)(random)));
    // Every third kill is the leader's, whatever it is doing.
    const int leader = Leader();
    const int victim =
        i % 3 == 0 && leader >= 0
            ? leader
            : std::uniform_int_distribution<int>(0, kReplicas - 1)(random);
    ASSERT_NO_FATAL_FAILURE(KillAndRestart(victim, figures));
    CommandResult watched = cluster_->Cli({"run", "watch", absl::StrCat(run)});
    EXPECT_EQ(watched.exit_code, 0) << watched.out << watched.err;
    const v1::Run ended = GetRun(run);
    EXPECT_EQ(ended.status(), v1::RUN_STATUS_SUCCEEDED) << ended.error() << "\n"
                                                        << cluster_->AllLogs();
    figures["run with one replica killed (ms)"].push_back(
        absl::ToDoubleMilliseconds(absl::Now() - started));
    const std::string difference =
        GraphDifference(clean, ReadGraph(*cluster_, "ha"));
    EXPECT_EQ(difference, "") << "victim replica " << victim;
    ExpectDecidedOnce(**store, run);
    if (HasFailure()) break;
  }

  // Every change of the log exactly once, in order. (The numbers may skip:
  // a finalize rolled back by its leader's death had taken some. They are
  // never used later, which is what makes resuming after a number safe.)
  std::vector<int64_t> logged;
  while (true) {
    absl::StatusOr<std::vector<coordinator::ChangeRecord>> page =
        (*store)->ReadChanges(logged.empty() ? 0 : logged.back(), 1000);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    for (const coordinator::ChangeRecord& change : *page) {
      logged.push_back(change.sequence);
    }
  }
  ASSERT_FALSE(logged.empty());
  EXPECT_TRUE(subscriber.WaitFor(logged.back(), absl::Seconds(30)));
  subscriber.Stop();
  const std::vector<int64_t> seen = subscriber.sequences();
  ASSERT_EQ(seen.size(), logged.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i], logged[i]) << "change " << i + 1 << " of the stream";
  }
  std::cout << "subscriber: " << seen.size() << " changes (the log's last is "
            << logged.back() << "), resumed " << subscriber.resumes()
            << " times\n";
  for (const auto& [name, values] : figures) {
    std::cout << name << ": " << Summary(values) << "\n";
  }
}

TEST_F(ReplicasTest, AnUploadInProgressIsResumedByTheNextLeader) {
  ASSERT_NO_FATAL_FAILURE(Start(/*jupiterone=*/true));
  setenv("E2E_J1_TOKEN", kJ1Token, 1);
  CommandResult created = CreateCircleCiInstance(
      *cluster_, "up", kLogin, kCircleCiToken,
      {"--j1-base-url", cluster_->fake_url("jupiterone"), "--j1-account",
       kJ1Account, "--j1-token-env", "E2E_J1_TOKEN",
       "--j1-integration-instance", "j1-up"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  // Slow uploads: the leader is killed while one is under way.
  httplib::Client j1(cluster_->fake_url("jupiterone"));
  auto fault =
      j1.Post("/_control/faults", R"({"faults":["entities:latency:ms=200"]})",
              "application/json");
  ASSERT_TRUE(fault && fault->status == 200);
  const int64_t run = StartRun(*cluster_, "up");
  ASSERT_GT(run, 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline &&
         GetRun(run).upload().state() != v1::UPLOAD_STATE_UPLOADING) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(GetRun(run).upload().state(), v1::UPLOAD_STATE_UPLOADING);
  const int leader = Leader();
  ASSERT_GE(leader, 0);
  std::map<std::string, std::vector<double>> figures;
  ASSERT_NO_FATAL_FAILURE(KillAndRestart(leader, figures));
  v1::Run ended;
  while (absl::Now() < deadline &&
         (ended = GetRun(run)).upload().state() != v1::UPLOAD_STATE_SUCCEEDED) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(ended.upload().state(), v1::UPLOAD_STATE_SUCCEEDED)
      << ended.upload().error() << "\n"
      << cluster_->AllLogs();
  // The job that finished holds the whole graph: the resumed upload started
  // a new job, and the dead leader's stays unfinished.
  auto job =
      j1.Get(absl::StrCat("/_control/jobs/", ended.upload().job_id()).c_str());
  ASSERT_TRUE(job && job->status == 200);
  rapidjson::Document document;
  document.Parse(job->body.c_str());
  ASSERT_TRUE(document.IsObject()) << job->body;
  EXPECT_STREQ(document["job"]["status"].GetString(), "FINISHED");
  size_t entities = 0;
  for (const auto& [type, objects] : ReadGraph(*cluster_, "up")) {
    if (!absl::StrContains(type, "_has_") && !absl::StrContains(type, "_uses_"))
      entities += objects.size();
  }
  EXPECT_EQ(document["entityKeys"].Size(), entities);
  auto jobs = j1.Get("/_control/jobs");
  ASSERT_TRUE(jobs && jobs->status == 200);
  rapidjson::Document all;
  all.Parse(jobs->body.c_str());
  EXPECT_EQ(all["jobs"].Size(), 2u) << jobs->body;
}

TEST_F(ReplicasTest, HundredOverdueSlotsStartExactlyHundredRuns) {
  ASSERT_NO_FATAL_FAILURE(Start());
  constexpr int kInstances = 100;
  std::vector<std::string> ids;
  for (int i = 0; i < kInstances; ++i) {
    ids.push_back(absl::StrCat("sched-", i));
    // Once a year: due only because its last slot is moved back below.
    CommandResult created =
        CreateCircleCiInstance(*cluster_, ids.back(), kLogin, kCircleCiToken,
                               {"--cron", "0 0 1 1 *", "--jitter", "1"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
  }
  absl::StatusOr<std::unique_ptr<coordinator::Store>> store =
      coordinator::Store::Open(cluster_->store_spec());
  ASSERT_TRUE(store.ok()) << store.status();
  const int64_t year_ago =
      absl::ToUnixMillis(absl::Now() - absl::Hours(24 * 400));
  for (const std::string& id : ids) {
    ASSERT_TRUE((*store)->SetLastScheduledSlot(id, year_ago).ok());
  }
  // The leader fires them (schedules are checked every second); it dies
  // while it may be doing so, and another takes over.
  absl::SleepFor(absl::Milliseconds(1100));
  std::map<std::string, std::vector<double>> figures;
  const int leader = Leader();
  ASSERT_GE(leader, 0);
  ASSERT_NO_FATAL_FAILURE(KillAndRestart(leader, figures));

  auto runs_by_instance = [&] {
    std::map<std::string, std::vector<v1::Run>> by_instance;
    absl::StatusOr<std::vector<v1::Run>> runs = (*store)->ListRuns("", 10000);
    EXPECT_TRUE(runs.ok()) << runs.status();
    if (runs.ok()) {
      for (v1::Run& run : *runs) {
        by_instance[run.instance_id()].push_back(std::move(run));
      }
    }
    return by_instance;
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline &&
         static_cast<int>(runs_by_instance().size()) < kInstances) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  // Three more schedule checks on every replica: nothing fires twice.
  absl::SleepFor(absl::Seconds(3));
  const auto by_instance = runs_by_instance();
  EXPECT_EQ(by_instance.size(), static_cast<size_t>(kInstances));
  int total = 0;
  for (const auto& [instance, runs] : by_instance) {
    total += runs.size();
    EXPECT_EQ(runs.size(), 1u) << instance;
    for (const v1::Run& run : runs) {
      EXPECT_EQ(run.trigger(), v1::RUN_TRIGGER_SCHEDULE) << instance;
    }
  }
  EXPECT_EQ(total, kInstances);
  for (const auto& [name, values] : figures) {
    std::cout << name << ": " << Summary(values) << "\n";
  }
}

TEST_F(ReplicasTest, ATokenRevokedOnOneReplicaStopsWorkingOnTheOthers) {
  ASSERT_NO_FATAL_FAILURE(Start());
  // The reader token Start() created works on every replica.
  auto list_on = [&](int replica) {
    auto graph = v1::Admin::NewStub(cluster_->NewChannelTo(
        cluster_->replica_address(replica), cluster_->reader_token_file()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::ListInstancesResponse response;
    return graph->ListInstances(&context, v1::ListInstancesRequest(), &response)
        .error_code();
  };
  for (int r = 0; r < kReplicas; ++r) EXPECT_EQ(list_on(r), grpc::OK);
  // Revoked through the first replica (the CLI's address list picks it).
  CommandResult revoked = cluster_->Cli({"token", "revoke", "e2e-reader"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  for (int r = 0; r < kReplicas; ++r) {
    grpc::StatusCode code = grpc::OK;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline &&
           (code = list_on(r)) != grpc::UNAUTHENTICATED) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_EQ(code, grpc::UNAUTHENTICATED) << "replica " << r;
  }
}

}  // namespace
}  // namespace graphmill::testing
