// The provider HTTP client shared by all integrations: libcurl with connection reuse, a
// per-request timeout, retries with exponential backoff and jitter on 429/5xx/timeouts/resets,
// Retry-After honoured (seconds or HTTP date; never a quota header), errors classified.
#ifndef GRAPHMILL_WORKER_RUNTIME_HTTP_CLIENT_H_
#define GRAPHMILL_WORKER_RUNTIME_HTTP_CLIENT_H_

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

namespace graphmill::worker {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names as received
  std::string body;

  // Value of the first header named `name` (case-insensitive), if any.
  std::optional<std::string> Header(absl::string_view name) const;
};

// Why a request failed. Carried in the absl::Status (see HttpErrorKindOf) so steps can map
// errors to outcomes without parsing messages.
enum class HttpErrorKind {
  kNone,
  kAuth,          // 401 -> UNAUTHENTICATED
  kPermission,    // 403 -> PERMISSION_DENIED
  kNotFound,      // 404 -> NOT_FOUND
  kRateLimited,   // 429 after retries -> RESOURCE_EXHAUSTED
  kServer,        // 5xx after retries -> UNAVAILABLE
  kNetwork,       // connect/reset/timeout after retries -> UNAVAILABLE
  kMalformedBody, // body does not parse (set by callers via MalformedBodyError)
  kClient,        // other 4xx -> FAILED_PRECONDITION
};

// The classification of a status returned by HttpClient (kNone for OK or foreign statuses).
HttpErrorKind HttpErrorKindOf(const absl::Status& status);
// The HTTP status code behind an error (0 if none, e.g. network errors).
int HttpStatusOf(const absl::Status& status);
// A DATA_LOSS status of kind kMalformedBody for a response body that does not parse.
absl::Status MalformedBodyError(absl::string_view url, absl::string_view detail);

// Time and sleeping, injectable so tests of retries and backoff never sleep for real.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  virtual void Sleep(absl::Duration duration) = 0;
  static Clock* Real();  // process-wide real clock
};

struct HttpClientOptions {
  absl::Duration request_timeout = absl::Seconds(30);
  absl::Duration connect_timeout = absl::Seconds(10);
  int max_attempts = 6;                          // first try included
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);  // cap of one wait
  absl::Duration total_budget = absl::Minutes(5);  // all waits and attempts of one request
  // Strings never to appear in logs or error messages (the API token).
  std::vector<std::string> redact;
  Clock* clock = Clock::Real();
  // Called before each attempt (rate budget hook); may block. Null: no throttling.
  std::function<void()> before_request;
  // Called after each response with its status and headers (e.g. to read RateLimit-Remaining
  // or report a 429 to the coordinator). Null: nothing.
  std::function<void(const HttpResponse&)> after_response;
};

// Thread-safe: one client may serve many concurrent requests (each thread gets a reused curl
// handle from a pool, so connections are kept alive).
class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GET `url` with `headers`. Returns the response for 2xx (and 3xx is not followed: error).
  // Retries 429, 5xx, timeouts and connection failures per the options; other statuses
  // return at once. Error messages name the method, the URL (redacted) and the status.
  absl::StatusOr<HttpResponse> Get(const std::string& url, const HttpHeaders& headers);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a Retry-After value: delta-seconds ("5") or an HTTP date relative to `now`.
// nullopt when absent, unparsable, or not positive.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

// Appends `name=value` to `url` with '?' or '&' as the URL needs; both URL-encoded.
std::string AppendQueryParameter(absl::string_view url, absl::string_view name,
                                 absl::string_view value);

// Percent-encodes everything but unreserved characters (RFC 3986), e.g. '/' -> "%2F".
std::string UrlEncode(absl::string_view text);

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_HTTP_CLIENT_H_
