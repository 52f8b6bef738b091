// Conformance: ApplyPatch (webhooks) and how Finalize orders runs against
// patches (see store_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/graph_objects.h"
#include "coordinator/store/conformance/store_fixture.h"

namespace graphmill::coordinator::conformance {
namespace {

using ::testing::ElementsAre;

// A patch of "inst" for event `event_id`, current at `as_of_ms`.
GraphPatch Patch(const std::string& event_id, int64_t as_of_ms,
                 const std::vector<v1::Entity>& entities = {},
                 const std::vector<std::string>& scopes = {}) {
  GraphPatch patch;
  patch.instance_id = "inst";
  patch.event_id = event_id;
  patch.as_of_ms = as_of_ms;
  patch.now_ms = as_of_ms + 1;
  patch.entity_types = {"thing_a", "thing_b"};
  for (const v1::Entity& entity : entities) {
    *patch.objects.add_entities() = entity;
  }
  for (const std::string& scope : scopes) {
    patch.objects.add_entity_scopes(scope);
  }
  return patch;
}

// The `name` property of the graph's entity `key` ("" if there is none).
std::string NameOf(Store& store, const std::string& key) {
  absl::StatusOr<v1::Entity> entity = store.GetEntity("inst", key);
  if (!entity.ok()) return "";
  auto name = entity->properties().find("name");
  return name == entity->properties().end() ? "" : name->second.string_value();
}

// Changes logged after `after`: "<kind> <key> run=<run id>".
std::vector<std::string> ChangesAfter(Store& store, int64_t after) {
  std::vector<std::string> out;
  auto changes = store.ReadChanges(after, 100);
  EXPECT_TRUE(changes.ok()) << changes.status();
  if (!changes.ok()) return out;
  for (const ChangeRecord& change : *changes) {
    out.push_back(absl::StrCat(v1::ChangeKind_Name(change.kind), " ",
                               change.type, " run=", change.run_id));
  }
  return out;
}

int64_t LastSequence(Store& store) {
  auto bounds = store.GetChangeLogBounds();
  EXPECT_TRUE(bounds.ok());
  return bounds.ok() ? bounds->last_sequence : 0;
}

TEST_P(StoreTest, APatchCreatesAndUpdatesWithChangesAndARepeatChangesNothing) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "one")});
  const int64_t before = LastSequence(*store_);
  auto first = store_->ApplyPatch(
      Patch("event-1", 5000,
            {MakeEntity("thing_a:000001", "thing_a", "renamed"),
             MakeEntity("thing_b:000001", "thing_b", "new")},
            {"", "thing_a:000001"}));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->duplicate);
  EXPECT_EQ(first->created, 1);
  EXPECT_EQ(first->updated, 1);
  EXPECT_EQ(first->skipped, 0);
  EXPECT_EQ(NameOf(*store_, "thing_a:000001"), "renamed");
  EXPECT_EQ(NameOf(*store_, "thing_b:000001"), "new");
  EXPECT_THAT(ChangesAfter(*store_, before),
              ElementsAre("CHANGE_KIND_UPDATED thing_a run=0",
                          "CHANGE_KIND_CREATED thing_b run=0"));

  // The provider retries the delivery: nothing happens.
  const int64_t after_first = LastSequence(*store_);
  auto repeat = store_->ApplyPatch(Patch(
      "event-1", 6000, {MakeEntity("thing_a:000001", "thing_a", "other")}));
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_TRUE(repeat->duplicate);
  EXPECT_EQ(NameOf(*store_, "thing_a:000001"), "renamed");
  EXPECT_EQ(LastSequence(*store_), after_first);

  // Another event with the same content changes nothing either.
  auto same = store_->ApplyPatch(Patch(
      "event-2", 7000, {MakeEntity("thing_a:000001", "thing_a", "renamed")}));
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_FALSE(same->duplicate);
  EXPECT_EQ(same->created + same->updated + same->deleted, 0);
  EXPECT_EQ(LastSequence(*store_), after_first);

  // The scope a patch gives is the one a run's finalize later judges by.
  std::vector<std::string> scopes;
  ASSERT_TRUE(store_
                  ->ForEachGraphEntity(
                      "inst", "thing_b", "", "", /*by_scope=*/true, 10,
                      [&](const v1::Entity& entity, const std::string& scope) {
                        scopes.push_back(scope);
                        return absl::OkStatus();
                      })
                  .ok());
  EXPECT_THAT(scopes, ElementsAre("thing_a:000001"));
}

