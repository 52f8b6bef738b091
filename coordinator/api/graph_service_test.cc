// Graph API paging over a real store: every object exactly once, in key order.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "common/graph_objects.h"
#include "coordinator/api/services.h"

namespace graphmill::coordinator {
namespace {

TEST(GraphService, PagesThroughEveryEntityAndRelationshipExactlyOnce) {
  auto store = Store::Open(":memory:");
  ASSERT_TRUE(store.ok());
  v1::Instance instance;
  instance.set_id("paged");
  instance.set_integration("test");
  ASSERT_TRUE((*store)->CreateInstance(instance).ok());
  v1::IntegrationDefinition definition;
  definition.set_name("test");
  definition.set_version("1");
  definition.add_steps()->set_id("only");
  auto run =
      (*store)->CreateRun("paged", definition, v1::RUN_TRIGGER_MANUAL, {}, 1);
  auto task =
      (*store)->CreateTask(*run, "only", v1::TASK_KIND_STEP, v1::Shard());
  auto attempt_number = (*store)->LeaseTask(*task, "w", 1000);
  v1::TaskAttempt attempt;
  attempt.set_task_id(*task);
  attempt.set_attempt(*attempt_number);
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
  ASSERT_TRUE((*store)->StageBatch(attempt, batch, 1).ok());
  ASSERT_TRUE((*store)->CommitAttempt(attempt, true, "", {}).ok());
  ASSERT_TRUE((*store)->Finalize(*run, "paged", {}, 2).ok());

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
  v1::Instance instance;
  instance.set_id("subs");
  instance.set_integration("test");
  ASSERT_TRUE((*store)->CreateInstance(instance).ok());
  v1::IntegrationDefinition definition;
  definition.set_name("test");
  definition.set_version("1");
  definition.add_steps()->set_id("only");
  auto run =
      (*store)->CreateRun("subs", definition, v1::RUN_TRIGGER_MANUAL, {}, 1);
  auto task =
      (*store)->CreateTask(*run, "only", v1::TASK_KIND_STEP, v1::Shard());
  v1::TaskAttempt attempt;
  attempt.set_task_id(*task);
  attempt.set_attempt(*(*store)->LeaseTask(*task, "w", 1000));
  v1::ResultBatch batch;
  for (int i = 0; i < 6; ++i) {
    v1::Entity* e = batch.add_entities();
    e->set_key(
        absl::StrFormat("%s:%05d", i % 2 ? "odd_thing" : "even_thing", i));
    e->set_type(i % 2 ? "odd_thing" : "even_thing");
    e->add_classes("Thing");
  }
  ASSERT_TRUE((*store)->StageBatch(attempt, batch, 1).ok());
  ASSERT_TRUE((*store)->CommitAttempt(attempt, true, "", {}).ok());
  ASSERT_TRUE((*store)->Finalize(*run, "subs", {}, 2).ok());

  GraphService service(store->get(),
                       nullptr);  // no engine: the stream ends at the log's end
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  auto stub = v1::Graph::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
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
  server->Shutdown();
}

}  // namespace
}  // namespace graphmill::coordinator
