// Tests of client/instance_settings.h: what `instance create` builds and how
// `instance update` merges the command line into the stored instance.
#include "client/instance_settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace graphmill::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// An instance as GetInstance returns it: secrets masked, output-only fields
// set.
v1::Instance Stored() {
  v1::Instance instance;
  instance.set_id("ci-prod");
  instance.set_integration("circleci");
  instance.set_created_at_ms(1000);
  instance.set_updated_at_ms(2000);
  instance.set_next_run_at_ms(3000);
  (*instance.mutable_config())["apiKey"] = "***";
  (*instance.mutable_config())["orgSlug"] = "gh/acme";
  (*instance.mutable_config())["extraProjects"] = "gh/acme/x";
  instance.mutable_schedule()->set_interval(v1::POLLING_INTERVAL_ONE_HOUR);
  instance.mutable_schedule()->set_jitter_seconds(180);
  instance.add_disabled_steps("fetch-envvars");
  instance.add_disabled_steps("fetch-jobs");
  instance.set_rate_limit_per_second(5);
  v1::JupiterOneUpload& upload = *instance.mutable_upload();
  upload.set_account_id("acct-1");
  upload.set_api_token("***");
  upload.set_integration_instance_id("ii-1");
  return instance;
}

CommandLine UpdateLine() {
  CommandLine line;
  line.command = Command::kInstanceUpdate;
  line.instance_id = "ci-prod";
  return line;
}

TEST(PollingInterval, NamesRoundTrip) {
  for (const char* name :
       {"30m", "1h", "4h", "8h", "12h", "1d", "1w", "disabled"}) {
    std::optional<v1::PollingInterval> interval = ParsePollingInterval(name);
    ASSERT_TRUE(interval.has_value()) << name;
    EXPECT_EQ(PollingIntervalName(*interval), name);
  }
  EXPECT_FALSE(ParsePollingInterval("2h").has_value());
  EXPECT_FALSE(ParsePollingInterval("").has_value());
  EXPECT_EQ(PollingIntervalName(v1::POLLING_INTERVAL_UNSPECIFIED), "unknown");
  EXPECT_EQ(PollingIntervalChoices(),
            "30m, 1h, 4h, 8h, 12h, 1d, 1w or disabled");
}

TEST(MergeInstanceUpdate, ConfigKeepsMaskedSecretsAndUnsets) {
  CommandLine line = UpdateLine();
  line.config["orgSlug"] = "gh/new";
  line.config["includeEnv"] = "true";
  line.unset_config = {"extraProjects", "notSet"};
  absl::StatusOr<v1::Instance> merged = MergeInstanceUpdate(Stored(), line);
  ASSERT_TRUE(merged.ok()) << merged.status();
  // The secret goes back as "***", which the server reads as "keep".
  const std::map<std::string, std::string> config(merged->config().begin(),
                                                  merged->config().end());
  EXPECT_EQ(
      config,
      (std::map<std::string, std::string>{
          {"apiKey", "***"}, {"orgSlug", "gh/new"}, {"includeEnv", "true"}}));
  // Everything else goes back as stored; output-only fields do not.
  EXPECT_EQ(merged->id(), "ci-prod");
  EXPECT_EQ(merged->integration(), "circleci");
  EXPECT_EQ(merged->schedule().interval(), v1::POLLING_INTERVAL_ONE_HOUR);
  EXPECT_EQ(merged->schedule().jitter_seconds(), 180);
  EXPECT_THAT(merged->disabled_steps(),
              ElementsAre("fetch-envvars", "fetch-jobs"));
  EXPECT_EQ(merged->rate_limit_per_second(), 5);
  EXPECT_EQ(merged->upload().api_token(), "***");
  EXPECT_EQ(merged->upload().account_id(), "acct-1");
  EXPECT_EQ(merged->created_at_ms(), 0);
  EXPECT_EQ(merged->updated_at_ms(), 0);
  EXPECT_EQ(merged->next_run_at_ms(), 0);
}

TEST(MergeInstanceUpdate, NewSecretReplacesTheMask) {
  CommandLine line = UpdateLine();
  line.config["apiKey"] = "new-s3cret";
  absl::StatusOr<v1::Instance> merged = MergeInstanceUpdate(Stored(), line);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->config().at("apiKey"), "new-s3cret");
}

TEST(MergeInstanceUpdate, StepsAreAddedOnceAndEnabledOnesRemoved) {
  CommandLine line = UpdateLine();
  line.settings.disable_steps = {"fetch-jobs", "fetch-pipelines"};
  line.settings.enable_steps = {"fetch-envvars", "never-disabled"};
  absl::StatusOr<v1::Instance> merged = MergeInstanceUpdate(Stored(), line);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_THAT(merged->disabled_steps(),
              ElementsAre("fetch-jobs", "fetch-pipelines"));

  line.settings.disable_steps.clear();
  line.settings.enable_steps = {"fetch-envvars", "fetch-jobs"};
  EXPECT_THAT(MergeInstanceUpdate(Stored(), line)->disabled_steps(), IsEmpty());
}

