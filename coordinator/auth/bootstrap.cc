// Implementation of coordinator/auth/bootstrap.h.
#include "coordinator/auth/bootstrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "coordinator/auth/tokens.h"

namespace graphmill::coordinator {
namespace {

// Writes `content` to a new file at `path` with mode 0600 and syncs it.
absl::Status WriteNewPrivateFile(const std::string& path,
                                 const std::string& content) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
           S_IRUSR | S_IWUSR);
  if (fd < 0) {
    const int error = errno;
    if (error == EEXIST) {
      return absl::FailedPreconditionError(absl::StrCat(
          "admin token file '", path,
          "' already exists and is not overwritten, but the store has no "
          "admin token: move the old file away (it holds no valid admin "
          "token for this store) or choose another --admin_token_file"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create admin token file '", path, "': ", std::strerror(error),
        error == ENOENT ? " (its directory must exist)" : ""));
  }
  absl::Status status;
  // The umask may have taken bits away, never added any; make it exact.
  if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
    status = absl::InternalError(absl::StrCat("cannot set mode 0600 on '", path,
                                              "': ", std::strerror(errno)));
  }
  size_t written = 0;
  while (status.ok() && written < content.size()) {
    const ssize_t n =
        write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = absl::InternalError(
          absl::StrCat("cannot write '", path, "': ", std::strerror(errno)));
      break;
    }
    written += static_cast<size_t>(n);
  }
  if (status.ok() && fsync(fd) != 0) {
    status = absl::InternalError(
        absl::StrCat("cannot sync '", path, "': ", std::strerror(errno)));
  }
  if (close(fd) != 0 && status.ok()) {
    status = absl::InternalError(
        absl::StrCat("cannot close '", path, "': ", std::strerror(errno)));
  }
  if (!status.ok()) unlink(path.c_str());
  return status;
}

}  // namespace

std::string DefaultAdminTokenFile(const std::string& store_path) {
  // A connection URI names no directory (and may hold a password): the
  // working directory it is.
  if (absl::StrContains(store_path, "://")) return "admin.token";
  const size_t slash = store_path.rfind('/');
  if (slash == std::string::npos) return "admin.token";
  return absl::StrCat(store_path.substr(0, slash + 1), "admin.token");
}

absl::Status BootstrapAdminToken(Store& store, const std::string& token_file) {
  GM_ASSIGN_OR_RETURN(bool has_admin, store.HasAdminToken());
  if (has_admin) return absl::OkStatus();
  if (token_file.empty()) {
    return absl::InvalidArgumentError(
        "the store has no admin token and no admin token file is set");
  }
  GM_ASSIGN_OR_RETURN(std::string token, GenerateToken());
  GM_RETURN_IF_ERROR(WriteNewPrivateFile(token_file, token + "\n"));
  absl::Status stored =
      store.CreateToken(kBootstrapAdminTokenName, v1::TOKEN_ROLE_ADMIN,
                        HashToken(token), absl::ToUnixMillis(absl::Now()));
  if (!stored.ok()) {
    unlink(token_file.c_str());
    // Replicas started at once on a new shared store: one of them stored its
    // token first, and this one's is not needed.
    if (absl::IsAlreadyExists(stored)) {
      GM_ASSIGN_OR_RETURN(has_admin, store.HasAdminToken());
      if (has_admin) {
        LogInfo(
            "another coordinator replica created the bootstrap admin "
            "token (its log says where it wrote it)");
        return absl::OkStatus();
      }
    }
    return stored;
  }
  LogWarn("the store had no admin token: created admin token '",
          kBootstrapAdminTokenName, "' and wrote it to ", token_file,
          " (mode 0600): create named tokens with it (graphmill token "
          "create), then revoke it or keep it somewhere safe, and delete the "
          "file");
  return absl::OkStatus();
}

}  // namespace graphmill::coordinator
