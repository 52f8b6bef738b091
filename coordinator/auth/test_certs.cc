// Implementation of coordinator/auth/test_certs.h.
#include "coordinator/auth/test_certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace graphmill::testing {
namespace {

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

absl::Status OpenSslError(const std::string& what) {
  char buffer[256] = {};
  ERR_error_string_n(ERR_get_error(), buffer, sizeof(buffer));
  ERR_clear_error();
  return absl::InternalError(absl::StrCat(what, ": ", buffer));
}

KeyPtr NewKey() { return KeyPtr(EVP_EC_gen("P-256")); }

absl::Status AddExtension(X509* cert, X509* issuer, int nid,
                          const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension =
      X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) return OpenSslError("extension " + value);
  const int added = X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  if (added != 1) return OpenSslError("adding extension " + value);
  return absl::OkStatus();
}

// A certificate for `key` named `common_name`, signed by `issuer_key` (and
// issued by `issuer`, or self-issued when null).
absl::StatusOr<X509Ptr> NewCertificate(
    const std::string& common_name, EVP_PKEY* key, X509* issuer,
    EVP_PKEY* issuer_key,
    const std::vector<std::pair<int, std::string>>& extensions) {
  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslError("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return OpenSslError("serial");
  serial[0] &= 0x7f;
  BIGNUM* number = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert.get()));
  BN_free(number);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(
      cert.get(), issuer == nullptr ? name : X509_get_subject_name(issuer));
  X509_set_pubkey(cert.get(), key);
  X509* extension_issuer = issuer == nullptr ? cert.get() : issuer;
  for (const auto& [nid, value] : extensions) {
    if (absl::Status status =
            AddExtension(cert.get(), extension_issuer, nid, value);
        !status.ok()) {
      return status;
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    return OpenSslError("X509_sign");
  }
  return cert;
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return OpenSslError("PEM key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

struct TestCa::State {
  KeyPtr key;
  X509Ptr cert;
};

TestCa::TestCa(std::unique_ptr<State> state) : state_(std::move(state)) {}
TestCa::TestCa(TestCa&&) noexcept = default;
TestCa& TestCa::operator=(TestCa&&) noexcept = default;
TestCa::~TestCa() = default;

absl::StatusOr<TestCa> TestCa::Create(const std::string& common_name) {
  auto state = std::make_unique<State>();
  state->key = NewKey();
  if (state->key == nullptr) return OpenSslError("EC key");
  absl::StatusOr<X509Ptr> cert =
      NewCertificate(common_name, state->key.get(), nullptr, state->key.get(),
                     {{NID_basic_constraints, "critical,CA:TRUE"},
                      {NID_key_usage, "critical,keyCertSign,cRLSign"},
                      {NID_subject_key_identifier, "hash"}});
  if (!cert.ok()) return cert.status();
  state->cert = *std::move(cert);
  absl::StatusOr<std::string> pem = CertPem(state->cert.get());
  if (!pem.ok()) return pem.status();
  TestCa ca(std::move(state));
  ca.pem_.cert = *std::move(pem);
  return ca;
}

absl::StatusOr<PemPair> TestCa::Issue(const std::string& common_name,
                                      const std::vector<std::string>& alt_names,
                                      bool client) const {
  KeyPtr key = NewKey();
  if (key == nullptr) return OpenSslError("EC key");
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, client ? "clientAuth" : "serverAuth"},
      {NID_authority_key_identifier, "keyid"},
  };
  if (!alt_names.empty()) {
    extensions.push_back({NID_subject_alt_name, absl::StrJoin(alt_names, ",")});
  }
  absl::StatusOr<X509Ptr> cert =
      NewCertificate(common_name, key.get(), state_->cert.get(),
                     state_->key.get(), extensions);
  if (!cert.ok()) return cert.status();
  PemPair pair;
  absl::StatusOr<std::string> cert_pem = CertPem(cert->get());
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = KeyPem(key.get());
  if (!key_pem.ok()) return key_pem.status();
  pair.cert = *std::move(cert_pem);
  pair.key = *std::move(key_pem);
  return pair;
}

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& content) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) return absl::InternalError("cannot write " + temporary);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::InternalError("cannot rename to " + path);
  }
  return absl::OkStatus();
}

}  // namespace graphmill::testing
