// The CircleCI integration: definition, invocation check and step dispatch.
#include "worker/integrations/circleci/circleci_integration.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "worker/integrations/circleci/client.h"
#include "worker/integrations/circleci/config.h"
#include "worker/integrations/circleci/definition.h"
#include "worker/integrations/circleci/steps/steps.h"
#include "worker/integrations/common/task_http_options.h"

namespace graphmill::worker::circleci {

namespace {

RunCacheOptions ProjectCacheOptions(Clock* clock) {
  RunCacheOptions options;
  // Long enough for a run's fetch-projects shards, which follow each other
  // closely; short enough that a finished run's entries do not linger.
  options.ttl = absl::Minutes(10);
  // A project's body is about 1 KB.
  options.max_entries = 10'000;
  options.clock = clock;
  return options;
}

}  // namespace

CircleCiIntegration::CircleCiIntegration(http::HttpClientOptions http_options)
    : http_options_(WithConnectionPool(std::move(http_options))),
      project_cache_(ProjectCacheOptions(http_options_.clock)) {}

const v1::IntegrationDefinition& CircleCiIntegration::definition() const {
  return Definition();
}

absl::Status CircleCiIntegration::ValidateInvocation(
    const InstanceConfig& config) {
  absl::StatusOr<CircleCiConfig> parsed = ParseConfig(config);
  if (!parsed.ok()) return parsed.status();
  CircleCiClient client(parsed->base_url, parsed->api_key, http_options_);
  absl::Status status = client.CheckToken();
  if (status.ok()) return status;
  // The HttpClient message already names the URL (redacted), the status and
  // CircleCI's own message; say which config field is at fault.
  switch (http::HttpErrorKindOf(status)) {
    case http::HttpErrorKind::kAuth:
      return absl::UnauthenticatedError(
          absl::StrCat("CircleCI rejected the API key (config field '",
                       kConfigApiKey, "'): ", status.message()));
    case http::HttpErrorKind::kPermission:
      return absl::PermissionDeniedError(absl::StrCat(
          "CircleCI denied access with the API key (config field '",
          kConfigApiKey, "'): ", status.message()));
    case http::HttpErrorKind::kNetwork:
      return absl::Status(
          status.code(),
          absl::StrCat("could not reach CircleCI at ", parsed->base_url,
                       " (config field '", kConfigBaseUrl,
                       "'): ", status.message()));
    case http::HttpErrorKind::kServer:
    case http::HttpErrorKind::kRateLimited:
      return absl::Status(status.code(),
                          absl::StrCat("CircleCI at ", parsed->base_url,
                                       " is unavailable: ", status.message()));
    default:
      // E.g. a 404 from a base URL that is not the API v2 root.
      return absl::Status(
          status.code(),
          absl::StrCat("checking the API key against CircleCI at ",
                       parsed->base_url, " (config field '", kConfigBaseUrl,
                       "') failed: ", status.message()));
  }
}

absl::Status CircleCiIntegration::ExecuteStep(absl::string_view step_id,
                                              StepContext& context) {
  absl::StatusOr<CircleCiConfig> config = ParseConfig(context.config());
  if (!config.ok()) return config.status();
  // Requests of this task are paced by its share of the instance's rate budget,
  // and a 429 is reported so the coordinator lowers the rate for every task of
  // the instance.
  CircleCiClient client(config->base_url, config->api_key,
                        TaskHttpClientOptions(http_options_, context),
                        &project_cache_, context.run_id());
  return RunStep(step_id, *config, client, context);
}

}  // namespace graphmill::worker::circleci
