// An exclusive, advisory lock on a file beside the store, held for the life of
// the process's Store: a second coordinator opening the same SQLite file stops
// at start instead of serving a store whose runs the first one executes.
#ifndef GRAPHMILL_COORDINATOR_STORE_FILE_LOCK_H_
#define GRAPHMILL_COORDINATOR_STORE_FILE_LOCK_H_

#include <string>

#include "absl/status/statusor.h"

namespace graphmill::coordinator {

// Movable, not copyable; releases the lock when destroyed (the kernel also
// releases it when the process dies, so a crash never leaves it held).
class FileLock {
 public:
  // Takes an exclusive flock(2) on `path` (created if missing, mode 0600) and
  // writes this process's pid into it. FAILED_PRECONDITION naming the file and
  // the holder's pid when another open file description holds it (another
  // process, or another Store in this one); the errno's status naming the path
  // when the file cannot be opened.
  static absl::StatusOr<FileLock> Acquire(const std::string& path);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_STORE_FILE_LOCK_H_
