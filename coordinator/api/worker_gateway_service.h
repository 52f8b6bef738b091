// The WorkerGateway gRPC service: workers connect (hello, heartbeats, tasks),
// submit results and read entities of earlier steps. Maps absl::Status to the
// matching gRPC code with the message unchanged.
#ifndef GRAPHMILL_COORDINATOR_API_WORKER_GATEWAY_SERVICE_H_
#define GRAPHMILL_COORDINATOR_API_WORKER_GATEWAY_SERVICE_H_

#include "coordinator/engine.h"
#include "graphmill/v1/worker.grpc.pb.h"

namespace graphmill::coordinator {

class WorkerGatewayService final : public v1::WorkerGateway::Service {
 public:
  explicit WorkerGatewayService(Engine* engine) : engine_(engine) {}

  grpc::Status Connect(grpc::ServerContext*,
                       grpc::ServerReaderWriter<v1::CoordinatorMessage,
                                                v1::WorkerMessage>*) override;
  grpc::Status SubmitResults(grpc::ServerContext*,
                             grpc::ServerReader<v1::TaskResultMessage>*,
                             v1::SubmitResultsResponse*) override;
  grpc::Status ReadEntities(grpc::ServerContext*,
                            const v1::ReadEntitiesRequest*,
                            grpc::ServerWriter<v1::EntityBatch>*) override;

 private:
  Engine* const engine_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_API_WORKER_GATEWAY_SERVICE_H_
