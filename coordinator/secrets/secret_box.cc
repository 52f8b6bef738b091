// Implementation of coordinator/secrets/secret_box.h (OpenSSL EVP AES-256-GCM).
#include "coordinator/secrets/secret_box.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/log.h"

namespace graphmill::coordinator {

absl::StatusOr<std::string> RandomHex(size_t count) {
  std::string bytes(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()),
                 static_cast<int>(count)) != 1) {
    return absl::InternalError("OpenSSL random generator failed");
  }
  return absl::BytesToHexString(bytes);
}

namespace {

constexpr char kVersion1Prefix[] = "v1:";
constexpr size_t kFingerprintHexChars = 8;
// "v1:" + fingerprint + ":": authenticated together with the caller's
// associated data.
constexpr size_t kHeaderChars = 3 + kFingerprintHexChars + 1;
// A key file holds one key; anything much larger is the wrong file.
constexpr size_t kMaxKeyFileBytes = 4096;
// Keeps lengths within OpenSSL's int arguments with room to spare.
constexpr size_t kMaxPlaintextBytes = size_t{1} << 30;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

bool IsHexDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Standard base64 with padding and nothing else (absl's decoder also skips
// whitespace and accepts missing padding, which would let altered values
// through the format check).
bool IsStrictBase64(absl::string_view s) {
  if (s.size() % 4 != 0) return false;
  size_t padding = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return false;  // data after padding
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' &&
        c != '/') {
      return false;
    }
  }
  return padding <= 2;
}

absl::Status KeyFormatError(absl::string_view source, absl::string_view found) {
  return absl::InvalidArgumentError(absl::StrCat(
      source,
      ": expected 64 hex characters or the base64 encoding of 32 bytes, ",
      found, "; create a key with: ", kMakeSecretKeyHint));
}

std::string Fingerprint(
    const std::array<unsigned char, SecretBox::kKeyBytes>& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(key.data(), key.size(), digest, &digest_len, EVP_sha256(),
                 nullptr) != 1) {
    return "????????";
  }
  const std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_len));
  return hex.substr(0, kFingerprintHexChars);
}

}  // namespace

SecretBox::SecretBox(const std::array<unsigned char, kKeyBytes>& key)
    : key_(key), fingerprint_(Fingerprint(key)) {}

SecretBox::~SecretBox() { OPENSSL_cleanse(key_.data(), key_.size()); }

absl::StatusOr<SecretBox> SecretBox::FromKeyMaterial(
    absl::string_view key_bytes) {
  if (key_bytes.size() != kKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret key must be exactly ", kKeyBytes, " bytes, got ",
                     key_bytes.size()));
  }
  std::array<unsigned char, kKeyBytes> key;
  std::copy(key_bytes.begin(), key_bytes.end(), key.begin());
  SecretBox box(key);
  OPENSSL_cleanse(key.data(), key.size());
  return box;
}

absl::StatusOr<SecretBox> SecretBox::FromKeyText(absl::string_view text,
                                                 absl::string_view source) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  std::string decoded;
  absl::Status status;
  if (trimmed.size() == 2 * kKeyBytes && IsHexDigits(trimmed)) {
    decoded = absl::HexStringToBytes(trimmed);
  } else if (trimmed.empty()) {
    return KeyFormatError(source, "got nothing");
  } else if (IsHexDigits(trimmed)) {
    return KeyFormatError(
        source, absl::StrCat("got ", trimmed.size(), " hex characters"));
  } else if (IsStrictBase64(trimmed) &&
             absl::Base64Unescape(trimmed, &decoded)) {
    if (decoded.size() != kKeyBytes) {
      status = KeyFormatError(
          source, absl::StrCat("got base64 of ", decoded.size(), " bytes"));
    }
  } else {
    return KeyFormatError(
        source, absl::StrCat("got ", trimmed.size(),
                             " characters that are neither hex nor base64"));
  }
  if (!status.ok()) {
    OPENSSL_cleanse(decoded.data(), decoded.size());
    return status;
  }
  absl::StatusOr<SecretBox> box = FromKeyMaterial(decoded);
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return box;
}

