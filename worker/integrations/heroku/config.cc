// Parsing and checking a Heroku instance's config.
#include "worker/integrations/heroku/config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "worker/integrations/heroku/names.h"

namespace graphmill::worker::heroku {

absl::StatusOr<HerokuConfig> ParseConfig(const InstanceConfig& config) {
  HerokuConfig parsed;
  // The key is used as given (secrets are not trimmed), only checked for
  // emptiness.
  auto key = config.find(kConfigApiKey);
  if (key == config.end() || absl::StripAsciiWhitespace(key->second).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config field '", kConfigApiKey, "' is required"));
  }
  parsed.api_key = key->second;

  auto base_url = config.find(kConfigBaseUrl);
  if (base_url != config.end()) {
    parsed.base_url = std::string(absl::StripAsciiWhitespace(base_url->second));
  }
  if (parsed.base_url.empty()) parsed.base_url = kDefaultBaseUrl;
  while (absl::EndsWith(parsed.base_url, "/")) parsed.base_url.pop_back();
  if (!absl::StartsWithIgnoreCase(parsed.base_url, "http://") &&
      !absl::StartsWithIgnoreCase(parsed.base_url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("config field '", kConfigBaseUrl, "' must be an http:// ",
                     "or https:// URL, got '", parsed.base_url, "'"));
  }
  return parsed;
}

}  // namespace graphmill::worker::heroku
