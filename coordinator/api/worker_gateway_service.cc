// Implementation of coordinator/api/worker_gateway_service.h.
#include "coordinator/api/worker_gateway_service.h"

#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "coordinator/api/service_util.h"

namespace graphmill::coordinator {

using api_internal::Invalid;

grpc::Status WorkerGatewayService::Connect(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::WorkerMessage>*
        stream) {
  v1::WorkerMessage message;
  if (!stream->Read(&message)) return grpc::Status::OK;
  if (!message.has_hello())
    return Invalid("the first message on Connect must be a hello");
  // Writes come from the session's SendQueue thread (coordinator/send_queue),
  // never under the engine's lock; the mutex makes the end of this call wait
  // for a write in progress.
  auto write_mutex = std::make_shared<std::mutex>();
  auto send = [stream, write_mutex,
               context](const v1::CoordinatorMessage& out) {
    std::lock_guard<std::mutex> lock(*write_mutex);
    if (context->IsCancelled()) return false;
    return stream->Write(out);
  };
  absl::StatusOr<int64_t> session =
      engine_->ConnectWorker(message.hello(), send);
  if (!session.ok()) {
    LogWarn("rejected worker: ", session.status().ToString());
    return ToGrpcStatus(session.status());
  }
  const std::string worker_id = message.hello().worker_id();
  while (stream->Read(&message)) {
    if (message.has_heartbeat()) {
      engine_->Heartbeat(worker_id, message.heartbeat());
    } else if (message.has_draining()) {
      engine_->Drain(*session);
    } else if (message.has_rate_limited()) {
      engine_->RateLimited(*session, message.rate_limited().attempt());
    } else if (message.has_provider_report()) {
      engine_->ProviderReport(*session, message.provider_report());
    }
  }
  engine_->DisconnectWorker(*session);
  // Wait for any write in progress before the stream object goes away.
  std::lock_guard<std::mutex> lock(*write_mutex);
  return grpc::Status::OK;
}

grpc::Status WorkerGatewayService::SubmitResults(
    grpc::ServerContext*, grpc::ServerReader<v1::TaskResultMessage>* reader,
    v1::SubmitResultsResponse* response) {
  v1::TaskResultMessage message;
  if (!reader->Read(&message) || !message.has_attempt()) {
    return Invalid("SubmitResults must start with the task attempt");
  }
  const v1::TaskAttempt attempt = message.attempt();
  int64_t accepted = 0;
  while (reader->Read(&message)) {
    if (message.has_batch()) {
      absl::StatusOr<int64_t> stored =
          engine_->AcceptBatch(attempt, message.batch());
      if (!stored.ok()) return ToGrpcStatus(stored.status());
      accepted += *stored;
    } else if (message.has_outcome()) {
      absl::Status status = engine_->FinishAttempt(attempt, message.outcome());
      if (!status.ok()) return ToGrpcStatus(status);
      response->set_accepted(accepted);
      return grpc::Status::OK;
    } else {
      return Invalid("SubmitResults: expected a batch or the outcome");
    }
  }
  // The stream ended without an outcome: the worker went away; the lease will
  // lapse.
  return grpc::Status(
      grpc::StatusCode::ABORTED,
      absl::StrCat("task ", attempt.task_id(), " attempt ", attempt.attempt(),
                   ": results ended without an outcome"));
}

grpc::Status WorkerGatewayService::ReadEntities(
    grpc::ServerContext* context, const v1::ReadEntitiesRequest* request,
    grpc::ServerWriter<v1::EntityBatch>* writer) {
  absl::Status status =
      engine_->ReadEntities(*request, [&](const v1::EntityBatch& batch) {
        return !context->IsCancelled() && writer->Write(batch);
      });
  return ToGrpcStatus(status);
}

}  // namespace graphmill::coordinator
