// A scriptable in-process WorkerGateway server for worker tests.
#ifndef GRAPHMILL_WORKER_RUNTIME_FAKE_WORKER_GATEWAY_H_
#define GRAPHMILL_WORKER_RUNTIME_FAKE_WORKER_GATEWAY_H_

#include <grpcpp/server.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "graphmill/v1/worker.grpc.pb.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::worker {

// Plays the coordinator's side of WorkerGateway on 127.0.0.1: records what
// workers send, sends what the test scripts, serves ReadEntities from a map.
// Thread-safe.
class FakeWorkerGateway final : public graphmill::v1::WorkerGateway::Service {
 public:
  // One SubmitResults stream as received.
  struct Submission {
    std::vector<graphmill::v1::TaskResultMessage> messages;
    // The stream ended (by the worker's WritesDone or cancellation).
    bool ended = false;
    // The worker cancelled the stream.
    bool cancelled = false;
    // The stream ended with an outcome message last.
    bool has_outcome() const;
    const graphmill::v1::TaskOutcome& outcome() const;
    // The batches, in order.
    std::vector<graphmill::v1::ResultBatch> batches() const;
  };

  // Starts on 127.0.0.1:`port` (0: a free port). Null if the port cannot be
  // bound.
  static std::unique_ptr<FakeWorkerGateway> Start(int port = 0);
  // Stops the server.
  ~FakeWorkerGateway() override;

  int port() const { return port_; }
  std::string address() const;

  // Shuts the server down as a crashing coordinator would: every stream ends.
  // Idempotent.
  void Stop();

  // ---- Script.
  // Entities ReadEntities serves for `type` (in the given order), `batch_size`
  // per message.
  void SetEntities(const std::string& type,
                   std::vector<graphmill::v1::Entity> entities);
  void SetEntityBatchSize(int batch_size);
  // While set, every Connect stream is ended (UNAVAILABLE) as soon as its hello
  // is recorded, as a coordinator refusing the worker would.
  void RefuseConnections(bool refuse);
  // SubmitResults and ReadEntities of this task answer FAILED_PRECONDITION (a
  // stale attempt).
  void RejectTask(int64_t task_id);
  // Sends on the newest open Connect stream. False when no stream is open.
  bool Send(const graphmill::v1::CoordinatorMessage& message);
  bool Assign(const graphmill::v1::TaskAssignment& assignment);
  bool Cancel(const graphmill::v1::TaskAttempt& attempt);
  bool UpdateRate(const graphmill::v1::TaskAttempt& attempt, double per_second);

  // ---- Records.
  std::vector<graphmill::v1::WorkerHello> hellos() const;
  std::vector<graphmill::v1::Heartbeat> heartbeats() const;
  int draining_count() const;
  // Attempts reported in RateLimited messages, in arrival order.
  std::vector<graphmill::v1::TaskAttempt> rate_limited() const;
  // ProviderReports, in arrival order.
  std::vector<graphmill::v1::ProviderReport> provider_reports() const;
  // Connect streams that have ended.
  int ended_connections() const;
  std::vector<graphmill::v1::ReadEntitiesRequest> reads() const;
  // SubmitResults streams that have not ended (of any task, including ones
  // cancelled before their first message arrived).
  int open_submissions() const;
  // SubmitResults streams of `task_id`, in arrival order.
  std::vector<Submission> SubmissionsOf(int64_t task_id) const;
  // The ended submission of `task_id` carrying an outcome, if one arrived.
  std::optional<Submission> CompletedSubmission(int64_t task_id) const;

  // Polls `condition` until it holds or `timeout` passes; returns its last
  // value.
  static bool WaitFor(const std::function<bool()>& condition,
                      absl::Duration timeout = absl::Seconds(10));

  // WorkerGateway.
  grpc::Status Connect(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<graphmill::v1::CoordinatorMessage,
                               graphmill::v1::WorkerMessage>* stream) override;
  grpc::Status SubmitResults(
      grpc::ServerContext* context,
      grpc::ServerReader<graphmill::v1::TaskResultMessage>* reader,
      graphmill::v1::SubmitResultsResponse* response) override;
  grpc::Status ReadEntities(
      grpc::ServerContext* context,
      const graphmill::v1::ReadEntitiesRequest* request,
      grpc::ServerWriter<graphmill::v1::EntityBatch>* writer) override;

 private:
  struct Connection {
    std::deque<graphmill::v1::CoordinatorMessage> outbox;
    bool closed = false;
  };

  FakeWorkerGateway() = default;

  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool refuse_connections_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::shared_ptr<Connection>> connections_ ABSL_GUARDED_BY(mu_);
  std::vector<graphmill::v1::WorkerHello> hellos_ ABSL_GUARDED_BY(mu_);
  std::vector<graphmill::v1::Heartbeat> heartbeats_ ABSL_GUARDED_BY(mu_);
  int draining_count_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<graphmill::v1::TaskAttempt> rate_limited_ ABSL_GUARDED_BY(mu_);
  std::vector<graphmill::v1::ProviderReport> provider_reports_
      ABSL_GUARDED_BY(mu_);
  int ended_connections_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::vector<graphmill::v1::Entity>> entities_
      ABSL_GUARDED_BY(mu_);
  int entity_batch_size_ ABSL_GUARDED_BY(mu_) = 100;
  std::set<int64_t> rejected_tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<graphmill::v1::ReadEntitiesRequest> reads_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Submission>> submissions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_FAKE_WORKER_GATEWAY_H_
