// Coordinator behaviour across real processes: workers and the coordinator
// killed mid-run, several instances at once, cancel, validate, secrets at rest,
// disabled steps. Each graph is compared exactly with the expected one and with
// an uninterrupted run.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "graphmill/v1/admin.grpc.pb.h"
#include "re2/re2.h"
#include "tests/e2e/expected_graph.h"

namespace graphmill::testing {
namespace {

constexpr char kLogin[] = "crash-org";

fakes::GeneratorOptions Generator() {
  fakes::GeneratorOptions options;
  options.seed = 7;
  options.login = kLogin;
  options.user_id = "6a1f5d3c-2b4e-4c8a-9f70-1e2d3c4b5a69";
  options.orgs = 2;
  options.projects_per_org = 3;
  options.pipelines_per_project = 6;
  options.workflows_per_pipeline = 2;
  options.jobs_per_workflow = 2;
  options.contexts_per_org = 2;
  return options;
}

// Against each store (GRAPHMILL_E2E_STORES; see StoresUnderTest()).
class CoordinatorTest : public ::testing::TestWithParam<ClusterStore> {
 protected:
  void Start(int workers, std::vector<std::string> fake_flags = {},
             std::vector<std::string> coordinator_flags = {}) {
    generator_ = Generator();
    auto dataset = fakes::GenerateDataset(generator_);
    ASSERT_TRUE(dataset.ok()) << dataset.status();
    dataset_ = *dataset;
    ClusterOptions options;
    options.store = GetParam();
    options.workers = workers;
    std::vector<std::string> circleci_flags = FakeCircleCiFlags(generator_, 5);
    circleci_flags.insert(circleci_flags.end(), fake_flags.begin(),
                          fake_flags.end());
    options.fakes["circleci"] = CircleCiFake(std::move(circleci_flags));
    // Short leases and small shards: many tasks, and a lost worker is noticed
    // quickly.
    options.coordinator_flags = {"--lease_seconds=2", "--shard_size=3"};
    options.coordinator_flags.insert(options.coordinator_flags.end(),
                                     coordinator_flags.begin(),
                                     coordinator_flags.end());
    cluster_ = std::make_unique<Cluster>(options);
    absl::Status started = cluster_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  CommandResult Create(const std::string& id,
                       const std::vector<std::string>& flags = {}) {
    return CreateCircleCiInstance(*cluster_, id, kLogin, kCircleCiToken, flags);
  }

  v1::GetRunResponse GetRun(int64_t run_id) {
    auto channel = cluster_->NewChannel();
    auto admin = v1::Admin::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::GetRunRequest request;
    request.set_run_id(run_id);
    v1::GetRunResponse response;
    admin->GetRun(&context, request, &response);
    return response;
  }

  // Waits until at least `tasks` step tasks of the run have ended.
  void WaitForProgress(int64_t run_id, int tasks) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      int done = 0;
      const v1::GetRunResponse response = GetRun(run_id);
      for (const v1::StepRun& step : response.run().steps())
        done += step.tasks_done();
      if (done >= tasks) return;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "run " << run_id << " made no progress";
  }

  std::string Events(int64_t run_id) {
    std::string all;
    const v1::GetRunResponse response = GetRun(run_id);
    for (const v1::Event& e : response.events()) {
      absl::StrAppend(&all, e.name(), ": ", e.description(), "\n");
    }
    return all;
  }

