// Conformance: Finalize, including the scope rule (see store_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "common/testing/fake_clock.h"
#include "coordinator/store/conformance/store_fixture.h"

namespace graphmill::coordinator::conformance {
namespace {

using ::testing::ElementsAre;

TEST_P(StoreTest, FinalizeCreatesUpdatesAndDeletes) {
  FinalizeCounts first =
      RunOnce({MakeEntity("thing_a:000001", "thing_a", "one"),
               MakeEntity("thing_a:000002", "thing_a", "two")});
  EXPECT_EQ(first.created, 2);
  EXPECT_EQ(first.updated, 0);
  EXPECT_EQ(first.deleted, 0);
  FinalizeCounts second =
      RunOnce({MakeEntity("thing_a:000001", "thing_a", "one"),
               MakeEntity("thing_a:000002", "thing_a", "renamed"),
               MakeEntity("thing_a:000003", "thing_a", "three")});
  EXPECT_EQ(second.created, 1);
  EXPECT_EQ(second.updated, 1);
  EXPECT_EQ(second.deleted, 0);
  FinalizeCounts third =
      RunOnce({MakeEntity("thing_a:000003", "thing_a", "three")});
  EXPECT_EQ(third.deleted, 2);
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_a:000003"});
}

TEST_P(StoreTest, KeepAllTypesAreNeverDeleted) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "a"),
           MakeEntity("thing_b:000001", "thing_b", "b")});
  FinalizeCounts counts = RunOnce({}, {{"thing_b", DeletionRule::kKeepAll}});
  EXPECT_EQ(counts.deleted, 1);
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_b:000001"});
}

TEST_P(StoreTest, RelationshipsWithoutEndpointsAreDroppedWithAnEvent) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "a");
  *batch.add_entities() = MakeEntity("thing_a:000002", "thing_a", "b");
  *batch.add_relationships() = DirectRelationship(
      "thing_a:000001", "thing_a", "HAS", "thing_a:000002", "thing_a");
  *batch.add_relationships() = DirectRelationship(
      "thing_a:000001", "thing_a", "HAS", "thing_a:999999", "thing_a");
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  auto counts = store_->Finalize(FinalizeOf(*run, 2));
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 3);
  EXPECT_EQ(counts->dropped_relationships, 1);
  auto dropped = EventsNamed(*store_, *run, "relationship_dropped");
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].description(),
            "relationship 'thing_a:000001|has|thing_a:999999' (thing_a_has_a) "
            "is not stored: "
            "its target entity 'thing_a:999999' is not in the graph");
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_EQ(store_->ListRelationships(filter, "", 10)->size(), 1u);
}

TEST_P(StoreTest, RelationshipOfProtectedTypeGoesWithItsDeletedEndpoint) {
  v1::Entity a = MakeEntity("thing_a:000001", "thing_a", "a");
  v1::Entity b = MakeEntity("thing_b:000001", "thing_b", "b");
  v1::Relationship edge = DirectRelationship(a, "HAS", b);
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = a;
  *batch.add_entities() = b;
  *batch.add_relationships() = edge;
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*run, 2)).ok());
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2).ok());
  // Run 2 sees only `a`; the edge's type is protected, but its target is gone.
  run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 3);
  v1::ResultBatch second;
  *second.add_entities() = a;
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", second).ok());
  auto counts =
      store_->Finalize({.run_id = *run,
                        .instance_id = "inst",
                        .rules = {{edge.type(), DeletionRule::kKeepAll}},
                        .now_ms = 4});
  EXPECT_EQ(counts->deleted, 2);
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_TRUE(store_->ListRelationships(filter, "", 10)->empty());
}

// Collected again, but its target entity was not: the relationship is dropped
// from the run (an event) and deleted from the graph (a change).
TEST_P(StoreTest, ARecollectedRelationshipGoesWithItsDeletedEndpoint) {
  v1::Entity a = MakeEntity("thing_a:000001", "thing_a", "a");
  v1::Entity b = MakeEntity("thing_b:000001", "thing_b", "b");
  const v1::Relationship edge = DirectRelationship(a, "HAS", b);
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = a;
  *batch.add_entities() = b;
  *batch.add_relationships() = edge;
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*run, 2)).ok());
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2).ok());
  const int64_t before = store_->GetChangeLogBounds()->last_sequence;

  run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 3);
  v1::ResultBatch again;
  *again.add_entities() = a;
  *again.add_relationships() = edge;
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", again).ok());
  auto counts = store_->Finalize(FinalizeOf(*run, 4));
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->deleted, 2);  // b and the edge
  EXPECT_EQ(counts->dropped_relationships, 1);
  EXPECT_EQ(EventsNamed(*store_, *run, "relationship_dropped").size(), 1u);
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_TRUE(store_->ListRelationships(filter, "", 10)->empty());
  // Not in the run's staged objects either (its upload leaves it out).
  int staged_relationships = 0;
  ASSERT_TRUE(store_
                  ->ForEachStagedObject(*run, true, 10,
                                        [&](const std::string&) {
                                          ++staged_relationships;
                                          return absl::OkStatus();
                                        })
                  .ok());
  EXPECT_EQ(staged_relationships, 0);
  auto changes = store_->ReadChanges(before, 10);
  ASSERT_EQ(changes->size(), 2u);
  for (const ChangeRecord& change : *changes) {
    EXPECT_EQ(change.kind, v1::CHANGE_KIND_DELETED);
  }
  EXPECT_FALSE((*changes)[0].is_relationship);  // entities first
  EXPECT_TRUE((*changes)[1].is_relationship);
}

