// Tests of parsing a Heroku instance's config.
#include "worker/integrations/heroku/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::worker::heroku {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ConfigTest, DefaultsTheBaseUrl) {
  absl::StatusOr<HerokuConfig> config = ParseConfig({{"apiKey", "k-123"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->api_key, "k-123");
  EXPECT_EQ(config->base_url, "https://api.heroku.com");
}

TEST(ConfigTest, TrimsTheBaseUrlAndItsTrailingSlashes) {
  absl::StatusOr<HerokuConfig> config = ParseConfig(
      {{"apiKey", "k-123"}, {"baseUrl", " http://127.0.0.1:8080// "}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->base_url, "http://127.0.0.1:8080");
}

TEST(ConfigTest, BlankBaseUrlMeansTheDefault) {
  absl::StatusOr<HerokuConfig> config =
      ParseConfig({{"apiKey", "k-123"}, {"baseUrl", "  "}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->base_url, "https://api.heroku.com");
}

TEST(ConfigTest, MissingOrBlankApiKeyIsInvalidArgumentNamingIt) {
  for (const InstanceConfig& config :
       {InstanceConfig{}, InstanceConfig{{"apiKey", ""}},
        InstanceConfig{{"apiKey", " \t"}}}) {
    absl::StatusOr<HerokuConfig> parsed = ParseConfig(config);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(), "config field 'apiKey' is required");
  }
}

TEST(ConfigTest, NonHttpBaseUrlIsInvalidArgumentWithoutTheKey) {
  absl::StatusOr<HerokuConfig> parsed =
      ParseConfig({{"apiKey", "secret-key-42"}, {"baseUrl", "ftp://x"}});
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()),
              HasSubstr("config field 'baseUrl'"));
  EXPECT_THAT(std::string(parsed.status().message()),
              Not(HasSubstr("secret-key-42")));
}

}  // namespace
}  // namespace graphmill::worker::heroku
