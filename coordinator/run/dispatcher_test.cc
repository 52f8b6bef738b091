// The dispatcher's choices as plain functions, and its leases on a fake
// clock against an in-memory store.
#include "coordinator/run/dispatcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/fake_clock.h"

namespace graphmill::coordinator {
namespace {

using ::testing::ElementsAre;

TaskRecord Task(int64_t id, int64_t run_id) {
  TaskRecord task;
  task.id = id;
  task.run_id = run_id;
  return task;
}

TEST(DispatchOrderTest, RoundRobinAcrossRuns) {
  const std::vector<TaskRecord> pending = {Task(1, 10), Task(2, 10),
                                           Task(3, 10), Task(4, 20),
                                           Task(5, 30), Task(6, 30)};
  std::vector<int64_t> ids;
  for (const TaskRecord* task : DispatchOrder(pending)) ids.push_back(task->id);
  EXPECT_THAT(ids, ElementsAre(1, 4, 5, 2, 6, 3));
}

TEST(DispatchOrderTest, UnshardedStepsBeforeShardsWithinARun) {
  std::vector<TaskRecord> pending = {Task(1, 10), Task(2, 10), Task(3, 10),
                                     Task(4, 20)};
  pending[0].shard.set_parent_type("project");
  pending[1].shard.set_parent_type("project");
  std::vector<int64_t> ids;
  for (const TaskRecord* task : DispatchOrder(pending)) ids.push_back(task->id);
  EXPECT_THAT(ids, ElementsAre(3, 4, 1, 2));
}

TEST(ShareOfTest, AnEqualPartOfRateAndInFlightButAtLeastOneRequest) {
  BudgetShare share = ShareOf({.rate = 0, .max_in_flight = 96}, 4);
  EXPECT_DOUBLE_EQ(share.rate, 0) << "unlimited stays unlimited";
  EXPECT_EQ(share.in_flight, 24);
  share = ShareOf({.rate = 10, .max_in_flight = 3}, 4);
  EXPECT_DOUBLE_EQ(share.rate, 2.5);
  EXPECT_EQ(share.in_flight, 1);
  EXPECT_EQ(ShareOf({.rate = 0, .max_in_flight = 8}, 0).in_flight, 8);
}

TEST(ShareDivisorsTest, StepsShareEquallyThenTheirTasks) {
  // One process (no replicas), one step: an equal part per task.
  EXPECT_THAT(ShareDivisors({{"a", "1/jobs"}, {"a", "1/jobs"}}, {}),
              ElementsAre(2, 2));
  // A one-task step beside a step of three shards: half the budget for it,
  // a sixth for each shard (not a quarter each).
  EXPECT_THAT(ShareDivisors({{"a", "1/jobs"},
                             {"a", "1/jobs"},
                             {"a", "1/contexts"},
                             {"a", "1/jobs"}},
                            {}),
              ElementsAre(6, 6, 2, 6));
  // Two instances on one credential: each run's steps count.
  EXPECT_THAT(ShareDivisors({{"a", "1/jobs"}, {"b", "2/jobs"}}, {}),
              ElementsAre(2, 2));
  EXPECT_THAT(ShareDivisors({}, {{"a", {{"1/jobs", 4}}}}), ElementsAre());
}

TEST(ShareDivisorsTest, ReplicasCountEveryLeasedTaskOfTheCredential) {
  // Steps and tasks leased through other replicas count; instances not
  // using the credential here do not.
  EXPECT_THAT(ShareDivisors({{"a", "1/jobs"}},
                            {{"a", {{"1/jobs", 5}, {"1/contexts", 1}}},
                             {"c", {{"3/jobs", 9}}}}),
              ElementsAre(10));
  // The store lagging behind this process's own leases.
  EXPECT_THAT(ShareDivisors({{"a", "1/jobs"}, {"a", "1/jobs"}, {"a", "1/jobs"}},
                            {{"a", {{"1/jobs", 1}}}}),
              ElementsAre(3, 3, 3));
}

WorkerSession Session(int capacity, int running, bool draining = false,
                      const std::string& version = "1") {
  WorkerSession session;
  session.capacity = capacity;
  session.draining = draining;
  session.integrations = {{"test", version}};
  for (int i = 0; i < running; ++i) session.running[i] = RunningTask{};
  return session;
}

TEST(ChooseSessionTest, TheMostFreeSlotsAmongThoseThatRunTheVersion) {
  WorkerSessions sessions;
  sessions[1] = Session(4, 3);
  sessions[2] = Session(4, 1);
  sessions[3] = Session(8, 0, /*draining=*/true);
  sessions[4] = Session(8, 0, false, /*version=*/"2");
  sessions[5] = Session(3, 0);  // ties with 2: the first wins
  EXPECT_EQ(ChooseSession(sessions, {"test", "1"}, false), &sessions[2]);
  EXPECT_EQ(ChooseSession(sessions, {"test", "2"}, false), &sessions[4]);
  EXPECT_EQ(ChooseSession(sessions, {"other", "1"}, false), nullptr);
  sessions[4].running[0] = RunningTask{};
  sessions[4].capacity = 1;
  EXPECT_EQ(ChooseSession(sessions, {"test", "2"}, false), nullptr) << "full";
}

TEST(ChooseSessionTest, ShardsLeaveASlotForUnshardedTasks) {
  WorkerSessions sessions;
  sessions[1] = Session(4, 3);  // one slot free: kept for unsharded tasks
  sessions[2] = Session(1, 0);  // capacity 1: nothing to keep
  EXPECT_EQ(ChooseSession(sessions, {"test", "1"}, /*sharded=*/true),
            &sessions[2]);
  sessions[2].running[0] = RunningTask{};
  EXPECT_EQ(ChooseSession(sessions, {"test", "1"}, /*sharded=*/true), nullptr);
  EXPECT_EQ(ChooseSession(sessions, {"test", "1"}, /*sharded=*/false),
            &sessions[1]);
  sessions[1].running.erase(0);  // two free: a shard may take one
  EXPECT_EQ(ChooseSession(sessions, {"test", "1"}, /*sharded=*/true),
            &sessions[1]);
}

v1::IntegrationDefinition Definition() {
  v1::IntegrationDefinition d;
  d.set_name("test");
  d.set_version("1");
  v1::ConfigField* region = d.add_config_fields();
  region->set_name("region");
  region->set_type(v1::CONFIG_FIELD_TYPE_STRING);
  region->set_optional(true);
  region->set_default_value("eu");
  v1::StepDefinition* step = d.add_steps();
  step->set_id("fetch");
  step->add_entities()->set_type("thing");
  return d;
}

TEST(MakeAssignmentTest, CarriesTheConfigWithDefaultsAndOnlyARealShard) {
  TaskRecord task = Task(5, 10);
  task.instance_id = "inst";
  task.step_id = "fetch";
  task.kind = v1::TASK_KIND_STEP;
  v1::TaskAttempt attempt;
  attempt.set_task_id(5);
  attempt.set_attempt(2);
  attempt.set_lease_id("lease");
  v1::Instance instance;
  const v1::TaskAssignment plain =
      MakeAssignment(task, attempt, Definition(), instance, absl::Seconds(30),
                     {.rate = 2.5, .in_flight = 4}, IncrementalMode())
          .assignment();
  EXPECT_EQ(plain.attempt().lease_id(), "lease");
  EXPECT_EQ(plain.incremental_since_ms(), 0);
  EXPECT_EQ(plain.run_id(), 10);
  EXPECT_EQ(plain.integration(), "test");
  EXPECT_EQ(plain.integration_version(), "1");
  EXPECT_EQ(plain.config().at("region"), "eu");
  EXPECT_EQ(plain.lease_ms(), 30'000);
  EXPECT_DOUBLE_EQ(plain.rate_limit_per_second(), 2.5);
  EXPECT_EQ(plain.max_requests_in_flight(), 4);
  EXPECT_FALSE(plain.has_shard());
  task.shard.set_parent_type("parent");
  task.shard.set_first_key("parent:1");
  (*instance.mutable_config())["region"] = "us";
  const v1::TaskAssignment sharded =
      MakeAssignment(task, attempt, Definition(), instance, absl::Seconds(30),
                     {.rate = 2.5, .in_flight = 4},
                     {.since_ms = 1234, .not_carried_types = {"thing_x"}})
          .assignment();
  EXPECT_EQ(sharded.shard().first_key(), "parent:1");
  EXPECT_EQ(sharded.incremental_since_ms(), 1234) << "an incremental run";
  EXPECT_THAT(sharded.not_carried_types(), ElementsAre("thing_x"));
  EXPECT_EQ(sharded.config().at("region"), "us");
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_->PutIntegration(Definition()).ok());
    v1::Instance instance;
    instance.set_id("inst");
    instance.set_integration("test");
    ASSERT_TRUE(store_->CreateInstance(instance).ok());
    ASSERT_TRUE(store_
                    ->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL,
                                {}, clock_.NowMs())
                    .ok());
    v1::WorkerHello hello;
    hello.set_worker_id("w1");
    hello.set_capacity(2);
    session_ = dispatcher_.AddSession(
        hello, {{"test", "1"}},
        [](const v1::CoordinatorMessage&) { return true; });
    const v1::IntegrationDefinition definition = Definition();
    dispatcher_.Dispatch([&](int64_t) {
      static const IncrementalMode kFull;
      return std::optional<Dispatcher::RunPlan>(
          {.definition = &definition, .incremental = &kFull});
    });
    const std::vector<TaskRecord> tasks = *store_->TasksOfRun(1);
    ASSERT_EQ(tasks.size(), 1u);  // the validation task
    task_ = tasks[0];
    ASSERT_EQ(task_.state, TaskState::kLeased);
  }

