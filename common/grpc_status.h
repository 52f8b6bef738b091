// Conversion between absl::Status (used inside every module) and grpc::Status
// (the API edge).
#ifndef GRAPHMILL_COMMON_GRPC_STATUS_H_
#define GRAPHMILL_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace graphmill {

// Same code, same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Same code, same message.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace graphmill

#endif  // GRAPHMILL_COMMON_GRPC_STATUS_H_
