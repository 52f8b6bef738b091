// Tests of worker/runtime/result_writer.h against a real in-process
// WorkerGateway.
#include "worker/runtime/result_writer.h"

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "worker/runtime/channel.h"
#include "worker/runtime/fake_worker_gateway.h"

namespace graphmill::worker {
namespace {

namespace v1 = ::graphmill::v1;

v1::Entity MakeEntity(int i, size_t raw_bytes = 0) {
  v1::Entity entity;
  entity.set_key(absl::StrFormat("test-entity-%06d", i));
  entity.set_type("test_thing");
  entity.add_classes("Record");
  (*entity.mutable_properties())["name"].set_string_value(entity.key());
  if (raw_bytes > 0) {
    v1::RawData* raw = entity.add_raw_data();
    raw->set_name("default");
    raw->set_json(std::string(raw_bytes, 'x'));
  }
  return entity;
}

v1::TaskAttempt Attempt(int64_t task_id, int32_t attempt = 1) {
  v1::TaskAttempt result;
  result.set_task_id(task_id);
  result.set_attempt(attempt);
  return result;
}

v1::TaskOutcome Succeeded() {
  v1::TaskOutcome outcome;
  outcome.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  return outcome;
}

class ResultWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway_ = FakeWorkerGateway::Start();
    ASSERT_NE(gateway_, nullptr);
    stub_ = v1::WorkerGateway::NewStub(
        CreateCoordinatorChannel(gateway_->address()));
  }

  std::unique_ptr<FakeWorkerGateway> gateway_;
  std::unique_ptr<v1::WorkerGateway::Stub> stub_;
};

TEST_F(ResultWriterTest, AnEmptyAttemptStillSendsAttemptAndOutcome) {
  ResultWriter writer(stub_.get(), Attempt(1, 2), ResultBatchLimits{});
  ASSERT_TRUE(writer.Finish(Succeeded()).ok());
  std::optional<FakeWorkerGateway::Submission> submission =
      gateway_->CompletedSubmission(1);
  ASSERT_TRUE(submission.has_value());
  ASSERT_EQ(submission->messages.size(), 2u);
  EXPECT_EQ(submission->messages[0].attempt().attempt(), 2);
  EXPECT_EQ(submission->outcome().status(), v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  EXPECT_EQ(writer.batch_count(), 0);
}

TEST_F(ResultWriterTest, BatchesByObjectCountInOrder) {
  ResultBatchLimits limits;
  limits.max_objects = 3;
  ResultWriter writer(stub_.get(), Attempt(2), limits);
  for (int i = 0; i < 7; ++i)
    ASSERT_TRUE(writer.AddEntity(MakeEntity(i), "").ok());
  v1::Event event;
  event.set_name("warn_test");
  ASSERT_TRUE(writer.AddEvent(event).ok());
  ASSERT_TRUE(writer.Finish(Succeeded()).ok());

  std::optional<FakeWorkerGateway::Submission> submission =
      gateway_->CompletedSubmission(2);
  ASSERT_TRUE(submission.has_value());
  std::vector<v1::ResultBatch> batches = submission->batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].entities_size(), 3);
  EXPECT_EQ(batches[1].entities_size(), 3);
  EXPECT_EQ(batches[2].entities_size(), 1);
  EXPECT_EQ(batches[2].events_size(), 1);
  int next = 0;
  for (const v1::ResultBatch& batch : batches) {
    for (const v1::Entity& entity : batch.entities()) {
      EXPECT_EQ(entity.key(), MakeEntity(next++).key());
    }
  }
  EXPECT_EQ(writer.entity_count(), 7);
  EXPECT_EQ(writer.event_count(), 1);
  EXPECT_EQ(writer.batch_count(), 3);
}

