// Tests of client/interrupt.h with real signals sent to this process.
#include "client/interrupt.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace graphmill::cli {
namespace {

std::atomic<int> previous_handler_calls{0};

void CountingHandler(int) { previous_handler_calls.fetch_add(1); }

TEST(ScopedInterruptHandler, RunsTheCallbackThenRestoresThePreviousHandler) {
  struct sigaction counting {};
  counting.sa_handler = CountingHandler;
  sigemptyset(&counting.sa_mask);
  struct sigaction original {};
  ASSERT_EQ(sigaction(SIGINT, &counting, &original), 0);

  {
    absl::Notification called;
    ScopedInterruptHandler handler([&called] {
      if (!called.HasBeenNotified()) called.Notify();
    });
    ASSERT_EQ(raise(SIGINT), 0);
    EXPECT_TRUE(called.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_EQ(previous_handler_calls.load(), 0);
  }

  // Out of scope, SIGINT reaches the handler that was there before (raise
  // returns after it ran).
  ASSERT_EQ(raise(SIGINT), 0);
  EXPECT_EQ(previous_handler_calls.load(), 1);
  ASSERT_EQ(sigaction(SIGINT, &original, nullptr), 0);
}

}  // namespace
}  // namespace graphmill::cli
