// Conformance: graph reads, snapshots and the change log (see store_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "coordinator/store/conformance/store_fixture.h"

namespace graphmill::coordinator::conformance {
namespace {

using ::testing::ElementsAre;

TEST_P(StoreTest, PropertyFiltersAndNeighbors) {
  v1::Entity a = MakeEntity("thing_a:000001", "thing_a", "api");
  (*a.mutable_properties())["active"] = BoolValue(true);
  (*a.mutable_properties())["count"] = IntValue(3);
  v1::Entity b = MakeEntity("thing_a:000002", "thing_a", "web");
  (*b.mutable_properties())["active"] = BoolValue(false);
  v1::Entity c = MakeEntity("thing_c:000001", "thing_c", "db");
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  *batch.add_entities() = a;
  *batch.add_entities() = b;
  *batch.add_entities() = c;
  *batch.add_relationships() = DirectRelationship(a, "HAS", c);
  *batch.add_relationships() = DirectRelationship(b, "USES", a);
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*run, 2)).ok());

  auto keys = [&](v1::GraphFilter filter) {
    filter.set_instance_id("inst");
    std::vector<std::string> result;
    auto entities = store_->ListEntities(filter, "", 10);
    EXPECT_TRUE(entities.ok()) << entities.status();
    for (const auto& e : *entities) result.push_back(e.key());
    return result;
  };
  v1::GraphFilter by_name;
  (*by_name.mutable_properties())["name"] = StringValue("web");
  EXPECT_EQ(keys(by_name), std::vector<std::string>{"thing_a:000002"});
  v1::GraphFilter by_bool;
  (*by_bool.mutable_properties())["active"] = BoolValue(true);
  EXPECT_EQ(keys(by_bool), std::vector<std::string>{"thing_a:000001"});
  v1::GraphFilter by_int;
  (*by_int.mutable_properties())["count"] = IntValue(3);
  (*by_int.mutable_properties())["name"] = StringValue("api");
  EXPECT_EQ(keys(by_int), std::vector<std::string>{"thing_a:000001"});
  (*by_int.mutable_properties())["count"] = IntValue(4);
  EXPECT_TRUE(keys(by_int).empty());

  auto both = store_->ListNeighbors("inst", a.key(), 0, "", "", 10);
  ASSERT_EQ(both->size(), 2u);
  auto out = store_->ListNeighbors("inst", a.key(), 1, "", "", 10);
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].entity.key(), c.key());
  EXPECT_TRUE((*out)[0].outgoing);
  auto in = store_->ListNeighbors("inst", a.key(), 2, "USES", "", 10);
  ASSERT_EQ(in->size(), 1u);
  EXPECT_EQ((*in)[0].entity.key(), b.key());
  EXPECT_TRUE(
      store_->ListNeighbors("inst", a.key(), 2, "HAS", "", 10)->empty());
}

