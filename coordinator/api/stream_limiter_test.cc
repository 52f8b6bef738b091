#include "coordinator/api/stream_limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <utility>
#include <vector>

namespace graphmill::coordinator {
namespace {

TEST(StreamLimiter, EachCallerHoldsAtMostTheLimit) {
  StreamLimiter limiter(2, "--max_subscriptions_per_caller");
  std::vector<StreamLimiter::Slot> alice;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<StreamLimiter::Slot> slot = limiter.Acquire("alice");
    ASSERT_TRUE(slot.ok()) << slot.status();
    alice.push_back(*std::move(slot));
  }
  absl::StatusOr<StreamLimiter::Slot> third = limiter.Acquire("alice");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(third.status().message(),
            "caller 'alice' already has 2 streams open, the most one caller "
            "may hold (--max_subscriptions_per_caller); close one or use "
            "another token");
  // Others are not affected.
  EXPECT_TRUE(limiter.Acquire("bob").ok());
  // A closed stream frees its place.
  alice.pop_back();
  EXPECT_EQ(limiter.Open("alice"), 1);
  EXPECT_TRUE(limiter.Acquire("alice").ok());
  alice.clear();
  EXPECT_EQ(limiter.Open("alice"), 0);
}

}  // namespace
}  // namespace graphmill::coordinator
