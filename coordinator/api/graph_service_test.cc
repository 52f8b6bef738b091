// Graph API over a real store: paging (every object exactly once, in key
// order), Subscribe's replay and filters, raw data only when asked, and the
// exact codes of input problems.
#include "coordinator/api/graph_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/graph_objects.h"
#include "coordinator/api/graph_test_util.h"

namespace graphmill::coordinator {
namespace {

// Six Things, alternately of type even_thing (keys 0, 2, 4) and odd_thing.
v1::ResultBatch EvenAndOddThings() {
  v1::ResultBatch batch;
  for (int i = 0; i < 6; ++i) {
    v1::Entity* e = batch.add_entities();
    e->set_key(
        absl::StrFormat("%s:%05d", i % 2 ? "odd_thing" : "even_thing", i));
    e->set_type(i % 2 ? "odd_thing" : "even_thing");
    e->add_classes("Thing");
  }
  return batch;
}

using testing::AddInstanceWithGraph;
using testing::LoopbackServer;
using testing::RunWithGraph;

TEST(GraphService, PagesThroughEveryEntityAndRelationshipExactlyOnce) {
  auto store = Store::Open(":memory:");
  ASSERT_TRUE(store.ok());
  v1::ResultBatch batch;
  constexpr int kCount = 1234;
  for (int i = 0; i < kCount; ++i) {
    v1::Entity* e = batch.add_entities();
    e->set_key(absl::StrFormat("thing_node:%05d", i));
    e->set_type("thing_node");
    e->add_classes("Thing");
    *batch.add_relationships() = DirectRelationship(
        e->key(), "thing_node", "HAS",
        absl::StrFormat("thing_node:%05d", (i + 1) % kCount), "thing_node");
  }
  ASSERT_TRUE(AddInstanceWithGraph(**store, "paged", batch).ok());

  GraphService service(store->get(), nullptr);
  std::vector<std::string> keys;
  std::string token;
  int pages = 0;
  do {
    v1::ListEntitiesRequest request;
    request.mutable_filter()->set_instance_id("paged");
    request.set_page_size(100);
    request.set_page_token(token);
    v1::ListEntitiesResponse response;
    grpc::ServerContext context;
    ASSERT_TRUE(service.ListEntities(&context, &request, &response).ok());
    for (const auto& e : response.entities()) keys.push_back(e.key());
    token = response.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 13);
  ASSERT_EQ(keys.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i)
    EXPECT_EQ(keys[i], absl::StrFormat("thing_node:%05d", i));

  size_t relationships = 0;
  token.clear();
  do {
    v1::ListRelationshipsRequest request;
    request.mutable_filter()->set_instance_id("paged");
    request.set_page_size(500);
    request.set_page_token(token);
    v1::ListRelationshipsResponse response;
    grpc::ServerContext context;
    ASSERT_TRUE(service.ListRelationships(&context, &request, &response).ok());
    relationships += response.relationships_size();
    token = response.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(relationships, static_cast<size_t>(kCount));
}

TEST(GraphService, RejectsBadPageTokenAndMissingInstance) {
  auto store = Store::Open(":memory:");
  GraphService service(store->get(), nullptr);
  v1::ListEntitiesRequest request;
  v1::ListEntitiesResponse response;
  grpc::ServerContext context;
  grpc::Status status = service.ListEntities(&context, &request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "filter.instance_id is required");
  request.mutable_filter()->set_instance_id("x");
  request.set_page_token("!!!");
  status = service.ListEntities(&context, &request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "page_token '!!!' is not valid");
}

// Subscribe over real gRPC: past changes replayed after a sequence, filters
// applied, and OUT_OF_RANGE naming the earliest retained sequence once older
// changes are pruned.
TEST(GraphService, SubscribeReplaysFiltersAndReportsPrunedHistory) {
  auto store = Store::Open(":memory:");
  ASSERT_TRUE(store.ok());
  const v1::ResultBatch batch = EvenAndOddThings();
  ASSERT_TRUE(AddInstanceWithGraph(**store, "subs", batch).ok());

  GraphService service(store->get(),
                       nullptr);  // no engine: the stream ends at the log's end
  LoopbackServer server({&service});
  ASSERT_TRUE(server.started());
  auto stub = v1::Graph::NewStub(server.Channel());
  auto subscribe = [&](v1::SubscribeRequest request,
                       std::vector<int64_t>* sequences) {
    grpc::ClientContext context;
    auto reader = stub->Subscribe(&context, request);
    v1::ChangeEvent event;
    while (reader->Read(&event)) sequences->push_back(event.sequence());
    return reader->Finish();
  };
  // Changes are logged in key order: the even things are 1-3, the odd ones 4-6.
  v1::SubscribeRequest odd;
  odd.set_type_pattern("odd_.*");
  odd.set_after_sequence(4);
  std::vector<int64_t> sequences;
  ASSERT_TRUE(subscribe(odd, &sequences).ok());
  EXPECT_EQ(sequences, (std::vector<int64_t>{5, 6}));
  v1::SubscribeRequest even;
  even.set_type_pattern("even_.*");
  sequences.clear();
  ASSERT_TRUE(subscribe(even, &sequences).ok());
  EXPECT_EQ(sequences, (std::vector<int64_t>{1, 2, 3}));

  v1::SubscribeRequest bad;
  bad.set_type_pattern("(");
  sequences.clear();
  grpc::Status status = subscribe(bad, &sequences);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  ASSERT_EQ(*(*store)->PruneChanges(0, 2, 3), 4);
  v1::SubscribeRequest stale;
  stale.set_after_sequence(3);
  status = subscribe(stale, &sequences);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(status.error_message(),
            "changes after sequence 3 are no longer retained; the earliest "
            "available is 5; "
            "take a snapshot (GetSnapshot) and subscribe from its sequence");
  v1::SubscribeRequest resumed;
  resumed.set_after_sequence(4);
  sequences.clear();
  EXPECT_TRUE(subscribe(resumed, &sequences).ok());
  EXPECT_EQ(sequences, (std::vector<int64_t>{5, 6}));
}

// The caught_up marker over real gRPC: after every backlog event, once, at the
// last sequence read (also past changes a filter dropped), also for an empty
// backlog; never unless asked. (Live changes after it: tests/e2e/
// graph_changes_test, which has an engine.)
TEST(GraphService, SubscribeMarksTheEndOfTheBacklogOnceWhenAsked) {
  auto store = Store::Open(":memory:");
  ASSERT_TRUE(store.ok());
  const v1::ResultBatch batch = EvenAndOddThings();
  ASSERT_TRUE(AddInstanceWithGraph(**store, "marked", batch).ok());
  // No engine: the stream ends after the marker, so "once" is checked to the
  // end of the stream.
  GraphService service(store->get(), nullptr);
  LoopbackServer server({&service});
  ASSERT_TRUE(server.started());
  auto stub = v1::Graph::NewStub(server.Channel());
  // Sequences as received, the marker as -sequence.
  auto subscribe = [&](v1::SubscribeRequest request) {
    grpc::ClientContext context;
    auto reader = stub->Subscribe(&context, request);
    std::vector<int64_t> got;
    v1::ChangeEvent event;
    while (reader->Read(&event)) {
      if (event.caught_up()) {
        EXPECT_FALSE(event.has_entity() || event.has_relationship());
        EXPECT_EQ(event.kind(), v1::CHANGE_KIND_UNSPECIFIED);
        got.push_back(-event.sequence());
      } else {
        got.push_back(event.sequence());
      }
    }
    EXPECT_TRUE(reader->Finish().ok());
    return got;
  };
  v1::SubscribeRequest all;
  all.set_mark_caught_up(true);
  EXPECT_EQ(subscribe(all), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, -6}));
  // The even things are 1-3: the marker still says 6, so a resume from it
  // does not read 4-6 again.
  v1::SubscribeRequest even = all;
  even.set_type_pattern("even_.*");
  EXPECT_EQ(subscribe(even), (std::vector<int64_t>{1, 2, 3, -6}));
  v1::SubscribeRequest empty = all;
  empty.set_after_sequence(6);
  EXPECT_EQ(subscribe(empty), (std::vector<int64_t>{-6}));
  v1::SubscribeRequest unmarked;
  EXPECT_EQ(subscribe(unmarked), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

// object_json and previous_object_json over real gRPC: JupiterOne flat JSON of
// the object after and before each change (a deleted object as it was), only
// when asked, `_rawData` only with include_raw_data, and nothing on the
// marker.
TEST(GraphService, SubscribeCarriesFlatJsonOfEachObjectWhenAsked) {
  auto store = Store::Open(":memory:");
  ASSERT_TRUE(store.ok());
  v1::ResultBatch first;
  for (int i = 0; i < 2; ++i) {
    v1::Entity* e = first.add_entities();
    e->set_key(absl::StrFormat("thing_node:%05d", i));
    e->set_type("thing_node");
    e->add_classes("Thing");
    (*e->mutable_properties())["name"] = StringValue(absl::StrCat("n", i));
    (*e->mutable_properties())["count"] = IntValue(i + 7);
    v1::RawData* raw = e->add_raw_data();
    raw->set_name("default");
    raw->set_json(absl::StrFormat(R"({"id":%d})", i));
  }
  *first.add_relationships() =
      DirectRelationship(first.entities(0), "HAS", first.entities(1));
  ASSERT_TRUE(AddInstanceWithGraph(**store, "flat", first).ok());
  // The second run updates thing_node:00000 and lacks thing_node:00001, which
  // is deleted, and with it the relationship.
  v1::ResultBatch second;
  *second.add_entities() = first.entities(0);
  (*second.mutable_entities(0)->mutable_properties())["count"] = IntValue(70);
  ASSERT_TRUE(RunWithGraph(**store, "flat", second).ok());

  GraphService service(store->get(), nullptr);
  LoopbackServer server({&service});
  ASSERT_TRUE(server.started());
  auto stub = v1::Graph::NewStub(server.Channel());
  // "KIND object_json <- previous_object_json" per event, in order; "-" for
  // an unset one.
  auto subscribe = [&](v1::SubscribeRequest request) {
    request.set_mark_caught_up(true);
    grpc::ClientContext context;
    auto reader = stub->Subscribe(&context, request);
    std::vector<std::string> got;
    v1::ChangeEvent event;
    while (reader->Read(&event)) {
      got.push_back(absl::StrCat(
          v1::ChangeKind_Name(event.kind()), " ",
          event.has_object_json() ? event.object_json() : "-", " <- ",
          event.has_previous_object_json() ? event.previous_object_json()
                                           : "-"));
    }
    EXPECT_TRUE(reader->Finish().ok());
    return got;
  };
  constexpr char kRelationship[] =
      R"({"_key":"thing_node:00000|has|thing_node:00001",)"
      R"("_type":"thing_node_has_node","_class":"HAS",)"
      R"("_fromEntityKey":"thing_node:00000",)"
      R"("_toEntityKey":"thing_node:00001","displayName":"HAS"})";
  constexpr char kFirst0[] =
      R"({"_key":"thing_node:00000","_type":"thing_node","_class":["Thing"],)"
      R"("count":7,"name":"n0"})";
  constexpr char kFirst1[] =
      R"({"_key":"thing_node:00001","_type":"thing_node","_class":["Thing"],)"
      R"("count":8,"name":"n1"})";
  constexpr char kSecond0[] =
      R"({"_key":"thing_node:00000","_type":"thing_node","_class":["Thing"],)"
      R"("count":70,"name":"n0"})";

  v1::SubscribeRequest plain;
  EXPECT_THAT(subscribe(plain),
              ::testing::ElementsAre(
                  "CHANGE_KIND_CREATED - <- -", "CHANGE_KIND_CREATED - <- -",
                  "CHANGE_KIND_CREATED - <- -", "CHANGE_KIND_UPDATED - <- -",
                  "CHANGE_KIND_DELETED - <- -", "CHANGE_KIND_DELETED - <- -",
                  "CHANGE_KIND_UNSPECIFIED - <- -"));

  v1::SubscribeRequest json;
  json.set_include_object_json(true);
  std::vector<std::string> events = subscribe(json);
  // The first run's changes (entities, then relationships), then the
  // second's; the order of its two deletions is the store's, so they are
  // compared as a set.
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(events[0], absl::StrCat("CHANGE_KIND_CREATED ", kFirst0, " <- -"));
  EXPECT_EQ(events[1], absl::StrCat("CHANGE_KIND_CREATED ", kFirst1, " <- -"));
  EXPECT_EQ(events[2],
            absl::StrCat("CHANGE_KIND_CREATED ", kRelationship, " <- -"));
  EXPECT_EQ(events[3],
            absl::StrCat("CHANGE_KIND_UPDATED ", kSecond0, " <- ", kFirst0));
  EXPECT_THAT(
      std::vector<std::string>(events.begin() + 4, events.end() - 1),
      ::testing::UnorderedElementsAre(
          absl::StrCat("CHANGE_KIND_DELETED ", kFirst1, " <- ", kFirst1),
          absl::StrCat("CHANGE_KIND_DELETED ", kRelationship, " <- ",
                       kRelationship)));
  EXPECT_EQ(events[6], "CHANGE_KIND_UNSPECIFIED - <- -");

  // With raw data, the JSON has `_rawData` (the provider object embedded as
  // JSON) wherever the entity has raw data.
  json.set_include_raw_data(true);
  json.add_kinds(v1::CHANGE_KIND_DELETED);
  json.set_type_pattern("thing_node");
  constexpr char kFirst1Raw[] =
      R"({"_key":"thing_node:00001","_type":"thing_node","_class":["Thing"],)"
      R"("count":8,"name":"n1",)"
      R"("_rawData":[{"name":"default","rawData":{"id":1}}]})";
  EXPECT_THAT(subscribe(json), ::testing::ElementsAre(
                                   absl::StrCat("CHANGE_KIND_DELETED ",
                                                kFirst1Raw, " <- ", kFirst1Raw),
                                   "CHANGE_KIND_UNSPECIFIED - <- -"));
}

// A store with instance "known": two entities with raw data and a
// relationship between them.
class GraphInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok());
    store_ = *std::move(store);
    v1::ResultBatch batch;
    for (int i = 0; i < 2; ++i) {
      v1::Entity* e = batch.add_entities();
      e->set_key(absl::StrFormat("thing_node:%05d", i));
      e->set_type("thing_node");
      e->add_classes("Thing");
      v1::RawData* raw = e->add_raw_data();
      raw->set_name("default");
      raw->set_json(absl::StrFormat(R"({"id":%d})", i));
    }
    *batch.add_relationships() =
        DirectRelationship("thing_node:00000", "thing_node", "HAS",
                           "thing_node:00001", "thing_node");
    ASSERT_TRUE(AddInstanceWithGraph(*store_, "known", batch).ok());
    service_ = std::make_unique<GraphService>(store_.get(), nullptr);
    server_ = std::make_unique<LoopbackServer>(
        std::initializer_list<grpc::Service*>{service_.get()});
    ASSERT_TRUE(server_->started());
    stub_ = v1::Graph::NewStub(server_->Channel());
  }

