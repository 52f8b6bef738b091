// Implementation of coordinator/auth/authorizer.h.
#include "coordinator/auth/authorizer.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>

#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"

namespace graphmill::coordinator {
namespace {

constexpr RoleSet kAdminOnly = {Role::kAdmin};
// Reads of the graph, runs and instances.
constexpr RoleSet kReaders = {Role::kAdmin, Role::kReader};
// The worker protocol.
constexpr RoleSet kWorkers = {Role::kAdmin, Role::kWorker};

constexpr absl::string_view kPathKey = ":path";

// "Bearer <token>" (scheme case-insensitive, RFC 6750) -> the token; empty if
// the value has another shape.
absl::string_view BearerToken(absl::string_view value) {
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return {};
  }
  absl::string_view token =
      absl::StripAsciiWhitespace(value.substr(kScheme.size()));
  for (char c : token) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        !absl::ascii_isprint(static_cast<unsigned char>(c))) {
      return {};
    }
  }
  return token;
}

// The one token of a call's "authorization" values.
absl::StatusOr<absl::string_view> TokenOf(
    const std::vector<absl::string_view>& authorization) {
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "missing bearer token (send metadata 'authorization: Bearer "
        "<token>')");
  }
  if (authorization.size() > 1) {
    return absl::UnauthenticatedError(
        "more than one 'authorization' metadata value");
  }
  const absl::string_view token = BearerToken(authorization.front());
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "the 'authorization' metadata is not 'Bearer <token>'");
  }
  return token;
}

absl::string_view View(const grpc::string_ref& ref) {
  return absl::string_view(ref.data(), ref.size());
}

absl::string_view View(const grpc_slice& slice) {
  return absl::string_view(
      reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
      GRPC_SLICE_LENGTH(slice));
}

class Processor final : public grpc::AuthMetadataProcessor {
 public:
  explicit Processor(const Authorizer* authorizer) : authorizer_(authorizer) {}

  // The verifier may read the store: run on gRPC's thread pool, not on the
  // thread that handles the connection.
  bool IsBlocking() const override { return true; }

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext*,
                       OutputMetadata*, OutputMetadata*) override {
    absl::string_view method;
    std::vector<absl::string_view> authorization;
    for (const auto& [key, value] : metadata) {
      if (View(key) == kPathKey) {
        method = View(value);
      } else if (View(key) == kAuthorizationKey) {
        authorization.push_back(View(value));
      }
    }
    absl::StatusOr<std::optional<Caller>> caller =
        authorizer_->Check(method, authorization);
    if (!caller.ok()) return ToGrpcStatus(caller.status());
    return grpc::Status::OK;
  }

 private:
  const Authorizer* const authorizer_;
};

// grpc_auth_metadata_processor.process for InsecureServerCredentialsWithAuth.
void ProcessInline(void* state, grpc_auth_context*, const grpc_metadata* md,
                   size_t count, grpc_process_auth_metadata_done_cb done,
                   void* user_data) {
  const auto* authorizer = static_cast<const Authorizer*>(state);
  absl::string_view method;
  std::vector<absl::string_view> authorization;
  for (size_t i = 0; i < count; ++i) {
    if (View(md[i].key) == kPathKey) {
      method = View(md[i].value);
    } else if (View(md[i].key) == kAuthorizationKey) {
      authorization.push_back(View(md[i].value));
    }
  }
  absl::StatusOr<std::optional<Caller>> caller =
      authorizer->Check(method, authorization);
  if (caller.ok()) {
    done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_OK, nullptr);
    return;
  }
  // gRPC copies the message before `done` returns.
  const std::string message(caller.status().message());
  done(user_data, nullptr, 0, nullptr, 0,
       static_cast<grpc_status_code>(caller.status().code()), message.c_str());
}

class InsecureWithAuth final : public grpc::ServerCredentials {
 public:
  explicit InsecureWithAuth(const Authorizer* authorizer)
      : credentials_(grpc_insecure_server_credentials_create()) {
    grpc_auth_metadata_processor processor{};
    processor.process = &ProcessInline;
    processor.destroy = nullptr;
    processor.state = const_cast<Authorizer*>(authorizer);
    grpc_server_credentials_set_auth_metadata_processor(credentials_,
                                                        processor);
  }
  ~InsecureWithAuth() override {
    grpc_server_credentials_release(credentials_);
  }

  // The check is fixed at construction; replacing it is a programming error.
  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {
    std::abort();
  }

 private:
  int AddPortToServer(const std::string& address,
                      grpc_server* server) override {
    return grpc_server_add_http2_port(server, address.c_str(), credentials_);
  }

  grpc_server_credentials* const credentials_;
};

}  // namespace

std::string RoleSet::ToString() const {
  std::vector<absl::string_view> names;
  for (Role role : {Role::kAdmin, Role::kReader, Role::kWorker}) {
    if (Contains(role)) names.push_back(RoleName(role));
  }
  return absl::StrJoin(names, ", ");
}

