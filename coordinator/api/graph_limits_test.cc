// Graph reads of entities with large raw data, over real gRPC with gRPC's
// default 4 MiB client receive limit: pages and snapshot chunks stay within
// kGraphPageBytes, a client reads every object, and an object too large for
// one message on its own is refused by name.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/graph_objects.h"
#include "common/grpc_limits.h"
#include "coordinator/api/graph_service.h"
#include "coordinator/api/graph_test_util.h"

namespace graphmill::coordinator {
namespace {

using testing::AddInstanceWithGraph;
using testing::LoopbackServer;

constexpr int kBigCount = 50;
constexpr size_t kBigRawBytes = 1 << 20;  // 1 MiB of raw data per entity
constexpr char kHub[] = "big_hub:00000";
constexpr char kHugeKey[] = "huge_thing:00001";

std::string BigKey(int i) { return absl::StrFormat("big_thing:%05d", i); }

// Raw data of `bytes` bytes whose content says which entity it belongs to.
v1::RawData RawDataOf(const std::string& key, size_t bytes) {
  v1::RawData raw;
  raw.set_name("default");
  std::string json = absl::StrCat(R"({"key":")", key, R"(","blob":")");
  json.append(bytes - json.size() - 2, 'x');
  json.append("\"}");
  raw.set_json(std::move(json));
  return raw;
}

v1::Entity Thing(const std::string& key, const std::string& type,
                 size_t raw_bytes) {
  v1::Entity entity;
  entity.set_key(key);
  entity.set_type(type);
  entity.add_classes("Thing");
  (*entity.mutable_properties())["name"] = StringValue(key);
  if (raw_bytes > 0) *entity.add_raw_data() = RawDataOf(key, raw_bytes);
  return entity;
}

// One file store for the whole suite (building it writes ~70 MB once):
// instance "big" has kBigCount entities with 1 MiB of raw data each and a
// small hub entity with a HAS relationship to each of them; instance "huge"
// has one entity whose raw data alone is over the message limit, between two
// small ones.
class GraphLimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* dir = std::getenv("TEST_TMPDIR");
    auto store = Store::Open(
        absl::StrCat(dir != nullptr ? dir : "/tmp", "/graph_limits.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = store->release();
    v1::ResultBatch big;
    *big.add_entities() = Thing(kHub, "big_hub", 0);
    for (int i = 0; i < kBigCount; ++i) {
      *big.add_entities() = Thing(BigKey(i), "big_thing", kBigRawBytes);
      *big.add_relationships() =
          DirectRelationship(kHub, "big_hub", "HAS", BigKey(i), "big_thing");
    }
    ASSERT_TRUE(AddInstanceWithGraph(*store_, "big", big).ok());
    v1::ResultBatch huge;
    *huge.add_entities() = Thing("huge_thing:00000", "huge_thing", 100);
    *huge.add_entities() =
        Thing(kHugeKey, "huge_thing", kMaxGrpcMessageBytes + (1 << 20));
    *huge.add_entities() = Thing("huge_thing:00002", "huge_thing", 100);
    ASSERT_TRUE(AddInstanceWithGraph(*store_, "huge", huge).ok());
  }
  static void TearDownTestSuite() {
    delete store_;
    store_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(store_, nullptr);
    service_ = std::make_unique<GraphService>(store_, nullptr);
    server_ = std::make_unique<LoopbackServer>(
        std::initializer_list<grpc::Service*>{service_.get()});
    ASSERT_TRUE(server_->started());
    // gRPC's default receive limit (4 MiB), stricter than the CLI's.
    stub_ = v1::Graph::NewStub(server_->Channel());
  }

  // Every entity of `instance` page by page; each page's objects must fit
  // the page budget. Stops at the first failed page and returns its status.
  grpc::Status ListAll(const std::string& instance, bool include_raw_data,
                       std::vector<v1::Entity>* entities, int* pages) {
    std::string token;
    *pages = 0;
    do {
      grpc::ClientContext context;
      v1::ListEntitiesRequest request;
      request.mutable_filter()->set_instance_id(instance);
      request.set_include_raw_data(include_raw_data);
      request.set_page_token(token);
      v1::ListEntitiesResponse response;
      grpc::Status status = stub_->ListEntities(&context, request, &response);
      if (!status.ok()) return status;
      ++*pages;
      EXPECT_GT(response.entities_size(), 0);
      token = response.next_page_token();
      response.clear_next_page_token();
      EXPECT_LE(response.ByteSizeLong(), static_cast<size_t>(kGraphPageBytes))
          << "page " << *pages;
      for (v1::Entity& e : *response.mutable_entities()) {
        entities->push_back(std::move(e));
      }
    } while (!token.empty());
    return grpc::Status::OK;
  }

  static Store* store_;
  std::unique_ptr<GraphService> service_;
  std::unique_ptr<LoopbackServer> server_;
  std::unique_ptr<v1::Graph::Stub> stub_;
};

Store* GraphLimitsTest::store_ = nullptr;

TEST_F(GraphLimitsTest, EntitiesWithRawDataComeInPagesWithinTheBudget) {
  std::vector<v1::Entity> entities;
  int pages = 0;
  grpc::Status status = ListAll("big", true, &entities, &pages);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // 51 entities of which 50 take 1 MiB: at most 2 of those fit in 3 MiB with
  // their other fields.
  EXPECT_GE(pages, kBigCount / 2);
  ASSERT_EQ(entities.size(), static_cast<size_t>(kBigCount + 1));
  EXPECT_EQ(entities[0].key(), kHub);
  for (int i = 0; i < kBigCount; ++i) {
    const v1::Entity& e = entities[i + 1];
    ASSERT_EQ(e.key(), BigKey(i));
    ASSERT_EQ(e.raw_data_size(), 1);
    EXPECT_EQ(e.raw_data(0).json(), RawDataOf(BigKey(i), kBigRawBytes).json())
        << e.key();
  }
}

TEST_F(GraphLimitsTest, WithoutRawDataOnePageHoldsEverything) {
  std::vector<v1::Entity> entities;
  int pages = 0;
  ASSERT_TRUE(ListAll("big", false, &entities, &pages).ok());
  EXPECT_EQ(pages, 1);
  ASSERT_EQ(entities.size(), static_cast<size_t>(kBigCount + 1));
  for (const v1::Entity& e : entities) {
    EXPECT_EQ(e.raw_data_size(), 0) << e.key();
    EXPECT_EQ(e.properties().at("name").string_value(), e.key());
  }
}

TEST_F(GraphLimitsTest, NeighborsWithRawDataComeInPagesWithinTheBudget) {
  std::vector<std::string> keys;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext context;
    v1::ListNeighborsRequest request;
    request.set_instance_id("big");
    request.set_key(kHub);
    request.set_include_raw_data(true);
    request.set_page_token(token);
    v1::ListNeighborsResponse response;
    grpc::Status status = stub_->ListNeighbors(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ++pages;
    token = response.next_page_token();
    response.clear_next_page_token();
    EXPECT_LE(response.ByteSizeLong(), static_cast<size_t>(kGraphPageBytes));
    for (const v1::Neighbor& n : response.neighbors()) {
      EXPECT_EQ(n.entity().raw_data(0).json().size(), kBigRawBytes);
      keys.push_back(n.entity().key());
    }
  } while (!token.empty());
  EXPECT_GE(pages, kBigCount / 2);
  ASSERT_EQ(keys.size(), static_cast<size_t>(kBigCount));
  for (int i = 0; i < kBigCount; ++i) EXPECT_EQ(keys[i], BigKey(i));
}

TEST_F(GraphLimitsTest, SnapshotWithRawDataComesInChunksWithinTheBudget) {
  grpc::ClientContext context;
  v1::GetSnapshotRequest request;
  request.set_instance_id("big");
  request.set_include_raw_data(true);
  auto reader = stub_->GetSnapshot(&context, request);
  v1::SnapshotChunk chunk;
  int chunks = 0;
  int64_t as_of = -1;
  std::vector<std::string> keys;
  int relationships = 0;
  while (reader->Read(&chunk)) {
    if (chunks++ == 0) {
      as_of = chunk.as_of_sequence();
      continue;
    }
    EXPECT_LE(chunk.ByteSizeLong(), static_cast<size_t>(kGraphPageBytes));
    EXPECT_GT(chunk.entities_size() + chunk.relationships_size(), 0);
    for (const v1::Entity& e : chunk.entities()) {
      EXPECT_EQ(e.raw_data_size(), e.key() == kHub ? 0 : 1) << e.key();
      keys.push_back(e.key());
    }
    relationships += chunk.relationships_size();
  }
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT(as_of, 0);
  EXPECT_GE(chunks, 1 + kBigCount / 2);
  ASSERT_EQ(keys.size(), static_cast<size_t>(kBigCount + 1));
  for (int i = 0; i < kBigCount; ++i) EXPECT_EQ(keys[i + 1], BigKey(i));
  EXPECT_EQ(relationships, kBigCount);
}

// The message every read gives for the entity that cannot travel alone.
std::string HugeEntityMessage() {
  return absl::StrCat(
      "entity '", kHugeKey, "' is ",
      Thing(kHugeKey, "huge_thing", kMaxGrpcMessageBytes + (1 << 20))
          .ByteSizeLong(),
      " bytes with raw data, more than the 16777216-byte message limit; read "
      "it without raw data (include_raw_data = false)");
}

TEST_F(GraphLimitsTest, AnEntityTooLargeForOneMessageIsNamed) {
  // The page before it arrives; the page that would hold it is refused.
  std::vector<v1::Entity> entities;
  int pages = 0;
  grpc::Status status = ListAll("huge", true, &entities, &pages);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), HugeEntityMessage());
  ASSERT_EQ(entities.size(), 1u);
  EXPECT_EQ(entities[0].key(), "huge_thing:00000");

