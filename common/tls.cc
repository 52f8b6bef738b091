// Implementation of common/tls.h.
#include "common/tls.h"

#include <arpa/inet.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace graphmill {
namespace {

// Certificate bundles and keys are far smaller.
constexpr size_t kMaxPemFileBytes = 1 << 20;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

// Never prompt for a passphrase (OpenSSL's default would read the terminal):
// an encrypted key simply fails to load.
int NoPassphrase(char*, int, int, void*) { return -1; }

absl::StatusOr<std::string> ReadSmallFile(const std::string& path,
                                          absl::string_view flag) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " '", path, "': cannot read: ", std::strerror(errno)));
  }
  std::string content(kMaxPemFileBytes + 1, '\0');
  file.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (file.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " '", path, "': cannot read"));
  }
  content.resize(static_cast<size_t>(file.gcount()));
  if (content.size() > kMaxPemFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " '", path, "': larger than ", kMaxPemFileBytes, " bytes"));
  }
  return content;
}

BioPtr MemoryBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// The first certificate in `pem`, or null.
X509Ptr FirstCertificate(const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return nullptr;
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  return cert;
}

bool IsLoopbackHost(std::string host) {
  absl::AsciiStrToLower(&host);
  if (host == "localhost" || host == "localhost.") return true;
  unsigned char v4[4];
  if (inet_pton(AF_INET, host.c_str(), v4) == 1) return v4[0] == 127;
  unsigned char v6[16];
  if (inet_pton(AF_INET6, host.c_str(), v6) == 1) {
    static constexpr unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 0, 1};
    static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0,    0,
                                                        0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(v6, v6 + 16, kLoopback)) return true;
    return std::equal(v6, v6 + 12, kMappedPrefix) && v6[12] == 127;
  }
  return false;
}

}  // namespace

std::string HostOfAddress(absl::string_view address) {
  if (!absl::ConsumePrefix(&address, "ipv4:")) {
    absl::ConsumePrefix(&address, "ipv6:");
  }
  // Any other scheme ("dns:", "unix:", "xds:") or a path: no host we can judge.
  if (absl::StrContains(address, "/")) return "";
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos) return "";
    const absl::string_view rest = address.substr(close + 1);
    if (!rest.empty() && !absl::StartsWith(rest, ":")) return "";
    return std::string(address.substr(1, close - 1));
  }
  const size_t first_colon = address.find(':');
  if (first_colon == absl::string_view::npos) return std::string(address);
  // More than one colon without brackets: a bare IPv6 address.
  if (address.find(':', first_colon + 1) != absl::string_view::npos) {
    return std::string(address);
  }
  return std::string(address.substr(0, first_colon));
}

bool IsLoopbackAddress(absl::string_view address) {
  for (absl::string_view scheme : {"ipv4:", "ipv6:"}) {
    if (!absl::StartsWith(address, scheme) ||
        !absl::StrContains(address, ',')) {
      continue;
    }
    for (absl::string_view one :
         absl::StrSplit(address.substr(scheme.size()), ',')) {
      if (!IsLoopbackAddress(absl::StrCat(scheme, one))) return false;
    }
    return true;
  }
  const std::string host = HostOfAddress(address);
  return !host.empty() && IsLoopbackHost(host);
}

void SetAddressListAuthority(absl::string_view target,
                             grpc::ChannelArguments& args) {
  for (absl::string_view scheme : {"ipv4:", "ipv6:"}) {
    if (!absl::StartsWith(target, scheme)) continue;
    const absl::string_view list = target.substr(scheme.size());
    const size_t comma = list.find(',');
    if (comma == absl::string_view::npos) return;
    args.SetString(GRPC_ARG_DEFAULT_AUTHORITY,
                   std::string(list.substr(0, comma)));
    return;
  }
}

absl::StatusOr<std::string> ReadPemCertificates(const std::string& path,
                                                absl::string_view flag) {
  absl::StatusOr<std::string> pem = ReadSmallFile(path, flag);
  if (!pem.ok()) return pem.status();
  if (FirstCertificate(*pem) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " '", path, "': no PEM certificate in it"));
  }
  return pem;
}

