// The batching writer of one task attempt's SubmitResults stream.
#ifndef GRAPHMILL_WORKER_RUNTIME_RESULT_WRITER_H_
#define GRAPHMILL_WORKER_RUNTIME_RESULT_WRITER_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "graphmill/v1/worker.grpc.pb.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::worker {

// When a batch is sent. The byte figures are serialized protobuf sizes.
struct ResultBatchLimits {
  // A batch is sent once it holds this many objects (entities, relationships,
  // events).
  size_t max_objects = 500;
  // A batch is sent before it would grow past this many bytes.
  size_t max_bytes = 1'000'000;
  // A single object larger than this is refused (gRPC's default message limit
  // is 4 MiB).
  size_t max_object_bytes = 4'000'000;
};

// Streams one attempt's results to the coordinator: the attempt, then
// ResultBatches, then the TaskOutcome. The stream opens with the first batch
// (or at Finish), so an attempt that produces nothing still sends attempt +
// outcome. Memory is bounded by one batch: a caller that fills a batch sends it
// before returning (gRPC flow control pushes back on it).
//
// Thread-safe: Add* may be called from several threads; Abort() may be called
// from any thread, also while another thread is blocked sending.
class ResultWriter {
 public:
  // `stub` must outlive the writer.
  ResultWriter(graphmill::v1::WorkerGateway::StubInterface* stub,
               graphmill::v1::TaskAttempt attempt, ResultBatchLimits limits);
  // Cancels the stream if it was neither finished nor aborted.
  ~ResultWriter();

  ResultWriter(const ResultWriter&) = delete;
  ResultWriter& operator=(const ResultWriter&) = delete;

  // Queue one object. Errors: INVALID_ARGUMENT for an object over
  // max_object_bytes (the message names its key); CANCELLED after Abort(); the
  // stream's status once it broke (e.g. FAILED_PRECONDITION when the
  // coordinator fenced the attempt, UNAVAILABLE).
  // `scope` travels with the object (ResultBatch.entity_scopes and
  // relationship_scopes).
  absl::Status AddEntity(graphmill::v1::Entity entity, absl::string_view scope);
  absl::Status AddRelationship(graphmill::v1::Relationship relationship,
                               absl::string_view scope);
  absl::Status AddEvent(graphmill::v1::Event event);

  // Sends what is queued and `outcome`, closes the stream and returns its
  // status: OK when the coordinator accepted it, FAILED_PRECONDITION for a
  // stale attempt, CANCELLED after Abort(), or the transport error. Call at
  // most once.
  absl::Status Finish(const graphmill::v1::TaskOutcome& outcome);

  // Abandons the attempt: the stream is cancelled without an outcome, so the
  // coordinator discards it; later calls return CANCELLED. Idempotent.
  void Abort();

  // Objects sent or queued so far, for logs.
  int64_t entity_count() const;
  int64_t relationship_count() const;
  int64_t event_count() const;
  // Batches sent so far.
  int64_t batch_count() const;

 private:
  // Adds one object of `size` bytes to the pending batch with `append`, sending
  // the batch first or after as the limits say.
  template <typename AppendFn>
  absl::Status Add(size_t size, AppendFn append);
  // Sends the pending batch (if any), opening the stream first if needed.
  absl::Status FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Opens the stream and sends the attempt.
  absl::Status OpenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends one message; on failure records the stream's final status and returns
  // it.
  absl::Status WriteLocked(const graphmill::v1::TaskResultMessage& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What calls after the stream closed return.
  absl::Status ClosedStatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AbortedStatus() const;

  graphmill::v1::WorkerGateway::StubInterface* const stub_;
  const graphmill::v1::TaskAttempt attempt_;
  const ResultBatchLimits limits_;
  // Created up front so Abort() can cancel it at any time (TryCancel is
  // thread-safe and takes effect when the call starts if it has not started
  // yet).
  grpc::ClientContext context_;
  std::atomic<bool> aborted_{false};

  mutable absl::Mutex mu_;
  graphmill::v1::SubmitResultsResponse response_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::ClientWriterInterface<graphmill::v1::TaskResultMessage>>
      stream_ ABSL_GUARDED_BY(mu_);
  // Set once the stream ended (finished or broken); later calls return it.
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
  graphmill::v1::TaskResultMessage pending_ ABSL_GUARDED_BY(mu_);
  size_t pending_objects_ ABSL_GUARDED_BY(mu_) = 0;
  size_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t entities_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t relationships_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
};

// "task 12 attempt 3", for logs and messages.
std::string AttemptLabel(const graphmill::v1::TaskAttempt& attempt);

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_RESULT_WRITER_H_
