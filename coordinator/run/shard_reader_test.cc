// EntityBatcher's bounds, without a store (ReadEntities itself runs in the
// engine tests, against a store).
#include "coordinator/run/shard_reader.h"

#include <gtest/gtest.h>

#include <vector>

namespace graphmill::coordinator {
namespace {

v1::Entity Sized(int i, size_t bytes) {
  v1::Entity entity;
  entity.set_key("thing:" + std::to_string(i));
  entity.add_raw_data()->set_json(std::string(bytes, 'x'));
  return entity;
}

class EntityBatcherTest : public ::testing::Test {
 protected:
  // Batch sizes as sent.
  std::vector<int> sent_;
  bool reader_gone_ = false;
  EntityBatchSendFn send_ = [this](const v1::EntityBatch& batch) {
    sent_.push_back(batch.entities_size());
    return !reader_gone_;
  };
};

TEST_F(EntityBatcherTest, BatchesByCount) {
  EntityBatcher batcher(3, 1 << 20, send_);
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(batcher.Add(Sized(i, 10)).ok());
  ASSERT_TRUE(batcher.Flush().ok());
  EXPECT_EQ(sent_, (std::vector<int>{3, 3, 1}));
}

TEST_F(EntityBatcherTest, BatchesByBytesAndSendsALargeEntityAlone) {
  EntityBatcher batcher(100, 1000, send_);
  ASSERT_TRUE(batcher.Add(Sized(0, 400)).ok());
  ASSERT_TRUE(batcher.Add(Sized(1, 400)).ok());
  ASSERT_TRUE(batcher.Add(Sized(2, 400)).ok());   // would pass 1000 bytes
  ASSERT_TRUE(batcher.Add(Sized(3, 5000)).ok());  // over the limit by itself
  ASSERT_TRUE(batcher.Add(Sized(4, 10)).ok());
  ASSERT_TRUE(batcher.Flush().ok());
  EXPECT_EQ(sent_, (std::vector<int>{2, 1, 1, 1}));
}

TEST_F(EntityBatcherTest, NothingLeftSendsNothing) {
  EntityBatcher batcher(3, 1000, send_);
  ASSERT_TRUE(batcher.Flush().ok());
  EXPECT_TRUE(sent_.empty());
}

TEST_F(EntityBatcherTest, AReaderThatWentAwayCancels) {
  reader_gone_ = true;
  EntityBatcher batcher(1, 1000, send_);
  EXPECT_EQ(batcher.Add(Sized(0, 10)).code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace graphmill::coordinator
