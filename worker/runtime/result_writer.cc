// Implementation of worker/runtime/result_writer.h.
#include "worker/runtime/result_writer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace graphmill::worker {

namespace v1 = ::graphmill::v1;

namespace {

// Tag and length prefix of an element inside a ResultBatch, added to each
// object's size so the byte limit holds for the serialized batch.
constexpr size_t kPerObjectOverheadBytes = 8;

}  // namespace

std::string AttemptLabel(const v1::TaskAttempt& attempt) {
  return absl::StrCat("task ", attempt.task_id(), " attempt ",
                      attempt.attempt());
}

ResultWriter::ResultWriter(v1::WorkerGateway::StubInterface* stub,
                           v1::TaskAttempt attempt, ResultBatchLimits limits)
    : stub_(stub), attempt_(std::move(attempt)), limits_(limits) {}

ResultWriter::~ResultWriter() {
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr && !closed_) {
    context_.TryCancel();
    stream_->Finish();
  }
}

absl::Status ResultWriter::AddEntity(v1::Entity entity,
                                     absl::string_view scope) {
  const size_t size =
      entity.ByteSizeLong() + scope.size() + 2 * kPerObjectOverheadBytes;
  if (size > limits_.max_object_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("entity '", entity.key(), "' is ", size,
                     " bytes serialized, over the limit of ",
                     limits_.max_object_bytes, " bytes per object"));
  }
  return Add(size, [&](v1::ResultBatch* batch) {
    *batch->add_entities() = std::move(entity);
    batch->add_entity_scopes(std::string(scope));
    ++entities_;
  });
}

absl::Status ResultWriter::AddRelationship(v1::Relationship relationship,
                                           absl::string_view scope) {
  const size_t size =
      relationship.ByteSizeLong() + scope.size() + 2 * kPerObjectOverheadBytes;
  if (size > limits_.max_object_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("relationship '", relationship.key(), "' is ", size,
                     " bytes serialized, over the limit of ",
                     limits_.max_object_bytes, " bytes per object"));
  }
  return Add(size, [&](v1::ResultBatch* batch) {
    *batch->add_relationships() = std::move(relationship);
    batch->add_relationship_scopes(std::string(scope));
    ++relationships_;
  });
}

absl::Status ResultWriter::AddEvent(v1::Event event) {
  const size_t size = event.ByteSizeLong() + kPerObjectOverheadBytes;
  if (size > limits_.max_object_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("event '", event.name(), "' is ", size,
                     " bytes serialized, over the limit of ",
                     limits_.max_object_bytes, " bytes per object"));
  }
  return Add(size, [&](v1::ResultBatch* batch) {
    *batch->add_events() = std::move(event);
    ++events_;
  });
}

template <typename AppendFn>
absl::Status ResultWriter::Add(size_t size, AppendFn append) {
  if (aborted_) return AbortedStatus();
  absl::MutexLock lock(&mu_);
  if (closed_) return ClosedStatusLocked();
  // Send first when this object would push the batch past the byte limit, so a
  // batch stays under it unless a single object is larger.
  if (pending_objects_ > 0 && pending_bytes_ + size > limits_.max_bytes) {
    absl::Status status = FlushLocked();
    if (!status.ok()) return status;
  }
  append(pending_.mutable_batch());
  ++pending_objects_;
  pending_bytes_ += size;
  if (pending_objects_ >= limits_.max_objects ||
      pending_bytes_ >= limits_.max_bytes) {
    return FlushLocked();
  }
  return absl::OkStatus();
}

absl::Status ResultWriter::Finish(const v1::TaskOutcome& outcome) {
  if (aborted_) return AbortedStatus();
  absl::MutexLock lock(&mu_);
  if (closed_) return ClosedStatusLocked();
  absl::Status status = FlushLocked();
  if (!status.ok()) return status;
  if (stream_ == nullptr) {
    status = OpenLocked();
    if (!status.ok()) return status;
  }
  v1::TaskResultMessage message;
  *message.mutable_outcome() = outcome;
  status = WriteLocked(message);
  if (!status.ok()) return status;
  // A failed WritesDone shows up in Finish's status.
  stream_->WritesDone();
  const grpc::Status finished = stream_->Finish();
  closed_ = true;
  final_status_ = aborted_ ? AbortedStatus() : FromGrpcStatus(finished);
  return final_status_;
}

void ResultWriter::Abort() {
  aborted_ = true;
  context_.TryCancel();
}

int64_t ResultWriter::entity_count() const {
  absl::MutexLock lock(&mu_);
  return entities_;
}

int64_t ResultWriter::relationship_count() const {
  absl::MutexLock lock(&mu_);
  return relationships_;
}

int64_t ResultWriter::event_count() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

int64_t ResultWriter::batch_count() const {
  absl::MutexLock lock(&mu_);
  return batches_;
}

absl::Status ResultWriter::FlushLocked() {
  if (pending_objects_ == 0) return absl::OkStatus();
  absl::Status status = absl::OkStatus();
  if (stream_ == nullptr) status = OpenLocked();
  if (status.ok()) status = WriteLocked(pending_);
  if (status.ok()) ++batches_;
  // On failure the batch is dropped with the attempt: the coordinator re-offers
  // the task.
  pending_.Clear();
  pending_objects_ = 0;
  pending_bytes_ = 0;
  return status;
}

absl::Status ResultWriter::OpenLocked() {
  stream_ = stub_->SubmitResults(&context_, &response_);
  v1::TaskResultMessage message;
  *message.mutable_attempt() = attempt_;
  return WriteLocked(message);
}

absl::Status ResultWriter::WriteLocked(const v1::TaskResultMessage& message) {
  if (stream_->Write(message)) return absl::OkStatus();
  // The stream is dead; Finish() says why.
  const grpc::Status finished = stream_->Finish();
  closed_ = true;
  if (aborted_) {
    final_status_ = AbortedStatus();
  } else if (finished.ok()) {
    final_status_ = absl::UnavailableError(
        absl::StrCat("the coordinator closed the results stream of ",
                     AttemptLabel(attempt_), " before its outcome"));
  } else {
    final_status_ = FromGrpcStatus(finished);
  }
  return final_status_;
}

absl::Status ResultWriter::ClosedStatusLocked() const {
  if (!final_status_.ok()) return final_status_;
  return absl::FailedPreconditionError(absl::StrCat(
      "the results of ", AttemptLabel(attempt_), " were already finished"));
}

absl::Status ResultWriter::AbortedStatus() const {
  return absl::CancelledError(
      absl::StrCat(AttemptLabel(attempt_), " was cancelled"));
}

}  // namespace graphmill::worker