  TaskState State() { return store_->GetTask(task_.id)->state; }

  FakeClock clock_;
  std::unique_ptr<Store> store_ = *Store::Open(":memory:");
  InstanceSecrets secrets_{std::nullopt};
  RunEvents events_{store_.get(), &clock_};
  Redactors redactors_;
  RateBudget rates_{&clock_, {}};
  Dispatcher dispatcher_{store_.get(),
                         &clock_,
                         &secrets_,
                         &events_,
                         &redactors_,
                         &rates_,
                         {.lease = absl::Seconds(30),
                          .max_task_attempts = 3,
                          .default_rate_per_second = 20}};
  int64_t session_ = 0;
  TaskRecord task_;
};

TEST_F(DispatcherTest, OnlyTheLeaseHoldersHeartbeatRenewsIt) {
  clock_.Advance(absl::Seconds(20));
  v1::Heartbeat heartbeat;
  heartbeat.add_running()->set_task_id(task_.id);
  heartbeat.mutable_running(0)->set_attempt(task_.attempt);
  RenewLeases(*store_, "someone-else", heartbeat,
              absl::ToUnixMillis(clock_.Now() + absl::Seconds(30)));
  clock_.Advance(absl::Seconds(10) + absl::Milliseconds(1));
  dispatcher_.ExpireLeases();
  EXPECT_EQ(State(), TaskState::kPending);
}

