// Tests for SecretBox: round trips, tamper detection, key parsing and loading.
#include "coordinator/secrets/secret_box.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Bytes 0x00..0x1f; its SHA-256 starts with 630dcd29 (checked with Python's
// hashlib).
std::string TestKeyBytes() {
  std::string key(32, '\0');
  for (int i = 0; i < 32; ++i) key[i] = static_cast<char>(i);
  return key;
}
constexpr char kTestKeyHex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kTestKeyBase64[] =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kTestKeyFingerprint[] = "630dcd29";
constexpr char kPlaintext[] = "hunter2-circle-token";
constexpr char kPlace[] = "instance/ci-prod/config/apiKey";

SecretBox TestBox() { return *SecretBox::FromKeyMaterial(TestKeyBytes()); }
SecretBox OtherBox() {
  return *SecretBox::FromKeyMaterial(std::string(32, '\xff'));
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

std::string WriteFile(const std::string& name, const std::string& content,
                      mode_t mode) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  chmod(path.c_str(), mode);
  return path;
}

// Splits an Encrypt result into its header and decoded nonce|ciphertext|tag.
struct Parts {
  std::string header;
  std::string sealed;
};
Parts Split(const std::string& value) {
  Parts parts;
  parts.header = value.substr(0, 12);
  EXPECT_TRUE(absl::Base64Unescape(value.substr(12), &parts.sealed));
  return parts;
}
std::string Join(const Parts& parts) {
  return absl::StrCat(parts.header, absl::Base64Escape(parts.sealed));
}

TEST(SecretBoxTest, RoundTripsEmptyOneByteAndOneMegabyte) {
  const SecretBox box = TestBox();
  for (const std::string& plaintext :
       {std::string(), std::string("x"), std::string(1, '\0'),
        RandomBytes(1 << 20, 7)}) {
    absl::StatusOr<std::string> sealed = box.Encrypt(plaintext, kPlace);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    absl::StatusOr<std::string> opened = box.Decrypt(*sealed, kPlace);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST(SecretBoxTest, RoundTripsWithEmptyAndBinaryAssociatedData) {
  const SecretBox box = TestBox();
  for (const std::string& ad : {std::string(), std::string("a\0b", 3)}) {
    absl::StatusOr<std::string> sealed = box.Encrypt(kPlaintext, ad);
    ASSERT_TRUE(sealed.ok());
    EXPECT_EQ(*box.Decrypt(*sealed, ad), kPlaintext);
  }
}

TEST(SecretBoxTest, FormatIsVersionFingerprintAndBase64OfNonceCiphertextTag) {
  const std::string sealed = *TestBox().Encrypt(kPlaintext, kPlace);
  EXPECT_EQ(sealed.substr(0, 12), "v1:630dcd29:");
  const Parts parts = Split(sealed);
  EXPECT_EQ(parts.sealed.size(), 12 + std::string(kPlaintext).size() + 16);
  EXPECT_THAT(sealed, Not(HasSubstr(kPlaintext)));
  EXPECT_TRUE(SecretBox::LooksEncrypted(sealed));
}

// Vector made independently with Python's cryptography AESGCM: key 0x00..0x1f,
// nonce 0x64..0x6f, associated data "v1:630dcd29:" + kPlace.
TEST(SecretBoxTest, DecryptsValueMadeByAnotherAesGcmImplementation) {
  const std::string external =
      "v1:630dcd29:ZGVmZ2hpamtsbW5vK3KsBRWMe+pRCTqG91RYzqZ6Z5YY699HuIEh+"
      "BU0bfc=";
  absl::StatusOr<std::string> opened = TestBox().Decrypt(external, kPlace);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "circle-token-123");
}

TEST(SecretBoxTest, TwoEncryptionsOfTheSameValueDiffer) {
  const SecretBox box = TestBox();
  const std::string a = *box.Encrypt(kPlaintext, kPlace);
  const std::string b = *box.Encrypt(kPlaintext, kPlace);
  EXPECT_NE(a, b);
  EXPECT_NE(Split(a).sealed.substr(0, 12),
            Split(b).sealed.substr(0, 12));  // nonces
  EXPECT_EQ(*box.Decrypt(a, kPlace), *box.Decrypt(b, kPlace));
}

TEST(SecretBoxTest, WrongKeyIsPermissionDeniedNamingBothFingerprints) {
  const std::string sealed = *TestBox().Encrypt(kPlaintext, kPlace);
  const SecretBox other = OtherBox();
  absl::StatusOr<std::string> opened = other.Decrypt(sealed, kPlace);
  ASSERT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(opened.status().message(),
            "secret value was encrypted with key 630dcd29, but this "
            "coordinator's key is "
            "af961376; start it with the key the value was written with");
}

TEST(SecretBoxTest, WrongKeyFailsEvenWithFingerprintRewritten) {
  Parts parts = Split(*TestBox().Encrypt(kPlaintext, kPlace));
  parts.header = "v1:af961376:";
  absl::StatusOr<std::string> opened = OtherBox().Decrypt(Join(parts), kPlace);
  ASSERT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(opened.status().message(),
            "secret value failed authentication under key af961376: it was "
            "altered, or it was "
            "encrypted for another instance or field");
}

TEST(SecretBoxTest, ValueMovedToAnotherPlaceFails) {
  const SecretBox box = TestBox();
  const std::string sealed = *box.Encrypt(kPlaintext, kPlace);
  for (const char* other_place : {"instance/ci-staging/config/apiKey",
                                  "instance/ci-prod/config/login", ""}) {
    absl::StatusOr<std::string> opened = box.Decrypt(sealed, other_place);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied)
        << other_place;
    EXPECT_THAT(opened.status().message(), HasSubstr("failed authentication"));
    EXPECT_THAT(opened.status().message(), Not(HasSubstr(kPlaintext)));
  }
}

