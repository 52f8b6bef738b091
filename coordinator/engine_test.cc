// The run engine against a real (in-memory) store and a scripted worker
// session.
#include "coordinator/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/graph_objects.h"
#include "coordinator/testing/recording_worker.h"

namespace graphmill::coordinator {
namespace {

v1::IntegrationDefinition Definition() {
  v1::IntegrationDefinition d;
  d.set_name("test");
  d.set_version("1");
  v1::ConfigField* key = d.add_config_fields();
  key->set_name("apiKey");
  key->set_type(v1::CONFIG_FIELD_TYPE_STRING);
  key->set_secret(true);
  key->set_optional(true);
  v1::StepDefinition* parents = d.add_steps();
  parents->set_id("fetch-parents");
  v1::DeclaredEntityType* type = parents->add_entities();
  type->set_type("thing_parent");
  type->add_classes("Thing");
  v1::StepDefinition* children = d.add_steps();
  children->set_id("fetch-children");
  children->add_depends_on("fetch-parents");
  children->set_parent_type("thing_parent");
  v1::DeclaredEntityType* child_type = children->add_entities();
  child_type->set_type("thing_child");
  child_type->add_classes("Thing");
  return d;
}

v1::Entity MakeEntity(const std::string& key, const std::string& type) {
  v1::Entity e;
  e.set_key(key);
  e.set_type(type);
  e.add_classes("Thing");
  (*e.mutable_properties())["name"] = StringValue(key);
  (*e.mutable_properties())["displayName"] = StringValue(key);
  return e;
}

using testing::RecordingWorker;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { Init(EngineOptions()); }
  // The engine's session threads write to worker_: stop them first.
  void TearDown() override { engine_.reset(); }

  void Init(EngineOptions options) {
    engine_.reset();
    store_ = *Store::Open(":memory:");
    options.tick = absl::Milliseconds(10);
    engine_ = std::make_unique<Engine>(store_.get(), &secrets_, options);
    engine_->Start();
    v1::WorkerHello hello;
    hello.set_worker_id("w1");
    hello.set_capacity(4);
    *hello.add_integrations() = Definition();
    session_ = *engine_->ConnectWorker(hello, worker_.Send());
    v1::Instance instance;
    instance.set_id("inst");
    instance.set_integration("test");
    ASSERT_TRUE(store_->CreateInstance(instance).ok());
  }

  void Finish(const v1::TaskAssignment& assignment,
              const v1::ResultBatch& batch) {
    if (batch.entities_size() + batch.relationships_size() > 0) {
      ASSERT_TRUE(engine_->AcceptBatch(assignment.attempt(), batch).ok());
    }
    v1::TaskOutcome outcome;
    outcome.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
    ASSERT_TRUE(engine_->FinishAttempt(assignment.attempt(), outcome).ok());
  }

  // Starts a run and completes its validation task.
  int64_t StartAndValidate() {
    auto run = engine_->StartRun("inst");
    EXPECT_TRUE(run.ok()) << run.status();
    v1::TaskAssignment validation = worker_.NextAssignment();
    EXPECT_EQ(validation.kind(), v1::TASK_KIND_VALIDATE_INVOCATION);
    Finish(validation, {});
    return run->id();
  }

  v1::Run WaitForEnd(int64_t run_id) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      v1::Run run = *store_->GetRun(run_id);
      if (run.status() != v1::RUN_STATUS_RUNNING &&
          run.status() != v1::RUN_STATUS_VALIDATING) {
        return run;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    ADD_FAILURE() << "run did not end";
    return {};
  }

