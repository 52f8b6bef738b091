#include "common/hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"

namespace graphmill {

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // HMAC() takes a null key pointer as "no key"; an empty key must still be
  // a valid (empty) key.
  static const unsigned char kNoKey = 0;
  HMAC(EVP_sha256(),
       key.empty() ? &kNoKey
                   : reinterpret_cast<const unsigned char*>(key.data()),
       static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest,
       &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string HmacSha256Hex(absl::string_view key, absl::string_view data) {
  return absl::BytesToHexString(HmacSha256(key, data));
}

std::string HmacSha256Base64(absl::string_view key, absl::string_view data) {
  return absl::Base64Escape(HmacSha256(key, data));
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace graphmill
