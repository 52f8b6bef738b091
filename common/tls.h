// Transport security shared by the coordinator, the worker and the CLI: which
// addresses count as loopback (the only place plaintext is allowed without an
// explicit override), PEM files checked up front so a bad flag is named at
// start rather than as a failed handshake later, and gRPC credentials that
// re-read their files when they change (cert-manager rotation needs no
// restart).
#ifndef GRAPHMILL_COMMON_TLS_H_
#define GRAPHMILL_COMMON_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace graphmill {

// How often certificate files are checked for changes by default.
inline constexpr absl::Duration kDefaultTlsRefreshInterval = absl::Seconds(60);

// The host of "host:port", "[v6]:port", "ipv4:host:port" or "ipv6:[v6]:port"
// (gRPC targets with those schemes); empty when `address` has no host.
std::string HostOfAddress(absl::string_view address);

// True if `address` (as above) names only this machine: 127.0.0.0/8, ::1,
// ::ffff:127.x.y.z, or "localhost". "0.0.0.0", "[::]" (every interface), other
// names and other schemes (dns:///, unix:) are not loopback. A gRPC address
// list ("ipv4:127.0.0.1:7400,127.0.0.1:7401", several coordinator replicas)
// is loopback if every address in it is.
bool IsLoopbackAddress(absl::string_view address);

// For a gRPC address list ("ipv4:10.0.0.1:7400,10.0.0.2:7400": coordinator
// replicas), sets the channel's authority to the first address. gRPC would
// send the whole list, which no certificate names; with this, every
// replica's certificate is checked against the first address's host. Leaves
// `args` alone for any other target.
void SetAddressListAuthority(absl::string_view target,
                             grpc::ChannelArguments& args);

// Reads a PEM file holding at least one X.509 certificate. INVALID_ARGUMENT
// naming `flag` and `path` if it cannot be read or holds no certificate.
absl::StatusOr<std::string> ReadPemCertificates(const std::string& path,
                                                absl::string_view flag);

// Checks that `key_path` holds a PEM private key that matches the first
// certificate of `cert_path`. INVALID_ARGUMENT naming the flags and files;
// never any key material.
absl::Status CheckKeyPair(const std::string& cert_path,
                          absl::string_view cert_flag,
                          const std::string& key_path,
                          absl::string_view key_flag);

// The coordinator's TLS files.
struct ServerTlsOptions {
  // PEM certificate chain and private key of the server (both required).
  std::string cert_file;
  std::string key_file;
  // PEM CA bundle. When set, clients must present a certificate signed by it
  // (mTLS); otherwise none is asked for.
  std::string client_ca_file;
  // How often the files are checked; new connections use the new files.
  absl::Duration refresh_interval = kDefaultTlsRefreshInterval;
};

// TLS server credentials from files that are watched for changes. The files
// are checked first (see ReadPemCertificates and CheckKeyPair; flags named as
// the coordinator spells them). No AuthMetadataProcessor is set.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsServerCredentials(
    const ServerTlsOptions& options);

// How a command line spells its flags in messages: the coordinator and worker
// use --tls_ca_file, the CLI --tls-ca-file.
enum class FlagStyle { kUnderscore, kDash };

// "--tls_ca_file" or "--tls-ca-file" for `name` "tls_ca_file".
std::string FlagName(absl::string_view name, FlagStyle style);

// How a client (worker, CLI) reaches the coordinator.
struct ClientTlsOptions {
  // PEM CA bundle that signed the coordinator's certificate. Set: TLS.
  std::string ca_file;
  // The client's PEM certificate chain and key, for a coordinator that
  // requires client certificates. Both or neither; only with ca_file.
  std::string cert_file;
  std::string key_file;
  // Plaintext to a non-loopback address (the token and all data readable on
  // the network). Only without ca_file.
  bool insecure = false;
  // How often the files are checked; new connections use the new files.
  absl::Duration refresh_interval = kDefaultTlsRefreshInterval;
};

// Channel credentials for `target`: TLS when a CA is given (the server's
// certificate must be signed by it and name the host of `target`), else
// plaintext, which is allowed only to a loopback address or with `insecure`.
// INVALID_ARGUMENT, naming the flags in `style`, for a combination that is not
// allowed or a file that cannot be used.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
CoordinatorChannelCredentials(const std::string& target,
                              const ClientTlsOptions& options, FlagStyle style);

}  // namespace graphmill

#endif  // GRAPHMILL_COMMON_TLS_H_
