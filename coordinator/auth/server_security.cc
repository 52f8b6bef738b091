// Implementation of coordinator/auth/server_security.h.
#include "coordinator/auth/server_security.h"

#include <grpc/grpc_security_constants.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace graphmill::coordinator {

absl::StatusOr<ServerSecurity> MakeServerSecurity(
    const ServerSecurityOptions& options, const Authorizer* authorizer) {
  const ServerTlsOptions& tls = options.tls;
  const bool has_cert = !tls.cert_file.empty();
  const bool has_key = !tls.key_file.empty();
  if (has_cert != has_key) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file go together (the server's PEM "
        "certificate chain and its private key)");
  }
  if (!has_cert && !tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
  }
  ServerSecurity security;
  if (has_cert) {
    if (options.insecure_plaintext) {
      return absl::InvalidArgumentError(
          "--insecure_plaintext and --tls_cert_file cannot be used together");
    }
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        TlsServerCredentials(tls);
    if (!credentials.ok()) return credentials.status();
    security.credentials = *std::move(credentials);
    security.description =
        tls.client_ca_file.empty()
            ? "TLS"
            : absl::StrCat("TLS, client certificates signed by ",
                           tls.client_ca_file, " required");
  } else if (IsLoopbackAddress(options.listen)) {
    security.credentials =
        grpc::experimental::LocalServerCredentials(LOCAL_TCP);
    security.description = "plaintext, loopback connections only";
    if (options.insecure_plaintext) {
      security.warning =
          "--insecure_plaintext has no effect: --listen is a loopback address, "
          "where plaintext is allowed anyway";
    }
  } else if (options.insecure_plaintext) {
    security.credentials = InsecureServerCredentialsWithAuth(authorizer);
    security.description = "PLAINTEXT (--insecure_plaintext)";
    security.warning = absl::StrCat(
        "serving PLAINTEXT on ", options.listen,
        " (--insecure_plaintext): bearer tokens, the secrets sent to workers "
        "and all graph data can be read and changed by anyone on the network "
        "path; tokens are still required. Serve TLS instead with "
        "--tls_cert_file and --tls_key_file");
    return security;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", options.listen,
        " is not a loopback address and no TLS certificate is given: refusing "
        "to serve plaintext there. Add --tls_cert_file and --tls_key_file (a "
        "PEM certificate and key; --tls_client_ca_file to also require client "
        "certificates), or --insecure_plaintext to serve plaintext anyway"));
  }
  security.credentials->SetAuthMetadataProcessor(
      authorizer->MetadataProcessor());
  return security;
}

}  // namespace graphmill::coordinator
