// Implementation of worker/runtime/channel.h.
#include "worker/runtime/channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/client_interceptor.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace graphmill::worker {
namespace {

grpc::ChannelArguments ChannelArgs(const CoordinatorChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
              absl::ToInt64Milliseconds(options.keepalive_time));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
              absl::ToInt64Milliseconds(options.keepalive_timeout));
  // The Connect stream is always open, but keep pinging between streams too.
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Without this gRPC stops pinging after two pings that saw no data from the
  // coordinator, and an idle worker would not notice a dead one.
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(
                  options.initial_reconnect_backoff)));
  // Despite its name, gRPC uses this as the least time a connection attempt
  // (dial and handshake) is given before it is abandoned, not as a backoff.
  args.SetInt(
      GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.connect_timeout)));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(
                  absl::ToInt64Milliseconds(options.max_reconnect_backoff)));
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  return args;
}

// Adds "authorization: Bearer <token>" to every call. An interceptor rather
// than call credentials, which gRPC attaches only to secure channels: the
// same code covers TLS and loopback plaintext.
class BearerTokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string* header)
      : header_(header) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  const std::string* const header_;
};

class BearerTokenInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(const std::string& token)
      : header_(absl::StrCat("Bearer ", token)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(&header_);
  }

 private:
  // Lives as long as the channel, which owns the factory.
  const std::string header_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectCoordinator(
    const CoordinatorConnection& connection,
    const CoordinatorChannelOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      CoordinatorChannelCredentials(connection.address, connection.tls,
                                    FlagStyle::kUnderscore);
  if (!credentials.ok()) return credentials.status();
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  if (!connection.token.empty()) {
    interceptors.push_back(
        std::make_unique<BearerTokenInterceptorFactory>(connection.token));
  }
  grpc::ChannelArguments args = ChannelArgs(options);
  SetAddressListAuthority(connection.address, args);
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      connection.address, *credentials, args, std::move(interceptors));
}

std::shared_ptr<grpc::Channel> CreateCoordinatorChannel(
    const std::string& address, const CoordinatorChannelOptions& options) {
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   ChannelArgs(options));
}

}  // namespace graphmill::worker