TEST_F(DispatcherTest, ALeaseLapsesAfterTheLeasePeriodUnlessRenewed) {
  EXPECT_EQ(task_.lease_expires_ms,
            absl::ToUnixMillis(clock_.Now() + absl::Seconds(30)));
  clock_.Advance(absl::Seconds(20));
  dispatcher_.ExpireLeases();
  EXPECT_EQ(State(), TaskState::kLeased);
  v1::Heartbeat heartbeat;
  heartbeat.add_running()->set_task_id(task_.id);
  heartbeat.mutable_running(0)->set_attempt(task_.attempt);
  RenewLeases(*store_, "w1", heartbeat,
              absl::ToUnixMillis(clock_.Now() + absl::Seconds(30)));
  clock_.Advance(absl::Seconds(20));  // 40 s after the lease, 20 after renewal
  dispatcher_.ExpireLeases();
  EXPECT_EQ(State(), TaskState::kLeased);
  clock_.Advance(absl::Seconds(10) + absl::Milliseconds(1));
  dispatcher_.ExpireLeases();
  EXPECT_EQ(State(), TaskState::kPending);
  EXPECT_TRUE(dispatcher_.sessions().at(session_).running.empty());
  const std::vector<v1::Event> events = *store_->ListEvents(1, 0);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name(), "task_retry");
  EXPECT_EQ(events.back().time_ms(), clock_.NowMs());
}

TEST_F(DispatcherTest, ADisconnectedWorkersLeasesAreTakenBack) {
  std::unique_ptr<SendQueue> queue = dispatcher_.RemoveSession(session_);
  EXPECT_NE(queue, nullptr);
  EXPECT_EQ(State(), TaskState::kPending);
  EXPECT_EQ(dispatcher_.RemoveSession(session_), nullptr);
}

}  // namespace
}  // namespace graphmill::coordinator