TEST_P(StoreTest, APatchDeletionTakesScopedChildrenAndTheirRelationships) {
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1000);
  ASSERT_TRUE(run.ok());
  v1::Entity parent = MakeEntity("thing_a:000001", "thing_a", "parent");
  v1::Entity child = MakeEntity("thing_b:000001", "thing_b", "child");
  v1::Entity grandchild = MakeEntity("thing_b:000002", "thing_b", "grand");
  v1::Entity other = MakeEntity("thing_a:000002", "thing_a", "other");
  v1::ResultBatch batch;
  for (const v1::Entity* e : {&parent, &child, &grandchild, &other}) {
    *batch.add_entities() = *e;
  }
  batch.add_entity_scopes("");
  batch.add_entity_scopes("thing_a:000001");
  batch.add_entity_scopes("thing_b:000001");
  batch.add_entity_scopes("");
  *batch.add_relationships() = DirectRelationship(parent, "HAS", child);
  *batch.add_relationships() = DirectRelationship(other, "HAS", grandchild);
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*run, 2000)).ok());
  ASSERT_TRUE(
      store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 2000).ok());

  const int64_t before = LastSequence(*store_);
  GraphPatch patch = Patch("destroy-1", 5000);
  patch.deleted_entity_keys = {"thing_a:000001"};
  auto counts = store_->ApplyPatch(patch);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->deleted, 5);
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_a:000002"});
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_TRUE(store_->ListRelationships(filter, "", 10)->empty());
  EXPECT_EQ(ChangesAfter(*store_, before).size(), 5u);

  // Deleting what is not there is no change.
  patch.event_id = "destroy-2";
  counts = store_->ApplyPatch(patch);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->deleted, 0);
}

TEST_P(StoreTest, TheNewerOfTwoPatchesWinsWhateverTheirOrderOfArrival) {
  ASSERT_TRUE(
      store_
          ->ApplyPatch(Patch(
              "late", 9000, {MakeEntity("thing_a:000001", "thing_a", "newer")}))
          .ok());
  auto older = store_->ApplyPatch(
      Patch("early", 8000, {MakeEntity("thing_a:000001", "thing_a", "older")}));
  ASSERT_TRUE(older.ok()) << older.status();
  EXPECT_EQ(older->skipped, 1);
  EXPECT_EQ(older->updated, 0);
  EXPECT_EQ(NameOf(*store_, "thing_a:000001"), "newer");

  // An older deletion does not remove what a newer patch wrote.
  GraphPatch destroy = Patch("early-destroy", 8500);
  destroy.deleted_entity_keys = {"thing_a:000001"};
  auto deleted = store_->ApplyPatch(destroy);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->deleted, 0);
  EXPECT_EQ(NameOf(*store_, "thing_a:000001"), "newer");
}

TEST_P(StoreTest, APatchOlderThanTheLastFinalizedRunIsSkipped) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "from the run")});  // 1000
  auto stale = store_->ApplyPatch(
      Patch("old", 900, {MakeEntity("thing_a:000001", "thing_a", "stale")}));
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_EQ(stale->skipped, 1);
  EXPECT_EQ(NameOf(*store_, "thing_a:000001"), "from the run");
}

TEST_P(StoreTest, ARunInProgressLeavesWhatANewerPatchDid) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "x"),
           MakeEntity("thing_a:000002", "thing_a", "doomed")});  // run at 1000
  // A run begins at 3000 and reads the provider...
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 3000);
  ASSERT_TRUE(run.ok());
  v1::ResultBatch batch;
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "stale");
  *batch.add_entities() = MakeEntity("thing_a:000002", "thing_a", "doomed");
  *batch.add_entities() = MakeEntity("thing_a:000004", "thing_a", "fetched");
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  // ...while webhooks (at 4000) update one object, delete another and create
  // a third the run did not see.
  GraphPatch patch = Patch("during", 4000,
                           {MakeEntity("thing_a:000001", "thing_a", "fresh"),
                            MakeEntity("thing_a:000003", "thing_a", "new")});
  patch.deleted_entity_keys = {"thing_a:000002"};
  auto applied = store_->ApplyPatch(patch);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->deleted, 1);
  auto counts = store_->Finalize(FinalizeOf(*run, 5000));
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_TRUE(
      store_->SetRunStatus(*run, v1::RUN_STATUS_SUCCEEDED, "", 5000).ok());
  EXPECT_EQ(NameOf(*store_, "thing_a:000001"), "fresh");
  EXPECT_EQ(GraphKeys(),
            (std::vector<std::string>{"thing_a:000001", "thing_a:000003",
                                      "thing_a:000004"}));
  EXPECT_EQ(counts->created, 1);  // only thing_a:000004
  EXPECT_EQ(counts->updated, 0);
  EXPECT_EQ(counts->deleted, 0);

  // The next run began after the patch: it decides again.
  auto next =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 6000);
  ASSERT_TRUE(next.ok());
  batch.Clear();
  *batch.add_entities() = MakeEntity("thing_a:000001", "thing_a", "later");
  ASSERT_TRUE(CommitTask(*store_, *next, "fetch-a", batch).ok());
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*next, 7000)).ok());
  EXPECT_EQ(NameOf(*store_, "thing_a:000001"), "later");
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_a:000001"});
}

