// Tests of parsing and checking a CircleCI instance's config.
#include "worker/integrations/circleci/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::worker::circleci {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

InstanceConfig Valid() {
  return {{"apiKey", "secret-token"}, {"login", "acme"}, {"userId", "u-1"}};
}

TEST(ConfigTest, DefaultsBaseUrlAndNoExtraSlugs) {
  absl::StatusOr<CircleCiConfig> config = ParseConfig(Valid());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->api_key, "secret-token");
  EXPECT_EQ(config->login, "acme");
  EXPECT_EQ(config->user_id, "u-1");
  EXPECT_EQ(config->base_url, "https://circleci.com/api/v2");
  EXPECT_TRUE(config->extra_project_slugs.empty());
}

TEST(ConfigTest, EachRequiredFieldIsNamedWhenMissingOrBlank) {
  for (const char* field : {"apiKey", "login", "userId"}) {
    InstanceConfig missing = Valid();
    missing.erase(field);
    absl::Status status = ParseConfig(missing).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(),
              std::string("config field '") + field + "' is required");
    InstanceConfig blank = Valid();
    blank[field] = "  ";
    EXPECT_EQ(ParseConfig(blank).status().code(),
              absl::StatusCode::kInvalidArgument)
        << field;
  }
}

TEST(ConfigTest, TrimsBaseUrlSlashesAndRejectsNonHttp) {
  InstanceConfig config = Valid();
  config["baseUrl"] = "http://127.0.0.1:8080/api/v2//";
  ASSERT_TRUE(ParseConfig(config).ok());
  EXPECT_EQ(ParseConfig(config)->base_url, "http://127.0.0.1:8080/api/v2");
  config["baseUrl"] = "ftp://example.com";
  absl::Status status = ParseConfig(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'baseUrl'"));
}

TEST(ConfigTest, ExtraProjectSlugsAreTrimmedDeduplicatedAndChecked) {
  InstanceConfig config = Valid();
  config["extraProjectSlugs"] = " gh/acme/api, ,bb/acme/web,gh/acme/api ";
  absl::StatusOr<CircleCiConfig> parsed = ParseConfig(config);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->extra_project_slugs,
              ElementsAre("gh/acme/api", "bb/acme/web"));
  config["extraProjectSlugs"] = "gh/acme";
  absl::Status status = ParseConfig(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'extraProjectSlugs'"));
  EXPECT_THAT(status.message(), HasSubstr("gh/acme"));
}

TEST(ConfigTest, MessagesNeverHoldTheKey) {
  InstanceConfig config = Valid();
  config["baseUrl"] = "nope";
  EXPECT_THAT(std::string(ParseConfig(config).status().message()),
              Not(HasSubstr("secret-token")));
}

}  // namespace
}  // namespace graphmill::worker::circleci
