// Tests of common/http/provider_metrics.h: endpoint templates and their bound,
// the per-thread label scope, and the exported request families.
#include "common/http/provider_metrics.h"

#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::http {
namespace {

using ::testing::HasSubstr;

TEST(EndpointTemplateTest, KeepsTheRouteAndReplacesIds) {
  EXPECT_EQ(EndpointTemplate(
                "GET",
                "https://circleci.com/api/v2/pipeline/"
                "5034460f-c7c4-4c43-9457-de07e2029e7b/workflow?page-token=x"),
            "GET /api/v2/pipeline/{id}/workflow");
  EXPECT_EQ(EndpointTemplate("GET",
                             "https://circleci.com/api/v2/project/"
                             "gh%2Facme%2Fweb/envvar"),
            "GET /api/v2/project/{id}/envvar");
  EXPECT_EQ(EndpointTemplate("GET",
                             "http://127.0.0.1:4242/teams/"
                             "01234567-89ab-cdef-0123-456789abcdef/members"),
            "GET /teams/{id}/members");
  EXPECT_EQ(EndpointTemplate("GET", "https://circleci.com/api/v2/me/"),
            "GET /api/v2/me/");
  EXPECT_EQ(EndpointTemplate("GET", "https://api.heroku.com/account"),
            "GET /account");
  EXPECT_EQ(EndpointTemplate("GET", "https://api.heroku.com"), "GET /");
  EXPECT_EQ(EndpointTemplate("POST",
                             "https://j1.example/persister/"
                             "synchronization/jobs/42/entities#top"),
            "POST /persister/synchronization/jobs/{id}/entities");
  EXPECT_EQ(EndpointTemplate("GET",
                             "https://x.example/a/user@example.com/b/"
                             "v2/c/build123/d/deadbeefcafe1234"),
            "GET /a/{id}/b/v2/c/{id}/d/{id}");
  EXPECT_EQ(EndpointTemplate("GET", absl::StrCat("https://x.example/",
                                                 std::string(41, 'a'))),
            "GET /{id}");
}

// The cap is process-wide: checked in a child process, so the other tests
// keep their endpoints.
TEST(EndpointTemplateTest, DistinctValuesAreBounded) {
  EXPECT_EXIT(
      {
        // Names without digits pass as route segments; the cap bounds them.
        const std::string first =
            EndpointTemplate("GET", "https://x.example/apps/a");
        std::string last;
        for (int i = 0; i < kMaxEndpoints + 10; ++i) {
          std::string name;
          for (int n = i; n >= 0; n = n / 26 - 1) name.push_back('a' + n % 26);
          last = EndpointTemplate("GET", "https://x.example/apps/" + name);
        }
        // Endpoints seen before the cap keep their value.
        const std::string again =
            EndpointTemplate("GET", "https://x.example/apps/a");
        std::exit(first == "GET /apps/a" && last == "GET {other}" &&
                          again == first
                      ? 0
                      : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ProviderLabelScopeTest, NestsAndIsPerThread) {
  EXPECT_EQ(CurrentProviderLabel(), "unknown");
  {
    ProviderLabelScope outer("circleci");
    EXPECT_EQ(CurrentProviderLabel(), "circleci");
    {
      ProviderLabelScope inner("jupiterone");
      EXPECT_EQ(CurrentProviderLabel(), "jupiterone");
      std::string other_thread;
      std::thread([&] { other_thread = CurrentProviderLabel(); }).join();
      EXPECT_EQ(other_thread, "unknown");
    }
    EXPECT_EQ(CurrentProviderLabel(), "circleci");
  }
  EXPECT_EQ(CurrentProviderLabel(), "unknown");
}

TEST(ProviderMetricsTest, CountsRequestsByStatusWithLatency) {
  ProviderMetrics::Get().Request("heroku", "GET",
                                 "https://api.heroku.com/apps/"
                                 "01234567-89ab-cdef-0123-456789abcdef/addons",
                                 429, absl::Milliseconds(30));
  ProviderMetrics::Get().Request(
      "heroku", "GET", "https://api.heroku.com/account", 0, absl::Seconds(2));
  const std::string text = metrics::Exposition();
  EXPECT_THAT(text,
              HasSubstr("# TYPE graphmill_provider_requests_total counter"));
  EXPECT_THAT(text,
              HasSubstr("graphmill_provider_requests_total{endpoint=\"GET "
                        "/apps/{id}/addons\",integration=\"heroku\","
                        "status=\"429\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("graphmill_provider_requests_total{endpoint=\"GET "
                        "/account\",integration=\"heroku\",status="
                        "\"error\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_provider_request_duration_"
                              "seconds histogram"));
  EXPECT_THAT(text, HasSubstr("graphmill_provider_request_duration_seconds_"
                              "bucket{endpoint=\"GET /apps/{id}/addons\","
                              "integration=\"heroku\",le=\"0.05\"} 1"));
}

TEST(ProviderMetricsTest, CountsConnectionsOpenedByIntegration) {
  ProviderMetrics::Get().ConnectionsOpened("circleci-conn-test", 0);
  std::string text = metrics::Exposition();
  EXPECT_THAT(text, HasSubstr("# TYPE graphmill_provider_connections_opened_"
                              "total counter"));
  // The series exists from the first attempt, even one that reused a
  // connection.
  EXPECT_THAT(text, HasSubstr("graphmill_provider_connections_opened_total{"
                              "integration=\"circleci-conn-test\"} 0"));
  ProviderMetrics::Get().ConnectionsOpened("circleci-conn-test", 1);
  ProviderMetrics::Get().ConnectionsOpened("circleci-conn-test", 2);
  text = metrics::Exposition();
  EXPECT_THAT(text, HasSubstr("graphmill_provider_connections_opened_total{"
                              "integration=\"circleci-conn-test\"} 3"));
}

}  // namespace
}  // namespace graphmill::http
