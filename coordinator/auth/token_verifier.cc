// Implementation of the role names of coordinator/auth/token_verifier.h.
#include "coordinator/auth/token_verifier.h"

namespace graphmill::coordinator {

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kReader:
      return "reader";
    case Role::kWorker:
      return "worker";
  }
  return "unknown";
}

}  // namespace graphmill::coordinator