TEST_P(StoreTest, GraphEntitiesAreReadByKeyRangeOrByScopeWithTheirScopes) {
  // Parents p1..p3 (no scope) and their children, listed for them.
  v1::ResultBatch batch;
  auto add = [&](const std::string& key, const std::string& type,
                 const std::string& scope) {
    *batch.add_entities() = MakeEntity(key, type, key);
    batch.add_entity_scopes(scope);
  };
  add("thing_p:000001", "thing_p", "");
  add("thing_p:000002", "thing_p", "");
  add("thing_p:000003", "thing_p", "");
  add("thing_c:000009", "thing_c", "thing_p:000001");
  add("thing_c:000001", "thing_c", "thing_p:000002");
  add("thing_c:000002", "thing_c", "thing_p:000002");
  add("thing_c:000003", "thing_c", "thing_p:000003");
  add("thing_c:000004", "thing_c", "");
  auto run = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {},
                               1, std::nullopt, /*incremental_since_ms=*/0);
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*run, 2)).ok());

  auto read = [&](const std::string& instance, const std::string& type,
                  const std::string& first, const std::string& last,
                  bool by_scope, int page_size) {
    std::vector<std::string> seen;
    absl::Status status = store_->ForEachGraphEntity(
        instance, type, first, last, by_scope, page_size,
        [&](const v1::Entity& entity, const std::string& scope) {
          EXPECT_EQ(entity.type(), type);
          EXPECT_TRUE(entity.properties().contains("name"))
              << "the whole entity";
          seen.push_back(absl::StrCat(entity.key(), "@", scope));
          return absl::OkStatus();
        });
    EXPECT_TRUE(status.ok()) << status;
    return seen;
  };
  EXPECT_THAT(
      read("inst", "thing_p", "thing_p:000002", "thing_p:000003", false, 1),
      ElementsAre("thing_p:000002@", "thing_p:000003@"));
  EXPECT_THAT(
      read("inst", "thing_p", "", "", false, 2),
      ElementsAre("thing_p:000001@", "thing_p:000002@", "thing_p:000003@"));
  // Children of parents 2..3, by scope then key, across pages; unscoped
  // ones are never in a scope range.
  EXPECT_THAT(
      read("inst", "thing_c", "thing_p:000002", "thing_p:000003", true, 1),
      ElementsAre("thing_c:000001@thing_p:000002",
                  "thing_c:000002@thing_p:000002",
                  "thing_c:000003@thing_p:000003"));
  EXPECT_THAT(read("inst", "thing_c", "", "", true, 2),
              ElementsAre("thing_c:000009@thing_p:000001",
                          "thing_c:000001@thing_p:000002",
                          "thing_c:000002@thing_p:000002",
                          "thing_c:000003@thing_p:000003"));
  EXPECT_TRUE(read("other", "thing_c", "", "", true, 10).empty());
  EXPECT_TRUE(read("inst", "thing_x", "", "", false, 10).empty());
  // A visit's error stops the read.
  int visits = 0;
  absl::Status stopped =
      store_->ForEachGraphEntity("inst", "thing_c", "", "", false, 1,
                                 [&](const v1::Entity&, const std::string&) {
                                   ++visits;
                                   return absl::CancelledError("enough");
                                 });
  EXPECT_EQ(stopped.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(visits, 1);
}

TEST_P(StoreTest, PropertyFiltersCompareJsonTypesAndValues) {
  v1::Entity a = MakeEntity("thing_a:000001", "thing_a", "a");
  (*a.mutable_properties())["score"] = DoubleValue(2.5);
  (*a.mutable_properties())["count"] = IntValue(3);
  (*a.mutable_properties())["tags"] = StringListValue({"x", "y"});
  (*a.mutable_properties())["owner"] = NullValue();
  v1::Entity b = MakeEntity("thing_a:000002", "thing_a", "b");
  (*b.mutable_properties())["count"] = DoubleValue(3.0);
  (*b.mutable_properties())["tags"] = StringListValue({"y", "x"});
  (*b.mutable_properties())["owner"] = StringValue("me");
  v1::Entity c = MakeEntity("thing_a:000003", "thing_a", "c");
  (*c.mutable_properties())["count"] = StringValue("3");
  RunOnce({a, b, c});
  auto keys = [&](const std::string& name, const v1::Value& value) {
    v1::GraphFilter filter;
    filter.set_instance_id("inst");
    (*filter.mutable_properties())[name] = value;
    std::vector<std::string> result;
    auto entities = store_->ListEntities(filter, "", 10);
    EXPECT_TRUE(entities.ok()) << entities.status();
    for (const auto& e : *entities) result.push_back(e.key());
    return result;
  };
  EXPECT_THAT(keys("score", DoubleValue(2.5)), ElementsAre(a.key()));
  // Numbers compare numerically, across integer and double.
  EXPECT_THAT(keys("count", IntValue(3)), ElementsAre(a.key(), b.key()));
  EXPECT_THAT(keys("count", DoubleValue(3)), ElementsAre(a.key(), b.key()));
  EXPECT_THAT(keys("count", StringValue("3")), ElementsAre(c.key()));
  EXPECT_THAT(keys("tags", StringListValue({"x", "y"})), ElementsAre(a.key()));
  EXPECT_THAT(keys("owner", NullValue()), ElementsAre(a.key()));  // not absent
  EXPECT_THAT(keys("owner", StringValue("me")), ElementsAre(b.key()));
  EXPECT_TRUE(keys("missing", StringValue("x")).empty());
}