absl::StatusOr<SecretBox> SecretBox::FromKeyFile(const std::string& path) {
  const std::string source = absl::StrCat("secret key file '", path, "'");
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return absl::ErrnoToStatus(errno, absl::StrCat(source, ": cannot open"));

  struct stat info;
  std::string warning;
  if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode) &&
      (info.st_mode & 077) != 0) {
    warning = absl::StrFormat(
        "%s is accessible by group or others (mode %04o); restrict it with: "
        "chmod 600 '%s' "
        "(on Kubernetes a Secret file is group-readable under fsGroup: copy "
        "the key to a 0400 file first, as deploy/k8s's init container does)",
        source, info.st_mode & 07777, path);
  }

  std::string text(kMaxKeyFileBytes + 1, '\0');
  size_t filled = 0;
  while (filled < text.size()) {
    const ssize_t n = read(fd, text.data() + filled, text.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int read_errno = errno;
      close(fd);
      OPENSSL_cleanse(text.data(), text.size());
      return absl::ErrnoToStatus(read_errno,
                                 absl::StrCat(source, ": cannot read"));
    }
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  close(fd);

  absl::StatusOr<SecretBox> box =
      filled > kMaxKeyFileBytes
          ? KeyFormatError(source, absl::StrCat("got a file over ",
                                                kMaxKeyFileBytes, " bytes"))
          : FromKeyText(absl::string_view(text.data(), filled), source);
  OPENSSL_cleanse(text.data(), text.size());
  if (box.ok() && !warning.empty()) {
    box->load_warning_ = warning;
    LogWarn(warning);
  }
  return box;
}

absl::StatusOr<SecretBox> SecretBox::FromEnvironment(const char* var_name) {
  const char* value = std::getenv(var_name);
  if (value == nullptr || value[0] == '\0') {
    return absl::NotFoundError(absl::StrCat(
        "environment variable ", var_name,
        " is not set; set it to a secret key or start the coordinator with "
        "--secret-key-file=PATH; create a key with: ",
        kMakeSecretKeyHint));
  }
  return FromKeyText(value, absl::StrCat("environment variable ", var_name));
}

absl::StatusOr<std::string> SecretBox::Encrypt(
    absl::string_view plaintext, absl::string_view associated_data) const {
  if (plaintext.size() > kMaxPlaintextBytes ||
      associated_data.size() > kMaxPlaintextBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secret value too large to encrypt (", plaintext.size(), " bytes)"));
  }
  const std::string header = absl::StrCat(kVersion1Prefix, fingerprint_, ":");

  // nonce | ciphertext | tag, encrypted in place after the nonce.
  std::string sealed(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  unsigned char* nonce = reinterpret_cast<unsigned char*>(sealed.data());
  unsigned char* body = nonce + kNonceBytes;
  unsigned char* tag = body + plaintext.size();
  if (RAND_bytes(nonce, kNonceBytes) != 1) {
    return absl::InternalError(
        "cannot encrypt secret: OpenSSL random generator failed");
  }

  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx != nullptr &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                               nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                                nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(),
                               nonce) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(header),
                              header.size()) == 1;
  if (ok && !associated_data.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(associated_data),
                           associated_data.size()) == 1;
  }
  if (ok && !plaintext.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), body, &len, Bytes(plaintext),
                           plaintext.size()) == 1;
  }
  ok =
      ok && EVP_EncryptFinal_ex(ctx.get(), tag, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, tag) == 1;
  if (!ok)
    return absl::InternalError(
        "cannot encrypt secret: OpenSSL AES-256-GCM failed");
  return absl::StrCat(header, absl::Base64Escape(sealed));
}