  fakes::GeneratorOptions generator_;
  fakes::Dataset dataset_;
  std::unique_ptr<Cluster> cluster_;
};

// The tasks a worker's log shows started and not ended.
std::set<std::string> RunningTasks(const std::string& log) {
  static const LazyRE2 kStarted = {R"(starting (task \d+ attempt \d+):)"};
  static const LazyRE2 kEnded = {
      R"((task \d+ attempt \d+) (stopped|[A-Z_]+ after))"};
  std::set<std::string> running;
  const std::vector<std::string> lines = absl::StrSplit(log, '\n');
  for (const std::string& line : lines) {
    std::string label;
    if (RE2::PartialMatch(line, *kStarted, &label)) running.insert(label);
    if (RE2::PartialMatch(line, *kEnded, &label)) running.erase(label);
  }
  return running;
}

// Index of a worker that is running a task right now (its log shows a task
// started and not ended), or -1.
int BusyWorker(Cluster& cluster) {
  for (size_t i = 0; i < cluster.workers().size(); ++i) {
    if (!RunningTasks(cluster.workers()[i]->Log()).empty()) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

TEST_P(CoordinatorTest, WorkerKilledMidRunIsReplacedAndTheGraphIsExact) {
  // Provider latency keeps tasks in flight long enough to lose some with the
  // worker.
  ASSERT_NO_FATAL_FAILURE(Start(3, {"--fault=*:latency:ms=40"}));
  CommandResult created = Create("ci");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const int64_t run = StartRun(*cluster_, "ci");
  WaitForProgress(run, 4);
  // Kill a worker while it holds a task. The task may end between reading
  // the log and the signal (likely on a loaded machine), and a task whose
  // outcome the coordinator has already committed is not lost although the
  // log has not said so yet; so the coordinator decides: unless it reports a
  // task of the dead worker that did not finish, the worker is started again
  // and another one is tried.
  const auto lost_a_task = [&](int worker) {
    const std::string lost =
        absl::StrCat("on worker 'e2e-worker-", worker, "' did not finish");
    for (int i = 0; i < 100; ++i) {  // the stream's end is seen at once
      if (absl::StrContains(Events(run), lost)) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  };
  int victim = -1;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (victim < 0 && absl::Now() < deadline) {
    const int busy = BusyWorker(*cluster_);
    if (busy < 0) {
      absl::SleepFor(absl::Milliseconds(5));
      continue;
    }
    Process& worker = *cluster_->workers()[busy];
    worker.Signal(SIGKILL);
    worker.Wait(absl::Seconds(10));
    if (!RunningTasks(worker.Log()).empty() && lost_a_task(busy)) {
      victim = busy;
    } else {
      absl::Status restarted = cluster_->StartWorker(busy);
      ASSERT_TRUE(restarted.ok()) << restarted;
    }
  }
  ASSERT_GE(victim, 0) << "no worker was killed while it held a task";
  CommandResult watched = cluster_->Cli({"run", "watch", absl::StrCat(run)});
  EXPECT_EQ(watched.exit_code, 0)
      << watched.out << watched.err << cluster_->AllLogs();
  EXPECT_TRUE(absl::StrContains(
      Events(run),
      absl::StrCat("on worker 'e2e-worker-", victim, "' did not finish")))
      << Events(run);
  EXPECT_EQ(CountByType(ReadGraph(*cluster_, "ci")),
            ExpectedCircleCiCounts(dataset_, kLogin));
}

TEST_P(CoordinatorTest, CoordinatorKilledMidRunContinuesToTheSameGraph) {
  ASSERT_NO_FATAL_FAILURE(Start(2, {"--fault=*:latency:ms=40"}));
  ASSERT_EQ(Create("ci").exit_code, 0);
  const int64_t run = StartRun(*cluster_, "ci");
  WaitForProgress(run, 4);
  cluster_->StopCoordinator(SIGKILL);
  ASSERT_TRUE(cluster_->StartCoordinator().ok());
  CommandResult watched = cluster_->Cli({"run", "watch", absl::StrCat(run)});
  EXPECT_EQ(watched.exit_code, 0)
      << watched.out << watched.err << cluster_->AllLogs();
  GraphByType interrupted = ReadGraph(*cluster_, "ci");
  EXPECT_EQ(CountByType(interrupted), ExpectedCircleCiCounts(dataset_, kLogin));

  // An uninterrupted run of a second instance with the same settings: the same
  // graph, object for object.
  ASSERT_EQ(Create("ci-again").exit_code, 0);
  ASSERT_EQ(cluster_->Cli({"run", "start", "ci-again", "--watch"}).exit_code,
            0);
  EXPECT_TRUE(interrupted == ReadGraph(*cluster_, "ci-again"));
}

TEST_P(CoordinatorTest, TwoInstancesRunAtOnce) {
  ASSERT_NO_FATAL_FAILURE(Start(2));
  ASSERT_EQ(Create("first").exit_code, 0);
  ASSERT_EQ(Create("second").exit_code, 0);
  const int64_t a = StartRun(*cluster_, "first");
  const int64_t b = StartRun(*cluster_, "second");
  EXPECT_EQ(cluster_->Cli({"run", "watch", absl::StrCat(a)}).exit_code, 0);
  EXPECT_EQ(cluster_->Cli({"run", "watch", absl::StrCat(b)}).exit_code, 0);
  const auto expected = ExpectedCircleCiCounts(dataset_, kLogin);
  EXPECT_EQ(CountByType(ReadGraph(*cluster_, "first")), expected);
  EXPECT_EQ(CountByType(ReadGraph(*cluster_, "second")), expected);
  // One active run per instance, and the refusal names the active run.
  const int64_t c = StartRun(*cluster_, "first");
  CommandResult again = cluster_->Cli({"run", "start", "first"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(again.err,
                                absl::StrCat("already has an active run ", c)))
      << again.err;
  cluster_->Cli({"run", "watch", absl::StrCat(c)});
}

TEST_P(CoordinatorTest, CancelledRunLeavesTheGraphUnchanged) {
  ASSERT_NO_FATAL_FAILURE(Start(2, {"--fault=*:latency:ms=100"}));
  ASSERT_EQ(Create("ci").exit_code, 0);
  const int64_t run = StartRun(*cluster_, "ci");
  WaitForProgress(run, 2);
  CommandResult cancelled = cluster_->Cli({"run", "cancel", absl::StrCat(run)});
  EXPECT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_EQ(GetRun(run).run().status(), v1::RUN_STATUS_CANCELLED);
  EXPECT_TRUE(ReadGraph(*cluster_, "ci").empty());
  CommandResult twice = cluster_->Cli({"run", "cancel", absl::StrCat(run)});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(twice.err, "is not active")) << twice.err;
}

TEST_P(CoordinatorTest, ValidateReportsTheProvidersAnswer) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  ASSERT_EQ(Create("good").exit_code, 0);
  ASSERT_EQ(
      CreateCircleCiInstance(*cluster_, "bad", kLogin, "wrong-token").exit_code,
      0);
  CommandResult good = cluster_->Cli({"instance", "validate", "good"});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_TRUE(absl::StrContains(good.out, "valid")) << good.out;
  CommandResult bad = cluster_->Cli({"instance", "validate", "bad"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_TRUE(absl::StrContains(bad.out + bad.err, "401"))
      << bad.out << bad.err;
}

TEST_P(CoordinatorTest, SecretsAreEncryptedAtRestAndKeptOnUpdate) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  const std::string token = kCircleCiToken;
  ASSERT_EQ(Create("ci").exit_code, 0);
  CommandResult updated = cluster_->Cli(
      {"instance", "update", "ci", "--config", "login=someone-else"});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_FALSE(absl::StrContains(updated.out, token));
  // The stored API key is still the right one: the run validates and succeeds.
  CommandResult run = cluster_->Cli({"run", "start", "ci", "--watch"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  cluster_->StopCoordinator(SIGTERM);
  absl::StatusOr<std::string> stored = cluster_->StoreAtRest();
  ASSERT_TRUE(stored.ok()) << stored.status();
  // What is not secret is there as it was given, so the search below reads
  // the real data.
  EXPECT_TRUE(absl::StrContains(*stored, "someone-else"));
  EXPECT_FALSE(absl::StrContains(*stored, token))
      << StoreName(GetParam()) << " store holds the API key";
  EXPECT_FALSE(absl::StrContains(cluster_->AllLogs(), token));
}

TEST_P(CoordinatorTest, DisabledStepDisablesItsDescendants) {
  ASSERT_NO_FATAL_FAILURE(Start(1));
  ASSERT_EQ(Create("ci", {"--disable-step", "fetch-pipelines"}).exit_code, 0);
  CommandResult run = cluster_->Cli({"run", "start", "ci", "--watch"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  auto counts = CountByType(ReadGraph(*cluster_, "ci"));
  for (const char* type :
       {"circleci_pipeline", "circleci_workflow", "circleci_job",
        "circleci_project", "circleci_context"}) {
    EXPECT_FALSE(counts.contains(type)) << type;
  }
  EXPECT_EQ(counts["circleci_user_group"], dataset_.orgs.size());
  EXPECT_EQ(counts["circleci_user"], 1u);
  auto steps = GetRun(1).run().steps();
  for (const v1::StepRun& step : steps) {
    if (step.step_id() == "fetch-pipelines" ||
        step.step_id() == "fetch-projects" ||
        step.step_id() == "fetch-workflow-jobs" ||
        step.step_id() == "fetch-contexts") {
      EXPECT_EQ(step.status(), v1::STEP_STATUS_DISABLED) << step.step_id();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, CoordinatorTest,
                         ::testing::ValuesIn(StoresUnderTest()),
                         StoreParamName);

}  // namespace
}  // namespace graphmill::testing
