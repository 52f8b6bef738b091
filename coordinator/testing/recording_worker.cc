// Implementation of coordinator/testing/recording_worker.h.
#include "coordinator/testing/recording_worker.h"

#include <gtest/gtest.h>

#include "absl/time/time.h"

namespace graphmill::coordinator::testing {

Engine::SendFn RecordingWorker::Send() {
  return [this](const v1::CoordinatorMessage& message) {
    absl::MutexLock lock(&mu_);
    messages_.push_back(message);
    return true;
  };
}

v1::TaskAssignment RecordingWorker::NextAssignment() {
  absl::MutexLock lock(&mu_);
  auto ready = [&] {
    for (size_t i = seen_; i < messages_.size(); ++i) {
      if (messages_[i].has_assignment()) return true;
    }
    return false;
  };
  EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(10)));
  for (; seen_ < messages_.size(); ++seen_) {
    if (messages_[seen_].has_assignment()) {
      return messages_[seen_++].assignment();
    }
  }
  return {};
}

std::vector<v1::CoordinatorMessage> RecordingWorker::messages() {
  absl::MutexLock lock(&mu_);
  return messages_;
}

std::vector<v1::CoordinatorMessage> RecordingWorker::WaitFor(
    const std::function<bool(const v1::CoordinatorMessage&)>& matches) {
  absl::MutexLock lock(&mu_);
  auto arrived = [&] {
    for (const v1::CoordinatorMessage& m : messages_) {
      if (matches(m)) return true;
    }
    return false;
  };
  EXPECT_TRUE(
      mu_.AwaitWithTimeout(absl::Condition(&arrived), absl::Seconds(10)));
  return messages_;
}

}  // namespace graphmill::coordinator::testing
