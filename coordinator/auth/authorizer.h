// Who may call which RPC: the one table of every gRPC method the coordinator
// serves and the roles allowed to call it, and the check that enforces it on
// every call before the request message is read.
//
// The check runs as a grpc::AuthMetadataProcessor on the server credentials:
// gRPC calls it with the call's initial metadata (":path" and
// "authorization") before the call reaches a handler or its message is
// deserialized, and a non-OK status it returns is the call's status. With
// TLS and with loopback plaintext (grpc::experimental::LocalServerCredentials)
// the processor is set through SetAuthMetadataProcessor;
// grpc::InsecureServerCredentials() cannot take one (gRPC 1.51 aborts), so the
// explicit --insecure_plaintext mode uses InsecureServerCredentialsWithAuth,
// which sets the same check on gRPC core's insecure credentials.
#ifndef GRAPHMILL_COORDINATOR_AUTH_AUTHORIZER_H_
#define GRAPHMILL_COORDINATOR_AUTH_AUTHORIZER_H_

#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_context.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "coordinator/auth/token_verifier.h"

namespace graphmill::coordinator {

// A set of roles.
class RoleSet {
 public:
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role role : roles) bits_ |= Bit(role);
  }
  constexpr bool Contains(Role role) const { return (bits_ & Bit(role)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  bool operator==(const RoleSet&) const = default;
  // "admin, reader".
  std::string ToString() const;

 private:
  static constexpr uint8_t Bit(Role role) {
    return static_cast<uint8_t>(1u << static_cast<int>(role));
  }
  uint8_t bits_ = 0;
};

// One row of the table.
struct MethodRule {
  // A full gRPC method name ("/graphmill.v1.Admin/ListRuns"), or a whole
  // service ("/grpc.health.v1.Health/*").
  absl::string_view method;
  // No token needed (health probes). `roles` is then empty.
  bool open = false;
  // Roles allowed to call it.
  RoleSet roles;
};

// Every row, in a stable order (tests and docs walk it).
const std::vector<MethodRule>& MethodTable();

// The rule for the full method name `method` (an exact row, else a service's
// "/*" row); nullopt if the table has none, which means nobody may call it.
std::optional<MethodRule> FindMethodRule(absl::string_view method);

// The metadata key a bearer token travels in.
inline constexpr char kAuthorizationKey[] = "authorization";

class Authorizer {
 public:
  // `verifier` must outlive the Authorizer and every server using it.
  explicit Authorizer(const TokenVerifier* verifier) : verifier_(verifier) {}

  // The check, given a call's full method name and the values of its
  // "authorization" metadata. Returns the caller, or nullopt for an open
  // method (no token is looked at). Errors, as the call's status:
  //   UNAUTHENTICATED    no token, more than one, not "Bearer <token>", or one
  //                      the verifier does not know (revoked, wrong);
  //   PERMISSION_DENIED  the caller's role may not call `method`, or `method`
  //                      is not in the table;
  //   other codes        the verifier failed (e.g. the store is unavailable).
  // Messages name the method, the token's name and role, never the token.
  absl::StatusOr<std::optional<Caller>> Check(
      absl::string_view method,
      const std::vector<absl::string_view>& authorization) const;

  // Who is making the call `context` belongs to (sync or callback API). For
  // use in handlers: the
  // check has already let the call through, so this resolves the same bearer
  // token again (the verifier caches it). The caller is not stored in the
  // call's grpc::AuthContext because gRPC shares one AuthContext among all
  // calls of a connection (properties added for one call are seen by every
  // later one). UNAUTHENTICATED if the call carried no usable token (an open
  // method).
  absl::StatusOr<Caller> CallerOf(const grpc::ServerContextBase& context) const;

  // The processor to set on secure server credentials: runs Check for every
  // call on gRPC's thread pool for blocking processors (the verifier may read
  // the store). The Authorizer must outlive it.
  std::shared_ptr<grpc::AuthMetadataProcessor> MetadataProcessor() const;

 private:
  const TokenVerifier* const verifier_;
};

// Plaintext server credentials that still run `authorizer`'s check on every
// call, for --insecure_plaintext on a non-loopback address. Built on gRPC
// core's grpc_insecure_server_credentials_create() with the check set through
// grpc_server_credentials_set_auth_metadata_processor (gRPC core runs it in
// its server auth filter for insecure connections too). The check runs inline
// on gRPC's thread. `authorizer` must outlive the credentials and the server.
std::shared_ptr<grpc::ServerCredentials> InsecureServerCredentialsWithAuth(
    const Authorizer* authorizer);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_AUTH_AUTHORIZER_H_
