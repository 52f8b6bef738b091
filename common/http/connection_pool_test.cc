// Tests of common/http/connection_pool.h with HttpClient against a real
// loopback server: clients built one per task over one pool reuse the
// connections earlier tasks opened, where clients with pools of their own
// each open new ones; the pool bounds the handles it keeps.
#include "common/http/connection_pool.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/http/http_client.h"
#include "common/http/http_client_test_util.h"
#include "common/http/provider_metrics.h"
#include "common/metrics.h"
#include "common/testing/fake_clock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace graphmill::http {
namespace {

using ::graphmill::http::testing::TestOptions;
using ::graphmill::http::testing::TestServer;

constexpr int kTasks = 6;
constexpr int kThreadsPerTask = 4;
constexpr int kRequestsPerThread = 10;
constexpr int kRequests = kTasks * kThreadsPerTask * kRequestsPerThread;

// graphmill_provider_connections_opened_total{integration="<label>"}, read
// from the process's exposition (0 when the series does not exist yet).
int64_t ConnectionsOpened(const std::string& label) {
  const std::string series =
      absl::StrCat("graphmill_provider_connections_opened_total{integration=\"",
                   label, "\"} ");
  for (absl::string_view line : absl::StrSplit(metrics::Exposition(), '\n')) {
    if (absl::StartsWith(line, series)) {
      double value = 0;
      if (absl::SimpleAtod(line.substr(series.size()), &value)) {
        return static_cast<int64_t>(value);
      }
    }
  }
  return 0;
}

// A loopback server that records the client port of every request: one port
// per connection it accepted.
class CountingServer {
 public:
  CountingServer() {
    server_.http.Get("/r", [this](const httplib::Request& request,
                                  httplib::Response& response) {
      {
        absl::MutexLock lock(&mutex_);
        client_ports_.insert(request.remote_port);
      }
      response.set_content("{}", "application/json");
    });
    server_.Start();
  }

  std::string Url() const { return server_.Url("/r"); }
  size_t connections() {
    absl::MutexLock lock(&mutex_);
    return client_ports_.size();
  }

 private:
  TestServer server_;
  absl::Mutex mutex_;
  std::set<int> client_ports_ ABSL_GUARDED_BY(mutex_);
};

// Runs kTasks tasks one after another, each with a client of its own (as the
// worker builds one per task) from `options`, fanning out kThreadsPerTask
// threads of kRequestsPerThread GETs. Returns the successful requests.
int RunTasks(const HttpClientOptions& options, const std::string& url) {
  std::atomic<int> ok{0};
  for (int task = 0; task < kTasks; ++task) {
    HttpClient client(options);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreadsPerTask; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kRequestsPerThread; ++i) {
          if (client.Get(url, {}).ok()) ++ok;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  return ok.load();
}

TEST(ConnectionPoolTest, ClientsPerTaskOverOnePoolReuseConnections) {
  CountingServer server;
  FakeClock clock;
  const std::string label = "pool-test-shared";
  HttpClientOptions options = TestOptions(&clock);
  {
    // Clients take the label of the scope they are created in.
    ProviderLabelScope scope(label);
    options.pool = std::make_shared<ConnectionPool>();
    ASSERT_EQ(RunTasks(options, server.Url()), kRequests);
  }
  // At most one connection per request in flight at once, for all the tasks.
  EXPECT_LE(server.connections(), static_cast<size_t>(kThreadsPerTask));
  EXPECT_LE(ConnectionsOpened(label), kThreadsPerTask);
  EXPECT_GE(ConnectionsOpened(label), 1);
}

// The contrast: what every task paid before the pool was shared.
TEST(ConnectionPoolTest, ClientsWithPoolsOfTheirOwnReconnectPerTask) {
  CountingServer server;
  FakeClock clock;
  const std::string label = "pool-test-private";
  {
    ProviderLabelScope scope(label);
    ASSERT_EQ(RunTasks(TestOptions(&clock), server.Url()), kRequests);
  }
  EXPECT_GE(server.connections(), static_cast<size_t>(kTasks));
  EXPECT_GE(ConnectionsOpened(label), kTasks);
  EXPECT_LE(ConnectionsOpened(label), kTasks * kThreadsPerTask);
}

TEST(ConnectionPoolTest, KeepsAtMostMaxIdleHandles) {
  ConnectionPool pool({.max_idle_handles = 2});
  CURL* a = pool.Acquire();
  CURL* b = pool.Acquire();
  CURL* c = pool.Acquire();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(pool.idle_handles(), 0);
  pool.Release(a);
  pool.Release(b);
  pool.Release(c);  // closed: the pool is full
  EXPECT_EQ(pool.idle_handles(), 2);
  // The most recently released comes back first: its connection is the
  // likeliest to be open still.
  CURL* again = pool.Acquire();
  EXPECT_EQ(again, b);
  pool.Release(again);
  pool.Release(nullptr);
  EXPECT_EQ(pool.idle_handles(), 2);
}

}  // namespace
}  // namespace graphmill::http
