// Per-task HttpClientOptions: the shared connection pool, redaction and
// rate-budget hooks.
#include "worker/integrations/common/task_http_options.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/http/connection_pool.h"

namespace graphmill::worker {

http::HttpClientOptions WithConnectionPool(http::HttpClientOptions options) {
  if (options.pool == nullptr) {
    options.pool = std::make_shared<http::ConnectionPool>();
  }
  return options;
}

http::HttpClientOptions WithRedacted(http::HttpClientOptions options,
                                     const std::string& secret) {
  options.redact.push_back(secret);
  return options;
}

std::optional<int64_t> RemainingRequests(const http::HttpResponse& response) {
  // Heroku and the IETF draft say RateLimit-Remaining; CircleCI (and most
  // others) X-RateLimit-Remaining.
  for (const char* name : {"RateLimit-Remaining", "X-RateLimit-Remaining"}) {
    std::optional<std::string> value = response.Header(name);
    int64_t remaining = 0;
    if (value.has_value() &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(*value), &remaining) &&
        remaining >= 0) {
      return remaining;
    }
  }
  return std::nullopt;
}

http::HttpClientOptions TaskHttpClientOptions(
    const http::HttpClientOptions& base, StepContext& context,
    RequestHooks hooks) {
  http::HttpClientOptions options = base;
  options.before_request = [&context, base_hook = base.before_request,
                            hook = std::move(hooks.before_request)] {
    if (base_hook) base_hook();
    if (hook) hook();
    context.AwaitRequestSlot();
  };
  options.after_response = [&context, base_hook = base.after_response,
                            hook = std::move(hooks.after_response)](
                               const http::HttpResponse& response) {
    if (base_hook) base_hook(response);
    context.OnProviderResponse(response.status);
    if (std::optional<int64_t> remaining = RemainingRequests(response))
      context.OnProviderRemaining(*remaining);
    if (hook) hook(response);
  };
  return options;
}

}  // namespace graphmill::worker
