// Implementation of coordinator/probes/probe_client.h.
#include "coordinator/probes/probe_client.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/impl/rpc_method.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace graphmill::coordinator::probes {
namespace {

namespace rv1 = ::grpc::reflection::v1;

// HealthCheckRequest{service} as bytes (field 1, a string), without the
// health proto's generated code.
grpc::ByteBuffer HealthRequest(const std::string& service) {
  google::protobuf::UnknownFieldSet fields;
  if (!service.empty()) fields.AddLengthDelimited(1, service);
  std::string bytes;
  fields.SerializeToString(&bytes);
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// HealthCheckResponse's status (field 1, an enum).
absl::StatusOr<HealthStatus> HealthResponse(const grpc::ByteBuffer& buffer) {
  grpc::Slice slice;
  if (!buffer.TrySingleSlice(&slice).ok() &&
      !buffer.DumpToSingleSlice(&slice).ok()) {
    return absl::InternalError("cannot read the health response");
  }
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromArray(slice.begin(), static_cast<int>(slice.size()))) {
    return absl::InternalError("the health response does not parse");
  }
  for (int i = 0; i < fields.field_count(); ++i) {
    if (fields.field(i).number() == 1 &&
        fields.field(i).type() == google::protobuf::UnknownField::TYPE_VARINT) {
      return static_cast<HealthStatus>(fields.field(i).varint());
    }
  }
  return kUnknown;  // proto3: the default value is not sent
}

}  // namespace

absl::StatusOr<HealthStatus> CheckHealth(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  const grpc::internal::RpcMethod method("/grpc.health.v1.Health/Check",
                                         grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::ByteBuffer response;
  const grpc::Status status = grpc::internal::BlockingUnaryCall(
      channel.get(), method, &context, HealthRequest(service), &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return HealthResponse(response);
}

HealthWatch::HealthWatch(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service) {
  const grpc::internal::RpcMethod method(
      "/grpc.health.v1.Health/Watch",
      grpc::internal::RpcMethod::SERVER_STREAMING);
  reader_.reset(grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
      channel.get(), method, &context_, HealthRequest(service)));
}

HealthWatch::~HealthWatch() {
  context_.TryCancel();
  reader_->Finish().ok();
}

absl::StatusOr<HealthStatus> HealthWatch::Next() {
  grpc::ByteBuffer response;
  if (!reader_->Read(&response)) {
    return absl::UnavailableError("the Watch stream ended");
  }
  return HealthResponse(response);
}

absl::StatusOr<rv1::ServerReflectionResponse> AskReflection(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& version,
    const rv1::ServerReflectionRequest& request,
    const std::string& authorization) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  if (!authorization.empty()) {
    context.AddMetadata("authorization", authorization);
  }
  const std::string name = absl::StrCat(
      "/grpc.reflection.", version, ".ServerReflection/ServerReflectionInfo");
  const grpc::internal::RpcMethod method(
      name.c_str(), grpc::internal::RpcMethod::BIDI_STREAMING);
  std::unique_ptr<grpc::ClientReaderWriter<rv1::ServerReflectionRequest,
                                           rv1::ServerReflectionResponse>>
      stream(grpc::internal::ClientReaderWriterFactory<
             rv1::ServerReflectionRequest,
             rv1::ServerReflectionResponse>::Create(channel.get(), method,
                                                    &context));
  rv1::ServerReflectionResponse response;
  const bool answered = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  if (!answered) return absl::InternalError("no reflection answer");
  return response;
}

absl::StatusOr<std::vector<std::string>> ListServices(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& version,
    const std::string& authorization) {
  rv1::ServerReflectionRequest request;
  request.set_list_services("*");
  absl::StatusOr<rv1::ServerReflectionResponse> response =
      AskReflection(channel, version, request, authorization);
  if (!response.ok()) return response.status();
  std::vector<std::string> names;
  for (const rv1::ServiceResponse& service :
       response->list_services_response().service()) {
    names.push_back(service.name());
  }
  return names;
}

}  // namespace graphmill::coordinator::probes