  InstanceSecrets secrets_{*SecretBox::FromKeyMaterial(std::string(32, 'k'))};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  RecordingWorker worker_;
  int64_t session_ = 0;
};

TEST_F(EngineTest, InvalidObjectsNeverReachTheGraphAndAreReported) {
  const int64_t run = StartAndValidate();
  v1::TaskAssignment parents = worker_.NextAssignment();
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_parent:0001", "thing_parent");
  *batch.add_entities() = MakeEntity("short", "thing_parent");
  v1::Relationship bad =
      DirectRelationship("thing_parent:0001", "thing_parent", "HAS",
                         "thing_parent:0001", "thing_parent");
  (*bad.mutable_properties())["roles"] = StringListValue({"a"});
  *batch.add_relationships() = bad;
  Finish(parents, batch);
  Finish(worker_.NextAssignment(), {});  // the one child shard
  EXPECT_EQ(WaitForEnd(run).status(), v1::RUN_STATUS_SUCCEEDED);
  std::vector<std::string> rejected;
  auto events = store_->ListEvents(run, 0);
  ASSERT_TRUE(events.ok());
  for (const v1::Event& e : *events) {
    if (e.name() == "object_rejected") {
      rejected.push_back(e.description());
      EXPECT_EQ(e.step_id(), "fetch-parents");
    }
  }
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0],
            "entity 'short': _key must be at least 10 characters; the object "
            "was not stored");
  EXPECT_TRUE(
      absl::StrContains(rejected[1], "property 'roles' must be a primitive"));
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_EQ(store_->ListEntities(filter, "", 10)->size(), 1u);
  EXPECT_TRUE(store_->ListRelationships(filter, "", 10)->empty());
}

TEST_F(EngineTest, ParentStepIsShardedIntoKeyRanges) {
  EngineOptions options;
  options.shard_size = 3;
  Init(options);
  StartAndValidate();
  v1::ResultBatch batch;
  for (int i = 1; i <= 7; ++i) {
    *batch.add_entities() =
        MakeEntity(absl::StrCat("thing_parent:000", i), "thing_parent");
  }
  Finish(worker_.NextAssignment(), batch);
  std::vector<std::pair<std::string, std::string>> ranges;
  for (int i = 0; i < 3; ++i) {
    v1::TaskAssignment shard = worker_.NextAssignment();
    EXPECT_EQ(shard.shard().parent_type(), "thing_parent");
    ranges.emplace_back(shard.shard().first_key(), shard.shard().last_key());
    // A task reads exactly its shard's parents.
    v1::ReadEntitiesRequest read;
    *read.mutable_attempt() = shard.attempt();
    read.set_type("thing_parent");
    int read_count = 0;
    ASSERT_TRUE(engine_
                    ->ReadEntities(read,
                                   [&](const v1::EntityBatch& b) {
                                     read_count += b.entities_size();
                                     return true;
                                   })
                    .ok());
    EXPECT_EQ(read_count, i < 2 ? 3 : 1);
  }
  std::sort(ranges.begin(), ranges.end());
  EXPECT_EQ(ranges, (std::vector<std::pair<std::string, std::string>>{
                        {"thing_parent:0001", "thing_parent:0003"},
                        {"thing_parent:0004", "thing_parent:0006"},
                        {"thing_parent:0007", "thing_parent:0007"}}));
}

TEST_F(EngineTest, StepWithNoParentsStillRunsOneEmptyShard) {
  const int64_t run = StartAndValidate();
  Finish(worker_.NextAssignment(), {});
  v1::TaskAssignment child = worker_.NextAssignment();
  EXPECT_EQ(child.step_id(), "fetch-children");
  EXPECT_TRUE(child.shard().first_key().empty());
  v1::ReadEntitiesRequest read;
  *read.mutable_attempt() = child.attempt();
  read.set_type("thing_parent");
  int read_count = 0;
  ASSERT_TRUE(engine_
                  ->ReadEntities(read,
                                 [&](const v1::EntityBatch& b) {
                                   read_count += b.entities_size();
                                   return true;
                                 })
                  .ok());
  EXPECT_EQ(read_count, 0);
  Finish(child, {});
  EXPECT_EQ(WaitForEnd(run).status(), v1::RUN_STATUS_SUCCEEDED);
}

