// The coordinator's transport: TLS (optionally requiring client
// certificates) when given a certificate and key, plaintext only on loopback
// unless explicitly overridden, and the Authorizer's check on every call in
// every case.
#ifndef GRAPHMILL_COORDINATOR_AUTH_SERVER_SECURITY_H_
#define GRAPHMILL_COORDINATOR_AUTH_SERVER_SECURITY_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/tls.h"
#include "coordinator/auth/authorizer.h"

namespace graphmill::coordinator {

struct ServerSecurityOptions {
  // --listen.
  std::string listen;
  // --tls_cert_file, --tls_key_file, --tls_client_ca_file; no TLS when the
  // certificate and key are empty.
  ServerTlsOptions tls;
  // --insecure_plaintext: serve plaintext on a non-loopback address.
  bool insecure_plaintext = false;
};

struct ServerSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // For the start-up log: "TLS", "TLS, client certificates required",
  // "plaintext, loopback only" or "PLAINTEXT (--insecure_plaintext)".
  std::string description;
  // Logged as a warning at every start when not empty.
  std::string warning;
};

// Credentials for `options.listen`, each with `authorizer`'s check:
//  - TLS files given: TLS server credentials that reload the files
//    (common/tls.h); client certificates required and verified against
//    --tls_client_ca_file when it is set.
//  - no TLS, loopback --listen: grpc::experimental::LocalServerCredentials
//    (LOCAL_TCP), which also refuses connections from non-loopback peers.
//  - no TLS, another address: refused (INVALID_ARGUMENT naming --tls_cert_file,
//    --tls_key_file and --insecure_plaintext) unless insecure_plaintext, which
//    gives InsecureServerCredentialsWithAuth and a warning.
// INVALID_ARGUMENT naming the flags for an inconsistent combination or a TLS
// file that cannot be used.
absl::StatusOr<ServerSecurity> MakeServerSecurity(
    const ServerSecurityOptions& options, const Authorizer* authorizer);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_AUTH_SERVER_SECURITY_H_
