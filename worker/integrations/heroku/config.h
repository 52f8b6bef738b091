// A Heroku instance's config, parsed and checked.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_CONFIG_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::heroku {

struct HerokuConfig {
  std::string api_key;   // secret: never log
  std::string base_url;  // without a trailing '/'
};

// Parses `config`. INVALID_ARGUMENT names the field at fault: `apiKey` missing
// or blank ("config field 'apiKey' is required"), or a `baseUrl` that is not
// http(s). Never puts the API key in a message.
absl::StatusOr<HerokuConfig> ParseConfig(const InstanceConfig& config);

}  // namespace graphmill::worker::heroku

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_HEROKU_CONFIG_H_