  // Reads a Subscribe stream to its end (the service has no engine, so it
  // ends at the end of the log).
  grpc::Status Subscribe(const v1::SubscribeRequest& request,
                         std::vector<v1::ChangeEvent>* events = nullptr) {
    grpc::ClientContext context;
    auto reader = stub_->Subscribe(&context, request);
    v1::ChangeEvent event;
    while (reader->Read(&event)) {
      if (events != nullptr) events->push_back(event);
    }
    return reader->Finish();
  }

  grpc::Status Snapshot(const v1::GetSnapshotRequest& request,
                        std::vector<v1::Entity>* entities = nullptr) {
    grpc::ClientContext context;
    auto reader = stub_->GetSnapshot(&context, request);
    v1::SnapshotChunk chunk;
    while (reader->Read(&chunk)) {
      for (const v1::Entity& e : chunk.entities()) {
        if (entities != nullptr) entities->push_back(e);
      }
    }
    return reader->Finish();
  }

  std::unique_ptr<Store> store_;
  std::unique_ptr<GraphService> service_;
  std::unique_ptr<LoopbackServer> server_;
  std::unique_ptr<v1::Graph::Stub> stub_;
};

TEST_F(GraphInputTest, SubscribeFromANegativeSequenceIsInvalidArgument) {
  v1::SubscribeRequest request;
  request.set_after_sequence(-5);
  grpc::Status status = Subscribe(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "after_sequence must not be negative, got -5");
}

