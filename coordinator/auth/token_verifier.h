// Who is calling: bearer tokens resolved to a named caller with a role. The
// gRPC layer (coordinator/auth/authorizer) asks a TokenVerifier for every call;
// the store-backed implementation keeps only hashes of tokens.
#ifndef GRAPHMILL_COORDINATOR_AUTH_TOKEN_VERIFIER_H_
#define GRAPHMILL_COORDINATOR_AUTH_TOKEN_VERIFIER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace graphmill::coordinator {

// What a caller may do. admin: everything; reader: Graph reads, Subscribe and
// Admin reads; worker: WorkerGateway only.
enum class Role { kAdmin, kReader, kWorker };

// "admin", "reader", "worker".
absl::string_view RoleName(Role role);

// An authenticated caller.
struct Caller {
  std::string token_name;  // the name given at `token create`
  Role role = Role::kReader;
};

// Resolves bearer tokens. Implementations are thread-safe.
class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  // The caller `token` belongs to. UNAUTHENTICATED (never naming or echoing
  // the token) for an unknown or revoked token.
  virtual absl::StatusOr<Caller> Verify(absl::string_view token) const = 0;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_AUTH_TOKEN_VERIFIER_H_
