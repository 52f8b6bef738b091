// worker/runtime/health_server.h over real HTTP on loopback.
#include "worker/runtime/health_server.h"

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::worker {
namespace {

using ::testing::HasSubstr;

TEST(HealthServerTest, HealthzIsAlwaysOkAndReadyzFollowsReadiness) {
  std::atomic<bool> ready{false};
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start("127.0.0.1:0", [&] {
        return ready ? Readiness{true, "connected to coordinator c:7400"}
                     : Readiness{false, "not connected to coordinator c:7400"};
      });
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  httplib::Client client("127.0.0.1", (*server)->port());

  httplib::Result healthz = client.Get("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
  EXPECT_EQ(healthz->body, "ok\n");

  httplib::Result readyz = client.Get("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 503);
  EXPECT_EQ(readyz->body, "not connected to coordinator c:7400\n");

  ready = true;
  readyz = client.Get("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 200);
  EXPECT_EQ(readyz->body, "connected to coordinator c:7400\n");
  healthz = client.Get("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);

  httplib::Result other = client.Get("/metrics");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  httplib::Result post = client.Post("/readyz", "", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_NE(post->status, 200);
}

TEST(HealthServerTest, StopsWhenDestroyed) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start(":0", [] {
        return Readiness{true, "ok"};
      });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  {
    httplib::Client client("127.0.0.1", port);
    ASSERT_TRUE(client.Get("/healthz"));
  }
  server->reset();
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  EXPECT_FALSE(client.Get("/healthz"));
}

TEST(HealthServerTest, RefusesBadAddressesAndPortsInUse) {
  for (const char* listen : {"", "8080", "127.0.0.1:", "127.0.0.1:http",
                             "127.0.0.1:70000", "127.0.0.1:-1"}) {
    absl::StatusOr<std::unique_ptr<HealthServer>> server =
        HealthServer::Start(listen, [] { return Readiness{}; });
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument)
        << listen;
    EXPECT_THAT(server.status().message(), HasSubstr("--health_listen"));
  }
  absl::StatusOr<std::unique_ptr<HealthServer>> first =
      HealthServer::Start("127.0.0.1:0", [] { return Readiness{}; });
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<HealthServer>> second = HealthServer::Start(
      absl::StrCat("127.0.0.1:", (*first)->port()), [] { return Readiness{}; });
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  absl::StatusOr<std::unique_ptr<HealthServer>> v6 =
      HealthServer::Start("[::1]:0", [] {
        return Readiness{true, "v6"};
      });
  if (v6.ok()) {  // hosts without IPv6 cannot bind ::1
    httplib::Client client("::1", (*v6)->port());
    httplib::Result readyz = client.Get("/readyz");
    ASSERT_TRUE(readyz);
    EXPECT_EQ(readyz->status, 200);
  }
}

}  // namespace
}  // namespace graphmill::worker
