// The Heroku integration's definition: config fields and the step DAG,
// mirroring the reference graph-heroku v2.3.3 (ids, names, dependsOn, types and
// classes), plus the parent types that let per-parent steps shard; the steps
// are declared in steps/<step>.cc.
#include "worker/integrations/heroku/definition.h"

#include "worker/integrations/common/definition_builder.h"
#include "worker/integrations/common/step_spec.h"
#include "worker/integrations/common/webhook_handler.h"
#include "worker/integrations/heroku/steps/steps.h"

namespace graphmill::worker::heroku {
namespace {

v1::IntegrationDefinition BuildDefinition() {
  v1::IntegrationDefinition definition;
  definition.set_name(kIntegrationName);
  definition.set_version(kIntegrationVersion);
  definition.set_display_name(kIntegrationDisplayName);

  AddConfigField(definition, kConfigApiKey, v1::CONFIG_FIELD_TYPE_STRING,
                 /*secret=*/true,
                 /*optional=*/false,
                 "Heroku API key or OAuth authorization token (scope 'read'; "
                 "'global' is needed for team members), sent as a Bearer "
                 "token");
  AddConfigField(definition, kConfigBaseUrl, v1::CONFIG_FIELD_TYPE_STRING,
                 /*secret=*/false,
                 /*optional=*/true, "Heroku Platform API base URL",
                 kDefaultBaseUrl, /*endpoint=*/true);

  AddConfigField(definition, kWebhookSecretConfigField,
                 v1::CONFIG_FIELD_TYPE_STRING,
                 /*secret=*/true,
                 /*optional=*/true,
                 "Secret Heroku signs app webhook deliveries with "
                 "(Heroku-Webhook-Hmac-SHA256); set it to receive api:app and "
                 "api:addon webhooks");

  // The steps come from their list, each declared next to its handler.
  AddSteps(definition, Steps());

  // Requests in flight per credential across every task and worker: enough
  // for the provider's latency to be hidden, few enough to stay polite.
  v1::ProviderLimits& limits = *definition.mutable_provider_limits();
  limits.set_max_requests_in_flight(32);
  // Heroku's bucket: 4,500 tokens refilled at 75 a minute. Spend the burst,
  // then pace to the refill once a tenth is left.
  limits.set_bucket_refill_per_second(kHerokuRefillRequestsPerMinute / 60.0);
  limits.set_pace_below_remaining(kHerokuBucketCapacityRequests / 10);
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

}  // namespace graphmill::worker::heroku