TEST_P(StoreTest, FinalizeRecordsCountsAndIncompleteTypesOnTheRun) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "one"),
           MakeEntity("thing_a:000002", "thing_a", "two")});
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "uno");
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  std::vector<v1::IncompleteType> incomplete(2);
  incomplete[0].set_type("thing_z");
  incomplete[0].set_reason("step fetch-b disabled");
  incomplete[0].set_all_kept(true);
  incomplete[1].set_type("thing_b");
  incomplete[1].set_reason("HTTP 500");
  incomplete[1].set_error(true);
  auto counts = store_->Finalize({.run_id = *run,
                                  .instance_id = "inst",
                                  .incomplete_types = incomplete,
                                  .now_ms = 2});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->updated, 1);
  EXPECT_EQ(counts->deleted, 1);
  auto got = store_->GetRun(*run);
  EXPECT_EQ(got->created_count(), 0);
  EXPECT_EQ(got->updated_count(), 1);
  EXPECT_EQ(got->deleted_count(), 1);
  ASSERT_EQ(got->incomplete_types_size(), 2);
  EXPECT_EQ(got->incomplete_types(0).type(), "thing_b");  // by type
  EXPECT_TRUE(got->incomplete_types(0).error());
  EXPECT_FALSE(got->incomplete_types(0).all_kept());
  EXPECT_EQ(got->incomplete_types(1).reason(), "step fetch-b disabled");
  EXPECT_TRUE(got->incomplete_types(1).all_kept());
}

TEST_P(StoreTest, FinalizeEndsTheRunAndHandsOffItsUploadAtOnce) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "one");
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  auto counts = store_->Finalize({.run_id = *run,
                                  .instance_id = "inst",
                                  .status = v1::RUN_STATUS_PARTIAL,
                                  .error = "not looked at completely: thing_b",
                                  .upload_pending = true,
                                  .now_ms = 7});
  ASSERT_TRUE(counts.ok()) << counts.status();
  auto got = store_->GetRun(*run);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status(), v1::RUN_STATUS_PARTIAL);
  EXPECT_EQ(got->error(), "not looked at completely: thing_b");
  EXPECT_EQ(got->upload().state(), v1::UPLOAD_STATE_PENDING);
  EXPECT_THAT(*store_->ActiveRunIds(), ::testing::IsEmpty());

  // An ended run cannot be finalized again, and nothing changes.
  const int64_t before = store_->GetChangeLogBounds()->last_sequence;
  auto again = store_->Finalize({.run_id = *run,
                                 .instance_id = "inst",
                                 .status = v1::RUN_STATUS_SUCCEEDED,
                                 .now_ms = 9});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition)
      << again.status();
  EXPECT_EQ(store_->GetChangeLogBounds()->last_sequence, before);
  EXPECT_EQ(store_->GetRun(*run)->status(), v1::RUN_STATUS_PARTIAL);
}

