// A fixed set of threads running queued work in FIFO order.
#ifndef GRAPHMILL_WORKER_RUNTIME_THREAD_POOL_H_
#define GRAPHMILL_WORKER_RUNTIME_THREAD_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace graphmill::worker {

// Runs at most `threads` pieces of work at once; the rest wait in a queue.
// Thread-safe. Work that throws is logged and dropped: no exception leaves a
// pool thread.
class ThreadPool {
 public:
  // Starts `threads` threads (at least 1).
  explicit ThreadPool(int threads);
  // Runs the work still queued, then joins every thread. Blocks until running
  // work returns.
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `work`; it runs on one of the pool's threads.
  void Schedule(std::function<void()> work);

 private:
  void WorkLoop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_THREAD_POOL_H_
