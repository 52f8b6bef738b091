// SecretBox: AES-256-GCM encryption of secret config values at rest, bound to
// their place.
#ifndef GRAPHMILL_COORDINATOR_SECRETS_SECRET_BOX_H_
#define GRAPHMILL_COORDINATOR_SECRETS_SECRET_BOX_H_

#include <array>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace graphmill::coordinator {

// `count` bytes from OpenSSL's CSPRNG, hex-encoded (2 * count characters), for
// unguessable identifiers. INTERNAL if the generator fails.
absl::StatusOr<std::string> RandomHex(size_t count);

// The environment variable a key is read from when no key file is given.
inline constexpr char kSecretKeyEnvVar[] = "GRAPHMILL_SECRET_KEY";

// How an operator makes a key; quoted in every key error message.
inline constexpr char kMakeSecretKeyHint[] =
    "head -c 32 /dev/urandom | base64 > key && chmod 600 key";

// Holds one 32-byte key and encrypts/decrypts secret values with AES-256-GCM
// (OpenSSL EVP).
//
// Ciphertext format (version 1), printable so it fits a TEXT column:
//   "v1:" <key fingerprint, 8 hex> ":" base64(nonce[12] | ciphertext | tag[16])
// The fingerprint names the key so a value written under another key is
// reported as such, and a later version can pick among several keys (rotation).
// The whole "v1:<fp>:" header and the caller's associated data are
// authenticated: changing any byte of the value fails to decrypt.
//
// Thread-safe: Encrypt and Decrypt are const and keep no shared OpenSSL state.
// Copyable; the key is wiped from memory when a SecretBox is destroyed. The key
// never appears in any message; use KeyFingerprint() to tell keys apart in
// logs.
class SecretBox {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 12;
  static constexpr size_t kTagBytes = 16;

  // From raw key bytes; INVALID_ARGUMENT unless exactly 32 bytes.
  static absl::StatusOr<SecretBox> FromKeyMaterial(absl::string_view key_bytes);

  // From a key written as 64 hex characters or as the base64 of 32 bytes,
  // optionally followed by a newline (or any trailing whitespace).
  // INVALID_ARGUMENT otherwise, saying what is expected and how to make a key;
  // `source` names where the text came from in that message.
  static absl::StatusOr<SecretBox> FromKeyText(absl::string_view text,
                                               absl::string_view source);

  // Reads a key file (see FromKeyText for the format). Missing or unreadable
  // file: the errno's status (e.g. NOT_FOUND) naming the path. A file group- or
  // world-accessible (mode more open than 0600) is accepted, because Kubernetes
  // mounts Secrets 0644 unless told otherwise, but load_warning() then says so
  // and how to fix it, and FromKeyFile logs that warning.
  static absl::StatusOr<SecretBox> FromKeyFile(const std::string& path);

  // Reads the key from environment variable `var_name` (see FromKeyText for the
  // format). NOT_FOUND, saying how to provide a key, if the variable is unset
  // or empty.
  static absl::StatusOr<SecretBox> FromEnvironment(
      const char* var_name = kSecretKeyEnvVar);

  SecretBox(const SecretBox&) = default;
  SecretBox& operator=(const SecretBox&) = default;
  ~SecretBox();

  // Encrypts `plaintext` (any bytes, any length up to 1 GiB) under a fresh
  // random nonce. `associated_data` binds the result to its place, e.g.
  // "instance/ci-prod/config/apiKey": Decrypt must be given the same string.
  // INTERNAL only if OpenSSL fails (e.g. the random generator), in which case
  // nothing is returned rather than risk a repeated nonce.
  absl::StatusOr<std::string> Encrypt(absl::string_view plaintext,
                                      absl::string_view associated_data) const;

  // Inverse of Encrypt. DATA_LOSS if `ciphertext` is not a well-formed v1 value
  // (missing prefix, bad base64, truncated). PERMISSION_DENIED if it was
  // encrypted under another key, or fails authentication: wrong key, different
  // associated data, or altered bytes. Messages never contain the plaintext or
  // the key.
  absl::StatusOr<std::string> Decrypt(absl::string_view ciphertext,
                                      absl::string_view associated_data) const;

  // First 8 hex characters of SHA-256(key): safe to log, stable for a given
  // key.
  const std::string& KeyFingerprint() const { return fingerprint_; }

  // Non-empty when the key source deserves the operator's attention (e.g. a key
  // file readable by others). Never contains key material.
  const std::string& load_warning() const { return load_warning_; }

  // True if `value` has the shape of an Encrypt result (any version), e.g. to
  // tell values stored before encryption was enabled.
  static bool LooksEncrypted(absl::string_view value);

 private:
  explicit SecretBox(const std::array<unsigned char, kKeyBytes>& key);

  std::array<unsigned char, kKeyBytes> key_;
  std::string fingerprint_;
  std::string load_warning_;
};

// The key the coordinator uses: from `key_file` when non-empty (errors are
// returned), else from environment variable `env_var` when set and non-empty,
// else std::nullopt (no key: instances with secret fields must then be refused
// with MissingSecretKeyError).
absl::StatusOr<std::optional<SecretBox>> LoadSecretKey(
    const std::string& key_file, const char* env_var = kSecretKeyEnvVar);

// FAILED_PRECONDITION for instance `instance_id`, whose config has secret
// fields, when the coordinator has no key: says how to start the coordinator
// with one.
absl::Status MissingSecretKeyError(absl::string_view instance_id);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_SECRETS_SECRET_BOX_H_
