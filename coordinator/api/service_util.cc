// Implementation of coordinator/api/service_util.h.
#include "coordinator/api/service_util.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_limits.h"
#include "google/protobuf/io/coded_stream.h"

namespace graphmill::coordinator::api_internal {
namespace {

constexpr int kDefaultPageSize = 500;
constexpr int kMaxPageSize = 5000;

}  // namespace

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

std::string EncodePageToken(const std::string& last_key) {
  return absl::WebSafeBase64Escape(last_key);
}

absl::StatusOr<std::string> DecodePageToken(const std::string& token) {
  std::string key;
  if (!absl::WebSafeBase64Unescape(token, &key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_token '", token, "' is not valid"));
  }
  return key;
}

absl::StatusOr<int> PageSize(int requested) {
  if (requested < 0 || requested > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size must be between 0 and ", kMaxPageSize, ", got ", requested));
  }
  return requested == 0 ? kDefaultPageSize : requested;
}

size_t WireBytes(size_t body) {
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(body) + body;
}

void Trim(bool include_raw_data, v1::Entity& entity) {
  if (!include_raw_data) entity.clear_raw_data();
}
void Trim(bool, v1::Relationship&) {}
void Trim(bool include_raw_data, v1::Neighbor& neighbor) {
  Trim(include_raw_data, *neighbor.mutable_entity());
}

bool CarriesRawData(const v1::Entity& entity) {
  return entity.raw_data_size() > 0;
}
bool CarriesRawData(const v1::Relationship&) { return false; }
bool CarriesRawData(const v1::Neighbor& neighbor) {
  return CarriesRawData(neighbor.entity());
}

std::string Describe(const v1::Entity& entity) {
  return absl::StrCat("entity '", entity.key(), "'");
}
std::string Describe(const v1::Relationship& relationship) {
  return absl::StrCat("relationship '", relationship.key(), "'");
}
std::string Describe(const v1::Neighbor& neighbor) {
  return absl::StrCat("neighbor entity '", neighbor.entity().key(),
                      "' (relationship '", neighbor.relationship().key(), "')");
}

absl::Status TooLarge(const std::string& what, size_t bytes,
                      bool with_raw_data) {
  return absl::ResourceExhaustedError(absl::StrCat(
      what, " is ", bytes, " bytes", with_raw_data ? " with raw data" : "",
      ", more than the ", kMaxGrpcMessageBytes, "-byte message limit",
      with_raw_data ? "; read it without raw data (include_raw_data = false)"
                    : ""));
}

}  // namespace graphmill::coordinator::api_internal
