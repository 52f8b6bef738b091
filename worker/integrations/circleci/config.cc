// Parsing and checking a CircleCI instance's config.
#include "worker/integrations/circleci/config.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "worker/integrations/circleci/names.h"

namespace graphmill::worker::circleci {
namespace {

std::string Lookup(const InstanceConfig& config, const char* name) {
  auto it = config.find(name);
  if (it == config.end()) return "";
  return std::string(absl::StripAsciiWhitespace(it->second));
}

absl::Status Required(const char* name) {
  return absl::InvalidArgumentError(
      absl::StrCat("config field '", name, "' is required"));
}

}  // namespace

absl::StatusOr<CircleCiConfig> ParseConfig(const InstanceConfig& config) {
  CircleCiConfig parsed;
  // The key is not trimmed (secrets are used as given), only checked for
  // emptiness.
  auto key = config.find(kConfigApiKey);
  if (key == config.end() || absl::StripAsciiWhitespace(key->second).empty()) {
    return Required(kConfigApiKey);
  }
  parsed.api_key = key->second;
  parsed.login = Lookup(config, kConfigLogin);
  if (parsed.login.empty()) return Required(kConfigLogin);
  parsed.user_id = Lookup(config, kConfigUserId);
  if (parsed.user_id.empty()) return Required(kConfigUserId);

  parsed.base_url = Lookup(config, kConfigBaseUrl);
  if (parsed.base_url.empty()) parsed.base_url = kDefaultBaseUrl;
  while (absl::EndsWith(parsed.base_url, "/")) parsed.base_url.pop_back();
  if (!absl::StartsWithIgnoreCase(parsed.base_url, "http://") &&
      !absl::StartsWithIgnoreCase(parsed.base_url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("config field '", kConfigBaseUrl, "' must be an http:// ",
                     "or https:// URL, got '", parsed.base_url, "'"));
  }

  std::set<std::string> seen;
  for (absl::string_view slug :
       absl::StrSplit(Lookup(config, kConfigExtraProjectSlugs), ',')) {
    slug = absl::StripAsciiWhitespace(slug);
    if (slug.empty()) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(slug, '/');
    bool valid = parts.size() == 3;
    for (absl::string_view part : parts) valid = valid && !part.empty();
    if (!valid) {
      return absl::InvalidArgumentError(
          absl::StrCat("config field '", kConfigExtraProjectSlugs, "': '", slug,
                       "' is not a project slug like gh/org/repo"));
    }
    if (seen.insert(std::string(slug)).second) {
      parsed.extra_project_slugs.emplace_back(slug);
    }
  }
  return parsed;
}

}  // namespace graphmill::worker::circleci
