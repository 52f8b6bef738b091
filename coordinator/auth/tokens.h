// Bearer tokens: 256 random bits from OpenSSL's CSPRNG, written as "gm_" and
// base64url (so leak scanners can recognize them), stored only as SHA-256
// hashes and compared in constant time. Roles as the protocol spells them.
#ifndef GRAPHMILL_COORDINATOR_AUTH_TOKENS_H_
#define GRAPHMILL_COORDINATOR_AUTH_TOKENS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "coordinator/auth/token_verifier.h"
#include "graphmill/v1/admin.pb.h"

namespace graphmill::coordinator {

// What every token starts with.
inline constexpr absl::string_view kTokenPrefix = "gm_";
// Random bytes in a token.
inline constexpr int kTokenRandomBytes = 32;
// Length of a token: the prefix and 43 base64url characters (no padding).
inline constexpr size_t kTokenLength = 3 + 43;

// A new token. INTERNAL if the CSPRNG fails (the message never holds random
// bytes).
absl::StatusOr<std::string> GenerateToken();

// The SHA-256 of `token`: 32 raw bytes (empty only if OpenSSL fails, which
// matches no stored token).
std::string HashToken(absl::string_view token);

// True if the hashes are equal, in time independent of where they differ.
bool HashesEqual(absl::string_view a, absl::string_view b);

// True for a valid token name: 1-64 characters of [a-z0-9._-], the first a
// letter or digit.
bool IsValidTokenName(absl::string_view name);

// Protocol roles <-> roles; nullopt for TOKEN_ROLE_UNSPECIFIED or an unknown
// value.
std::optional<Role> RoleFromProto(v1::TokenRole role);
v1::TokenRole RoleToProto(Role role);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_AUTH_TOKENS_H_