TEST_F(GraphInputTest, SubscribeToAnUndefinedChangeKindIsInvalidArgument) {
  v1::SubscribeRequest request;
  request.add_kinds(v1::CHANGE_KIND_CREATED);
  request.add_kinds(static_cast<v1::ChangeKind>(77));
  grpc::Status status = Subscribe(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "kinds: 77 is not a ChangeKind (1 created, 2 updated, 3 deleted)");
}

TEST_F(GraphInputTest, SubscribeToAnUnknownInstanceIsNotFound) {
  v1::SubscribeRequest request;
  request.add_instance_ids("known");
  request.add_instance_ids("nope");
  grpc::Status status = Subscribe(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "instance 'nope' not found");
  // The known instance alone is fine.
  request.clear_instance_ids();
  request.add_instance_ids("known");
  std::vector<v1::ChangeEvent> events;
  EXPECT_TRUE(Subscribe(request, &events).ok());
  EXPECT_EQ(events.size(), 3u);
}

// Reading an unknown instance's graph must not pass for an empty graph.
TEST_F(GraphInputTest, EveryGraphReadOfAnUnknownInstanceIsNotFound) {
  grpc::ClientContext c1;
  v1::ListEntitiesRequest entities;
  entities.mutable_filter()->set_instance_id("nope");
  v1::ListEntitiesResponse entities_response;
  grpc::Status status = stub_->ListEntities(&c1, entities, &entities_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "instance 'nope' not found");

  grpc::ClientContext c2;
  v1::ListRelationshipsRequest relationships;
  relationships.mutable_filter()->set_instance_id("nope");
  v1::ListRelationshipsResponse relationships_response;
  status =
      stub_->ListRelationships(&c2, relationships, &relationships_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "instance 'nope' not found");

  grpc::ClientContext c3;
  v1::GetEntityRequest entity;
  entity.set_instance_id("nope");
  entity.set_key("thing_node:00000");
  v1::Entity entity_response;
  status = stub_->GetEntity(&c3, entity, &entity_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "instance 'nope' not found");

  grpc::ClientContext c4;
  v1::ListNeighborsRequest neighbors;
  neighbors.set_instance_id("nope");
  neighbors.set_key("thing_node:00000");
  v1::ListNeighborsResponse neighbors_response;
  status = stub_->ListNeighbors(&c4, neighbors, &neighbors_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "instance 'nope' not found");

  v1::GetSnapshotRequest snapshot;
  snapshot.set_instance_id("nope");
  status = Snapshot(snapshot);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "instance 'nope' not found");

  // A known instance's missing entity still names the key.
  grpc::ClientContext c5;
  entity.set_instance_id("known");
  entity.set_key("thing_node:09999");
  status = stub_->GetEntity(&c5, entity, &entity_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(),
            "entity 'thing_node:09999' not found in instance 'known'");
}