const std::vector<MethodRule>& MethodTable() {
  static const std::vector<MethodRule>* const table =
      new std::vector<MethodRule>{
          // Admin: reads.
          {"/graphmill.v1.Admin/ListIntegrations", false, kReaders},
          {"/graphmill.v1.Admin/GetInstance", false, kReaders},
          {"/graphmill.v1.Admin/ListInstances", false, kReaders},
          {"/graphmill.v1.Admin/GetRun", false, kReaders},
          {"/graphmill.v1.Admin/ListRuns", false, kReaders},
          {"/graphmill.v1.Admin/WatchRun", false, kReaders},
          // Admin: changes.
          {"/graphmill.v1.Admin/CreateInstance", false, kAdminOnly},
          {"/graphmill.v1.Admin/UpdateInstance", false, kAdminOnly},
          {"/graphmill.v1.Admin/DeleteInstance", false, kAdminOnly},
          {"/graphmill.v1.Admin/ValidateInstance", false, kAdminOnly},
          {"/graphmill.v1.Admin/InstallWebhooks", false, kAdminOnly},
          {"/graphmill.v1.Admin/StartRun", false, kAdminOnly},
          {"/graphmill.v1.Admin/CancelRun", false, kAdminOnly},
          {"/graphmill.v1.Admin/RetryUpload", false, kAdminOnly},
          // Admin: tokens.
          {"/graphmill.v1.Admin/CreateToken", false, kAdminOnly},
          {"/graphmill.v1.Admin/ListTokens", false, kAdminOnly},
          {"/graphmill.v1.Admin/RevokeToken", false, kAdminOnly},
          // Graph: all reads, Subscribe included.
          {"/graphmill.v1.Graph/ListEntities", false, kReaders},
          {"/graphmill.v1.Graph/ListRelationships", false, kReaders},
          {"/graphmill.v1.Graph/GetEntity", false, kReaders},
          {"/graphmill.v1.Graph/ListNeighbors", false, kReaders},
          {"/graphmill.v1.Graph/Subscribe", false, kReaders},
          {"/graphmill.v1.Graph/GetSnapshot", false, kReaders},
          // WorkerGateway.
          {"/graphmill.v1.WorkerGateway/Connect", false, kWorkers},
          {"/graphmill.v1.WorkerGateway/SubmitResults", false, kWorkers},
          {"/graphmill.v1.WorkerGateway/ReadEntities", false, kWorkers},
          // Server reflection (grpcurl and the like): it describes the
          // whole API, Admin included, to whoever asks, so a token is
          // needed like for any other read; admins and readers (operators),
          // not workers.
          {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", false,
           kReaders},
          {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
           false, kReaders},
          // Health probes: the status only, for probes that carry no token.
          {"/grpc.health.v1.Health/*", true, {}},
      };
  return *table;
}

std::optional<MethodRule> FindMethodRule(absl::string_view method) {
  for (const MethodRule& rule : MethodTable()) {
    if (rule.method == method) return rule;
  }
  // A service's "/*" row: the method's service part must match exactly.
  const size_t slash = method.rfind('/');
  if (slash == absl::string_view::npos || slash == 0) return std::nullopt;
  const std::string service_rule =
      absl::StrCat(method.substr(0, slash + 1), "*");
  for (const MethodRule& rule : MethodTable()) {
    if (rule.method == service_rule) return rule;
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<Caller>> Authorizer::Check(
    absl::string_view method,
    const std::vector<absl::string_view>& authorization) const {
  const std::optional<MethodRule> rule = FindMethodRule(method);
  if (rule.has_value() && rule->open) return std::nullopt;
  absl::StatusOr<absl::string_view> token = TokenOf(authorization);
  if (!token.ok()) return token.status();
  absl::StatusOr<Caller> caller = verifier_->Verify(*token);
  if (!caller.ok()) {
    if (absl::IsUnauthenticated(caller.status())) return caller.status();
    return absl::Status(caller.status().code(),
                        absl::StrCat("cannot check the bearer token: ",
                                     caller.status().message()));
  }
  if (!rule.has_value()) {
    return absl::PermissionDeniedError(
        absl::StrCat("no caller may call ", method,
                     ": it is not in the coordinator's authorization table"));
  }
  if (!rule->roles.Contains(caller->role)) {
    return absl::PermissionDeniedError(
        absl::StrCat("token '", caller->token_name, "' has role ",
                     RoleName(caller->role), ", which may not call ", method,
                     " (allowed: ", rule->roles.ToString(), ")"));
  }
  return std::optional<Caller>(*std::move(caller));
}

absl::StatusOr<Caller> Authorizer::CallerOf(
    const grpc::ServerContextBase& context) const {
  std::vector<absl::string_view> authorization;
  const auto range = context.client_metadata().equal_range(kAuthorizationKey);
  for (auto it = range.first; it != range.second; ++it) {
    authorization.push_back(View(it->second));
  }
  absl::StatusOr<absl::string_view> token = TokenOf(authorization);
  if (!token.ok()) return token.status();
  return verifier_->Verify(*token);
}

std::shared_ptr<grpc::AuthMetadataProcessor> Authorizer::MetadataProcessor()
    const {
  return std::make_shared<Processor>(this);
}

std::shared_ptr<grpc::ServerCredentials> InsecureServerCredentialsWithAuth(
    const Authorizer* authorizer) {
  return std::make_shared<InsecureWithAuth>(authorizer);
}

}  // namespace graphmill::coordinator
