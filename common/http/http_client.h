// The HTTP client for provider APIs, shared by the workers' integrations and
// the coordinator's sinks (JupiterOne uploads): libcurl with connection reuse,
// a per-request timeout, retries with exponential backoff and jitter on
// 429/5xx/timeouts/resets, Retry-After honoured (seconds or HTTP date; never a
// quota header), errors classified, secrets redacted from every message.
//
// Contract: HttpClient is thread-safe; its curl handles and their connections
// come from a ConnectionPool (connection_pool.h) it shares ownership of: the
// one in its options, so clients built per task reuse the connections earlier
// tasks opened, or a private one otherwise. Time (backoff
// waits, the retry budget, Retry-After dates) is read from the injected
// graphmill::Clock, so tests drive retries with a FakeClock. Errors are
// absl::Status values carrying an HttpErrorKind (HttpErrorKindOf) and the HTTP
// status (HttpStatusOf). Every attempt is counted in ProviderMetrics
// (provider_metrics.h) under the ProviderLabelScope the client was created in.
#ifndef GRAPHMILL_COMMON_HTTP_HTTP_CLIENT_H_
#define GRAPHMILL_COMMON_HTTP_HTTP_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/redact.h"

namespace graphmill::http {

class ConnectionPool;

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names as received
  std::string body;

  // Value of the first header named `name` (case-insensitive), if any.
  std::optional<std::string> Header(absl::string_view name) const;
};

// Why a request failed. Carried in the absl::Status (see HttpErrorKindOf) so
// steps can map errors to outcomes without parsing messages.
enum class HttpErrorKind {
  kNone,
  kAuth,           // 401 -> UNAUTHENTICATED
  kPermission,     // 403 -> PERMISSION_DENIED
  kNotFound,       // 404 -> NOT_FOUND
  kRateLimited,    // 429 after retries -> RESOURCE_EXHAUSTED
  kServer,         // 5xx after retries -> UNAVAILABLE
  kNetwork,        // connect/reset/timeout after retries -> UNAVAILABLE
  kMalformedBody,  // body too large or unparsable (MalformedBodyError)
  kClient,         // other 3xx/4xx -> FAILED_PRECONDITION; bad request ->
                   // INVALID_ARGUMENT
};

// The classification of a status returned by HttpClient (kNone for OK or
// foreign statuses).
HttpErrorKind HttpErrorKindOf(const absl::Status& status);
// The HTTP status code behind an error (0 if none, e.g. network errors).
int HttpStatusOf(const absl::Status& status);
// A DATA_LOSS status of kind kMalformedBody for a response body that does not
// parse. `url` and `detail` go into the message as they are: pass them through
// HttpClient::Redact first (or quote bodies with QuoteProviderBody).
absl::Status MalformedBodyError(absl::string_view url,
                                absl::string_view detail);

// The default of HttpClientOptions::max_response_bytes: a page larger than this
// is not one any provider serves on purpose, and holding it (plus its parsed
// form) per running task is what bounds a worker's memory.
inline constexpr int64_t kDefaultMaxResponseBytes = int64_t{64} << 20;

// Sets the process-wide default of HttpClientOptions::max_response_bytes for
// options created afterwards (values below 1 restore
// kDefaultMaxResponseBytes). The worker calls it once from
// --max_response_bytes before it creates its integrations, which copy their
// base options then. Thread-safe.
void SetDefaultMaxResponseBytes(int64_t bytes);
int64_t DefaultMaxResponseBytes();

struct HttpClientOptions {
  absl::Duration request_timeout =
      absl::Seconds(30);  // one attempt, connect included
  absl::Duration connect_timeout = absl::Seconds(10);
  int max_attempts = 6;  // first try included; values below 1 mean 1
  // Backoff before retry n (n = 1, 2, ...) is full jitter: a uniform draw from
  // [0, min(max_backoff, initial_backoff * 2^(n-1))].
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);  // cap of one computed wait
  // All waits and attempts of one Get or Post. A retry whose wait would end
  // past the budget is not made: the last error is returned. Each attempt's
  // timeout is also cut to what remains.
  absl::Duration total_budget = absl::Minutes(5);
  // Most bytes of one response body held in memory: the transfer is aborted as
  // soon as more arrive (or a larger Content-Length is announced) and fails
  // with kMalformedBody, without retry. Values below 1: no limit.
  int64_t max_response_bytes = DefaultMaxResponseBytes();
  // Named in that error as the setting to raise; empty: none.
  std::string max_response_bytes_flag = "--max_response_bytes";
  // Secrets never to appear in logs or error messages (the API token): the
  // client's Redactor (common/redact.h, which lists the forms covered) is
  // built from them.
  std::vector<std::string> redact;
  // Backoff waits and the retry budget go by it; never null (null is taken as
  // Clock::Real()). Must outlive the client.
  Clock* clock = Clock::Real();
  // Jitter source: returns a value in [0, 1]. Null: a random draw. Tests pin it
  // to make the backoff deterministic.
  std::function<double()> random_fraction;
  // Called before each attempt (rate budget hook); may block. Null: no
  // throttling.
  std::function<void()> before_request;
  // Called after each response with its status and headers (e.g. to read
  // RateLimit-Remaining or report a 429 to the coordinator). Null: nothing.
  std::function<void(const HttpResponse&)> after_response;
  // Where the client's curl handles, and the connections they keep open, come
  // from and go back to. Share one among the clients of one integration (the
  // worker builds one client per task) so connections outlive each client.
  // Null: a pool of the client's own, closed with it.
  std::shared_ptr<ConnectionPool> pool;
};

