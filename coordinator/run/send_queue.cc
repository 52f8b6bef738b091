// Implementation of coordinator/run/send_queue.h.
#include "coordinator/run/send_queue.h"

#include <utility>

namespace graphmill::coordinator {

SendQueue::SendQueue(WriteFn write)
    : write_(std::move(write)), thread_([this] { Run(); }) {}

SendQueue::~SendQueue() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    queue_.clear();
  }
  thread_.join();
}

bool SendQueue::Send(graphmill::v1::CoordinatorMessage message) {
  absl::MutexLock lock(&mu_);
  if (broken_ || stopping_) return false;
  queue_.push_back(std::move(message));
  return true;
}

bool SendQueue::Ready() const { return stopping_ || !queue_.empty(); }

void SendQueue::Run() {
  while (true) {
    graphmill::v1::CoordinatorMessage message;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &SendQueue::Ready));
      if (stopping_) return;
      message = std::move(queue_.front());
      queue_.pop_front();
    }
    // Without the lock: a stalled stream blocks only this thread.
    const bool written = write_(message);
    if (!written) {
      absl::MutexLock lock(&mu_);
      broken_ = true;
      queue_.clear();
    }
  }
}

}  // namespace graphmill::coordinator
