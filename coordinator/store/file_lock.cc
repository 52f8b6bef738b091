// Implementation of coordinator/store/file_lock.h.
#include "coordinator/store/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace graphmill::coordinator {

absl::StatusOr<FileLock> FileLock::Acquire(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int error = errno;
    return absl::ErrnoToStatus(
        error, absl::StrCat("cannot open lock file '", path, "'"));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char buffer[32] = {};
    const ssize_t read_bytes = pread(fd, buffer, sizeof(buffer) - 1, 0);
    close(fd);
    if (error != EWOULDBLOCK) {
      return absl::ErrnoToStatus(error,
                                 absl::StrCat("cannot lock '", path, "'"));
    }
    int64_t holder = 0;
    const bool known =
        read_bytes > 0 &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::string_view(
                             buffer, static_cast<size_t>(read_bytes))),
                         &holder);
    return absl::FailedPreconditionError(absl::StrCat(
        "the store is in use by another coordinator (",
        known ? absl::StrCat("pid ", holder, " holds '") : "'", path,
        "'): one coordinator per SQLite store; stop the other one or give "
        "--store another file"));
  }
  // Who holds it, for the message above; best effort.
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) == 0) {
    (void)!pwrite(fd, pid.data(), pid.size(), 0);
  }
  return FileLock(fd);
}

FileLock::FileLock(FileLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);  // closing the last descriptor releases the lock
}

}  // namespace graphmill::coordinator