  // Without raw data it is an ordinary entity.
  entities.clear();
  ASSERT_TRUE(ListAll("huge", false, &entities, &pages).ok());
  EXPECT_EQ(entities.size(), 3u);

  for (const bool include : {true, false}) {
    grpc::ClientContext context;
    v1::GetEntityRequest request;
    request.set_instance_id("huge");
    request.set_key(kHugeKey);
    request.set_include_raw_data(include);
    v1::Entity entity;
    status = stub_->GetEntity(&context, request, &entity);
    if (include) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
      EXPECT_EQ(status.error_message(), HugeEntityMessage());
    } else {
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(entity.key(), kHugeKey);
    }
  }
}

TEST_F(GraphLimitsTest, ASnapshotReachingATooLargeEntityNamesIt) {
  for (const bool include : {true, false}) {
    grpc::ClientContext context;
    v1::GetSnapshotRequest request;
    request.set_instance_id("huge");
    request.set_include_raw_data(include);
    auto reader = stub_->GetSnapshot(&context, request);
    v1::SnapshotChunk chunk;
    int entities = 0;
    while (reader->Read(&chunk)) entities += chunk.entities_size();
    grpc::Status status = reader->Finish();
    if (include) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
      EXPECT_EQ(status.error_message(), HugeEntityMessage());
    } else {
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(entities, 3);
    }
  }
}

TEST_F(GraphLimitsTest, AChangeTooLargeForOneMessageIsNamed) {
  grpc::ClientContext context;
  v1::SubscribeRequest request;
  request.add_instance_ids("huge");
  request.set_include_raw_data(true);
  auto reader = stub_->Subscribe(&context, request);
  v1::ChangeEvent event;
  std::vector<int64_t> sequences;
  while (reader->Read(&event)) sequences.push_back(event.sequence());
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_EQ(sequences.size(), 1u);  // huge_thing:00000's creation
  // The event's size (the entity plus the event's own fields) is named.
  const std::string& message = status.error_message();
  const std::string prefix = absl::StrCat("change ", sequences[0] + 1,
                                          " (entity '", kHugeKey, "') is ");
  EXPECT_TRUE(absl::StartsWith(message, prefix)) << message;
  EXPECT_TRUE(absl::EndsWith(
      message,
      " bytes with raw data, more than the 16777216-byte message limit; read "
      "it without raw data (include_raw_data = false)"))
      << message;
}

}  // namespace
}  // namespace graphmill::coordinator
