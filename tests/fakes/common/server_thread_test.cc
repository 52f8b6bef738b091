// Tests of tests/fakes/common/server_thread.h: kept-alive connections serve
// many requests, so benchmarks against the fakes measure the client's
// connection reuse, not the server's limit.
#include "tests/fakes/common/server_thread.h"

#include <httplib.h>

#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace graphmill::fakes::common {
namespace {

class ServerThreadTest : public ::testing::Test {
 protected:
  void Start(ServerThreadOptions options) {
    options.name = "test server";
    ASSERT_TRUE(
        thread_
            .Start(options,
                   [this](const httplib::Request& req, httplib::Response& res) {
                     absl::MutexLock lock(&mutex_);
                     client_ports_.insert(req.remote_port);
                     res.set_content("{}", "application/json");
                   })
            .ok());
  }

  // Sends `count` requests on one keep-alive httplib client; false if any
  // failed.
  bool SendKeptAlive(int count) {
    httplib::Client client("127.0.0.1", thread_.port());
    client.set_keep_alive(true);
    for (int i = 0; i < count; ++i) {
      httplib::Result result = client.Get("/x");
      if (!result || result->status != 200) return false;
    }
    return true;
  }

  size_t connections() {
    absl::MutexLock lock(&mutex_);
    return client_ports_.size();
  }

  httplib::Server server_;
  ServerThread thread_{server_};
  absl::Mutex mutex_;
  // One client port per connection the server accepted.
  std::set<int> client_ports_ ABSL_GUARDED_BY(mutex_);
};

TEST_F(ServerThreadTest, OneConnectionServesManyRequests) {
  Start({});
  ASSERT_TRUE(SendKeptAlive(100));
  // cpp-httplib alone would have closed it every 5 requests: 20 connections.
  EXPECT_EQ(connections(), 1u);
}

TEST_F(ServerThreadTest, KeepAliveLimitCanBeLowered) {
  ServerThreadOptions options;
  options.keep_alive_max_count = 5;
  Start(options);
  ASSERT_TRUE(SendKeptAlive(20));
  EXPECT_EQ(connections(), 4u);
}

}  // namespace
}  // namespace graphmill::fakes::common
