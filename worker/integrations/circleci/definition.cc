// The CircleCI integration's definition: config fields and the step DAG,
// mirroring the reference graph-circleci v1.2.0 (ids, names, dependsOn, types
// and classes); the steps are declared in steps/<step>.cc.
#include "worker/integrations/circleci/definition.h"

#include "worker/integrations/circleci/steps/steps.h"
#include "worker/integrations/common/definition_builder.h"
#include "worker/integrations/common/step_spec.h"
#include "worker/integrations/common/webhook_handler.h"

namespace graphmill::worker::circleci {
namespace {

v1::IntegrationDefinition BuildDefinition() {
  v1::IntegrationDefinition definition;
  definition.set_name(kIntegrationName);
  definition.set_version(kIntegrationVersion);
  definition.set_display_name(kIntegrationDisplayName);

  AddConfigField(
      definition, kConfigApiKey, v1::CONFIG_FIELD_TYPE_STRING,
      /*secret=*/true, /*optional=*/false,
      "CircleCI personal API token, sent as the Circle-Token header");
  AddConfigField(definition, kConfigLogin, v1::CONFIG_FIELD_TYPE_STRING,
                 /*secret=*/false, /*optional=*/false,
                 "Login of the token's user; the account's name, and the "
                 "organization (user group) linked to the account");
  AddConfigField(definition, kConfigUserId, v1::CONFIG_FIELD_TYPE_STRING,
                 /*secret=*/false, /*optional=*/false,
                 "Identifier of the account entity (never sent to CircleCI)");
  AddConfigField(definition, kConfigBaseUrl, v1::CONFIG_FIELD_TYPE_STRING,
                 /*secret=*/false, /*optional=*/true,
                 "CircleCI API v2 base URL (CircleCI server installations)",
                 kDefaultBaseUrl, /*endpoint=*/true);
  AddConfigField(definition, kConfigExtraProjectSlugs,
                 v1::CONFIG_FIELD_TYPE_STRING_LIST, /*secret=*/false,
                 /*optional=*/true,
                 "Project slugs (e.g. gh/org/repo) to fetch in addition to "
                 "those the pipeline feed reveals");

  AddConfigField(
      definition, kWebhookSecretConfigField, v1::CONFIG_FIELD_TYPE_STRING,
      /*secret=*/true,
      /*optional=*/true,
      "Secret CircleCI signs webhook deliveries with (circleci-signature); "
      "set it to receive workflow-completed and job-completed "
      "webhooks");

  // The steps come from their list, each declared next to its handler.
  AddSteps(definition, Steps());

  // Requests in flight per credential across every task and worker: enough
  // for the provider's latency to be hidden, few enough to stay polite.
  v1::ProviderLimits& limits = *definition.mutable_provider_limits();
  limits.set_max_requests_in_flight(96);
  return definition;
}

}  // namespace

const v1::IntegrationDefinition& Definition() {
  static const v1::IntegrationDefinition* const definition =
      new v1::IntegrationDefinition(BuildDefinition());
  return *definition;
}

const v1::StepDefinition* FindStep(absl::string_view step_id) {
  return ::graphmill::worker::FindStep(Definition(), step_id);
}

std::vector<std::string> DeclaredTypes(absl::string_view step_id) {
  return ::graphmill::worker::DeclaredTypes(Definition(), step_id);
}

}  // namespace graphmill::worker::circleci
