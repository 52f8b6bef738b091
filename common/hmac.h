// HMAC-SHA256 as providers sign webhook deliveries (CircleCI: hex in
// `circleci-signature: v1=...`; Heroku: base64 in `Heroku-Webhook-Hmac-SHA256`)
// and a comparison of signatures that takes the same time wherever they
// differ. Thread-safe, no state.
#ifndef GRAPHMILL_COMMON_HMAC_H_
#define GRAPHMILL_COMMON_HMAC_H_

#include <string>

#include "absl/strings/string_view.h"

namespace graphmill {

// The 32-byte HMAC-SHA256 of `data` under `key` (raw bytes).
std::string HmacSha256(absl::string_view key, absl::string_view data);

// HmacSha256 as 64 lower-case hex digits.
std::string HmacSha256Hex(absl::string_view key, absl::string_view data);

// HmacSha256 in standard base64 (with padding).
std::string HmacSha256Base64(absl::string_view key, absl::string_view data);

// True if `a` and `b` are equal. The time taken depends on their lengths only,
// not on where they differ, so a caller comparing a signature it was sent
// with the one it computed does not tell an attacker how much was right.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace graphmill

#endif  // GRAPHMILL_COMMON_HMAC_H_
