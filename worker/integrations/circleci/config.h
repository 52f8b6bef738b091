// A CircleCI instance's config, parsed and checked.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CONFIG_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::circleci {

struct CircleCiConfig {
  std::string api_key;  // secret: never log
  std::string login;
  std::string user_id;
  std::string base_url;  // without a trailing '/'
  std::vector<std::string>
      extra_project_slugs;  // trimmed, deduplicated, in order
};

// Parses `config`. INVALID_ARGUMENT names the field at fault: a required field
// missing or empty ("config field 'apiKey' is required"), a base URL that is
// not http(s), or a project slug that is not "<vcs>/<org>/<repo>". Never puts
// the API key in a message.
absl::StatusOr<CircleCiConfig> ParseConfig(const InstanceConfig& config);

}  // namespace graphmill::worker::circleci

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_CIRCLECI_CONFIG_H_
