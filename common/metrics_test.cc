#include "common/metrics.h"

#include <atomic>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace graphmill::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, ExpositionHasFamiliesWithTheirTypes) {
  AddCounter("graphmill_test_events_total", "Events seen.")
      .Add({{"kind", "a"}})
      .Increment(3);
  AddGauge("graphmill_test_level", "A level.").Add({}).Set(7.5);
  HistogramFamily latency =
      AddHistogram("graphmill_test_latency_seconds", "Latency.", {0.1, 1});
  latency.With({{"endpoint", "GET /x/{id}"}}).Observe(0.5);
  latency.With({{"endpoint", "GET /x/{id}"}}).Observe(2);

  const std::string text = Exposition();
  EXPECT_THAT(text,
              HasSubstr("# HELP graphmill_test_events_total Events seen."));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_test_events_total counter"));
  EXPECT_THAT(text, HasSubstr("graphmill_test_events_total{kind=\"a\"} 3"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_test_level gauge"));
  EXPECT_THAT(text, HasSubstr("graphmill_test_level 7.5"));
  EXPECT_THAT(text,
              HasSubstr("# TYPE graphmill_test_latency_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("graphmill_test_latency_seconds_bucket{endpoint="
                              "\"GET /x/{id}\",le=\"1\"} 1"));
  EXPECT_THAT(text, HasSubstr("graphmill_test_latency_seconds_count{endpoint="
                              "\"GET /x/{id}\"} 2"));
}

TEST(MetricsTest, AddingANameTwiceReturnsTheSameFamily) {
  CounterFamily& first = AddCounter("graphmill_test_twice_total", "Twice.");
  CounterFamily& second = AddCounter("graphmill_test_twice_total", "Twice.");
  EXPECT_EQ(&first, &second);
}

TEST(MetricsTest, CollectHooksRunBeforeEachCollection) {
  static std::atomic<int> collections{0};
  static prometheus::Gauge& gauge =
      AddGauge("graphmill_test_collections", "Collections so far.").Add({});
  OnCollect([] { gauge.Set(++collections); });
  Exposition();
  EXPECT_THAT(Exposition(), HasSubstr("graphmill_test_collections 2"));
}

TEST(MetricsTest, ScopedTimerObservesOnce) {
  HistogramFamily family =
      AddHistogram("graphmill_test_timer_seconds", "Timer.", {60});
  { ScopedTimer timer(family.With({})); }
  EXPECT_THAT(Exposition(),
              HasSubstr("graphmill_test_timer_seconds_bucket{le=\"60\"} 1"));
}

TEST(MetricsTest, ExponentialBuckets) {
  EXPECT_EQ(ExponentialBuckets(0.5, 2, 4), (Buckets{0.5, 1, 2, 4}));
}

TEST(MetricsServerTest, ServesMetricsOverHttp) {
  AddCounter("graphmill_test_served_total", "Served.").Add({}).Increment();
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  httplib::Result response = client.Get("/metrics");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body,
              HasSubstr("# TYPE graphmill_test_served_total counter"));
  EXPECT_THAT(response->body, HasSubstr("graphmill_test_served_total 1"));
}

TEST(MetricsServerTest, LocalhostMeansLoopback) {
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start("localhost:0");
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_GT((*server)->port(), 0);
}

TEST(MetricsServerTest, RefusesWhatIsNotHostPort) {
  for (const char* address : {"", "9464", ":9464", "127.0.0.1", "127.0.0.1:x",
                              "127.0.0.1:9464s", "127.0.0.1:70000"}) {
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(address);
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument)
        << address;
    EXPECT_THAT(server.status().message(), HasSubstr("HOST:PORT")) << address;
  }
}

TEST(MetricsServerTest, APortInUseIsUnavailable) {
  absl::StatusOr<std::unique_ptr<Server>> first = Server::Start("127.0.0.1:0");
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  absl::StatusOr<std::unique_ptr<Server>> second = Server::Start(taken);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(taken));
  EXPECT_THAT(second.status().message(), Not(HasSubstr("CivetServer")));
}

}  // namespace
}  // namespace graphmill::metrics