TEST_P(StoreTest, GraphListingsFilterAndPageInByteOrder) {
  // Keys compare bytewise, whatever the database's locale: 'B' < '_' < 'a' <
  // 0xC3 (é).
  v1::Entity upper = MakeEntity("thing_a:B-000001", "thing_a", "upper");
  v1::Entity underscore = MakeEntity("thing_a:_-000001", "thing_a", "under");
  v1::Entity lower = MakeEntity("thing_a:a-000001", "thing_a", "lower");
  v1::Entity accent = MakeEntity("thing_a:\xc3\xa9-00001", "thing_a", "acc");
  v1::Entity other = MakeEntity("thing_b:000001", "thing_b", "other");
  other.clear_classes();
  other.add_classes("Other");
  auto run =
      store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  for (const v1::Entity* e : {&lower, &accent, &upper, &other, &underscore}) {
    *batch.add_entities() = *e;
  }
  *batch.add_relationships() = DirectRelationship(lower, "HAS", upper);
  *batch.add_relationships() = DirectRelationship(upper, "HAS", lower);
  ASSERT_TRUE(CommitTask(*store_, *run, "fetch-a", batch).ok());
  ASSERT_TRUE(store_->Finalize(FinalizeOf(*run, 2)).ok());

  v1::GraphFilter filter;
  filter.set_instance_id("inst");
  filter.set_type("thing_a");
  auto first = store_->ListEntities(filter, "", 2);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].key(), upper.key());
  EXPECT_EQ((*first)[1].key(), underscore.key());
  auto second = store_->ListEntities(filter, (*first)[1].key(), 2);
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*second)[0].key(), lower.key());
  EXPECT_EQ((*second)[1].key(), accent.key());
  EXPECT_TRUE(store_->ListEntities(filter, accent.key(), 2)->empty());

  v1::GraphFilter by_class;
  by_class.set_instance_id("inst");
  by_class.set_class_name("Other");
  auto classed = store_->ListEntities(by_class, "", 10);
  ASSERT_EQ(classed->size(), 1u);
  EXPECT_EQ((*classed)[0].key(), other.key());
  v1::GraphFilter elsewhere;
  elsewhere.set_instance_id("ghost");
  EXPECT_TRUE(store_->ListEntities(elsewhere, "", 10)->empty());

  v1::GraphFilter relationships;
  relationships.set_instance_id("inst");
  auto edges = store_->ListRelationships(relationships, "", 1);
  ASSERT_EQ(edges->size(), 1u);
  auto rest = store_->ListRelationships(relationships, (*edges)[0].key(), 10);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_LT((*edges)[0].key(), (*rest)[0].key());
  auto neighbors = store_->ListNeighbors("inst", upper.key(), 0, "", "", 1);
  ASSERT_EQ(neighbors->size(), 1u);
  auto more = store_->ListNeighbors("inst", upper.key(), 0, "",
                                    (*neighbors)[0].relationship.key(), 10);
  ASSERT_EQ(more->size(), 1u);
  EXPECT_NE((*neighbors)[0].outgoing, (*more)[0].outgoing);

  auto missing = store_->GetEntity("inst", "thing_a:nothing");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "entity 'thing_a:nothing' not found in instance 'inst'");
}

// A file store (SQLite) reads through its own connection; so does PostgreSQL.
TEST_P(StoreTest, SnapshotIsAConsistentCopyWithItsSequence) {
  auto spec = NewSpec("snapshot");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto store = Store::Open(*spec);
  ASSERT_TRUE(store.ok()) << store.status();
  v1::Instance instance;
  instance.set_id("snap");
  instance.set_integration("test");
  ASSERT_TRUE((*store)->CreateInstance(instance).ok());
  auto run =
      (*store)->CreateRun("snap", Definition(), v1::RUN_TRIGGER_MANUAL, {}, 1);
  v1::ResultBatch batch;
  for (int i = 0; i < 25; ++i) {
    *batch.add_entities() =
        MakeEntity(absl::StrCat("thing_a:0000", 10 + i), "thing_a", "x");
  }
  *batch.add_relationships() =
      DirectRelationship(batch.entities(0), "HAS", batch.entities(1));
  ASSERT_TRUE((*store)
                  ->CommitAttempt(StageTask(**store, *run, "fetch-a", batch),
                                  true, "", {})
                  .ok());
  ASSERT_TRUE(
      (*store)
          ->Finalize({.run_id = *run, .instance_id = "snap", .now_ms = 2})
          .ok());
  int64_t as_of = -1;
  size_t entities = 0, relationships = 0, pages = 0;
  ASSERT_TRUE((*store)
                  ->Snapshot(
                      "snap", 10,
                      [&](int64_t sequence) {
                        as_of = sequence;
                        return true;
                      },
                      [&](const auto& e, const auto& r) {
                        entities += e.size();
                        relationships += r.size();
                        ++pages;
                        return true;
                      })
                  .ok());
  EXPECT_EQ(as_of, 26);
  EXPECT_EQ(entities, 25u);
  EXPECT_EQ(relationships, 1u);
  EXPECT_EQ(pages, 4u);
}