TEST(MergeInstanceUpdate, ScheduleFlagsChangeOnlyTheirField) {
  CommandLine cron = UpdateLine();
  cron.settings.cron = "0 */6 * * *";
  absl::StatusOr<v1::Instance> merged = MergeInstanceUpdate(Stored(), cron);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->schedule().cron(), "0 */6 * * *");
  EXPECT_EQ(merged->schedule().when_case(), v1::Schedule::kCron);
  EXPECT_EQ(merged->schedule().jitter_seconds(), 180);

  CommandLine jitter = UpdateLine();
  jitter.settings.jitter_seconds = 30;
  merged = MergeInstanceUpdate(Stored(), jitter);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->schedule().interval(), v1::POLLING_INTERVAL_ONE_HOUR);
  EXPECT_EQ(merged->schedule().jitter_seconds(), 30);

  CommandLine disabled = UpdateLine();
  disabled.settings.interval = v1::POLLING_INTERVAL_DISABLED;
  EXPECT_EQ(MergeInstanceUpdate(Stored(), disabled)->schedule().interval(),
            v1::POLLING_INTERVAL_DISABLED);

  // --jitter needs something to jitter.
  v1::Instance manual = Stored();
  manual.clear_schedule();
  EXPECT_EQ(MergeInstanceUpdate(manual, jitter).status(),
            absl::FailedPreconditionError(
                "instance 'ci-prod' has no schedule: give --schedule or --cron "
                "with --jitter"));
  // Nothing about the schedule given: none is added.
  CommandLine rate = UpdateLine();
  rate.settings.rate_limit_per_second = 0;
  merged = MergeInstanceUpdate(manual, rate);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_FALSE(merged->has_schedule());
  EXPECT_EQ(merged->rate_limit_per_second(), 0);
}

TEST(MergeInstanceUpdate, UploadFieldsChangeAndTheTokenStaysMasked) {
  CommandLine line = UpdateLine();
  line.settings.j1_base_url = "https://api.eu.jupiterone.io";
  line.settings.j1_compress = true;
  absl::StatusOr<v1::Instance> merged = MergeInstanceUpdate(Stored(), line);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->upload().base_url(), "https://api.eu.jupiterone.io");
  EXPECT_TRUE(merged->upload().compress());
  EXPECT_EQ(merged->upload().api_token(), "***");
  EXPECT_EQ(merged->upload().account_id(), "acct-1");
  EXPECT_EQ(merged->upload().integration_instance_id(), "ii-1");

  line.settings.j1_api_token = "new-j1-token";
  EXPECT_EQ(MergeInstanceUpdate(Stored(), line)->upload().api_token(),
            "new-j1-token");

  // A stored upload read back without a token still has one on the server.
  v1::Instance unmasked = Stored();
  unmasked.mutable_upload()->clear_api_token();
  CommandLine compress = UpdateLine();
  compress.settings.j1_compress = false;
  EXPECT_TRUE(MergeInstanceUpdate(unmasked, compress).ok());
}

TEST(MergeInstanceUpdate, NewUploadMustBeComplete) {
  v1::Instance without = Stored();
  without.clear_upload();
  CommandLine line = UpdateLine();
  line.settings.j1_account_id = "acct-2";
  EXPECT_EQ(MergeInstanceUpdate(without, line).status(),
            absl::InvalidArgumentError(
                "instance 'ci-prod': JupiterOne upload is incomplete: missing "
                "--j1-token-env ENVVAR or --j1-token-file FILE, "
                "--j1-integration-instance ID"));
  line.settings.j1_api_token = "tok";
  line.settings.j1_integration_instance_id = "ii-2";
  absl::StatusOr<v1::Instance> merged = MergeInstanceUpdate(without, line);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->upload().account_id(), "acct-2");
  EXPECT_EQ(merged->upload().api_token(), "tok");
  EXPECT_EQ(merged->upload().integration_instance_id(), "ii-2");
  EXPECT_FALSE(merged->upload().compress());
}

TEST(MergeInstanceUpdate, NoUploadRemovesIt) {
  CommandLine line = UpdateLine();
  line.settings.no_upload = true;
  absl::StatusOr<v1::Instance> merged = MergeInstanceUpdate(Stored(), line);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_FALSE(merged->has_upload());
}

TEST(BuildInstance, TakesEverythingFromTheCommandLine) {
  CommandLine line;
  line.command = Command::kInstanceCreate;
  line.instance_id = "ci-new";
  line.integration = "circleci";
  line.config = {{"apiKey", "s3cret"}, {"orgSlug", "gh/acme"}};
  line.settings.cron = "0 3 * * *";
  line.settings.jitter_seconds = 60;
  line.settings.disable_steps = {"fetch-envvars"};
  line.settings.rate_limit_per_second = 1.5;
  line.settings.j1_account_id = "acct";
  line.settings.j1_api_token = "tok";
  line.settings.j1_integration_instance_id = "ii";
  absl::StatusOr<v1::Instance> built = BuildInstance(line);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->id(), "ci-new");
  EXPECT_EQ(built->integration(), "circleci");
  EXPECT_EQ(built->config().at("apiKey"), "s3cret");
  EXPECT_EQ(built->schedule().cron(), "0 3 * * *");
  EXPECT_EQ(built->schedule().jitter_seconds(), 60);
  EXPECT_THAT(built->disabled_steps(), ElementsAre("fetch-envvars"));
  EXPECT_EQ(built->rate_limit_per_second(), 1.5);
  EXPECT_EQ(built->upload().api_token(), "tok");
  EXPECT_TRUE(built->upload().base_url().empty());

  // Nothing but the basics: no schedule and no upload are sent.
  CommandLine plain;
  plain.instance_id = "ci-plain";
  plain.integration = "circleci";
  absl::StatusOr<v1::Instance> basic = BuildInstance(plain);
  ASSERT_TRUE(basic.ok()) << basic.status();
  EXPECT_FALSE(basic->has_schedule());
  EXPECT_FALSE(basic->has_upload());
  EXPECT_THAT(basic->disabled_steps(), IsEmpty());
}

}  // namespace
}  // namespace graphmill::cli
