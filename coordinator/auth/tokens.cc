// Implementation of coordinator/auth/tokens.h on OpenSSL 3.
#include "coordinator/auth/tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace graphmill::coordinator {

absl::StatusOr<std::string> GenerateToken() {
  unsigned char random[kTokenRandomBytes];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::InternalError("cannot generate a token: the CSPRNG failed");
  }
  // WebSafeBase64Escape leaves out the padding: 32 bytes make 43 characters.
  std::string token =
      absl::StrCat(kTokenPrefix,
                   absl::WebSafeBase64Escape(absl::string_view(
                       reinterpret_cast<const char*>(random), sizeof(random))));
  OPENSSL_cleanse(random, sizeof(random));
  return token;
}

std::string HashToken(absl::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(),
                 nullptr) != 1) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool HashesEqual(absl::string_view a, absl::string_view b) {
  // Hash lengths are public (always 32 bytes); only the content is compared in
  // constant time.
  if (a.size() != b.size() || a.empty()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool IsValidTokenName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alphanumeric = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alphanumeric && (i == 0 || (c != '.' && c != '_' && c != '-'))) {
      return false;
    }
  }
  return true;
}

std::optional<Role> RoleFromProto(v1::TokenRole role) {
  switch (role) {
    case v1::TOKEN_ROLE_ADMIN:
      return Role::kAdmin;
    case v1::TOKEN_ROLE_READER:
      return Role::kReader;
    case v1::TOKEN_ROLE_WORKER:
      return Role::kWorker;
    default:
      return std::nullopt;
  }
}

v1::TokenRole RoleToProto(Role role) {
  switch (role) {
    case Role::kAdmin:
      return v1::TOKEN_ROLE_ADMIN;
    case Role::kReader:
      return v1::TOKEN_ROLE_READER;
    case Role::kWorker:
      return v1::TOKEN_ROLE_WORKER;
  }
  return v1::TOKEN_ROLE_UNSPECIFIED;
}

}  // namespace graphmill::coordinator