TEST_P(StoreTest, ChangeLogRecordsEveryChangeInOrderWithPreviousVersions) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "one"),
           MakeEntity("thing_a:000002", "thing_a", "two")});
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "uno")});
  auto changes = store_->ReadChanges(0, 100);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 4u);
  EXPECT_EQ((*changes)[0].kind, v1::CHANGE_KIND_CREATED);
  EXPECT_EQ((*changes)[2].kind, v1::CHANGE_KIND_UPDATED);
  EXPECT_EQ((*changes)[3].kind, v1::CHANGE_KIND_DELETED);
  v1::Entity before;
  ASSERT_TRUE(before.ParseFromString((*changes)[2].previous));
  EXPECT_EQ(before.properties().at("name").string_value(), "one");
  for (size_t i = 1; i < changes->size(); ++i) {
    EXPECT_GT((*changes)[i].sequence, (*changes)[i - 1].sequence);
  }
  EXPECT_EQ(store_->GetChangeLogBounds()->last_sequence,
            (*changes)[3].sequence);
}

// A deletion carries the object as it was, as data and as previous, whether a
// finalize or DeleteInstance made it.
TEST_P(StoreTest, DeletionsCarryTheObjectAsItWas) {
  const v1::Entity one = MakeEntity("thing_a:000001", "thing_a", "one");
  const v1::Entity two = MakeEntity("thing_a:000002", "thing_a", "two");
  RunOnce({one, two});
  RunOnce({one});
  ASSERT_TRUE(store_->DeleteInstance("inst", 3000).ok());
  auto changes = store_->ReadChanges(2, 10);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 2u);
  for (const ChangeRecord& change : *changes) {
    EXPECT_EQ(change.kind, v1::CHANGE_KIND_DELETED);
  }
  EXPECT_EQ((*changes)[0].data, SerializeDeterministic(two));
  EXPECT_EQ((*changes)[0].previous, SerializeDeterministic(two));
  EXPECT_EQ((*changes)[0].time_ms, 2000);
  EXPECT_EQ((*changes)[1].data, SerializeDeterministic(one));
  EXPECT_EQ((*changes)[1].previous, SerializeDeterministic(one));
  EXPECT_EQ((*changes)[1].run_id, 0);  // DeleteInstance's
  EXPECT_EQ((*changes)[1].time_ms, 3000);
}

TEST_P(StoreTest, RetentionPrunesByCountAndRemembersWhere) {
  std::vector<v1::Entity> entities;
  for (int i = 0; i < 10; ++i) {
    entities.push_back(
        MakeEntity(absl::StrCat("thing_a:00000", i), "thing_a", "x"));
  }
  RunOnce(entities);
  auto pruned = store_->PruneChanges(0, 4, 10);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 6);
  auto bounds = store_->GetChangeLogBounds();
  EXPECT_EQ(bounds->pruned_through, 6);
  EXPECT_EQ(bounds->last_sequence, 10);
  EXPECT_EQ(store_->ReadChanges(0, 100)->front().sequence, 7);
  EXPECT_EQ(*store_->PruneChanges(0, 0, 10), 0);  // no limits: nothing more
}

TEST_P(StoreTest, RetentionPrunesByAge) {
  RunOnce({MakeEntity("thing_a:000001", "thing_a", "a"),
           MakeEntity("thing_a:000002", "thing_a", "b")});  // logged at 2000
  EXPECT_EQ(*store_->PruneChanges(1000, 0, 2500), 0);
  EXPECT_EQ(*store_->PruneChanges(1000, 0, 3001), 2);
  auto bounds = store_->GetChangeLogBounds();
  ASSERT_TRUE(bounds.ok()) << bounds.status();
  EXPECT_EQ(bounds->pruned_through, 2);
  EXPECT_EQ(bounds->last_sequence, 2);  // still the last ever appended
  EXPECT_TRUE(store_->ReadChanges(0, 10)->empty());
  RunOnce({});  // deletes both
  EXPECT_EQ(store_->GetChangeLogBounds()->last_sequence, 4);
  EXPECT_EQ(store_->ReadChanges(0, 10)->front().sequence, 3);
}

}  // namespace
}  // namespace graphmill::coordinator::conformance