TEST_F(EngineTest, LapsedLeaseIsOfferedAgainAndTheOldAttemptIsFenced) {
  EngineOptions options;
  options.lease = absl::Milliseconds(100);
  Init(options);
  StartAndValidate();
  v1::TaskAssignment first = worker_.NextAssignment();  // never heartbeated
  v1::TaskAssignment second = worker_.NextAssignment();
  EXPECT_EQ(second.attempt().task_id(), first.attempt().task_id());
  EXPECT_EQ(second.attempt().attempt(), first.attempt().attempt() + 1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_parent:0001", "thing_parent");
  EXPECT_EQ(engine_->AcceptBatch(first.attempt(), batch).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(engine_->AcceptBatch(second.attempt(), batch).ok());
}

TEST_F(EngineTest, HeartbeatsKeepTheLease) {
  EngineOptions options;
  options.lease = absl::Milliseconds(200);
  Init(options);
  StartAndValidate();
  v1::TaskAssignment task = worker_.NextAssignment();
  for (int i = 0; i < 10; ++i) {
    v1::Heartbeat heartbeat;
    *heartbeat.add_running() = task.attempt();
    engine_->Heartbeat(session_, heartbeat);
    absl::SleepFor(absl::Milliseconds(50));
  }
  Finish(task, {});  // still current after 500 ms, 2.5 leases
}

TEST_F(EngineTest, RateLimitedHalvesTheInstanceRateForItsTasks) {
  EngineOptions options;
  options.default_rate_per_second = 40;
  options.rate_recovery_interval = absl::Hours(1);
  Init(options);
  StartAndValidate();
  v1::TaskAssignment task = worker_.NextAssignment();
  EXPECT_DOUBLE_EQ(task.rate_limit_per_second(), 40);
  engine_->RateLimited(session_, task.attempt());
  double latest = 0;
  for (const v1::CoordinatorMessage& m :
       worker_.WaitFor([](const v1::CoordinatorMessage& m) {
         return m.has_rate_update();
       })) {
    if (m.has_rate_update()) latest = m.rate_update().rate_limit_per_second();
  }
  EXPECT_DOUBLE_EQ(latest, 20);
}

TEST_F(EngineTest, CancelStopsRunningTasksAndChangesNothing) {
  const int64_t run = StartAndValidate();
  v1::TaskAssignment task = worker_.NextAssignment();
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_parent:0001", "thing_parent");
  ASSERT_TRUE(engine_->AcceptBatch(task.attempt(), batch).ok());
  auto cancelled = engine_->CancelRun(run);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->status(), v1::RUN_STATUS_CANCELLED);
  bool told = false;
  for (const v1::CoordinatorMessage& m : worker_.WaitFor(
           [](const v1::CoordinatorMessage& m) { return m.has_cancel(); })) {
    told |= m.has_cancel() &&
            m.cancel().attempt().task_id() == task.attempt().task_id();
  }
  EXPECT_TRUE(told);
  v1::TaskOutcome outcome;
  outcome.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  EXPECT_EQ(engine_->FinishAttempt(task.attempt(), outcome).code(),
            absl::StatusCode::kFailedPrecondition);
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_TRUE(store_->ListEntities(filter, "", 10)->empty());
}

TEST_F(EngineTest, AcceptBatchCountsWhatWasStored) {
  StartAndValidate();
  v1::TaskAssignment parents = worker_.NextAssignment();
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_parent:0001", "thing_parent");
  *batch.add_entities() = MakeEntity("short", "thing_parent");
  absl::StatusOr<int64_t> stored =
      engine_->AcceptBatch(parents.attempt(), batch);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(*stored, 1);
}

TEST_F(EngineTest, MalformedWorkerReportsAreRefused) {
  StartAndValidate();
  v1::TaskAssignment parents = worker_.NextAssignment();
  v1::ResultBatch scopes;
  *scopes.add_entities() = MakeEntity("thing_parent:0001", "thing_parent");
  *scopes.add_entities() = MakeEntity("thing_parent:0002", "thing_parent");
  scopes.add_entity_scopes("thing_parent:0009");
  EXPECT_EQ(engine_->AcceptBatch(parents.attempt(), scopes).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::ResultBatch long_name;
  v1::Event* event = long_name.add_events();
  event->set_name(std::string(100'000, 'a'));
  EXPECT_EQ(engine_->AcceptBatch(parents.attempt(), long_name).status().code(),
            absl::StatusCode::kInvalidArgument);
  v1::ResultBatch bad_name;
  bad_name.add_events()->set_name("Not An Identifier");
  EXPECT_EQ(engine_->AcceptBatch(parents.attempt(), bad_name).status().code(),
            absl::StatusCode::kInvalidArgument);
  v1::ResultBatch long_description;
  event = long_description.add_events();
  event->set_name("warn_missing_permission");
  event->set_description(std::string(1 << 20, 'x'));
  absl::Status refused =
      engine_->AcceptBatch(parents.attempt(), long_description).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), ::testing::HasSubstr("events.description"));

  v1::TaskOutcome both;
  both.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  v1::Incompleteness* entry = both.add_incomplete();
  entry->set_type("thing_parent");
  entry->set_scope("thing_parent:0001");
  entry->set_reason("HTTP 403 on GET /x");
  EXPECT_EQ(engine_->FinishAttempt(parents.attempt(), both).code(),
            absl::StatusCode::kInvalidArgument);
  v1::TaskOutcome no_reason;
  no_reason.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  no_reason.add_incomplete()->set_type("thing_parent");
  EXPECT_EQ(engine_->FinishAttempt(parents.attempt(), no_reason).code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing of the refused reports was kept: the attempt is still current.
  Finish(parents, {});
}

TEST_F(EngineTest, AScopeNotListedEndsTheRunPartialAndKeepsItsChildren) {
  auto run_once = [&](bool forbid_second_parent) {
    const int64_t run = StartAndValidate();
    v1::ResultBatch parents;
    *parents.add_entities() = MakeEntity("thing_parent:0001", "thing_parent");
    *parents.add_entities() = MakeEntity("thing_parent:0002", "thing_parent");
    Finish(worker_.NextAssignment(), parents);
    v1::TaskAssignment children = worker_.NextAssignment();
    v1::ResultBatch batch;
    *batch.add_entities() = MakeEntity("thing_child:0001", "thing_child");
    batch.add_entity_scopes("thing_parent:0001");
    if (!forbid_second_parent) {
      *batch.add_entities() = MakeEntity("thing_child:0002", "thing_child");
      batch.add_entity_scopes("thing_parent:0002");
    }
    EXPECT_TRUE(engine_->AcceptBatch(children.attempt(), batch).ok());
    v1::TaskOutcome outcome;
    outcome.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
    if (forbid_second_parent) {
      v1::Incompleteness* gap = outcome.add_incomplete();
      gap->set_scope("thing_parent:0002");
      gap->set_reason("HTTP 403 on GET /parents/{id}/children");
    }
    EXPECT_TRUE(engine_->FinishAttempt(children.attempt(), outcome).ok());
    return WaitForEnd(run);
  };
  EXPECT_EQ(run_once(false).status(), v1::RUN_STATUS_SUCCEEDED);
  v1::Run partial = run_once(true);
  EXPECT_EQ(partial.status(), v1::RUN_STATUS_PARTIAL);
  EXPECT_THAT(partial.error(), ::testing::HasSubstr("thing_child"));
  ASSERT_EQ(partial.incomplete_types_size(), 1);
  EXPECT_EQ(partial.incomplete_types(0).type(), "thing_child");
  EXPECT_EQ(partial.incomplete_types(0).reason(),
            "HTTP 403 on GET /parents/{id}/children for 1 thing_parent");
  EXPECT_TRUE(partial.incomplete_types(0).error());
  EXPECT_FALSE(partial.incomplete_types(0).all_kept());
  EXPECT_EQ(partial.deleted_count(), 0);
  EXPECT_TRUE(store_->GetEntity("inst", "thing_child:0002").ok());
  EXPECT_EQ(run_once(false).status(), v1::RUN_STATUS_SUCCEEDED);
}

TEST_F(EngineTest, ReadEntitiesBatchesStayUnderThePageByteBudget) {
  StartAndValidate();
  v1::ResultBatch parents;
  for (int i = 0; i < 8; ++i) {
    v1::Entity entity =
        MakeEntity(absl::StrCat("thing_parent:000", i), "thing_parent");
    v1::RawData* raw = entity.add_raw_data();
    raw->set_name("default");
    raw->set_json(std::string(1 << 20, 'x'));  // 1 MiB each
    *parents.add_entities() = entity;
  }
  Finish(worker_.NextAssignment(), parents);
  v1::TaskAssignment child = worker_.NextAssignment();
  v1::ReadEntitiesRequest read;
  *read.mutable_attempt() = child.attempt();
  read.set_type("thing_parent");
  int entities = 0;
  int batches = 0;
  ASSERT_TRUE(engine_
                  ->ReadEntities(read,
                                 [&](const v1::EntityBatch& batch) {
                                   EXPECT_LE(batch.ByteSizeLong(),
                                             size_t{3} << 20);
                                   entities += batch.entities_size();
                                   ++batches;
                                   return true;
                                 })
                  .ok());
  EXPECT_EQ(entities, 8);
  EXPECT_GE(batches, 3);
}

TEST_F(EngineTest, WorkerReportsAreRedactedWithTheInstanceSecrets) {
  constexpr char kKey[] = "engine-test-api-key-77";
  v1::Instance instance = *store_->GetInstance("inst");
  (*instance.mutable_config())["apiKey"] = kKey;
  ASSERT_TRUE(secrets_.Seal(Definition(), &instance).ok());
  ASSERT_TRUE(store_->UpdateInstance(instance).ok());
  const int64_t run = StartAndValidate();
  v1::TaskAssignment parents = worker_.NextAssignment();
  EXPECT_EQ(parents.config().at("apiKey"), kKey);  // opened for the task only
  // A worker that does not redact: the coordinator does.
  v1::ResultBatch batch;
  v1::Event* event = batch.add_events();
  event->set_name("warn_echo");
  event->set_description(absl::StrCat("echoed ", kKey));
  ASSERT_TRUE(engine_->AcceptBatch(parents.attempt(), batch).ok());
  v1::TaskOutcome outcome;
  outcome.set_status(v1::TASK_OUTCOME_STATUS_FAILED);
  outcome.set_error(absl::StrCat("item {\"token\": \"", kKey, "\"}"));
  v1::Incompleteness* gap = outcome.add_incomplete();
  gap->set_type("thing_parent");
  gap->set_reason(absl::StrCat("HTTP 403 for ", kKey));
  ASSERT_TRUE(engine_->FinishAttempt(parents.attempt(), outcome).ok());
  Finish(worker_.NextAssignment(), {});
  v1::Run ended = WaitForEnd(run);
  std::string everything = ended.DebugString();
  auto events = store_->ListEvents(run, 0);
  ASSERT_TRUE(events.ok()) << events.status();
  for (const v1::Event& e : *events) everything += e.DebugString();
  EXPECT_THAT(everything, ::testing::HasSubstr("echoed ***"));
  EXPECT_THAT(everything, ::testing::Not(::testing::HasSubstr(kKey)));
}

TEST_F(EngineTest, GuessedAttemptsWithoutTheLeaseIdAreRefused) {
  const int64_t run = StartAndValidate();
  v1::TaskAssignment parents = worker_.NextAssignment();
  ASSERT_EQ(parents.attempt().lease_id().size(), 32u);  // 128 bits, hex
  // Ids are sequential and attempt 1 is a good guess: without the lease id
  // nothing is accepted, read or ended.
  v1::TaskAttempt forged = parents.attempt();
  forged.clear_lease_id();
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_parent:0666", "thing_parent");
  EXPECT_EQ(engine_->AcceptBatch(forged, batch).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::ReadEntitiesRequest read;
  *read.mutable_attempt() = forged;
  read.set_type("thing_parent");
  EXPECT_EQ(
      engine_->ReadEntities(read, [](const v1::EntityBatch&) { return true; })
          .code(),
      absl::StatusCode::kFailedPrecondition);
  v1::TaskOutcome empty;
  empty.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  EXPECT_EQ(engine_->FinishAttempt(forged, empty).code(),
            absl::StatusCode::kFailedPrecondition);
  // The real worker's results count.
  v1::ResultBatch real;
  *real.add_entities() = MakeEntity("thing_parent:0001", "thing_parent");
  Finish(parents, real);
  Finish(worker_.NextAssignment(), {});
  EXPECT_EQ(WaitForEnd(run).status(), v1::RUN_STATUS_SUCCEEDED);
  EXPECT_TRUE(store_->GetEntity("inst", "thing_parent:0001").ok());
  EXPECT_FALSE(store_->GetEntity("inst", "thing_parent:0666").ok());
}

TEST_F(EngineTest, AWorkerCannotRedefineARegisteredVersion) {
  // Same name and version, apiKey no longer secret: new instances would store
  // the key in clear and read it back.
  v1::WorkerHello hello;
  hello.set_worker_id("rogue");
  hello.set_capacity(1);
  v1::IntegrationDefinition redefined = Definition();
  redefined.mutable_config_fields(0)->set_secret(false);
  *hello.add_integrations() = redefined;
  RecordingWorker rogue;
  absl::StatusOr<int64_t> refused = engine_->ConnectWorker(hello, rogue.Send());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("already registered with a different"));
  EXPECT_TRUE(store_->GetIntegration("test")->config_fields(0).secret());
  // Nor with a new version.
  redefined.set_version("2");
  *hello.mutable_integrations(0) = redefined;
  EXPECT_EQ(engine_->ConnectWorker(hello, rogue.Send()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->GetIntegration("test")->config_fields(0).secret());
}

TEST_F(EngineTest, ATaskWhoseSecretsDoNotOpenFailsItsRunInsteadOfWaiting) {
  // Sealed under another key, as after a restart with the wrong key file.
  InstanceSecrets other(*SecretBox::FromKeyMaterial(std::string(32, 'z')));
  v1::Instance instance = *store_->GetInstance("inst");
  (*instance.mutable_config())["apiKey"] = "engine-test-api-key-77";
  ASSERT_TRUE(other.Seal(Definition(), &instance).ok());
  ASSERT_TRUE(store_->UpdateInstance(instance).ok());
  auto run = engine_->StartRun("inst");
  ASSERT_TRUE(run.ok()) << run.status();
  v1::Run ended = WaitForEnd(run->id());
  EXPECT_EQ(ended.status(), v1::RUN_STATUS_FAILED);
  EXPECT_THAT(ended.error(), ::testing::HasSubstr("cannot decrypt"));
  for (const v1::CoordinatorMessage& m : worker_.messages()) {
    EXPECT_FALSE(m.has_assignment()) << "no worker gets a task it cannot run";
  }
}

TEST_F(EngineTest, AStalledWorkerStreamDelaysOnlyItself) {
  // A worker whose stream accepts nothing (its writes block until released),
  // with more free slots than the healthy one, so it is offered work first.
  absl::Notification release;
  std::atomic<int> blocked_writes{0};
  v1::WorkerHello hello;
  hello.set_worker_id("stalled");
  hello.set_capacity(8);
  *hello.add_integrations() = Definition();
  auto stalled =
      engine_->ConnectWorker(hello, [&](const v1::CoordinatorMessage&) {
        ++blocked_writes;
        release.WaitForNotification();
        return false;
      });
  ASSERT_TRUE(stalled.ok()) << stalled.status();
  auto run = engine_->StartRun("inst");
  ASSERT_TRUE(run.ok()) << run.status();
  // The engine stays responsive while that write is blocked: another
  // instance's run starts (it needs the engine's lock).
  v1::Instance other;
  other.set_id("other");
  other.set_integration("test");
  ASSERT_TRUE(store_->CreateInstance(other).ok());
  absl::Notification started;
  std::thread starter([&] {
    EXPECT_TRUE(engine_->StartRun("other").ok());
    started.Notify();
  });
  const bool responsive =
      started.WaitForNotificationWithTimeout(absl::Seconds(5));
  release.Notify();
  starter.join();
  EXPECT_TRUE(responsive) << "a blocked write held the engine";
  EXPECT_GE(blocked_writes.load(), 1);
  engine_->DisconnectWorker(*stalled);
}

}  // namespace
}  // namespace graphmill::coordinator
