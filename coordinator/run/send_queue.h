// Delivers messages to one worker's Connect stream on a thread of its own, in
// order, so the engine never waits on a slow or stalled worker while it holds
// its lock: a stalled stream delays only the messages meant for it.
#ifndef GRAPHMILL_COORDINATOR_RUN_SEND_QUEUE_H_
#define GRAPHMILL_COORDINATOR_RUN_SEND_QUEUE_H_

#include <deque>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "graphmill/v1/worker.pb.h"

namespace graphmill::coordinator {

// Thread-safe.
class SendQueue {
 public:
  // Writes one message to the stream; false once the stream is broken. May
  // block (gRPC flow control); it returns when the stream ends.
  using WriteFn = std::function<bool(const graphmill::v1::CoordinatorMessage&)>;

  explicit SendQueue(WriteFn write);
  // Drops what is still queued and waits for a write in progress to return.
  ~SendQueue();
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  // Queues `message` without waiting; false once a write has failed (the
  // stream is broken and the message will not be delivered).
  bool Send(graphmill::v1::CoordinatorMessage message);

 private:
  void Run();
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const WriteFn write_;
  absl::Mutex mu_;
  std::deque<graphmill::v1::CoordinatorMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_RUN_SEND_QUEUE_H_
