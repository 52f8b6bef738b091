// Tests of worker/integrations/common/run_cache.h: one fetch per key while it
// lives, concurrent callers wait for it, failures are not stored, and entries
// go at the TTL and beyond the cap. Time is a FakeClock.
#include "worker/integrations/common/run_cache.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "common/testing/fake_clock.h"
#include "gtest/gtest.h"

namespace graphmill::worker {
namespace {

RunCacheOptions TestOptions(FakeClock* clock, size_t max_entries = 100) {
  RunCacheOptions options;
  options.clock = clock;
  options.ttl = absl::Minutes(10);
  options.max_entries = max_entries;
  return options;
}

// A fetch that counts its calls and answers `body`.
struct CountingFetch {
  // Const: absl::FunctionRef calls it so.
  absl::StatusOr<std::string> operator()() const {
    ++calls;
    return body;
  }
  std::string body;
  mutable int calls = 0;
};

TEST(RunCacheTest, FetchesOncePerKey) {
  FakeClock clock;
  RunCache cache(TestOptions(&clock));
  CountingFetch fetch{"project a"};
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<RunCache::Value> value = cache.GetOrFetch("a", fetch);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(**value, "project a");
  }
  EXPECT_EQ(fetch.calls, 1);
  CountingFetch other{"project b"};
  ASSERT_TRUE(cache.GetOrFetch("b", other).ok());
  EXPECT_EQ(other.calls, 1);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(RunCacheTest, FailureIsNotStored) {
  FakeClock clock;
  RunCache cache(TestOptions(&clock));
  int calls = 0;
  absl::StatusOr<RunCache::Value> failed =
      cache.GetOrFetch("a", [&]() -> absl::StatusOr<std::string> {
        ++calls;
        return absl::PermissionDeniedError("HTTP 403");
      });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(cache.size(), 0u);
  CountingFetch fetch{"project a"};
  absl::StatusOr<RunCache::Value> value = cache.GetOrFetch("a", fetch);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(**value, "project a");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(fetch.calls, 1);
}

TEST(RunCacheTest, EntryExpiresAtTheTtl) {
  FakeClock clock;
  RunCache cache(TestOptions(&clock));
  CountingFetch fetch{"v"};
  ASSERT_TRUE(cache.GetOrFetch("a", fetch).ok());
  clock.Advance(absl::Minutes(10) - absl::Seconds(1));
  ASSERT_TRUE(cache.GetOrFetch("a", fetch).ok());
  EXPECT_EQ(fetch.calls, 1);
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(cache.GetOrFetch("a", fetch).ok());
  EXPECT_EQ(fetch.calls, 2);
}

TEST(RunCacheTest, ExpiredEntriesGoWhenOthersAreStored) {
  FakeClock clock;
  RunCache cache(TestOptions(&clock));
  CountingFetch fetch{"v"};
  ASSERT_TRUE(cache.GetOrFetch("run 1 a", fetch).ok());
  ASSERT_TRUE(cache.GetOrFetch("run 1 b", fetch).ok());
  clock.Advance(absl::Minutes(11));
  // A finished run's entries do not wait for the cap.
  ASSERT_TRUE(cache.GetOrFetch("run 2 a", fetch).ok());
  EXPECT_EQ(cache.size(), 1u);
}

TEST(RunCacheTest, LeastRecentlyUsedGoesBeyondTheCap) {
  FakeClock clock;
  RunCache cache(TestOptions(&clock, /*max_entries=*/2));
  CountingFetch a{"a"}, b{"b"}, c{"c"};
  ASSERT_TRUE(cache.GetOrFetch("a", a).ok());
  ASSERT_TRUE(cache.GetOrFetch("b", b).ok());
  ASSERT_TRUE(cache.GetOrFetch("a", a).ok());  // a is now the most recent
  ASSERT_TRUE(cache.GetOrFetch("c", c).ok());  // pushes b out
  EXPECT_EQ(cache.size(), 2u);
  ASSERT_TRUE(cache.GetOrFetch("a", a).ok());
  ASSERT_TRUE(cache.GetOrFetch("b", b).ok());
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(b.calls, 2);
  EXPECT_EQ(c.calls, 1);
}

TEST(RunCacheTest, ConcurrentCallersShareOneFetch) {
  FakeClock clock;
  RunCache cache(TestOptions(&clock));
  absl::Notification release;
  std::atomic<int> calls{0};
  constexpr int kCallers = 6;
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  std::vector<std::string> seen(kCallers);
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      ++started;
      absl::StatusOr<RunCache::Value> value =
          cache.GetOrFetch("a", [&]() -> absl::StatusOr<std::string> {
            ++calls;
            // Held until every caller has asked, so they all overlap it.
            release.WaitForNotification();
            return std::string("shared");
          });
      if (value.ok()) seen[i] = **value;
    });
  }
  // Whichever thread fetches blocks until released; the others either wait
  // on it or have not called yet, and then find the stored value. Either way
  // one fetch serves them all.
  while (started.load() < kCallers) std::this_thread::yield();
  release.Notify();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(calls.load(), 1);
  for (const std::string& value : seen) EXPECT_EQ(value, "shared");
}

TEST(RunCacheTest, WaiterFetchesWhenTheFetcherFails) {
  FakeClock clock;
  RunCache cache(TestOptions(&clock));
  absl::Notification fetching, release;
  absl::StatusOr<RunCache::Value> first;
  std::thread fetcher([&] {
    first = cache.GetOrFetch("a", [&]() -> absl::StatusOr<std::string> {
      fetching.Notify();
      release.WaitForNotification();
      return absl::UnavailableError("timed out");
    });
  });
  fetching.WaitForNotification();
  int waiter_calls = 0;
  std::thread waiter_thread;
  absl::StatusOr<RunCache::Value> second;
  waiter_thread = std::thread([&] {
    second = cache.GetOrFetch("a", [&]() -> absl::StatusOr<std::string> {
      ++waiter_calls;
      return std::string("fetched again");
    });
  });
  release.Notify();
  fetcher.join();
  waiter_thread.join();
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(**second, "fetched again");
  EXPECT_EQ(waiter_calls, 1);
}

TEST(RunCacheKeyTest, RunBaseUrlCredentialAndResourceAllCount) {
  const std::string key = RunCacheKey(7, "https://x/api", "token", "gh/a/b");
  EXPECT_EQ(key, RunCacheKey(7, "https://x/api", "token", "gh/a/b"));
  EXPECT_NE(key, RunCacheKey(8, "https://x/api", "token", "gh/a/b"));
  EXPECT_NE(key, RunCacheKey(7, "https://y/api", "token", "gh/a/b"));
  EXPECT_NE(key, RunCacheKey(7, "https://x/api", "other", "gh/a/b"));
  EXPECT_NE(key, RunCacheKey(7, "https://x/api", "token", "gh/a/c"));
  EXPECT_EQ(key.find("token"), std::string::npos);
}

}  // namespace
}  // namespace graphmill::worker
