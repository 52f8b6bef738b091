// SendQueue: in order, off the caller's thread, and closed once a write fails.
#include "coordinator/run/send_queue.h"

#include <gtest/gtest.h>

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace graphmill::coordinator {
namespace {

v1::CoordinatorMessage Cancel(int64_t task_id) {
  v1::CoordinatorMessage message;
  message.mutable_cancel()->mutable_attempt()->set_task_id(task_id);
  return message;
}

TEST(SendQueueTest, WritesInOrder) {
  absl::Mutex mu;
  std::vector<int64_t> written;
  {
    SendQueue queue([&](const v1::CoordinatorMessage& message) {
      absl::MutexLock lock(&mu);
      written.push_back(message.cancel().attempt().task_id());
      return true;
    });
    for (int64_t i = 1; i <= 5; ++i) EXPECT_TRUE(queue.Send(Cancel(i)));
    absl::MutexLock lock(&mu);
    auto all = [&] { return written.size() == 5; };
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(10)));
  }
  EXPECT_EQ(written, (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

TEST(SendQueueTest, ABlockedWriteDoesNotBlockTheSender) {
  absl::Notification writing;
  absl::Notification release;
  SendQueue queue([&](const v1::CoordinatorMessage&) {
    if (!writing.HasBeenNotified()) writing.Notify();
    release.WaitForNotification();
    return true;
  });
  EXPECT_TRUE(queue.Send(Cancel(1)));
  writing.WaitForNotification();
  // The stream is stuck on message 1; more messages still queue at once.
  EXPECT_TRUE(queue.Send(Cancel(2)));
  EXPECT_TRUE(queue.Send(Cancel(3)));
  release.Notify();
}

TEST(SendQueueTest, AFailedWriteClosesTheQueue) {
  absl::Notification failed;
  SendQueue queue([&](const v1::CoordinatorMessage&) {
    if (!failed.HasBeenNotified()) failed.Notify();
    return false;
  });
  EXPECT_TRUE(queue.Send(Cancel(1)));
  failed.WaitForNotification();
  // The failure is recorded right after the write returns.
  bool refused = false;
  for (int i = 0; i < 100000 && !refused; ++i) refused = !queue.Send(Cancel(2));
  EXPECT_TRUE(refused);
}

}  // namespace
}  // namespace graphmill::coordinator