TEST_P(StoreTest, AMarkedRelationshipStillGoesWithItsDeletedEndpoint) {
  v1::Entity a = MakeEntity("thing_a:000001", "thing_a", "a");
  v1::Entity b = MakeEntity("thing_b:000001", "thing_b", "b");
  auto first =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1000);
  ASSERT_TRUE(first.ok());
  v1::ResultBatch batch;
  *batch.add_entities() = a;
  *batch.add_entities() = b;
  *batch.add_relationships() = DirectRelationship(a, "HAS", b);
  ASSERT_TRUE(CommitTask(*store_, *first, "fetch-a", batch).ok());
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*first, 2000)).ok());
  ASSERT_TRUE(
      store_->SetRunStatus(*first, v1::RUN_STATUS_SUCCEEDED, "", 2000).ok());
  // A run at 3000 no longer sees b; a patch at 4000 rewrote the relationship.
  auto second =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 3000);
  ASSERT_TRUE(second.ok());
  batch.Clear();
  *batch.add_entities() = a;
  ASSERT_TRUE(CommitTask(*store_, *second, "fetch-a", batch).ok());
  v1::Relationship rewritten = DirectRelationship(a, "HAS", b);
  (*rewritten.mutable_properties())["since"] = StringValue("patch");
  GraphPatch patch = Patch("rel-rewrite", 4000);
  *patch.objects.add_relationships() = rewritten;
  auto applied = store_->ApplyPatch(patch);
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_EQ(applied->updated, 1);
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*second, 5000)).ok());
  // b is gone, and a relationship never outlives its endpoint.
  EXPECT_EQ(GraphKeys(), std::vector<std::string>{"thing_a:000001"});
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_TRUE(store_->ListRelationships(filter, "", 10)->empty());
}

TEST_P(StoreTest, APatchStoresNoRelationshipWithoutItsEndpoints) {
  v1::Entity a = MakeEntity("thing_a:000001", "thing_a", "a");
  v1::Entity b = MakeEntity("thing_b:000001", "thing_b", "b");
  GraphPatch patch = Patch("rel", 5000, {a});
  *patch.objects.add_relationships() = DirectRelationship(a, "HAS", b);
  auto counts = store_->ApplyPatch(patch);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 1);
  EXPECT_EQ(counts->skipped, 1);
  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  EXPECT_TRUE(store_->ListRelationships(filter, "", 10)->empty());

  patch = Patch("rel-2", 6000, {b});
  *patch.objects.add_relationships() = DirectRelationship(a, "HAS", b);
  counts = store_->ApplyPatch(patch);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->created, 2);
  EXPECT_EQ(store_->ListRelationships(filter, "", 10)->size(), 1u);
}

TEST_P(StoreTest, APatchIsCheckedBeforeAnythingIsWritten) {
  GraphPatch unknown = Patch("e", 5000);
  unknown.instance_id = "nope";
  EXPECT_EQ(store_->ApplyPatch(unknown).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->ApplyPatch(Patch("", 5000)).status().code(),
            absl::StatusCode::kInvalidArgument);
  GraphPatch uneven = Patch(
      "e", 5000, {MakeEntity("thing_a:000001", "thing_a", "a")}, {"x", "y"});
  EXPECT_EQ(store_->ApplyPatch(uneven).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(GraphKeys().empty());
  // The refused event id was not recorded.
  auto applied = store_->ApplyPatch(
      Patch("e", 5000, {MakeEntity("thing_a:000001", "thing_a", "a")}));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_FALSE(applied->duplicate);
  EXPECT_EQ(applied->created, 1);
}

}  // namespace
}  // namespace graphmill::coordinator::conformance
