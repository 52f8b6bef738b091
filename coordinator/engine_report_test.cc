// What workers report, through the engine (the merge and shard reader
// layers against a store): invalid objects, malformed reports, redaction,
// fenced attempts and bounded reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "coordinator/engine.h"
#include "coordinator/testing/engine_fixture.h"

namespace graphmill::coordinator {
namespace {

using ::testing::HasSubstr;
using testing::MakeEntity;
using ::testing::Not;
using testing::TestDefinition;

class EngineReportTest : public testing::EngineFixture {};

TEST_F(EngineReportTest, InvalidObjectsNeverReachTheGraphAndAreReported) {
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
  EXPECT_EQ(Ended(run).status(), v1::RUN_STATUS_SUCCEEDED);
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

TEST_F(EngineReportTest, AcceptBatchCountsWhatWasStored) {
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

TEST_F(EngineReportTest, MalformedWorkerReportsAreRefused) {
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
  EXPECT_THAT(refused.message(), HasSubstr("events.description"));

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

TEST_F(EngineReportTest, WorkerReportsAreRedactedWithTheInstanceSecrets) {
  constexpr char kKey[] = "engine-test-api-key-77";
  v1::Instance instance = *store_->GetInstance("inst");
  (*instance.mutable_config())["apiKey"] = kKey;
  ASSERT_TRUE(secrets_.Seal(TestDefinition(), &instance).ok());
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
  v1::Run ended = Ended(run);
  std::string everything = ended.DebugString();
  auto events = store_->ListEvents(run, 0);
  ASSERT_TRUE(events.ok()) << events.status();
  for (const v1::Event& e : *events) everything += e.DebugString();
  EXPECT_THAT(everything, HasSubstr("echoed ***"));
  EXPECT_THAT(everything, Not(HasSubstr(kKey)));
}

TEST_F(EngineReportTest, GuessedAttemptsWithoutTheLeaseIdAreRefused) {
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
  EXPECT_EQ(Ended(run).status(), v1::RUN_STATUS_SUCCEEDED);
  EXPECT_TRUE(store_->GetEntity("inst", "thing_parent:0001").ok());
  EXPECT_FALSE(store_->GetEntity("inst", "thing_parent:0666").ok());
}

TEST_F(EngineReportTest, ReadEntitiesBatchesStayUnderThePageByteBudget) {
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

}  // namespace
}  // namespace graphmill::coordinator