TEST_F(ResultWriterTest, BatchesStayUnderTheByteLimit) {
  ResultBatchLimits limits;
  limits.max_bytes = 10'000;
  ResultWriter writer(stub_.get(), Attempt(3), limits);
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(writer.AddEntity(MakeEntity(i, 3'000), "").ok());
  ASSERT_TRUE(writer.Finish(Succeeded()).ok());

  std::optional<FakeWorkerGateway::Submission> submission =
      gateway_->CompletedSubmission(3);
  ASSERT_TRUE(submission.has_value());
  std::vector<v1::ResultBatch> batches = submission->batches();
  EXPECT_GE(batches.size(), 7u);  // 3 of ~3 kB per batch
  int total = 0;
  for (const v1::ResultBatch& batch : batches) {
    EXPECT_LE(batch.ByteSizeLong(), limits.max_bytes);
    total += batch.entities_size();
  }
  EXPECT_EQ(total, 20);
}

TEST_F(ResultWriterTest, RefusesAnObjectOverTheLimitAndNamesIt) {
  ResultBatchLimits limits;
  limits.max_object_bytes = 1'000;
  ResultWriter writer(stub_.get(), Attempt(4), limits);
  absl::Status status = writer.AddEntity(MakeEntity(7, 2'000), "");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test-entity-000007"), std::string::npos)
      << status.message();
  // The attempt itself goes on.
  EXPECT_TRUE(writer.AddEntity(MakeEntity(8), "").ok());
  EXPECT_TRUE(writer.Finish(Succeeded()).ok());
}

TEST_F(ResultWriterTest, AbortCancelsTheStreamWithoutAnOutcome) {
  ResultBatchLimits limits;
  limits.max_objects = 1;
  ResultWriter writer(stub_.get(), Attempt(5), limits);
  ASSERT_TRUE(writer.AddEntity(MakeEntity(1), "").ok());  // opens the stream
  writer.Abort();
  EXPECT_EQ(writer.AddEntity(MakeEntity(2), "").code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(writer.Finish(Succeeded()).code(), absl::StatusCode::kCancelled);
  // The cancellation may reach the server before the attempt message does, so
  // the stream may not be attributable to task 5; either way it ends cancelled,
  // without an outcome.
  ASSERT_TRUE(FakeWorkerGateway::WaitFor(
      [&] { return gateway_->open_submissions() == 0; }));
  for (const FakeWorkerGateway::Submission& submission :
       gateway_->SubmissionsOf(5)) {
    EXPECT_TRUE(submission.cancelled);
    EXPECT_FALSE(submission.has_outcome());
  }
}

TEST_F(ResultWriterTest, AStaleAttemptGetsFailedPrecondition) {
  gateway_->RejectTask(6);
  ResultWriter writer(stub_.get(), Attempt(6), ResultBatchLimits{});
  absl::Status status = writer.Finish(Succeeded());
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
}

TEST_F(ResultWriterTest, AddAfterTheStreamBrokeReturnsItsStatus) {
  gateway_->RejectTask(7);
  ResultBatchLimits limits;
  limits.max_objects = 1;
  ResultWriter writer(stub_.get(), Attempt(7), limits);
  absl::Status status;
  // Writes succeed until the coordinator's answer arrives.
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  for (int i = 0; status.ok() && absl::Now() < give_up; ++i) {
    status = writer.AddEntity(MakeEntity(i), "");
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(writer.Finish(Succeeded()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ResultWriterTest, ConcurrentProducersLoseNothing) {
  ResultBatchLimits limits;
  limits.max_objects = 7;
  ResultWriter writer(stub_.get(), Attempt(8), limits);
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&writer, t] {
      for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(writer.AddEntity(MakeEntity(t * 1000 + i), "").ok());
      }
    });
  }
  for (std::thread& producer : producers) producer.join();
  ASSERT_TRUE(writer.Finish(Succeeded()).ok());
  std::optional<FakeWorkerGateway::Submission> submission =
      gateway_->CompletedSubmission(8);
  ASSERT_TRUE(submission.has_value());
  std::set<std::string> keys;
  for (const v1::ResultBatch& batch : submission->batches()) {
    EXPECT_LE(batch.entities_size(), 7);
    for (const v1::Entity& entity : batch.entities()) keys.insert(entity.key());
  }
  EXPECT_EQ(keys.size(), 400u);
}

}  // namespace
}  // namespace graphmill::worker
