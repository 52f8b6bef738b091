#include "coordinator/instances.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace graphmill::coordinator {
namespace {

v1::IntegrationDefinition Definition() {
  v1::IntegrationDefinition d;
  d.set_name("circleci");
  d.set_version("1");
  v1::ConfigField* key = d.add_config_fields();
  key->set_name("apiKey");
  key->set_secret(true);
  key->set_type(v1::CONFIG_FIELD_TYPE_STRING);
  v1::ConfigField* login = d.add_config_fields();
  login->set_name("login");
  login->set_type(v1::CONFIG_FIELD_TYPE_STRING);
  v1::ConfigField* base_url = d.add_config_fields();
  base_url->set_name("baseUrl");
  base_url->set_type(v1::CONFIG_FIELD_TYPE_STRING);
  base_url->set_optional(true);
  base_url->set_default_value("https://circleci.com/api/v2");
  base_url->set_endpoint(true);
  d.add_steps()->set_id("fetch-users");
  return d;
}

v1::Instance Instance() {
  v1::Instance instance;
  instance.set_id("ci");
  instance.set_integration("circleci");
  (*instance.mutable_config())["apiKey"] = "token-123";
  (*instance.mutable_config())["login"] = "me";
  v1::JupiterOneUpload* upload = instance.mutable_upload();
  upload->set_account_id("acct");
  upload->set_api_token("j1-token");
  upload->set_integration_instance_id("j1-instance");
  return instance;
}

InstanceSecrets WithKey() {
  return InstanceSecrets(*SecretBox::FromKeyMaterial(std::string(32, 'k')));
}

TEST(InstanceSecrets, SealsAndOpensSecretsOnly) {
  v1::Instance instance = Instance();
  InstanceSecrets secrets = WithKey();
  ASSERT_TRUE(secrets.Seal(Definition(), &instance).ok());
  EXPECT_NE(instance.config().at("apiKey"), "token-123");
  EXPECT_TRUE(SecretBox::LooksEncrypted(instance.config().at("apiKey")));
  EXPECT_EQ(instance.config().at("login"), "me");
  EXPECT_TRUE(SecretBox::LooksEncrypted(instance.upload().api_token()));
  ASSERT_TRUE(secrets.Open(Definition(), &instance).ok());
  EXPECT_EQ(instance.config().at("apiKey"), "token-123");
  EXPECT_EQ(instance.upload().api_token(), "j1-token");
}

TEST(InstanceSecrets, SealedValueDoesNotOpenForAnotherInstance) {
  v1::Instance instance = Instance();
  InstanceSecrets secrets = WithKey();
  ASSERT_TRUE(secrets.Seal(Definition(), &instance).ok());
  instance.set_id("other");
  absl::Status status = secrets.Open(Definition(), &instance);
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(status.message().find("config field 'apiKey'"),
            absl::string_view::npos);
  EXPECT_EQ(status.message().find("token-123"), absl::string_view::npos);
}

TEST(InstanceSecrets, WithoutKeyRefusesSecretsSayingHow) {
  v1::Instance instance = Instance();
  absl::Status status =
      InstanceSecrets(std::nullopt).Seal(Definition(), &instance);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("GRAPHMILL_SECRET_KEY"),
            absl::string_view::npos)
      << status.message();
}

TEST(MergeUpdate, MaskedOrAbsentSecretsKeepStoredValues) {
  v1::Instance stored = Instance();
  ASSERT_TRUE(WithKey().Seal(Definition(), &stored).ok());
  v1::Instance update;
  (*update.mutable_config())["apiKey"] = "***";
  (*update.mutable_config())["login"] = "new-login";
  *update.mutable_upload() = stored.upload();
  update.mutable_upload()->set_api_token("***");
  update.mutable_upload()->set_compress(!stored.upload().compress());
  v1::Instance merged = *MergeUpdate(Definition(), stored, update);
  EXPECT_EQ(merged.config().at("apiKey"), stored.config().at("apiKey"));
  EXPECT_EQ(merged.config().at("login"), "new-login");
  EXPECT_EQ(merged.upload().api_token(), stored.upload().api_token());
  EXPECT_EQ(merged.id(), "ci");
  (*update.mutable_config())["apiKey"] = "rotated";
  EXPECT_EQ(MergeUpdate(Definition(), stored, update)->config().at("apiKey"),
            "rotated");
}

