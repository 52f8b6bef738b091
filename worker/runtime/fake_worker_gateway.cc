// Implementation of worker/runtime/fake_worker_gateway.h.
#include "worker/runtime/fake_worker_gateway.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_context.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace graphmill::worker {

namespace v1 = ::graphmill::v1;

bool FakeWorkerGateway::Submission::has_outcome() const {
  return ended && !messages.empty() && messages.back().has_outcome();
}

const v1::TaskOutcome& FakeWorkerGateway::Submission::outcome() const {
  return messages.back().outcome();
}

std::vector<v1::ResultBatch> FakeWorkerGateway::Submission::batches() const {
  std::vector<v1::ResultBatch> batches;
  for (const v1::TaskResultMessage& message : messages) {
    if (message.has_batch()) batches.push_back(message.batch());
  }
  return batches;
}

std::unique_ptr<FakeWorkerGateway> FakeWorkerGateway::Start(int port) {
  std::unique_ptr<FakeWorkerGateway> gateway(new FakeWorkerGateway());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port),
                           grpc::InsecureServerCredentials(), &gateway->port_);
  builder.RegisterService(gateway.get());
  gateway->server_ = builder.BuildAndStart();
  if (gateway->server_ == nullptr || gateway->port_ == 0) return nullptr;
  return gateway;
}

FakeWorkerGateway::~FakeWorkerGateway() { Stop(); }

std::string FakeWorkerGateway::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void FakeWorkerGateway::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  // Streams still open when the deadline passes are cancelled.
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(200));
  server_->Wait();
}

void FakeWorkerGateway::SetEntities(const std::string& type,
                                    std::vector<v1::Entity> entities) {
  absl::MutexLock lock(&mu_);
  entities_[type] = std::move(entities);
}

void FakeWorkerGateway::SetEntityBatchSize(int batch_size) {
  absl::MutexLock lock(&mu_);
  entity_batch_size_ = std::max(1, batch_size);
}

void FakeWorkerGateway::RefuseConnections(bool refuse) {
  absl::MutexLock lock(&mu_);
  refuse_connections_ = refuse;
}

void FakeWorkerGateway::RejectTask(int64_t task_id) {
  absl::MutexLock lock(&mu_);
  rejected_tasks_.insert(task_id);
}

bool FakeWorkerGateway::Send(const v1::CoordinatorMessage& message) {
  absl::MutexLock lock(&mu_);
  for (auto it = connections_.rbegin(); it != connections_.rend(); ++it) {
    if (!(*it)->closed) {
      (*it)->outbox.push_back(message);
      return true;
    }
  }
  return false;
}

bool FakeWorkerGateway::Assign(const v1::TaskAssignment& assignment) {
  v1::CoordinatorMessage message;
  *message.mutable_assignment() = assignment;
  return Send(message);
}

bool FakeWorkerGateway::Cancel(const v1::TaskAttempt& attempt) {
  v1::CoordinatorMessage message;
  *message.mutable_cancel()->mutable_attempt() = attempt;
  return Send(message);
}

bool FakeWorkerGateway::UpdateRate(const v1::TaskAttempt& attempt,
                                   double per_second) {
  v1::CoordinatorMessage message;
  *message.mutable_rate_update()->mutable_attempt() = attempt;
  message.mutable_rate_update()->set_rate_limit_per_second(per_second);
  return Send(message);
}

std::vector<v1::TaskAttempt> FakeWorkerGateway::rate_limited() const {
  absl::MutexLock lock(&mu_);
  return rate_limited_;
}

std::vector<v1::ProviderReport> FakeWorkerGateway::provider_reports() const {
  absl::MutexLock lock(&mu_);
  return provider_reports_;
}

std::vector<v1::WorkerHello> FakeWorkerGateway::hellos() const {
  absl::MutexLock lock(&mu_);
  return hellos_;
}

std::vector<v1::Heartbeat> FakeWorkerGateway::heartbeats() const {
  absl::MutexLock lock(&mu_);
  return heartbeats_;
}

int FakeWorkerGateway::draining_count() const {
  absl::MutexLock lock(&mu_);
  return draining_count_;
}

int FakeWorkerGateway::ended_connections() const {
  absl::MutexLock lock(&mu_);
  return ended_connections_;
}

std::vector<v1::ReadEntitiesRequest> FakeWorkerGateway::reads() const {
  absl::MutexLock lock(&mu_);
  return reads_;
}

int FakeWorkerGateway::open_submissions() const {
  absl::MutexLock lock(&mu_);
  return std::count_if(
      submissions_.begin(), submissions_.end(),
      [](const auto& submission) { return !submission->ended; });
}