// Thread-safe: one client may serve many concurrent requests (each gets a
// curl handle from the pool, so connections are kept alive). HTTP/2 is used
// where an https server offers it (ALPN); http:// stays HTTP/1.1.
class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GET `url` with `headers` (no redirects followed). Returns the response for
  // 2xx. Retries 429, 5xx, timeouts and connection failures (refused, reset,
  // empty reply, truncated body) per the options; a positive Retry-After
  // replaces the computed wait (not capped by max_backoff, but by the total
  // budget). Other statuses return at once:
  //   401 UNAUTHENTICATED (kAuth), 403 PERMISSION_DENIED (kPermission), 404
  //   NOT_FOUND (kNotFound), other 3xx/4xx FAILED_PRECONDITION (kClient); after
  //   the retries, 429 RESOURCE_EXHAUSTED (kRateLimited), 5xx UNAVAILABLE
  //   (kServer), network UNAVAILABLE (kNetwork). A header holding CR or LF is
  //   INVALID_ARGUMENT (kClient).
  // Error messages name the method, the URL and the status (plus the provider's
  // JSON `message` or plain-text body, quoted with QuoteProviderBody), all
  // redacted; never the request headers.
  absl::StatusOr<HttpResponse> Get(const std::string& url,
                                   const HttpHeaders& headers);

  // POST `body` to `url` with `headers`; the caller sets Content-Type (and
  // Content-Encoding for a compressed body). Same retries, Retry-After,
  // classification and messages as Get, with "POST" as the method; the whole
  // body is sent again on each attempt, so a retried POST may reach the server
  // more than once: use it for requests whose repeats are harmless. The body is
  // never quoted in messages. No "Expect: 100-continue" is sent.
  absl::StatusOr<HttpResponse> Post(const std::string& url,
                                    const HttpHeaders& headers,
                                    const std::string& body);

  // `text` through redactor(), e.g. for a URL that callers put in their own
  // messages.
  std::string Redact(absl::string_view text) const;
  // The Redactor of options.redact, for callers' statuses and quotes.
  const Redactor& redactor() const;

 private:
  // Get and Post: `body` null for GET.
  absl::StatusOr<HttpResponse> Send(absl::string_view method,
                                    const std::string& url,
                                    const HttpHeaders& headers,
                                    const std::string* body);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Gives the heap memory freed in its scope back to the operating system
// (glibc's malloc_trim) when destroyed, if a response body of at least
// kTrimAfterBytes went through it. A parsed page is many small allocations
// that glibc keeps for reuse; without this a worker that read a few 50 MB pages
// stays hundreds of MB large. Declare it before the response and the document
// parsed from it, so it is destroyed after both.
class ScopedMemoryTrim {
 public:
  static constexpr size_t kTrimAfterBytes = size_t{8} << 20;

  ScopedMemoryTrim() = default;
  ScopedMemoryTrim(const ScopedMemoryTrim&) = delete;
  ScopedMemoryTrim& operator=(const ScopedMemoryTrim&) = delete;
  ~ScopedMemoryTrim();

  // Records a body of `bytes` read in this scope.
  void Note(size_t bytes) { largest_ = bytes > largest_ ? bytes : largest_; }

 private:
  size_t largest_ = 0;
};

// Parses a Retry-After value: delta-seconds ("5") or an HTTP date relative to
// `now`. nullopt when absent, unparsable, or not positive.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now);

// Appends `name=value` to `url` with '?' or '&' as the URL needs; both
// URL-encoded.
std::string AppendQueryParameter(absl::string_view url, absl::string_view name,
                                 absl::string_view value);

// Percent-encodes everything but unreserved characters (RFC 3986), e.g. '/' ->
// "%2F".
std::string UrlEncode(absl::string_view text);

}  // namespace graphmill::http

#endif  // GRAPHMILL_COMMON_HTTP_HTTP_CLIENT_H_
