// Helpers shared by the coordinator's gRPC services (admin_service,
// graph_service, worker_gateway_service): argument errors, page tokens and
// sizes, and how graph objects are sized, trimmed and named on the wire.
// Internal to coordinator/api.
#ifndef GRAPHMILL_COORDINATOR_API_SERVICE_UTIL_H_
#define GRAPHMILL_COORDINATOR_API_SERVICE_UTIL_H_

#include <grpcpp/support/status.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graphmill/v1/graph.pb.h"

namespace graphmill::coordinator::api_internal {

namespace v1 = ::graphmill::v1;

// INVALID_ARGUMENT with `message`, for checks that fail before any work.
grpc::Status Invalid(const std::string& message);

// Page tokens are the last key of the previous page, web-safe base64 encoded.
std::string EncodePageToken(const std::string& last_key);
// INVALID_ARGUMENT naming the token when it is not web-safe base64.
absl::StatusOr<std::string> DecodePageToken(const std::string& token);

// The page size to use for a requested one: 0 means the default (500);
// INVALID_ARGUMENT outside 0..5000.
absl::StatusOr<int> PageSize(int requested);

// Bytes a message of `body` bytes adds to its parent as an element of a
// repeated field (field numbers below 16): tag, length, body.
size_t WireBytes(size_t body);

// Raw data leaves only when the caller asks for it.
void Trim(bool include_raw_data, v1::Entity& entity);
void Trim(bool include_raw_data, v1::Relationship& relationship);
void Trim(bool include_raw_data, v1::Neighbor& neighbor);

// Whether the object (as it will be sent) carries raw data: then it can be
// read without.
bool CarriesRawData(const v1::Entity& entity);
bool CarriesRawData(const v1::Relationship& relationship);
bool CarriesRawData(const v1::Neighbor& neighbor);

// How an error names the object.
std::string Describe(const v1::Entity& entity);
std::string Describe(const v1::Relationship& relationship);
std::string Describe(const v1::Neighbor& neighbor);

// An object that cannot travel in one message even on its own. Named, with its
// size, so the caller learns what to read differently instead of seeing gRPC's
// opaque "Received message larger than max".
absl::Status TooLarge(const std::string& what, size_t bytes,
                      bool with_raw_data);

}  // namespace graphmill::coordinator::api_internal

#endif  // GRAPHMILL_COORDINATOR_API_SERVICE_UTIL_H_
