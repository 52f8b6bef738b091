// Bounded concurrency for a step's per-parent requests.
#include "worker/integrations/common/fan_out.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace graphmill::worker {

absl::Status RunConcurrently(size_t count, int max_in_flight,
                             const std::function<absl::Status(size_t)>& task,
                             const std::function<bool()>& should_stop,
                             const std::function<int()>& current_limit) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  absl::Mutex mutex;
  absl::Status first_error;  // guarded by mutex

  auto fail = [&](absl::Status status) {
    absl::MutexLock lock(&mutex);
    if (first_error.ok()) first_error = std::move(status);
    stop = true;
  };
  // Thread `slot` works while slot < current_limit(): a lowered limit retires
  // the highest slots after their item (slot 0 never retires).
  auto work = [&](size_t slot) {
    while (!stop) {
      if (slot > 0 && current_limit &&
          static_cast<int>(slot) >= current_limit())
        return;
      if (should_stop && should_stop()) {
        fail(absl::CancelledError("task cancelled"));
        return;
      }
      const size_t index = next.fetch_add(1);
      if (index >= count) return;
      absl::Status status;
      try {
        status = task(index);
      } catch (const std::exception& e) {
        status = absl::InternalError(
            absl::StrCat("unexpected exception: ", e.what()));
      } catch (...) {
        status = absl::InternalError("unexpected exception");
      }
      if (!status.ok()) fail(std::move(status));
    }
  };

  const size_t threads =
      std::min(count, static_cast<size_t>(std::max(1, max_in_flight)));
  if (threads <= 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (size_t i = 0; i < threads; ++i) pool.emplace_back(work, i);
    for (std::thread& thread : pool) thread.join();
  }
  absl::MutexLock lock(&mutex);
  return first_error;
}

}  // namespace graphmill::worker
