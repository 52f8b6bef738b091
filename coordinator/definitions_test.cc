#include "coordinator/definitions.h"

#include <gtest/gtest.h>

namespace graphmill::coordinator {
namespace {

v1::IntegrationDefinition Definition() {
  v1::IntegrationDefinition d;
  d.set_name("circleci");
  d.set_version("1.0.0");
  auto field = [&](const char* name, bool secret, bool optional,
                   v1::ConfigFieldType type, const char* default_value = "") {
    v1::ConfigField* f = d.add_config_fields();
    f->set_name(name);
    f->set_secret(secret);
    f->set_optional(optional);
    f->set_type(type);
    f->set_default_value(default_value);
  };
  field("apiKey", true, false, v1::CONFIG_FIELD_TYPE_STRING);
  field("login", false, false, v1::CONFIG_FIELD_TYPE_STRING);
  field("baseUrl", false, true, v1::CONFIG_FIELD_TYPE_STRING,
        "https://circleci.com/api/v2");
  d.mutable_config_fields(2)->set_endpoint(true);
  field("verbose", false, true, v1::CONFIG_FIELD_TYPE_BOOLEAN);
  field("pageSize", false, true, v1::CONFIG_FIELD_TYPE_INTEGER);
  auto step = [&](const char* id, std::vector<std::string> deps) {
    v1::StepDefinition* s = d.add_steps();
    s->set_id(id);
    for (auto& dep : deps) s->add_depends_on(dep);
  };
  step("fetch-users", {"fetch-account"});
  step("fetch-account", {});
  step("build", {"fetch-users", "fetch-account"});
  return d;
}

TEST(ValidateDefinition, OrdersDependenciesFirst) {
  auto order = ValidateDefinition(Definition());
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(*order, (std::vector<std::string>{"fetch-account", "fetch-users",
                                              "build"}));
}

TEST(ValidateDefinition, RejectsUnknownDependencyNamingTheStep) {
  v1::IntegrationDefinition d = Definition();
  d.mutable_steps(0)->add_depends_on("fetch-nothing");
  auto order = ValidateDefinition(d);
  EXPECT_EQ(order.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      order.status().message(),
      "integration 'circleci': step 'fetch-users' depends on unknown step "
      "'fetch-nothing'");
}

TEST(ValidateDefinition, RejectsCycleWithPath) {
  v1::IntegrationDefinition d = Definition();
  d.mutable_steps(1)->add_depends_on(
      "build");  // fetch-account -> build -> ... -> fetch-account
  auto order = ValidateDefinition(d);
  EXPECT_EQ(order.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(order.status().message().find("dependency cycle: "),
            absl::string_view::npos);
  EXPECT_NE(order.status().message().find("fetch-account -> build"),
            absl::string_view::npos)
      << order.status().message();
}

TEST(ValidateDefinition, RejectsDuplicateStep) {
  v1::IntegrationDefinition d = Definition();
  d.add_steps()->set_id("build");
  EXPECT_NE(ValidateDefinition(d).status().message().find(
                "duplicate step id 'build'"),
            absl::string_view::npos);
}

TEST(ValidateConfig, AcceptsValidConfig) {
  EXPECT_TRUE(
      ValidateConfig(Definition(), "ci", {{"apiKey", "k"}, {"login", "me"}})
          .ok());
}

TEST(ValidateConfig, NamesTheFaultyField) {
  const auto d = Definition();
  EXPECT_EQ(ValidateConfig(d, "ci", {{"apiKey", "k"}}).message(),
            "instance 'ci': config field 'login' is required");
  EXPECT_EQ(ValidateConfig(d, "ci", {{"apiKey", "k"}, {"login", ""}}).message(),
            "instance 'ci': config field 'login' is required");
  EXPECT_EQ(
      ValidateConfig(d, "ci", {{"apiKey", ""}, {"login", "me"}}).message(),
      "instance 'ci': secret config field 'apiKey' must not be empty");
  EXPECT_EQ(ValidateConfig(d, "ci",
                           {{"apiKey", "k"}, {"login", "me"}, {"token", "x"}})
                .message(),
            "instance 'ci': unknown config field 'token' for integration "
            "'circleci' (known: "
            "apiKey, login, baseUrl, verbose, pageSize)");
  EXPECT_EQ(ValidateConfig(
                d, "ci", {{"apiKey", "k"}, {"login", "me"}, {"verbose", "yes"}})
                .message(),
            "instance 'ci': config field 'verbose' must be true or false");
  EXPECT_EQ(ValidateConfig(
                d, "ci", {{"apiKey", "k"}, {"login", "me"}, {"pageSize", "1x"}})
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Config, DefaultsAndMasking) {
  const auto d = Definition();
  ConfigMap config = WithDefaults(d, {{"apiKey", "secret"}, {"login", "me"}});
  EXPECT_EQ(config.at("baseUrl"), "https://circleci.com/api/v2");
  EXPECT_FALSE(config.contains("verbose"));
  ConfigMap masked = Masked(d, config);
  EXPECT_EQ(masked.at("apiKey"), "***");
  EXPECT_EQ(masked.at("login"), "me");
}

TEST(IsValidInstanceId, Rules) {
  EXPECT_TRUE(IsValidInstanceId("ci-prod"));
  EXPECT_TRUE(IsValidInstanceId("a1"));
  EXPECT_FALSE(IsValidInstanceId(""));
  EXPECT_FALSE(IsValidInstanceId("-x"));
  EXPECT_FALSE(IsValidInstanceId("CI"));
  EXPECT_FALSE(IsValidInstanceId("a b"));
  EXPECT_FALSE(IsValidInstanceId(std::string(64, 'a')));
}

TEST(CheckDefinitionChange, TheSameVersionMustBeTheSameDefinition) {
  EXPECT_TRUE(CheckDefinitionChange(Definition(), Definition()).ok());
  v1::IntegrationDefinition plain_key = Definition();
  plain_key.mutable_config_fields(0)->set_secret(false);
  absl::Status refused = CheckDefinitionChange(Definition(), plain_key);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "integration 'circleci' version 1.0.0 is already registered with "
            "a different definition; a changed definition needs a new version");
}

TEST(CheckDefinitionChange, NoVersionMakesASecretOrEndpointPlain) {
  v1::IntegrationDefinition next = Definition();
  next.set_version("1.1.0");
  next.add_steps()->set_id("fetch-more");
  EXPECT_TRUE(CheckDefinitionChange(Definition(), next).ok());

  v1::IntegrationDefinition plain_key = next;
  plain_key.mutable_config_fields(0)->set_secret(false);
  EXPECT_EQ(CheckDefinitionChange(Definition(), plain_key).message(),
            "integration 'circleci' version 1.1.0 would make secret config "
            "field 'apiKey' a plain one");
  v1::IntegrationDefinition plain_url = next;
  plain_url.mutable_config_fields(2)->set_endpoint(false);
  EXPECT_EQ(CheckDefinitionChange(Definition(), plain_url).code(),
            absl::StatusCode::kFailedPrecondition);
  // A new secret or endpoint is fine.
  v1::IntegrationDefinition more = next;
  more.mutable_config_fields(1)->set_secret(true);
  EXPECT_TRUE(CheckDefinitionChange(Definition(), more).ok());
}

}  // namespace
}  // namespace graphmill::coordinator
