// Tests of control.h: the shared /_control endpoints on a real server.
#include "tests/fakes/common/control.h"

#include <httplib.h>

#include "gtest/gtest.h"
#include "tests/fakes/common/server_thread.h"

namespace graphmill::fakes::common {
namespace {

enum class Kind { kStatus, kLatency };

struct TestFault {
  std::string route = "*";
  Kind kind = Kind::kStatus;
  int status = 500;
  int times = -1;
  int retry_after_seconds = 1;
  int delay_ms = 0;
};

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    syntax_.is_known_route = [](absl::string_view route) {
      return route == "me";
    };
    syntax_.named_kinds = {{"latency", Kind::kLatency}};
    hooks_.syntax = &syntax_;
    hooks_.faults = &faults_;
    hooks_.counters_json = [this] { return CountersJson(counters_); };
    hooks_.reset_counters = [this] { counters_["me"] = 0; };
    hooks_.bad_request_body = [](absl::string_view message) {
      return std::string("{\"bad\":\"") + std::string(message) + "\"}";
    };
    ServerThreadOptions options;
    options.name = "control test";
    options.threads = 2;
    options.internal_error_body = "{}";
    ASSERT_TRUE(
        thread_
            .Start(options,
                   [this](const httplib::Request& req, httplib::Response& res) {
                     const std::string prefix = "/_control/";
                     if (!HandleSharedControl(
                             req.method,
                             absl::string_view(req.path).substr(prefix.size()),
                             req.body, hooks_, res)) {
                       res.status = 404;
                     }
                   })
            .ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", thread_.port());
  }

  FaultSyntax<TestFault> syntax_;
  FaultTable<TestFault> faults_;
  std::map<std::string, int64_t> counters_ = {{"me", 7}};
  ControlHooks<TestFault> hooks_;
  httplib::Server server_;
  ServerThread thread_{server_};
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ControlTest, HealthAndCounters) {
  auto health = client_->Get("/_control/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->body, "{\"status\":\"ok\"}");
  auto counters = client_->Get("/_control/counters");
  ASSERT_TRUE(counters);
  EXPECT_EQ(counters->body, "{\"me\":7}");
  auto reset = client_->Delete("/_control/counters");
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->body, "{\"me\":0}");
  auto other = client_->Get("/_control/elsewhere");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
}

TEST_F(ControlTest, FaultsArePostedListedAndCleared) {
  auto posted = client_->Post(
      "/_control/faults",
      R"({"faults": ["me:429:times=1", {"kind": "latency", "ms": 5}]})",
      "application/json");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 200);
  EXPECT_EQ(posted->body,
            R"({"faults":[{"spec":"me:429:times=1:retry_after=1","fired":0},)"
            R"({"spec":"*:latency:ms=5","fired":0}]})");
  auto spec = client_->Post("/_control/faults", R"({"spec": "me:500,*:503"})",
                            "application/json");
  ASSERT_TRUE(spec);
  EXPECT_EQ(faults_.Snapshot().size(), 4u);
  auto cleared = client_->Delete("/_control/faults");
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->body, R"({"faults":[]})");
}

TEST_F(ControlTest, BadFaultIs400AndAddsNothing) {
  auto bad =
      client_->Post("/_control/faults", R"({"faults": ["me:500", "nope:500"]})",
                    "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(bad->body, "{\"bad\":\"unknown fault route 'nope'\"}");
  EXPECT_TRUE(faults_.Snapshot().empty());
  auto latency = client_->Post("/_control/faults", R"({"kind": "latency"})",
                               "application/json");
  ASSERT_TRUE(latency);
  EXPECT_EQ(latency->status, 400);
  auto not_json = client_->Post("/_control/faults", "{", "application/json");
  ASSERT_TRUE(not_json);
  EXPECT_EQ(not_json->status, 400);
}

}  // namespace
}  // namespace graphmill::fakes::common