TEST(SecretBoxTest, FlippingAnyBitOfNonceCiphertextOrTagFails) {
  const SecretBox box = TestBox();
  const Parts original = Split(*box.Encrypt(kPlaintext, kPlace));
  ASSERT_EQ(original.sealed.size(), 12 + 20 + 16u);
  // Every byte position: 0-11 nonce, 12-31 ciphertext, 32-47 tag.
  for (size_t i = 0; i < original.sealed.size(); ++i) {
    for (int bit : {0, 7}) {
      Parts tampered = original;
      tampered.sealed[i] = static_cast<char>(tampered.sealed[i] ^ (1 << bit));
      absl::StatusOr<std::string> opened = box.Decrypt(Join(tampered), kPlace);
      ASSERT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied)
          << "byte " << i << " bit " << bit;
      EXPECT_THAT(opened.status().message(), Not(HasSubstr(kPlaintext)));
    }
  }
  EXPECT_EQ(*box.Decrypt(Join(original), kPlace), kPlaintext);
}

TEST(SecretBoxTest, TamperedHeaderFails) {
  const SecretBox box = TestBox();
  const std::string sealed = *box.Encrypt(kPlaintext, kPlace);

  std::string version = sealed;
  version[1] = '2';
  EXPECT_EQ(box.Decrypt(version, kPlace).status(),
            absl::DataLossError("secret value has unsupported format version "
                                "'v2' (this coordinator reads v1)"));

  std::string fingerprint = sealed;
  fingerprint[3] = fingerprint[3] == '6' ? '7' : '6';
  EXPECT_EQ(box.Decrypt(fingerprint, kPlace).status().code(),
            absl::StatusCode::kPermissionDenied);

  std::string separator = sealed;
  separator[11] = '-';
  EXPECT_EQ(box.Decrypt(separator, kPlace).status(),
            absl::DataLossError(
                "secret value is malformed: no key fingerprint after 'v1:'"));
}