TEST(MergeUpdate, UnsetConfigNamesOnlyKnownFields) {
  v1::IntegrationDefinition definition = Definition();
  v1::ConfigField* secret = definition.add_config_fields();
  secret->set_name("webhookSecret");
  secret->set_secret(true);
  secret->set_optional(true);
  v1::Instance stored = Instance();
  (*stored.mutable_config())["webhookSecret"] = "hook-123";
  (*stored.mutable_config())["baseUrl"] = "https://circleci.com/api/v2";
  ASSERT_TRUE(WithKey().Seal(definition, &stored).ok());
  v1::Instance update = stored;
  update.mutable_config()->erase("baseUrl");
  update.mutable_config()->erase("webhookSecret");

  // A misspelt name is refused before anything else, naming the valid ones.
  absl::StatusOr<v1::Instance> refused =
      MergeUpdate(definition, stored, update, {"baseUrl", "baseURL"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "instance 'ci': cannot unset unknown config field 'baseURL' of "
            "integration 'circleci' (known: apiKey, login, baseUrl, "
            "webhookSecret)");
  v1::Instance both = update;
  (*both.mutable_config())["baseUrl"] = "https://circleci.com/api/v2";
  EXPECT_EQ(
      MergeUpdate(definition, stored, both, {"baseUrl"}).status().message(),
      "instance 'ci': config field 'baseUrl' is both set and unset");

  // Known fields go, a secret one too (absent alone, it would be kept); one
  // that is not set is no error.
  EXPECT_TRUE(MergeUpdate(definition, stored, update)
                  ->config()
                  .contains("webhookSecret"));
  absl::StatusOr<v1::Instance> merged =
      MergeUpdate(definition, stored, update, {"baseUrl", "webhookSecret"});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_FALSE(merged->config().contains("baseUrl"));
  EXPECT_FALSE(merged->config().contains("webhookSecret"));
  EXPECT_EQ(merged->config().at("apiKey"), stored.config().at("apiKey"));
  EXPECT_TRUE(MergeUpdate(definition, *merged, update, {"webhookSecret"}).ok());
}

// The attack: point the instance at another server and let the next run send
// the stored key there, without ever knowing it.
TEST(MergeUpdate, ANewEndpointNeedsTheSecretsAgain) {
  v1::Instance stored = Instance();
  ASSERT_TRUE(WithKey().Seal(Definition(), &stored).ok());
  v1::Instance update = Instance();
  update.clear_upload();
  *update.mutable_upload() = stored.upload();
  (*update.mutable_config())["apiKey"] = "***";
  (*update.mutable_config())["baseUrl"] = "http://attacker.example/api/v2";
  absl::StatusOr<v1::Instance> refused =
      MergeUpdate(Definition(), stored, update);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("give secret config field 'apiKey' again"));
  update.mutable_config()->erase("apiKey");
  EXPECT_EQ(MergeUpdate(Definition(), stored, update).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Writing the default out is no change of destination.
  (*update.mutable_config())["baseUrl"] = "https://circleci.com/api/v2";
  EXPECT_TRUE(MergeUpdate(Definition(), stored, update).ok());
  // Whoever knows the key may move it.
  (*update.mutable_config())["baseUrl"] = "https://circleci.internal/api/v2";
  (*update.mutable_config())["apiKey"] = "circle-token-123456";
  EXPECT_TRUE(MergeUpdate(Definition(), stored, update).ok());
}

TEST(MergeUpdate, ANewUploadTargetNeedsTheTokenAgain) {
  v1::Instance stored = Instance();
  ASSERT_TRUE(WithKey().Seal(Definition(), &stored).ok());
  for (const auto& change :
       std::vector<std::function<void(v1::JupiterOneUpload&)>>{
           [](v1::JupiterOneUpload& u) {
             u.set_base_url("http://attacker.example");
           },
           [](v1::JupiterOneUpload& u) { u.set_account_id("other-account"); },
       }) {
    v1::Instance update = Instance();
    *update.mutable_upload() = stored.upload();
    update.mutable_upload()->set_api_token("***");
    change(*update.mutable_upload());
    absl::StatusOr<v1::Instance> refused =
        MergeUpdate(Definition(), stored, update);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(refused.status().message()),
                ::testing::HasSubstr("give upload.api_token again"));
    update.mutable_upload()->set_api_token("j1-token-7777777");
    EXPECT_TRUE(MergeUpdate(Definition(), stored, update).ok());
  }
}

