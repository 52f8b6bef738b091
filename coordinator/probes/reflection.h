// gRPC server reflection for the coordinator, so grpcurl and similar tools
// can list and describe its services: grpc.reflection.v1alpha (gRPC's own
// plugin, libgrpc++_reflection) and grpc.reflection.v1 (served here: gRPC
// 1.51, Debian 12's, has only v1alpha). Who may call them is in
// coordinator/auth/authorizer.cc's table.
#ifndef GRAPHMILL_COORDINATOR_PROBES_REFLECTION_H_
#define GRAPHMILL_COORDINATOR_PROBES_REFLECTION_H_

#include <grpcpp/server_builder.h>

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace graphmill::coordinator {

// Adds both reflection services to `builder` (before BuildAndStart). They
// describe every message and service linked into the process (protobuf's
// generated pool) and list the services the server registered. Linking this
// library adds v1alpha to every server of the process (gRPC's plugin
// registers itself); v1 is added to `builder` only.
void AddServerReflection(grpc::ServerBuilder* builder);

// grpc.reflection.v1.ServerReflection over protobuf's generated pool.
class ServerReflectionV1 final
    : public grpc::reflection::v1::ServerReflection::Service {
 public:
  // The full names ListServices answers with.
  void SetServices(std::vector<std::string> services);

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::reflection::v1::ServerReflectionResponse,
                               grpc::reflection::v1::ServerReflectionRequest>*
          stream) override;

  // The answer to one request.
  grpc::reflection::v1::ServerReflectionResponse Answer(
      const grpc::reflection::v1::ServerReflectionRequest& request) const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> services_ ABSL_GUARDED_BY(mu_);
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_PROBES_REFLECTION_H_
