// The Heroku integration: definition, invocation check and step dispatch.
#include "worker/integrations/heroku/heroku_integration.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "worker/integrations/common/task_http_options.h"
#include "worker/integrations/heroku/client.h"
#include "worker/integrations/heroku/config.h"
#include "worker/integrations/heroku/definition.h"
#include "worker/integrations/heroku/steps/steps.h"

namespace graphmill::worker::heroku {

namespace {

HerokuIntegrationOptions WithPool(HerokuIntegrationOptions options) {
  options.http = WithConnectionPool(std::move(options.http));
  return options;
}

}  // namespace

HerokuIntegration::HerokuIntegration(HerokuIntegrationOptions options)
    : options_(WithPool(std::move(options))) {}

const v1::IntegrationDefinition& HerokuIntegration::definition() const {
  return Definition();
}

absl::Status HerokuIntegration::ValidateInvocation(
    const InstanceConfig& config) {
  absl::StatusOr<HerokuConfig> parsed = ParseConfig(config);
  if (!parsed.ok()) return parsed.status();
  HerokuClient client(parsed->base_url, parsed->api_key, options_.http);
  absl::Status status = client.CheckAccount();
  if (status.ok()) return status;
  // The HttpClient message already names the URL (redacted), the status and
  // Heroku's own message; say which config field is at fault.
  switch (http::HttpErrorKindOf(status)) {
    case http::HttpErrorKind::kAuth:
      return absl::UnauthenticatedError(
          absl::StrCat("Heroku rejected the API key (config field '",
                       kConfigApiKey, "'): ", status.message()));
    case http::HttpErrorKind::kPermission:
      return absl::PermissionDeniedError(absl::StrCat(
          "Heroku denied access with the API key (config field '",
          kConfigApiKey, "'): ", status.message(),
          ". GET /account needs the 'global' or 'identity' scope."));
    case http::HttpErrorKind::kNetwork:
      return absl::Status(
          status.code(),
          absl::StrCat("could not reach Heroku at ", parsed->base_url,
                       " (config field '", kConfigBaseUrl,
                       "'): ", status.message()));
    case http::HttpErrorKind::kServer:
    case http::HttpErrorKind::kRateLimited:
      return absl::Status(status.code(),
                          absl::StrCat("Heroku at ", parsed->base_url,
                                       " is unavailable: ", status.message()));
    default:
      // E.g. a 404 from a base URL that is not the Platform API root.
      return absl::Status(
          status.code(),
          absl::StrCat("checking the API key against Heroku at ",
                       parsed->base_url, " (config field '", kConfigBaseUrl,
                       "') failed: ", status.message()));
  }
}

absl::Status HerokuIntegration::ExecuteStep(absl::string_view step_id,
                                            StepContext& context) {
  absl::StatusOr<HerokuConfig> config = ParseConfig(context.config());
  if (!config.ok()) return config.status();
  // Per task: the pacer sees only this task's responses, and the hooks are
  // this task's share of the instance's rate budget.
  RatePacer pacer(options_.rate_limit, options_.http.clock,
                  [&context] { return context.cancelled(); });
  http::HttpClientOptions client_options =
      TaskHttpClientOptions(options_.http, context,
                            {[&pacer] { pacer.BeforeRequest(); },
                             [&pacer](const http::HttpResponse& response) {
                               pacer.OnResponse(response);
                             }});
  HerokuClient client(config->base_url, config->api_key,
                      std::move(client_options));
  return RunStep(step_id, client, context);
}

}  // namespace graphmill::worker::heroku