TEST(InstanceSecrets, ASealedSecretDoesNotOpenForAnotherDestination) {
  const InstanceSecrets secrets = WithKey();
  v1::Instance instance = Instance();
  ASSERT_TRUE(secrets.Seal(Definition(), &instance).ok());
  // The store edited behind the API's back: the sealed key kept, the
  // destination changed.
  v1::Instance moved = instance;
  (*moved.mutable_config())["baseUrl"] = "http://attacker.example/api/v2";
  absl::Status opened = secrets.Open(Definition(), &moved);
  EXPECT_EQ(opened.code(), absl::StatusCode::kPermissionDenied) << opened;
  v1::Instance upload_moved = instance;
  upload_moved.mutable_upload()->set_base_url("http://attacker.example");
  EXPECT_FALSE(secrets.Open(Definition(), &upload_moved).ok());
  EXPECT_TRUE(secrets.Open(Definition(), &instance).ok());
}

TEST(InstanceSecrets, RebindUpgradesValuesSealedWithoutTheirDestination) {
  auto box = SecretBox::FromKeyMaterial(std::string(32, 'k'));
  ASSERT_TRUE(box.ok());
  v1::Instance instance = Instance();
  // As an earlier version sealed them: bound to instance and field only.
  (*instance.mutable_config())["apiKey"] =
      *box->Encrypt("circle-token-123456", "instance/ci/config/apiKey");
  instance.mutable_upload()->set_api_token(
      *box->Encrypt("j1-token-abcdef", "instance/ci/upload/api_token"));
  const InstanceSecrets secrets = WithKey();
  v1::Instance copy = instance;
  EXPECT_FALSE(secrets.Open(Definition(), &copy).ok());
  absl::StatusOr<bool> changed = secrets.Rebind(Definition(), &instance);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  EXPECT_FALSE(*secrets.Rebind(Definition(), &instance));  // once
  ASSERT_TRUE(secrets.Open(Definition(), &instance).ok());
  EXPECT_EQ(instance.config().at("apiKey"), "circle-token-123456");
  EXPECT_EQ(instance.upload().api_token(), "j1-token-abcdef");
}

TEST(MaskSecrets, MasksConfigAndUploadToken) {
  v1::Instance instance = Instance();
  MaskSecrets(Definition(), &instance);
  EXPECT_EQ(instance.config().at("apiKey"), "***");
  EXPECT_EQ(instance.config().at("login"), "me");
  EXPECT_EQ(instance.upload().api_token(), "***");
}

TEST(ValidateInstanceSettings, NamesTheBadField) {
  v1::Instance instance = Instance();
  EXPECT_TRUE(ValidateInstanceSettings(Definition(), instance).ok());
  instance.add_disabled_steps("fetch-nothing");
  EXPECT_EQ(ValidateInstanceSettings(Definition(), instance).message(),
            "instance 'ci': disabled step 'fetch-nothing' is not a step of "
            "integration "
            "'circleci'");
  instance.clear_disabled_steps();
  instance.mutable_schedule()->set_cron("61 * * * *");
  EXPECT_NE(ValidateInstanceSettings(Definition(), instance)
                .message()
                .find("minute 61"),
            absl::string_view::npos);
  instance.clear_schedule();
  instance.mutable_upload()->clear_account_id();
  EXPECT_EQ(
      ValidateInstanceSettings(Definition(), instance).message(),
      "instance 'ci': upload.account_id is required for a JupiterOne upload");
}