std::vector<FakeWorkerGateway::Submission> FakeWorkerGateway::SubmissionsOf(
    int64_t task_id) const {
  absl::MutexLock lock(&mu_);
  std::vector<Submission> found;
  for (const auto& submission : submissions_) {
    if (!submission->messages.empty() &&
        submission->messages[0].has_attempt() &&
        submission->messages[0].attempt().task_id() == task_id) {
      found.push_back(*submission);
    }
  }
  return found;
}

std::optional<FakeWorkerGateway::Submission>
FakeWorkerGateway::CompletedSubmission(int64_t task_id) const {
  for (Submission& submission : SubmissionsOf(task_id)) {
    if (submission.has_outcome()) return submission;
  }
  return std::nullopt;
}

bool FakeWorkerGateway::WaitFor(const std::function<bool()>& condition,
                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return condition();
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

grpc::Status FakeWorkerGateway::Connect(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::WorkerMessage>*
        stream) {
  bool refuse;
  {
    absl::MutexLock lock(&mu_);
    refuse = refuse_connections_;
  }
  if (refuse) {
    v1::WorkerMessage hello;
    const bool read = stream->Read(&hello);
    absl::MutexLock lock(&mu_);
    if (read && hello.has_hello()) hellos_.push_back(hello.hello());
    ++ended_connections_;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "refused by the test");
  }
  auto connection = std::make_shared<Connection>();
  {
    absl::MutexLock lock(&mu_);
    connections_.push_back(connection);
  }
  std::thread reader([this, stream, connection] {
    v1::WorkerMessage message;
    while (stream->Read(&message)) {
      absl::MutexLock lock(&mu_);
      if (message.has_hello()) hellos_.push_back(message.hello());
      if (message.has_heartbeat()) heartbeats_.push_back(message.heartbeat());
      if (message.has_draining()) ++draining_count_;
      if (message.has_rate_limited()) {
        rate_limited_.push_back(message.rate_limited().attempt());
      }
      if (message.has_provider_report()) {
        provider_reports_.push_back(message.provider_report());
      }
    }
    absl::MutexLock lock(&mu_);
    connection->closed = true;
  });
  while (true) {
    v1::CoordinatorMessage message;
    {
      absl::MutexLock lock(&mu_);
      const auto ready = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return stopping_ || connection->closed || !connection->outbox.empty();
      };
      // The timeout notices a cancelled call, which no state change signals.
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(20));
      if (stopping_ || connection->closed || context->IsCancelled()) break;
      if (connection->outbox.empty()) continue;
      message = std::move(connection->outbox.front());
      connection->outbox.pop_front();
    }
    if (!stream->Write(message)) break;
  }
  context
      ->TryCancel();  // ends the reader's Read when the worker has not closed
  reader.join();
  absl::MutexLock lock(&mu_);
  connection->closed = true;
  ++ended_connections_;
  return grpc::Status::OK;
}

grpc::Status FakeWorkerGateway::SubmitResults(
    grpc::ServerContext* context,
    grpc::ServerReader<v1::TaskResultMessage>* reader,
    v1::SubmitResultsResponse* response) {
  auto submission = std::make_shared<Submission>();
  {
    absl::MutexLock lock(&mu_);
    submissions_.push_back(submission);
  }
  v1::TaskResultMessage message;
  int64_t accepted = 0;
  while (reader->Read(&message)) {
    absl::MutexLock lock(&mu_);
    submission->messages.push_back(message);
    if (message.has_attempt() &&
        rejected_tasks_.count(message.attempt().task_id())) {
      submission->ended = true;
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("task ", message.attempt().task_id(), " attempt ",
                       message.attempt().attempt(), " is stale"));
    }
    if (message.has_batch()) {
      accepted += message.batch().entities_size() +
                  message.batch().relationships_size();
    }
  }
  absl::MutexLock lock(&mu_);
  submission->ended = true;
  submission->cancelled = context->IsCancelled();
  response->set_accepted(accepted);
  return grpc::Status::OK;
}

grpc::Status FakeWorkerGateway::ReadEntities(
    grpc::ServerContext* context, const v1::ReadEntitiesRequest* request,
    grpc::ServerWriter<v1::EntityBatch>* writer) {
  std::vector<v1::Entity> entities;
  int batch_size;
  {
    absl::MutexLock lock(&mu_);
    reads_.push_back(*request);
    if (rejected_tasks_.count(request->attempt().task_id())) {
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("task ", request->attempt().task_id(), " is stale"));
    }
    auto it = entities_.find(request->type());
    if (it != entities_.end()) entities = it->second;
    batch_size = entity_batch_size_;
  }
  for (size_t start = 0; start < entities.size(); start += batch_size) {
    if (context->IsCancelled()) break;
    v1::EntityBatch batch;
    for (size_t i = start; i < std::min(entities.size(), start + batch_size);
         ++i) {
      *batch.add_entities() = entities[i];
    }
    if (!writer->Write(batch)) break;
  }
  return grpc::Status::OK;
}

}  // namespace graphmill::worker