TEST(SecretBoxTest, TruncatedOrMalformedValuesAreDataLoss) {
  const SecretBox box = TestBox();
  const std::string sealed = *box.Encrypt(kPlaintext, kPlace);
  const Parts parts = Split(sealed);

  EXPECT_EQ(
      box.Decrypt("", kPlace).status(),
      absl::DataLossError("secret value is not encrypted (expected 'v1:...')"));
  EXPECT_EQ(
      box.Decrypt(kPlaintext, kPlace).status(),
      absl::DataLossError("secret value is not encrypted (expected 'v1:...')"));
  EXPECT_EQ(box.Decrypt("v1:", kPlace).status(),
            absl::DataLossError(
                "secret value is malformed: no key fingerprint after 'v1:'"));
  // Cut inside a base64 quantum: no longer base64.
  EXPECT_EQ(box.Decrypt(sealed.substr(0, sealed.size() - 1), kPlace).status(),
            absl::DataLossError(
                "secret value is malformed: its body is not valid base64"));
  // Whitespace would be skipped by a lenient decoder; not here.
  EXPECT_EQ(box.Decrypt(absl::StrCat(sealed, "\n"), kPlace).status().code(),
            absl::StatusCode::kDataLoss);
  // Shorter than nonce + tag.
  Parts short_parts = parts;
  short_parts.sealed.resize(27);
  EXPECT_EQ(box.Decrypt(Join(short_parts), kPlace).status(),
            absl::DataLossError(
                "secret value is truncated: 27 bytes, at least 28 expected"));
  // Long enough to parse but missing bytes: authentication catches it.
  Parts cut = parts;
  cut.sealed.resize(cut.sealed.size() - 3);
  EXPECT_EQ(box.Decrypt(Join(cut), kPlace).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(SecretBoxTest, ParsesHexAndBase64KeysWithTrailingNewline) {
  for (const std::string& text :
       {std::string(kTestKeyHex), absl::StrCat(kTestKeyHex, "\n"),
        absl::AsciiStrToUpper(kTestKeyHex), std::string(kTestKeyBase64),
        absl::StrCat(kTestKeyBase64, "\r\n")}) {
    absl::StatusOr<SecretBox> box = SecretBox::FromKeyText(text, "test key");
    ASSERT_TRUE(box.ok()) << box.status();
    EXPECT_EQ(box->KeyFingerprint(), kTestKeyFingerprint) << text;
  }
}

TEST(SecretBoxTest, KeyFromTextDecryptsWhatRawKeyEncrypted) {
  const std::string sealed = *TestBox().Encrypt(kPlaintext, kPlace);
  EXPECT_EQ(
      *SecretBox::FromKeyText(kTestKeyBase64, "k")->Decrypt(sealed, kPlace),
      kPlaintext);
}

TEST(SecretBoxTest, RejectsMalformedKeysWithExactMessages) {
  const std::string expected =
      "expected 64 hex characters or the base64 encoding of 32 bytes";
  const std::string hint =
      "; create a key with: head -c 32 /dev/urandom | base64 > key && chmod "
      "600 key";
  struct Case {
    std::string text;
    std::string found;
  };
  const std::vector<Case> cases = {
      {"", "got nothing"},
      {"\n", "got nothing"},
      {std::string(kTestKeyHex).substr(2), "got 62 hex characters"},
      {absl::StrCat(kTestKeyHex, "00"), "got 66 hex characters"},
      {absl::Base64Escape(std::string(16, 'k')), "got base64 of 16 bytes"},
      {absl::Base64Escape(std::string(33, 'k')), "got base64 of 33 bytes"},
      {"correct horse battery staple",
       "got 28 characters that are neither hex nor base64"},
      // Base64 without padding is not what `base64` writes; refused rather than
      // guessed.
      {std::string(kTestKeyBase64).substr(0, 43),
       "got 43 characters that are neither hex nor base64"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SecretBox> box = SecretBox::FromKeyText(c.text, "test key");
    EXPECT_EQ(box.status(), absl::InvalidArgumentError(absl::StrCat(
                                "test key: ", expected, ", ", c.found, hint)))
        << c.text;
  }
}

TEST(SecretBoxTest, RawKeyMaterialMustBe32Bytes) {
  EXPECT_EQ(SecretBox::FromKeyMaterial(std::string(31, 'k')).status(),
            absl::InvalidArgumentError(
                "secret key must be exactly 32 bytes, got 31"));
  EXPECT_TRUE(SecretBox::FromKeyMaterial(std::string(32, 'k')).ok());
}

TEST(SecretBoxTest, FingerprintIsStableAndDistinguishesKeys) {
  EXPECT_EQ(TestBox().KeyFingerprint(), kTestKeyFingerprint);
  EXPECT_EQ(TestBox().KeyFingerprint(), TestBox().KeyFingerprint());
  EXPECT_EQ(OtherBox().KeyFingerprint(), "af961376");
}

TEST(SecretBoxTest, KeyFileWithPrivateModeLoadsWithoutWarning) {
  const std::string path =
      WriteFile("private.key", absl::StrCat(kTestKeyBase64, "\n"), 0600);
  absl::StatusOr<SecretBox> box = SecretBox::FromKeyFile(path);
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_EQ(box->KeyFingerprint(), kTestKeyFingerprint);
  EXPECT_EQ(box->load_warning(), "");
}

TEST(SecretBoxTest, KeyFileReadableByOthersLoadsWithWarning) {
  const std::string path = WriteFile("shared.key", kTestKeyHex, 0644);
  absl::StatusOr<SecretBox> box = SecretBox::FromKeyFile(path);
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_EQ(
      box->load_warning(),
      absl::StrCat(
          "secret key file '", path,
          "' is accessible by group or others (mode 0644); restrict it with: "
          "chmod 600 '",
          path,
          "' (on Kubernetes a Secret file is group-readable under fsGroup: "
          "copy the key to a 0400 file first, as deploy/k8s's init container "
          "does)"));
  EXPECT_THAT(box->load_warning(), Not(HasSubstr(kTestKeyHex)));
}

TEST(SecretBoxTest, MissingKeyFileIsNotFound) {
  EXPECT_EQ(SecretBox::FromKeyFile("/nonexistent/graphmill.key").status(),
            absl::NotFoundError(
                "secret key file '/nonexistent/graphmill.key': cannot open: No "
                "such file or directory"));
}

TEST(SecretBoxTest, MalformedKeyFileNamesThePath) {
  const std::string path = WriteFile("bad.key", "not a key\n", 0600);
  EXPECT_EQ(SecretBox::FromKeyFile(path).status(),
            absl::InvalidArgumentError(
                absl::StrCat("secret key file '", path,
                             "': expected 64 hex characters or the base64 "
                             "encoding of 32 bytes, got 9 "
                             "characters that are neither hex nor base64; "
                             "create a key with: head -c 32 "
                             "/dev/urandom | base64 > key && chmod 600 key")));
}

TEST(SecretBoxTest, HugeKeyFileIsRefused) {
  const std::string path = WriteFile("huge.key", std::string(10000, 'a'), 0600);
  absl::StatusOr<SecretBox> box = SecretBox::FromKeyFile(path);
  EXPECT_EQ(box.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(box.status().message(), HasSubstr("got a file over 4096 bytes"));
}

TEST(SecretBoxTest, KeyFromEnvironment) {
  const char* var = "GRAPHMILL_TEST_KEY_ENV";
  unsetenv(var);
  EXPECT_EQ(
      SecretBox::FromEnvironment(var).status(),
      absl::NotFoundError("environment variable GRAPHMILL_TEST_KEY_ENV is not "
                          "set; set it to a secret key or "
                          "start the coordinator with --secret-key-file=PATH; "
                          "create a key with: head -c "
                          "32 /dev/urandom | base64 > key && chmod 600 key"));
  setenv(var, "", 1);
  EXPECT_EQ(SecretBox::FromEnvironment(var).status().code(),
            absl::StatusCode::kNotFound);
  setenv(var, "short", 1);
  EXPECT_THAT(
      SecretBox::FromEnvironment(var).status().message(),
      HasSubstr(
          "environment variable GRAPHMILL_TEST_KEY_ENV: expected 64 hex"));
  setenv(var, absl::StrCat(kTestKeyHex, "\n").c_str(), 1);
  absl::StatusOr<SecretBox> box = SecretBox::FromEnvironment(var);
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_EQ(box->KeyFingerprint(), kTestKeyFingerprint);
  unsetenv(var);
}

TEST(SecretBoxTest, DefaultEnvironmentVariableName) {
  EXPECT_STREQ(kSecretKeyEnvVar, "GRAPHMILL_SECRET_KEY");
}

TEST(LoadSecretKeyTest, NoFileAndNoVariableMeansNoKey) {
  const char* var = "GRAPHMILL_TEST_KEY_LOAD_NONE";
  unsetenv(var);
  absl::StatusOr<std::optional<SecretBox>> key = LoadSecretKey("", var);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_FALSE(key->has_value());
}

TEST(LoadSecretKeyTest, FileWinsOverVariable) {
  const char* var = "GRAPHMILL_TEST_KEY_LOAD_BOTH";
  setenv(var, std::string(64, 'f').c_str(), 1);
  const std::string path = WriteFile("load.key", kTestKeyBase64, 0600);
  absl::StatusOr<std::optional<SecretBox>> key = LoadSecretKey(path, var);
  ASSERT_TRUE(key.ok() && key->has_value());
  EXPECT_EQ((*key)->KeyFingerprint(), kTestKeyFingerprint);

  absl::StatusOr<std::optional<SecretBox>> from_env = LoadSecretKey("", var);
  ASSERT_TRUE(from_env.ok() && from_env->has_value());
  EXPECT_NE((*from_env)->KeyFingerprint(), kTestKeyFingerprint);
  unsetenv(var);
}

TEST(LoadSecretKeyTest, BadFileOrVariableIsAnError) {
  const char* var = "GRAPHMILL_TEST_KEY_LOAD_BAD";
  EXPECT_EQ(LoadSecretKey("/nonexistent/k", var).status().code(),
            absl::StatusCode::kNotFound);
  setenv(var, "garbage", 1);
  EXPECT_EQ(LoadSecretKey("", var).status().code(),
            absl::StatusCode::kInvalidArgument);
  unsetenv(var);
}

TEST(MissingSecretKeyErrorTest, SaysHowToProvideAKey) {
  EXPECT_EQ(MissingSecretKeyError("ci-prod"),
            absl::FailedPreconditionError(
                "instance 'ci-prod' has secret config fields, but this "
                "coordinator has no secret "
                "key to encrypt them with; start it with "
                "--secret-key-file=PATH or set "
                "GRAPHMILL_SECRET_KEY (create a key with: head -c 32 "
                "/dev/urandom | base64 > key "
                "&& chmod 600 key)"));
}

TEST(SecretBoxTest, LooksEncrypted) {
  EXPECT_TRUE(SecretBox::LooksEncrypted("v1:630dcd29:AAAA"));
  EXPECT_TRUE(SecretBox::LooksEncrypted("v12:x"));
  EXPECT_FALSE(SecretBox::LooksEncrypted("v1:"));
  EXPECT_FALSE(SecretBox::LooksEncrypted("vx:abc"));
  EXPECT_FALSE(SecretBox::LooksEncrypted("circle-token"));
  EXPECT_FALSE(SecretBox::LooksEncrypted(""));
}

TEST(SecretBoxTest, ConcurrentUseFromManyThreads) {
  const SecretBox box = TestBox();
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&box, &failures, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string plaintext = absl::StrCat("token-", t, "-", i);
        const std::string place = absl::StrCat("instance/i", t, "/config/f", i);
        absl::StatusOr<std::string> sealed = box.Encrypt(plaintext, place);
        if (!sealed.ok() ||
            box.Decrypt(*sealed, place).value_or("") != plaintext) {
          ++failures[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST(SecretBoxTest, CopiesUseTheSameKey) {
  const SecretBox box = TestBox();
  SecretBox copy = OtherBox();
  copy = box;
  EXPECT_EQ(*copy.Decrypt(*box.Encrypt(kPlaintext, kPlace), kPlace),
            kPlaintext);
}

}  // namespace
}  // namespace graphmill::coordinator