// Out-of-range rates were stored: NaN and inf slipped past "< 0", and 1e-300
// made a run that never ends.
TEST(ValidateInstanceSettings, RefusesRateLimitOutOfRange) {
  for (const auto& [rate, shown] : std::vector<std::pair<double, std::string>>{
           {std::nan(""), "nan"},
           {std::numeric_limits<double>::infinity(), "inf"},
           {1e-300, "1e-300"},
           {0.001, "0.001"},
           {100001, "100001"},
           {-1, "-1"}}) {
    v1::Instance instance = Instance();
    instance.set_rate_limit_per_second(rate);
    absl::Status status = ValidateInstanceSettings(Definition(), instance);
    EXPECT_EQ(status,
              absl::InvalidArgumentError(absl::StrCat(
                  "instance 'ci': rate_limit_per_second ", shown,
                  " is out of range: use 0 (the coordinator's default) or "
                  "0.01 to 100000 requests per second")))
        << shown;
  }
  for (double rate : {0.0, 0.01, 1.5, 100000.0}) {
    v1::Instance instance = Instance();
    instance.set_rate_limit_per_second(rate);
    EXPECT_TRUE(ValidateInstanceSettings(Definition(), instance).ok()) << rate;
  }
}

// A create has no stored value for "***" to keep: it was stored as the secret.
TEST(ValidateInstanceSettings, RefusesMaskAsSecretConfigValue) {
  v1::Instance instance = Instance();
  (*instance.mutable_config())["apiKey"] = "***";
  EXPECT_EQ(ValidateInstanceSettings(Definition(), instance),
            absl::InvalidArgumentError(
                "instance 'ci': secret config field 'apiKey' is \"***\" (the "
                "mask secrets read back as) and there is no stored value to "
                "keep: give the secret itself"));
  // Not a secret: "***" is an ordinary value.
  instance = Instance();
  (*instance.mutable_config())["login"] = "***";
  EXPECT_TRUE(ValidateInstanceSettings(Definition(), instance).ok());
}

TEST(ValidateInstanceSettings, RefusesMaskAsUploadToken) {
  v1::Instance instance = Instance();
  instance.mutable_upload()->set_api_token("***");
  EXPECT_EQ(ValidateInstanceSettings(Definition(), instance),
            absl::InvalidArgumentError(
                "instance 'ci': upload.api_token is \"***\" (the mask secrets "
                "read back as) and there is no stored token to keep: give the "
                "token itself"));
}

// On an update "***" keeps the stored value, so the merged instance is valid;
// where nothing was stored (an upload added by this update) it is refused.
TEST(ValidateInstanceSettings, MaskOnUpdateKeepsStoredValueOrIsRefused) {
  v1::Instance stored = Instance();
  ASSERT_TRUE(WithKey().Seal(Definition(), &stored).ok());
  v1::Instance update = Instance();
  (*update.mutable_config())["apiKey"] = "***";
  update.mutable_upload()->set_api_token("***");
  v1::Instance merged = *MergeUpdate(Definition(), stored, update);
  EXPECT_TRUE(ValidateInstanceSettings(Definition(), merged).ok());
  EXPECT_EQ(merged.config().at("apiKey"), stored.config().at("apiKey"));

  stored.clear_upload();
  merged = *MergeUpdate(Definition(), stored, update);
  EXPECT_EQ(ValidateInstanceSettings(Definition(), merged).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(merged.upload().api_token(), "***");
}

TEST(ValidateInstanceSettings, RefusesDuplicateDisabledStep) {
  v1::Instance instance = Instance();
  instance.add_disabled_steps("fetch-users");
  EXPECT_TRUE(ValidateInstanceSettings(Definition(), instance).ok());
  instance.add_disabled_steps("fetch-users");
  EXPECT_EQ(ValidateInstanceSettings(Definition(), instance),
            absl::InvalidArgumentError(
                "instance 'ci': disabled step 'fetch-users' is listed twice"));
}

TEST(ValidateInstanceSettings, RefusesJitterWithoutIntervalOrCron) {
  v1::Instance instance = Instance();
  instance.mutable_schedule()->set_jitter_seconds(60);
  EXPECT_EQ(ValidateInstanceSettings(Definition(), instance),
            absl::InvalidArgumentError(
                "instance 'ci': schedule.jitter_seconds 60 needs "
                "schedule.interval or schedule.cron"));
  instance.mutable_schedule()->set_cron("@hourly");
  EXPECT_TRUE(ValidateInstanceSettings(Definition(), instance).ok());
}

}  // namespace
}  // namespace graphmill::coordinator
