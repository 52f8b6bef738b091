// Test clients of the coordinator's health and reflection services, for
// tests that talk to a real server (in-process or the coordinator binary).
#ifndef GRAPHMILL_COORDINATOR_PROBES_PROBE_CLIENT_H_
#define GRAPHMILL_COORDINATOR_PROBES_PROBE_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/sync_stream.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpc/reflection/v1/reflection.pb.h"

namespace graphmill::coordinator::probes {

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum HealthStatus {
  kUnknown = 0,
  kServing = 1,
  kNotServing = 2,
  kServiceUnknown = 3
};

// grpc.health.v1.Health/Check for `service` ("" for the whole server).
absl::StatusOr<HealthStatus> CheckHealth(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service);

// A grpc.health.v1.Health/Watch stream.
class HealthWatch {
 public:
  HealthWatch(const std::shared_ptr<grpc::Channel>& channel,
              const std::string& service);
  ~HealthWatch();
  // The next status sent; an error when the stream ended.
  absl::StatusOr<HealthStatus> Next();

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader_;
};

// One ServerReflectionInfo request and its answer on `version` ("v1" or
// "v1alpha": the messages are the same on the wire), with `authorization`
// metadata when not empty.
absl::StatusOr<grpc::reflection::v1::ServerReflectionResponse> AskReflection(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& version,
    const grpc::reflection::v1::ServerReflectionRequest& request,
    const std::string& authorization = "");

// The services reflection `version` lists.
absl::StatusOr<std::vector<std::string>> ListServices(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& version,
    const std::string& authorization = "");

}  // namespace graphmill::coordinator::probes

#endif  // GRAPHMILL_COORDINATOR_PROBES_PROBE_CLIENT_H_
