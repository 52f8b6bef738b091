// Implementation of coordinator/store/conformance/store_fixture.h, and the one
// instantiation of StoreTest for both backends.
#include "coordinator/store/conformance/store_fixture.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "coordinator/store/testing/postgres_server.h"

namespace graphmill::coordinator::conformance {

namespace pgtest = ::graphmill::coordinator::testing;

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

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::kSqlite:
      return "Sqlite";
    case Backend::kSqliteFile:
      return "SqliteFile";
    case Backend::kPostgres:
      return "Postgres";
  }
  return "Unknown";
}

// Databases are copies of one in which a PostgresStore made the schema (an
// Open on an empty database, once per binary), so each test skips creating it.
absl::StatusOr<std::string> NewPostgresDatabase(
    const std::string& name, std::vector<std::string>* made) {
  absl::StatusOr<pgtest::PostgresServer*> server =
      pgtest::SharedPostgresServer();
  if (!server.ok()) return server.status();
  static const absl::Status* const schema = [&] {
    absl::StatusOr<std::string> uri =
        (*server)->CreateDatabase("store_template");
    if (!uri.ok()) return new absl::Status(uri.status());
    return new absl::Status(Store::Open(*uri).status());  // closed at once
  }();
  if (!schema->ok()) return *schema;
  static int counter = 0;
  const std::string database = absl::StrCat("t", ++counter, "_", name);
  made->push_back(database);
  return (*server)->CreateDatabase(database, "store_template");
}

void DropPostgresDatabases(const std::vector<std::string>& databases) {
  if (databases.empty()) return;
  absl::StatusOr<pgtest::PostgresServer*> server =
      pgtest::SharedPostgresServer();
  ASSERT_TRUE(server.ok()) << server.status();
  for (const std::string& database : databases) {
    EXPECT_TRUE((*server)->DropDatabase(database).ok()) << database;
  }
}

void StoreTest::SetUp() {
  absl::StatusOr<std::string> spec =
      GetParam() == Backend::kSqlite ? ":memory:" : NewSpec("main");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto store = Store::Open(*spec);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = std::move(*store);
  v1::Instance instance;
  instance.set_id("inst");
  instance.set_integration("test");
  ASSERT_TRUE(store_->CreateInstance(instance).ok());
}

void StoreTest::TearDown() {
  store_.reset();
  DropPostgresDatabases(databases_);
}

absl::StatusOr<std::string> StoreTest::NewSpec(const std::string& name) {
  if (GetParam() == Backend::kPostgres) {
    return NewPostgresDatabase(name, &databases_);
  }
  const std::string path = ::testing::TempDir() + "/" + name + ".db";
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
    std::remove((path + suffix).c_str());
  }
  return path;
}

FinalizeCounts StoreTest::RunOnce(
    const std::vector<v1::Entity>& entities,
    const std::map<std::string, DeletionRule>& rules) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1000);
  EXPECT_TRUE(run.ok()) << run.status();
  auto task =
      store_->CreateTask(*run, "fetch-a", v1::TASK_KIND_STEP, v1::Shard());
  auto attempt_number = store_->LeaseTask(*task, "w1", kLease, 5000);
  EXPECT_TRUE(attempt_number.ok());
  v1::TaskAttempt attempt;
  attempt.set_task_id(*task);
  attempt.set_attempt(*attempt_number);
  attempt.set_lease_id(kLease);
  v1::ResultBatch batch;
  for (const v1::Entity& e : entities) *batch.add_entities() = e;
  EXPECT_TRUE(store_->StageBatch(attempt, batch, 1000).ok());
  EXPECT_TRUE(store_->CommitAttempt(attempt, true, "", {}).ok());
  FinalizeRequest request;
  request.run_id = *run;
  request.instance_id = "inst";
  request.rules = rules;
  request.now_ms = 2000;
  auto counts = store_->Finalize(request);
  EXPECT_TRUE(counts.ok()) << counts.status();
  EXPECT_TRUE(
      store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2000).ok());
  return *counts;
}

std::vector<std::string> StoreTest::GraphKeys() {
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  auto entities = store_->ListEntities(filter, "", 1000);
  std::vector<std::string> keys;
  for (const auto& e : *entities) keys.push_back(e.key());
  return keys;
}

v1::TaskAttempt StageTask(Store& store, int64_t run, const std::string& step,
                          const v1::ResultBatch& batch) {
  auto task = store.CreateTask(run, step, v1::TASK_KIND_STEP, v1::Shard());
  auto number = store.LeaseTask(*task, "w1", kLease, 1'000'000);
  v1::TaskAttempt attempt;
  attempt.set_task_id(*task);
  attempt.set_attempt(*number);
  attempt.set_lease_id(kLease);
  EXPECT_TRUE(store.StageBatch(attempt, batch, 1).ok());
  return attempt;
}

absl::Status CommitTask(Store& store, int64_t run, const std::string& step,
                        const v1::ResultBatch& batch) {
  return store.CommitAttempt(StageTask(store, run, step, batch), true, "", {});
}

FinalizeRequest FinalizeOf(int64_t run, int64_t now_ms,
                           const std::map<std::string, DeletionRule>& rules) {
  FinalizeRequest request;
  request.run_id = run;
  request.instance_id = "inst";
  request.rules = rules;
  request.now_ms = now_ms;
  return request;
}

std::vector<v1::Event> EventsNamed(Store& store, int64_t run,
                                   const std::string& name) {
  std::vector<v1::Event> result;
  auto events = store.ListEvents(run, 0);
  EXPECT_TRUE(events.ok());
  for (auto& e : *events) {
    if (e.name() == name) result.push_back(e);
  }
  return result;
}

INSTANTIATE_TEST_SUITE_P(, StoreTest, AllBackends(), BackendName);

}  // namespace graphmill::coordinator::conformance
