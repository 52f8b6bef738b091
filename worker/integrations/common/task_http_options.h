// The HttpClientOptions of one task's API client: the integration's base
// options (with the connection pool every task shares), the API key to
// redact, and the task's rate-budget hooks.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_COMMON_TASK_HTTP_OPTIONS_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_COMMON_TASK_HTTP_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/http/http_client.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker {

// `options` with a ConnectionPool (common/http/connection_pool.h) of its own
// unless it has one: call it once where an integration object keeps its base
// options, so the clients it builds per task (and per invocation check) share
// the connections, DNS cache and TLS sessions for the worker process's life.
http::HttpClientOptions WithConnectionPool(http::HttpClientOptions options);

// `options` with `secret` added to its redact list: the client's Redactor
// (common/redact.h) keeps it, in every form covered there, out of the client's
// log lines and error messages.
http::HttpClientOptions WithRedacted(http::HttpClientOptions options,
                                     const std::string& secret);

// Hooks an integration adds around every request of a task (e.g. a pacer that
// reads the provider's rate-limit headers). Either may be null.
struct RequestHooks {
  std::function<void()> before_request;
  std::function<void(const http::HttpResponse&)> after_response;
};

// `base` for one task: every request passes through the task's share of the
// instance's rate budget, and every response's status is reported (a 429
// lowers the instance's rate). The hooks run, before each attempt:
// base.before_request, `hooks.before_request`, context.AwaitRequestSlot();
// after each response: base.after_response, context.OnProviderResponse,
// context.OnProviderRemaining (when the response has a rate-limit header),
// `hooks.after_response`. `context` (and whatever `hooks` reference) must
// outlive every client built from the result.
// The requests a response says are left: `RateLimit-Remaining` (Heroku) or
// `X-RateLimit-Remaining` (CircleCI), a non-negative integer; nullopt when
// neither is there or parses.
std::optional<int64_t> RemainingRequests(const http::HttpResponse& response);

http::HttpClientOptions TaskHttpClientOptions(
    const http::HttpClientOptions& base, StepContext& context,
    RequestHooks hooks = {});

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_TASK_HTTP_OPTIONS_H_