absl::StatusOr<std::string> SecretBox::Decrypt(
    absl::string_view ciphertext, absl::string_view associated_data) const {
  if (!absl::StartsWith(ciphertext, kVersion1Prefix)) {
    const size_t colon = ciphertext.find(':');
    if (LooksEncrypted(ciphertext) && colon != absl::string_view::npos) {
      return absl::DataLossError(absl::StrCat(
          "secret value has unsupported format version '",
          ciphertext.substr(0, colon), "' (this coordinator reads v1)"));
    }
    return absl::DataLossError(
        "secret value is not encrypted (expected 'v1:...')");
  }
  if (ciphertext.size() < kHeaderChars || ciphertext[kHeaderChars - 1] != ':' ||
      !IsHexDigits(ciphertext.substr(3, kFingerprintHexChars))) {
    return absl::DataLossError(
        "secret value is malformed: no key fingerprint after 'v1:'");
  }
  const absl::string_view header = ciphertext.substr(0, kHeaderChars);
  const absl::string_view fingerprint =
      ciphertext.substr(3, kFingerprintHexChars);
  const absl::string_view encoded = ciphertext.substr(kHeaderChars);

  std::string sealed;
  if (!IsStrictBase64(encoded) || !absl::Base64Unescape(encoded, &sealed)) {
    return absl::DataLossError(
        "secret value is malformed: its body is not valid base64");
  }
  if (sealed.size() < kNonceBytes + kTagBytes) {
    return absl::DataLossError(absl::StrCat(
        "secret value is truncated: ", sealed.size(), " bytes, at least ",
        kNonceBytes + kTagBytes, " expected"));
  }
  if (fingerprint != fingerprint_) {
    return absl::PermissionDeniedError(
        absl::StrCat("secret value was encrypted with key ", fingerprint,
                     ", but this coordinator's key is ", fingerprint_,
                     "; start it with the key the value was written with"));
  }

  const size_t body_size = sealed.size() - kNonceBytes - kTagBytes;
  const unsigned char* nonce = Bytes(sealed);
  const unsigned char* body = nonce + kNonceBytes;
  // OpenSSL's GET/SET_TAG takes a non-const pointer.
  unsigned char tag[kTagBytes];
  std::copy(body + body_size, body + body_size + kTagBytes, tag);

  std::string plaintext(body_size, '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(plaintext.data());
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx != nullptr &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                               nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                                nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(),
                               nonce) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(header),
                              header.size()) == 1;
  if (ok && !associated_data.empty()) {
    ok = EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(associated_data),
                           associated_data.size()) == 1;
  }
  if (ok && body_size > 0) {
    ok = EVP_DecryptUpdate(ctx.get(), out, &len, body, body_size) == 1;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                                 tag) == 1;
  // Final checks the tag; until it passes, `plaintext` holds unauthenticated
  // bytes.
  unsigned char final_block[16];
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), final_block, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return absl::PermissionDeniedError(absl::StrCat(
        "secret value failed authentication under key ", fingerprint_,
        ": it was altered, or it was encrypted for another instance or field"));
  }
  return plaintext;
}

bool SecretBox::LooksEncrypted(absl::string_view value) {
  // "v<digits>:" followed by something.
  if (value.size() < 4 || value[0] != 'v') return false;
  size_t i = 1;
  while (i < value.size() &&
         absl::ascii_isdigit(static_cast<unsigned char>(value[i])))
    ++i;
  return i > 1 && i + 1 < value.size() && value[i] == ':';
}

absl::StatusOr<std::optional<SecretBox>> LoadSecretKey(
    const std::string& key_file, const char* env_var) {
  if (!key_file.empty()) {
    absl::StatusOr<SecretBox> box = SecretBox::FromKeyFile(key_file);
    if (!box.ok()) return box.status();
    return std::optional<SecretBox>(*std::move(box));
  }
  const char* value = std::getenv(env_var);
  if (value == nullptr || value[0] == '\0') return std::optional<SecretBox>();
  absl::StatusOr<SecretBox> box = SecretBox::FromEnvironment(env_var);
  if (!box.ok()) return box.status();
  return std::optional<SecretBox>(*std::move(box));
}

absl::Status MissingSecretKeyError(absl::string_view instance_id) {
  return absl::FailedPreconditionError(absl::StrCat(
      "instance '", instance_id,
      "' has secret config fields, but this coordinator has no secret key to "
      "encrypt them "
      "with; start it with --secret-key-file=PATH or set ",
      kSecretKeyEnvVar, " (create a key with: ", kMakeSecretKeyHint, ")"));
}

}  // namespace graphmill::coordinator