TEST_F(GraphInputTest, NeighborsInAnUndefinedDirectionIsInvalidArgument) {
  grpc::ClientContext context;
  v1::ListNeighborsRequest request;
  request.set_instance_id("known");
  request.set_key("thing_node:00000");
  request.set_direction(static_cast<v1::Direction>(77));
  v1::ListNeighborsResponse response;
  grpc::Status status = stub_->ListNeighbors(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "direction: 77 is not a Direction (0 both, 1 out, 2 in)");
}

// Every read leaves raw data out unless the request asks for it.
TEST_F(GraphInputTest, RawDataOnlyWhenAsked) {
  for (const bool include : {false, true}) {
    SCOPED_TRACE(include ? "with raw data" : "without raw data");
    const int expected = include ? 1 : 0;

    grpc::ClientContext c1;
    v1::ListEntitiesRequest list;
    list.mutable_filter()->set_instance_id("known");
    list.set_include_raw_data(include);
    v1::ListEntitiesResponse listed;
    ASSERT_TRUE(stub_->ListEntities(&c1, list, &listed).ok());
    ASSERT_EQ(listed.entities_size(), 2);
    for (const v1::Entity& e : listed.entities()) {
      EXPECT_EQ(e.raw_data_size(), expected) << e.key();
    }
    if (include) {
      EXPECT_EQ(listed.entities(1).raw_data(0).json(), R"({"id":1})");
    }

    grpc::ClientContext c2;
    v1::GetEntityRequest get;
    get.set_instance_id("known");
    get.set_key("thing_node:00000");
    get.set_include_raw_data(include);
    v1::Entity entity;
    ASSERT_TRUE(stub_->GetEntity(&c2, get, &entity).ok());
    EXPECT_EQ(entity.raw_data_size(), expected);

    grpc::ClientContext c3;
    v1::ListNeighborsRequest neighbors;
    neighbors.set_instance_id("known");
    neighbors.set_key("thing_node:00000");
    neighbors.set_include_raw_data(include);
    v1::ListNeighborsResponse found;
    ASSERT_TRUE(stub_->ListNeighbors(&c3, neighbors, &found).ok());
    ASSERT_EQ(found.neighbors_size(), 1);
    EXPECT_EQ(found.neighbors(0).entity().key(), "thing_node:00001");
    EXPECT_EQ(found.neighbors(0).entity().raw_data_size(), expected);

    v1::GetSnapshotRequest snapshot;
    snapshot.set_instance_id("known");
    snapshot.set_include_raw_data(include);
    std::vector<v1::Entity> copied;
    ASSERT_TRUE(Snapshot(snapshot, &copied).ok());
    ASSERT_EQ(copied.size(), 2u);
    for (const v1::Entity& e : copied) {
      EXPECT_EQ(e.raw_data_size(), expected) << e.key();
    }

    v1::SubscribeRequest subscribe;
    subscribe.set_include_raw_data(include);
    std::vector<v1::ChangeEvent> events;
    ASSERT_TRUE(Subscribe(subscribe, &events).ok());
    int entity_events = 0;
    for (const v1::ChangeEvent& event : events) {
      if (!event.has_entity()) continue;
      ++entity_events;
      EXPECT_EQ(event.entity().raw_data_size(), expected)
          << event.entity().key();
    }
    EXPECT_EQ(entity_events, 2);
  }
}