absl::Status CheckKeyPair(const std::string& cert_path,
                          absl::string_view cert_flag,
                          const std::string& key_path,
                          absl::string_view key_flag) {
  absl::StatusOr<std::string> cert_pem =
      ReadPemCertificates(cert_path, cert_flag);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadSmallFile(key_path, key_flag);
  if (!key_pem.ok()) return key_pem.status();
  BioPtr bio = MemoryBio(*key_pem);
  KeyPtr key(bio == nullptr ? nullptr
                            : PEM_read_bio_PrivateKey(bio.get(), nullptr,
                                                      NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        key_flag, " '", key_path, "': no unencrypted PEM private key in it"));
  }
  X509Ptr cert = FirstCertificate(*cert_pem);
  const bool match = X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  if (!match) {
    return absl::InvalidArgumentError(absl::StrCat(
        key_flag, " '", key_path, "' is not the key of the certificate in ",
        cert_flag, " '", cert_path, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentials(
    const ServerTlsOptions& options) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls_cert_file and --tls_key_file");
  }
  if (absl::Status status = CheckKeyPair(options.cert_file, "--tls_cert_file",
                                         options.key_file, "--tls_key_file");
      !status.ok()) {
    return status;
  }
  if (!options.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadPemCertificates(options.client_ca_file, "--tls_client_ca_file");
    if (!ca.ok()) return ca.status();
  }
  const auto refresh_seconds = static_cast<unsigned int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(options.refresh_interval)));
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          options.key_file, options.cert_file, options.client_ca_file,
          refresh_seconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.client_ca_file.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::TlsServerCredentials(tls);
  if (credentials == nullptr) {
    return absl::InternalError("gRPC could not create TLS server credentials");
  }
  return credentials;
}

std::string FlagName(absl::string_view name, FlagStyle style) {
  return absl::StrCat("--", style == FlagStyle::kDash
                                ? absl::StrReplaceAll(name, {{"_", "-"}})
                                : std::string(name));
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
CoordinatorChannelCredentials(const std::string& target,
                              const ClientTlsOptions& options,
                              FlagStyle style) {
  const std::string ca_flag = FlagName("tls_ca_file", style);
  const std::string cert_flag = FlagName("tls_cert_file", style);
  const std::string key_flag = FlagName("tls_key_file", style);
  const bool client_cert =
      !options.cert_file.empty() || !options.key_file.empty();
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert_flag, " and ", key_flag, " go together"));
  }
  if (options.ca_file.empty()) {
    if (client_cert) {
      return absl::InvalidArgumentError(
          absl::StrCat(cert_flag, " and ", key_flag, " need ", ca_flag,
                       " (the CA that signed the coordinator's certificate)"));
    }
    if (!options.insecure && !IsLoopbackAddress(target)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "coordinator address '", target,
          "' is not a loopback address and no CA is given: plaintext would "
          "expose the token and all data on the network; give ",
          ca_flag,
          " (the CA that signed the coordinator's certificate), or --insecure "
          "to send plaintext anyway"));
    }
    return grpc::InsecureChannelCredentials();
  }
  if (options.insecure) {
    return absl::InvalidArgumentError(
        absl::StrCat("--insecure and ", ca_flag, " cannot be used together"));
  }
  absl::StatusOr<std::string> ca =
      ReadPemCertificates(options.ca_file, ca_flag);
  if (!ca.ok()) return ca.status();
  if (client_cert) {
    if (absl::Status status = CheckKeyPair(options.cert_file, cert_flag,
                                           options.key_file, key_flag);
        !status.ok()) {
      return status;
    }
  }
  const auto refresh_seconds = static_cast<unsigned int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(options.refresh_interval)));
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (client_cert) {
    provider =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            options.key_file, options.cert_file, options.ca_file,
            refresh_seconds);
  } else {
    provider =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            options.ca_file, refresh_seconds);
  }
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_certificate_provider(provider);
  tls.watch_root_certs();
  if (client_cert) tls.watch_identity_key_cert_pairs();
  // The coordinator's certificate must name the host the client dials.
  tls.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::experimental::TlsCredentials(tls);
  if (credentials == nullptr) {
    return absl::InternalError("gRPC could not create TLS channel credentials");
  }
  return credentials;
}

}  // namespace graphmill
