#include "coordinator/store/store.h"

#include <gtest/gtest.h>

#include "common/graph_objects.h"

namespace graphmill::coordinator {
namespace {

v1::IntegrationDefinition Definition() {
  v1::IntegrationDefinition d;
  d.set_name("test");
  d.set_version("1");
  for (const char* id : {"fetch-a", "fetch-b"}) d.add_steps()->set_id(id);
  return d;
}

v1::Entity MakeEntity(const std::string& key, const std::string& type,
                      const std::string& name) {
  v1::Entity e;
  e.set_key(key);
  e.set_type(type);
  e.add_classes("Thing");
  (*e.mutable_properties())["name"] = StringValue(name);
  (*e.mutable_properties())["displayName"] = StringValue(name);
  return e;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    v1::Instance instance;
    instance.set_id("inst");
    instance.set_integration("test");
    ASSERT_TRUE(store_->CreateInstance(instance).ok());
  }

  // Runs one step task producing `entities` and finalizes with `protected_types`.
  FinalizeCounts RunOnce(const std::vector<v1::Entity>& entities,
                         const std::set<std::string>& protected_types = {}) {
    auto run = store_->CreateRun("inst", Definition(), 1000);
    EXPECT_TRUE(run.ok()) << run.status();
    auto task = store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
    auto attempt_number = store_->LeaseTask(*task, "w1", 5000);
    EXPECT_TRUE(attempt_number.ok());
    v1::TaskAttempt attempt;
    attempt.set_task_id(*task);
    attempt.set_attempt(*attempt_number);
    v1::ResultBatch batch;
    for (const v1::Entity& e : entities) *batch.add_entities() = e;
    EXPECT_TRUE(store_->StageBatch(attempt, batch, 1000).ok());
    EXPECT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
    auto counts = store_->Finalize(*run, "inst", protected_types, 2000);
    EXPECT_TRUE(counts.ok()) << counts.status();
    EXPECT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2000).ok());
    return *counts;
  }

  std::vector<std::string> GraphKeys() {
    v1::GraphFilter filter;
    filter.set_instance_id("inst");
    auto entities = store_->ListEntities(filter, "", 1000);
    std::vector<std::string> keys;
    for (const auto& e : *entities) keys.push_back(e.key());
    return keys;
  }

  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, OneActiveRunPerInstance) {
  auto first = store_->CreateRun("inst", Definition(), 1);
  ASSERT_TRUE(first.ok());
  auto second = store_->CreateRun("inst", Definition(), 2);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("instance 'inst' already has an active run ", *first));
  ASSERT_TRUE(store_->SetRunStatus(*first, v1::RUN_STATUS_FAILED, "x", 3).ok());
  EXPECT_TRUE(store_->CreateRun("inst", Definition(), 4).ok());
}

TEST_F(StoreTest, FinalizeCreatesUpdatesAndDeletes) {
  FinalizeCounts first = RunOnce({MakeEntity("thing_a:000001", "thing_a", "one"),
                                  MakeEntity("thing_a:000002", "thing_a", "two")});
  EXPECT_EQ(first.created, 2);
  EXPECT_EQ(first.updated, 0);
  EXPECT_EQ(first.deleted, 0);
  FinalizeCounts second = RunOnce({MakeEntity("thing_a:000001", "thing_a", "one"),
                                   MakeEntity("thing_a:000002", "thing_a", "renamed"),
                                   MakeEntity("thing_a:000003", "thing_a", "three")});
  EXPECT_EQ(second.created, 1);
  EXPECT_EQ(second.updated, 1);
  EXPECT_EQ(second.deleted, 0);
  FinalizeCounts third = RunOnce({MakeEntity("thing_a:000003", "thing_a", "three")});
  EXPECT_EQ(third.deleted, 2);
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_a:000003"});
}

TEST_F(StoreTest, ProtectedTypesAreNeverDeleted) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "a"),
           MakeEntity("thing_b:000001", "thing_b", "b")});
  FinalizeCounts counts = RunOnce({}, {"thing_b"});
  EXPECT_EQ(counts.deleted, 1);
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_b:000001"});
}

TEST_F(StoreTest, StaleAttemptIsFenced) {
  auto run = store_->CreateRun("inst", Definition(), 1);
  auto task = store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
  auto first = store_->LeaseTask(*task, "w1", 10);
  ASSERT_EQ(*first, 1);
  ASSERT_TRUE(store_->ReleaseTask(*task, 1, 3, "lease lapsed").ok());
  auto second = store_->LeaseTask(*task, "w2", 10);
  ASSERT_EQ(*second, 2);
  v1::TaskAttempt stale;
  stale.set_task_id(*task);
  stale.set_attempt(1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "a");
  EXPECT_EQ(store_->StageBatch(stale, batch, 1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->CommitAttempt(stale, true, "", {}).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, ReleaseFailsTaskAfterMaxAttempts) {
  auto run = store_->CreateRun("inst", Definition(), 1);
  auto task = store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
  ASSERT_TRUE(store_->LeaseTask(*task, "w1", 10).ok());
  ASSERT_TRUE(store_->ReleaseTask(*task, 1, 1, "lease lapsed on w1").ok());
  auto record = store_->GetTask(*task);
  EXPECT_EQ(record->state, TaskState::kFailed);
  EXPECT_EQ(record->error, "lease lapsed on w1");
}

TEST_F(StoreTest, StagedEntitiesReadByTypeAndShardRange) {
  auto run = store_->CreateRun("inst", Definition(), 1);
  auto task = store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
  ASSERT_TRUE(store_->LeaseTask(*task, "w1", 10).ok());
  v1::TaskAttempt attempt;
  attempt.set_task_id(*task);
  attempt.set_attempt(1);
  v1::ResultBatch batch;
  for (int i = 0; i < 25; ++i) {
    *batch.add_entities() = MakeEntity(absl::StrCat("thing_a:", 100 + i), "thing_a", "x");
  }
  *batch.add_entities() = MakeEntity("thing_b:000001", "thing_b", "y");
  ASSERT_TRUE(store_->StageBatch(attempt, batch, 1).ok());
  ASSERT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
  std::vector<std::string> keys;
  ASSERT_TRUE(store_
                  ->ForEachStagedEntity(*run, "thing_a", "thing_a:105", "thing_a:119", 4,
                                        [&](const v1::Entity& e) {
                                          keys.push_back(e.key());
                                          return absl::OkStatus();
                                        })
                  .ok());
  ASSERT_EQ(keys.size(), 15u);
  EXPECT_EQ(keys.front(), "thing_a:105");
  EXPECT_EQ(keys.back(), "thing_a:119");
}

TEST_F(StoreTest, GraphSurvivesReopen) {
  const std::string path = ::testing::TempDir() + "/reopen.db";
  std::remove(path.c_str());
  {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok());
    v1::Instance instance;
    instance.set_id("persist");
    instance.set_integration("test");
    (*instance.mutable_config())["login"] = "me";
    ASSERT_TRUE((*store)->CreateInstance(instance).ok());
  }
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok());
  auto instance = (*store)->GetInstance("persist");
  ASSERT_TRUE(instance.ok());
  EXPECT_EQ(instance->config().at("login"), "me");
}

}  // namespace
}  // namespace graphmill::coordinator