// A caller may hold only so many Subscribe streams; a closed one frees its
// place.
TEST(GraphService, SubscribeStreamsPerCallerAreLimited) {
  auto store = Store::Open(":memory:");
  ASSERT_TRUE(store.ok());
  v1::ResultBatch batch;
  v1::Entity* e = batch.add_entities();
  e->set_key("some_thing:00001");
  e->set_type("some_thing");
  e->add_classes("Thing");
  ASSERT_TRUE(AddInstanceWithGraph(**store, "subs", batch).ok());
  InstanceSecrets secrets(std::nullopt);
  Engine engine(store->get(), &secrets, EngineOptions());
  GraphServiceOptions options;
  options.max_subscriptions_per_caller = 1;
  GraphService service(store->get(), &engine, options);
  LoopbackServer server({&service});
  ASSERT_TRUE(server.started());
  auto stub = v1::Graph::NewStub(server.Channel());
  v1::SubscribeRequest request;
  request.add_instance_ids("subs");

  // The first stream replays the log and then waits for live changes.
  grpc::ClientContext first_context;
  auto first = stub->Subscribe(&first_context, request);
  v1::ChangeEvent event;
  ASSERT_TRUE(first->Read(&event));

  grpc::ClientContext second_context;
  auto second = stub->Subscribe(&second_context, request);
  EXPECT_FALSE(second->Read(&event));
  grpc::Status refused = second->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              ::testing::HasSubstr("--max_subscriptions_per_caller"));

  first_context.TryCancel();
  first->Finish();
  // The server notices the cancelled stream within its wake-up interval.
  bool admitted = false;
  for (int i = 0; i < 50 && !admitted; ++i) {
    grpc::ClientContext context;
    auto again = stub->Subscribe(&context, request);
    admitted = again->Read(&event);
    context.TryCancel();
    again->Finish();
    if (!admitted) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(admitted);
}

}  // namespace
}  // namespace graphmill::coordinator