TEST_P(StoreTest, AFinalizedRunEndsWhenFinalizeCommitsAndKeepsWhenItBegan) {
  FakeClock clock;
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(run.ok()) << run.status();
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "one");
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  const int64_t began = clock.NowMs();
  bool asked = false;
  auto counts = store_->Finalize(
      {.run_id = *run,
       .instance_id = "inst",
       .upload_pending = true,
       .now_ms = began,
       // Stands for the diff's time: the end is whatever the clock says when
       // the store asks, which it does once, before committing.
       .end_ms = [&] {
         EXPECT_FALSE(asked);
         asked = true;
         clock.Advance(absl::Milliseconds(1200));
         return clock.NowMs();
       }});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_TRUE(asked);
  auto got = store_->GetRun(*run);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->finalize_started_at_ms(), began);
  EXPECT_EQ(got->finalized_at_ms(), began + 1200);
  EXPECT_EQ(got->ended_at_ms(), got->finalized_at_ms());
  // Its changes carry the time finalize began.
  auto changes = store_->ReadChanges(0, 10);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].time_ms, began);

  // The uploader's times are kept with the upload.
  clock.Advance(absl::Milliseconds(50));
  v1::UploadStatus upload;
  upload.set_state(v1::UPLOAD_STATE_SUCCEEDED);
  upload.set_started_at_ms(clock.NowMs());
  clock.Advance(absl::Milliseconds(300));
  upload.set_ended_at_ms(clock.NowMs());
  ASSERT_TRUE(store_->SetRunUpload(*run, upload).ok());
  got = store_->GetRun(*run);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->upload().started_at_ms(), began + 1250);
  EXPECT_EQ(got->upload().ended_at_ms(), began + 1550);
  EXPECT_EQ(got->finalized_at_ms(), began + 1200);
}

TEST_P(StoreTest, ARunThatWasNotFinalizedHasNoFinalizeTimes) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(
      store_->SetRunStatus(*run, v1::RUN_STATUS_FAILED, "boom", 20).ok());
  auto got = store_->GetRun(*run);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->ended_at_ms(), 20);
  EXPECT_EQ(got->finalize_started_at_ms(), 0);
  EXPECT_EQ(got->finalized_at_ms(), 0);
}

TEST_P(StoreTest, FinalizeWithoutAnUploadTargetLeavesNoUpload) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "one")});
  auto runs = store_->ListRuns("inst", 1);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].status(), v1::RUN_STATUS_SUCCEEDED);
  EXPECT_EQ((*runs)[0].upload().state(), v1::UPLOAD_STATE_UNSPECIFIED);
}

// A parent type with children scoped by parent: what one scoped run returns.
struct ScopedRun {
  std::vector<std::string> parents;                           // parent keys
  std::vector<std::pair<std::string, std::string>> children;  // key, scope
  std::vector<std::string> incomplete_scopes;
  std::map<std::string, DeletionRule> rules;
};

class ScopedDeletionTest : public StoreTest {
 protected:
  FinalizeCounts Run(const ScopedRun& spec) {
    auto run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL,
                                 {}, 1000);
    EXPECT_TRUE(run.ok()) << run.status();
    v1::ResultBatch parents;
    for (const std::string& key : spec.parents) {
      *parents.add_entities() = MakeEntity(key, "thing_p", key);
    }
    EXPECT_TRUE(CommitTask(*store_, *run, "fetch-a", parents).ok());
    v1::ResultBatch children;
    for (const auto& [key, scope] : spec.children) {
      *children.add_entities() = MakeEntity(key, "thing_c", key);
      children.add_entity_scopes(scope);
      *children.add_relationships() =
          DirectRelationship(scope, "thing_p", "HAS", key, "thing_c");
      children.add_relationship_scopes(scope);
    }
    std::vector<v1::Incompleteness> incomplete;
    for (const std::string& scope : spec.incomplete_scopes) {
      v1::Incompleteness& entry = incomplete.emplace_back();
      entry.set_scope(scope);
      entry.set_reason("HTTP 403 on GET /p/{id}/c");
    }
    EXPECT_TRUE(
        store_
            ->CommitAttempt(StageTask(*store_, *run, "fetch-b", children), true,
                            "", incomplete)
            .ok());
    auto counts = store_->Finalize({.run_id = *run,
                                    .instance_id = "inst",
                                    .rules = spec.rules,
                                    .now_ms = 2000});
    EXPECT_TRUE(counts.ok()) << counts.status();
    EXPECT_TRUE(
        store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2000).ok());
    return *counts;
  }

  std::vector<std::string> Keys(const std::string& type) {
    v1::GraphFilter filter;
    filter.set_instance_id("inst");
    filter.set_type(type);
    auto entities = store_->ListEntities(filter, "", 1000);
    EXPECT_TRUE(entities.ok()) << entities.status();
    std::vector<std::string> keys;
    for (const auto& e : *entities) keys.push_back(e.key());
    return keys;
  }

  int64_t RelationshipCount() {
    v1::GraphFilter filter;
    filter.set_instance_id("inst");
    return static_cast<int64_t>(
        store_->ListRelationships(filter, "", 1000)->size());
  }
};

INSTANTIATE_TEST_SUITE_P(, ScopedDeletionTest, AllBackends(), BackendName);

