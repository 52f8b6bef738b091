// Implementation of auth.h.
#include "tests/fakes/heroku/auth.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace graphmill::fakes::heroku {
namespace {

constexpr const char* kKnownScopes[] = {
    "global", "identity", "read", "read-protected", "write", "write-protected"};

bool IsKnownScope(absl::string_view scope) {
  for (const char* known : kKnownScopes) {
    if (scope == known) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<TokenSpec> ParseTokenSpec(absl::string_view spec) {
  const std::vector<absl::string_view> parts = absl::StrSplit(spec, ':');
  if (parts.size() < 3 || parts.size() > 4 || parts[0].empty()) {
    return absl::InvalidArgumentError(
        "token spec is not TOKEN:SCOPES:ROLE[:EMAIL]");
  }
  TokenSpec token;
  token.token = std::string(parts[0]);
  token.scopes.clear();
  for (absl::string_view scope : absl::StrSplit(parts[1], '+')) {
    if (!IsKnownScope(scope)) {
      return absl::InvalidArgumentError(
          absl::StrCat("token spec: unknown scope '", scope, "' (want ",
                       absl::StrJoin(kKnownScopes, ", "), ", joined by '+')"));
    }
    if (std::find(token.scopes.begin(), token.scopes.end(), scope) ==
        token.scopes.end()) {
      token.scopes.emplace_back(scope);
    }
  }
  if (parts[2] == "admin") {
    token.role = EnterpriseRole::kAdmin;
  } else if (parts[2] == "member") {
    token.role = EnterpriseRole::kMember;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "token spec: unknown role '", parts[2], "' (want admin or member)"));
  }
  if (parts.size() == 4) token.email = std::string(parts[3]);
  return token;
}

std::string DescribeToken(const TokenSpec& spec) {
  std::string out =
      absl::StrCat("***:", absl::StrJoin(spec.scopes, "+"), ":",
                   spec.role == EnterpriseRole::kAdmin ? "admin" : "member");
  if (!spec.email.empty()) absl::StrAppend(&out, ":", spec.email);
  return out;
}

std::optional<std::string> TokenFromAuthorization(absl::string_view header) {
  header = absl::StripAsciiWhitespace(header);
  const size_t space = header.find(' ');
  if (space == absl::string_view::npos) return std::nullopt;
  const absl::string_view scheme = header.substr(0, space);
  const absl::string_view credentials =
      absl::StripAsciiWhitespace(header.substr(space + 1));
  std::string token;
  if (absl::EqualsIgnoreCase(scheme, "Bearer")) {
    token = std::string(credentials);
  } else if (absl::EqualsIgnoreCase(scheme, "Basic")) {
    std::string decoded;
    if (!absl::Base64Unescape(credentials, &decoded)) return std::nullopt;
    const size_t colon = decoded.find(':');
    if (colon == std::string::npos) return std::nullopt;
    token = decoded.substr(colon + 1);
  } else {
    return std::nullopt;
  }
  if (token.empty()) return std::nullopt;
  return token;
}

bool ScopeAllowed(absl::Span<const std::string> granted,
                  absl::string_view accepted) {
  for (absl::string_view scope : absl::StrSplit(accepted, ' ')) {
    if (std::find(granted.begin(), granted.end(), scope) != granted.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace graphmill::fakes::heroku
