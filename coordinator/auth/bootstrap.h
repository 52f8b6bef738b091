// The first admin token. A coordinator that starts with no admin token in its
// store creates one, named "bootstrap-admin", and writes it to a file only its
// user can read, so the operator can create named tokens with it.
#ifndef GRAPHMILL_COORDINATOR_AUTH_BOOTSTRAP_H_
#define GRAPHMILL_COORDINATOR_AUTH_BOOTSTRAP_H_

#include <string>

#include "absl/status/status.h"
#include "coordinator/store/store.h"

namespace graphmill::coordinator {

// Name of the token BootstrapAdminToken creates.
inline constexpr char kBootstrapAdminTokenName[] = "bootstrap-admin";

// "admin.token" in the directory of the store file `store_path` (the working
// directory for a bare file name or ":memory:").
// (For a PostgreSQL connection URI: "admin.token" in the working directory.)
std::string DefaultAdminTokenFile(const std::string& store_path);

// If the store has no admin token: creates one named "bootstrap-admin" and
// writes it, followed by a newline, to `token_file`, created with mode 0600
// (never overwriting: FAILED_PRECONDITION naming the file if it exists; its
// directory must exist). Logs only the file's path. Does nothing if an admin
// token exists. The file is written (and synced) before the token is stored,
// and removed if storing fails, so a stored admin token is never lost. If
// another replica stores its bootstrap token first, the file is removed and
// this returns OK.
absl::Status BootstrapAdminToken(Store& store, const std::string& token_file);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_AUTH_BOOTSTRAP_H_
