// Bounded concurrency for a step's per-parent requests.
#include "worker/integrations/common/fan_out.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace graphmill::worker {

absl::Status RunConcurrently(size_t count, int max_in_flight,
                             const std::function<absl::Status(size_t)>& task,
                             const std::function<bool()>& should_stop,
                             const std::function<int()>& current_limit) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  // Threads working on the fan-out, the caller's included.
  std::atomic<int> running{1};
  absl::Mutex mutex;
  absl::Status first_error;  // guarded by mutex
  // Guarded by mutex. A deque: threads started later do not move the ones
  // being joined.
  std::deque<std::thread> pool;

  auto fail = [&](absl::Status status) {
    absl::MutexLock lock(&mutex);
    if (first_error.ok()) first_error = std::move(status);
    stop = true;
  };
  auto limit = [&] {
    const int wanted = current_limit ? current_limit() : max_in_flight;
    return std::clamp(wanted, 1, kMaxFanOutThreads);
  };
  std::function<void()> work;
  // Starts threads up to the limit (one per item left at most).
  auto grow = [&](int to) {
    absl::MutexLock lock(&mutex);
    while (!stop && running.load() < to &&
           next.load() + static_cast<size_t>(running.load()) < count) {
      ++running;
      pool.emplace_back(work);
    }
  };
  work = [&] {
    while (!stop) {
      // A lowered limit retires threads after their item (one always stays);
      // a raised one starts more.
      const int allowed = limit();
      int now = running.load();
      if (now > allowed && now > 1) {
        if (running.compare_exchange_strong(now, now - 1)) return;
        continue;
      }
      if (now < allowed) grow(allowed);
      if (should_stop && should_stop()) {
        fail(absl::CancelledError("task cancelled"));
        break;
      }
      const size_t index = next.fetch_add(1);
      if (index >= count) break;
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
    --running;
  };

  if (count > 0) {
    grow(static_cast<int>(std::min(
        count,
        static_cast<size_t>(std::clamp(max_in_flight, 1, kMaxFanOutThreads)))));
    work();  // the caller works too
  } else {
    --running;
  }
  // Join every thread, also those started while joining.
  for (size_t i = 0;; ++i) {
    std::thread* thread = nullptr;
    {
      absl::MutexLock lock(&mutex);
      if (i >= pool.size()) break;
      thread = &pool[i];
    }
    thread->join();
  }
  absl::MutexLock lock(&mutex);
  return first_error;
}

}  // namespace graphmill::worker