TEST_P(ScopedDeletionTest, AnIncompleteScopeKeepsItsChildrenOnlyThere) {
  Run({{"thing_p:1", "thing_p:2"},
       {{"thing_c:1a", "thing_p:1"},
        {"thing_c:1b", "thing_p:1"},
        {"thing_c:2a", "thing_p:2"},
        {"thing_c:2b", "thing_p:2"}},
       {},
       {}});
  // Parent 1 listed completely without 1b; parent 2's listing was forbidden.
  FinalizeCounts counts = Run({{"thing_p:1", "thing_p:2"},
                               {{"thing_c:1a", "thing_p:1"}},
                               {"thing_p:2"},
                               {{"thing_c", DeletionRule::kScopedOnly}}});
  EXPECT_EQ(counts.deleted, 2);  // 1b and its edge
  EXPECT_THAT(Keys("thing_c"),
              ElementsAre("thing_c:1a", "thing_c:2a", "thing_c:2b"));
  EXPECT_EQ(RelationshipCount(), 3);
  auto steps = store_->GetSteps(2);
  ASSERT_TRUE(steps.ok());
  ASSERT_EQ(steps->size(), 2u);
  ASSERT_EQ((*steps)[1].scope_gaps.size(), 1u);
  EXPECT_EQ((*steps)[1].scope_gaps[0].reason, "HTTP 403 on GET /p/{id}/c");
  EXPECT_EQ((*steps)[1].scope_gaps[0].scope_type, "thing_p");
  EXPECT_EQ((*steps)[1].scope_gaps[0].count, 1);
}

TEST_P(ScopedDeletionTest, ChildrenOfAParentNotCollectedAreKept) {
  Run({{"thing_p:1", "thing_p:2"},
       {{"thing_c:1a", "thing_p:1"}, {"thing_c:2a", "thing_p:2"}},
       {},
       {}});
  // Parent 2 was not collected (its own listing failed): it is kept, and so
  // are its children, whose scope was not listed.
  Run({{"thing_p:1"},
       {{"thing_c:1a", "thing_p:1"}},
       {},
       {{"thing_p", DeletionRule::kKeepAll}}});
  EXPECT_THAT(Keys("thing_p"), ElementsAre("thing_p:1", "thing_p:2"));
  EXPECT_THAT(Keys("thing_c"), ElementsAre("thing_c:1a", "thing_c:2a"));
}

TEST_P(ScopedDeletionTest, ChildrenOfADeletedParentGoWithIt) {
  Run({{"thing_p:1", "thing_p:2"},
       {{"thing_c:1a", "thing_p:1"}, {"thing_c:2a", "thing_p:2"}},
       {},
       {}});
  FinalizeCounts counts =
      Run({{"thing_p:1"}, {{"thing_c:1a", "thing_p:1"}}, {}, {}});
  EXPECT_EQ(counts.deleted, 3);  // parent 2, its child and their edge
  EXPECT_THAT(Keys("thing_p"), ElementsAre("thing_p:1"));
  EXPECT_THAT(Keys("thing_c"), ElementsAre("thing_c:1a"));
}

// Three levels (a pipeline's workflows' jobs): a deleted parent takes its
// children, and they take theirs.
TEST_P(StoreTest, GrandchildrenOfADeletedParentGoToo) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_p:000001", "thing_p", "p");
  *batch.add_entities() = MakeEntity("thing_w:000001", "thing_w", "w");
  batch.add_entity_scopes("");
  batch.add_entity_scopes("thing_p:000001");
  // The job's key sorts before its workflow's and its pipeline's.
  *batch.add_entities() = MakeEntity("thing_b:000001", "thing_b", "job");
  batch.add_entity_scopes("thing_w:000001");
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*run, 2)).ok());
  ASSERT_TRUE(store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2).ok());
  // Nothing collected; only the pipeline's type deletes what a run missed,
  // the others go by the scope rule alone.
  FinalizeCounts counts = RunOnce({}, {{"thing_w", DeletionRule::kScopedOnly},
                                       {"thing_b", DeletionRule::kScopedOnly}});
  EXPECT_EQ(counts.deleted, 3);
  EXPECT_TRUE(GraphKeys().empty());
}

TEST_P(ScopedDeletionTest, ScopedOnlyKeepsUnscopedObjects) {
  RunOnce({MakeEntity("thing_c:loose", "thing_c", "loose")});
  RunOnce({}, {{"thing_c", DeletionRule::kScopedOnly}});
  EXPECT_THAT(Keys("thing_c"), ElementsAre("thing_c:loose"));
  RunOnce({});
  EXPECT_TRUE(Keys("thing_c").empty());
}

}  // namespace
}  // namespace graphmill::coordinator::conformance
