// API tokens of the fake Heroku server: their text syntax, OAuth scopes and
// enterprise roles, and reading the token out of an Authorization header.
//
// Token syntax (flags and options): TOKEN:SCOPES:ROLE[:EMAIL]
//   SCOPES: '+'-separated OAuth scopes out of global, identity, read,
//           read-protected, write, write-protected (e.g. "read+identity").
//   ROLE:   the enterprise role, "admin" or "member" (members get 403 on
//           add-ons).
//   EMAIL:  the Heroku account /account answers with; empty = the dataset's
//           first user.
// Examples: "t1:global:admin", "t2:read:member",
// "t3:read+identity:admin:a@b.c".
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_AUTH_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_AUTH_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace graphmill::fakes::heroku {

enum class EnterpriseRole { kAdmin, kMember };

struct TokenSpec {
  std::string token;  // the secret; never logged
  std::vector<std::string> scopes = {"global"};
  EnterpriseRole role = EnterpriseRole::kAdmin;
  std::string email;  // empty = the dataset's first user
};

// Parses TOKEN:SCOPES:ROLE[:EMAIL]. INVALID_ARGUMENT names the bad part (but
// never repeats the token).
absl::StatusOr<TokenSpec> ParseTokenSpec(absl::string_view spec);

// The text syntax of `spec` with the token replaced by "***" (for logs and the
// control endpoint).
std::string DescribeToken(const TokenSpec& spec);

// The API token carried by an Authorization header value: "Bearer <t>",
// "Basic base64(':' <t>)" or "Basic base64(<email> ':' <t>)" (scheme names are
// case-insensitive). nullopt when the header is absent, malformed or has an
// empty token.
std::optional<std::string> TokenFromAuthorization(absl::string_view header);

// True when `granted` shares at least one scope with the space-separated
// `accepted` list.
bool ScopeAllowed(absl::Span<const std::string> granted,
                  absl::string_view accepted);

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_AUTH_H_
