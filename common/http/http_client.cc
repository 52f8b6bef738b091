// Implementation of common/http/http_client.h on libcurl easy handles from a
// ConnectionPool.
#include "common/http/http_client.h"

#include <curl/curl.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/http/connection_pool.h"
#include "common/http/provider_metrics.h"
#include "common/log.h"
#include "common/redact.h"
#include "rapidjson/document.h"

namespace graphmill::http {
namespace {

constexpr char kKindPayloadUrl[] =
    "type.graphmill.dev/graphmill.http.HttpErrorKind";
constexpr char kStatusPayloadUrl[] =
    "type.graphmill.dev/graphmill.http.HttpStatus";
// Most bytes reserved up front from an announced Content-Length when there is
// no limit: a lying header must not allocate gigabytes before any arrive.
constexpr int64_t kMaxReserveBytes = int64_t{64} << 20;
// Most bytes of a request header's name quoted when it is malformed.
constexpr size_t kMaxHeaderNameQuote = 64;
constexpr absl::Duration kMinAttemptTimeout = absl::Milliseconds(1);

// See SetDefaultMaxResponseBytes.
std::atomic<int64_t> default_max_response_bytes{kDefaultMaxResponseBytes};

absl::Status MakeError(absl::StatusCode code, HttpErrorKind kind,
                       int http_status, absl::string_view message) {
  absl::Status status(code, message);
  status.SetPayload(kKindPayloadUrl,
                    absl::Cord(absl::StrCat(static_cast<int>(kind))));
  if (http_status > 0) {
    status.SetPayload(kStatusPayloadUrl, absl::Cord(absl::StrCat(http_status)));
  }
  return status;
}

struct ErrorClass {
  absl::StatusCode code;
  HttpErrorKind kind;
};

ErrorClass ClassifyHttpStatus(int status) {
  switch (status) {
    case 401:
      return {absl::StatusCode::kUnauthenticated, HttpErrorKind::kAuth};
    case 403:
      return {absl::StatusCode::kPermissionDenied, HttpErrorKind::kPermission};
    case 404:
      return {absl::StatusCode::kNotFound, HttpErrorKind::kNotFound};
    case 429:
      return {absl::StatusCode::kResourceExhausted,
              HttpErrorKind::kRateLimited};
    default:
      if (status >= 500) {
        return {absl::StatusCode::kUnavailable, HttpErrorKind::kServer};
      }
      return {absl::StatusCode::kFailedPrecondition, HttpErrorKind::kClient};
  }
}

bool IsRetryableStatus(int status) { return status == 429 || status >= 500; }

// Transport failures that a later attempt may not hit: the network, the peer or
// a proxy misbehaved, not the request.
bool IsRetryableCurlCode(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:  // e.g. a gzip stream cut short
      return true;
    default:
      return false;
  }
}

// The provider's own explanation, for error messages: the JSON `message`
// (CircleCI and Heroku both use it), else JupiterOne's `error: {code,
// message}` as "CODE: message", or a plain-text body; quoted with
// QuoteProviderBody (redacted, then at most kMaxQuotedBytes, one line). Empty
// if none.
std::string ErrorExcerpt(const HttpResponse& response,
                         const Redactor& redactor) {
  std::string text;
  rapidjson::Document document;
  document.Parse(response.body.data(), response.body.size());
  if (!document.HasParseError() && document.IsObject()) {
    auto message = document.FindMember("message");
    auto error = document.FindMember("error");
    if (message != document.MemberEnd() && message->value.IsString()) {
      text.assign(message->value.GetString(), message->value.GetStringLength());
    } else if (error != document.MemberEnd() && error->value.IsObject()) {
      auto code = error->value.FindMember("code");
      auto error_message = error->value.FindMember("message");
      if (code != error->value.MemberEnd() && code->value.IsString()) {
        text.assign(code->value.GetString(), code->value.GetStringLength());
      }
      if (error_message != error->value.MemberEnd() &&
          error_message->value.IsString()) {
        if (!text.empty()) text += ": ";
        text.append(error_message->value.GetString(),
                    error_message->value.GetStringLength());
      }
    }
  } else if (absl::StartsWithIgnoreCase(
                 response.Header("Content-Type").value_or(""), "text/plain")) {
    text = response.body;
  }
  // Heroku messages may hold "\n": QuoteProviderBody makes it one line.
  return QuoteProviderBody(absl::StripAsciiWhitespace(text), redactor);
}

struct BodySink {
  CURL* handle;
  std::string* body;
  int64_t max_bytes;  // below 1: no limit
  bool reserved = false;
  bool overflow = false;
};

// Enforces max_bytes as the body arrives: the transfer is aborted at the first
// byte past it, so no more than max_bytes are ever held. A body announced by
// Content-Length is reserved once, so it is not copied on every doubling (and
// a 50 MB page does not briefly cost 100 MB).
size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const size_t bytes = size * count;
  if (sink->max_bytes > 0 &&
      static_cast<int64_t>(sink->body->size() + bytes) > sink->max_bytes) {
    sink->overflow = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  if (!sink->reserved) {
    sink->reserved = true;
    curl_off_t length = -1;
    if (curl_easy_getinfo(sink->handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
                          &length) == CURLE_OK &&
        length > 0) {
      const int64_t cap =
          sink->max_bytes > 0 ? sink->max_bytes : kMaxReserveBytes;
      sink->body->reserve(static_cast<size_t>(std::min<int64_t>(length, cap)));
    }
  }
  sink->body->append(data, bytes);
  return bytes;
}

// Called once per header line, for every response of the exchange (e.g. a 100
// Continue before the final one): a status line starts a new header block.
size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<HttpHeaders*>(user);
  const size_t bytes = size * count;
  const absl::string_view line =
      absl::StripTrailingAsciiWhitespace(absl::string_view(data, bytes));
  if (absl::StartsWith(line, "HTTP/")) {
    headers->clear();
    return bytes;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos || colon == 0) return bytes;
  headers->emplace_back(
      std::string(line.substr(0, colon)),
      std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return bytes;
}

bool HasLineBreakOrNul(absl::string_view text) {
  return text.find_first_of(absl::string_view("\r\n\0", 3)) !=
         absl::string_view::npos;
}

using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// Builds curl's header list; an empty value needs curl's "Name;" form to be
// sent at all.
absl::StatusOr<HeaderList> MakeHeaderList(const HttpHeaders& headers) {
  HeaderList list(nullptr, &curl_slist_free_all);
  for (const auto& [name, value] : headers) {
    if (name.empty() || HasLineBreakOrNul(name) || HasLineBreakOrNul(value) ||
        name.find_first_of(": \t") != std::string::npos) {
      // The value is never quoted: it may be the token.
      return absl::InvalidArgumentError(
          absl::StrCat("request header '",
                       QuoteProviderBody(name, Redactor(), kMaxHeaderNameQuote),
                       "' is malformed"));
    }
    const std::string line = value.empty() ? absl::StrCat(name, ";")
                                           : absl::StrCat(name, ": ", value);
    curl_slist* extended = curl_slist_append(list.get(), line.c_str());
    if (extended == nullptr)
      return absl::ResourceExhaustedError("curl_slist_append failed");
    list.release();
    list.reset(extended);
  }
  return list;
}

// What one attempt produced: a response (code CURLE_OK) or a transport failure.
struct Attempt {
  CURLcode code = CURLE_OK;
  std::string curl_error;  // curl's detailed message, if any
  bool body_too_large = false;
  HttpResponse response;
  // New connections the transfer opened (CURLINFO_NUM_CONNECTS): 0 when it
  // reused one.
  int64_t connections_opened = 0;
};

// Full jitter over an exponential base: uniform in [0, min(cap, initial *
// 2^(retry-1))].
absl::Duration Backoff(const HttpClientOptions& options, int retry,
                       double fraction) {
  absl::Duration base = std::max(options.initial_backoff, absl::ZeroDuration());
  const absl::Duration cap =
      std::max(options.max_backoff, absl::ZeroDuration());
  for (int i = 1; i < retry && base < cap; ++i) base *= 2;
  base = std::min(base, cap);
  if (!(fraction >= 0.0)) fraction = 1.0;  // NaN
  return base * std::min(fraction, 1.0);
}

}  // namespace

void SetDefaultMaxResponseBytes(int64_t bytes) {
  default_max_response_bytes.store(bytes > 0 ? bytes
                                             : kDefaultMaxResponseBytes);
}

int64_t DefaultMaxResponseBytes() { return default_max_response_bytes.load(); }

ScopedMemoryTrim::~ScopedMemoryTrim() {
  // Costs a walk over the heap, so only after bodies large enough to have left
  // megabytes of free chunks behind.
  if (largest_ >= kTrimAfterBytes) malloc_trim(0);
}

std::optional<std::string> HttpResponse::Header(absl::string_view name) const {
  for (const auto& [header_name, value] : headers) {
    if (absl::EqualsIgnoreCase(header_name, name)) return value;
  }
  return std::nullopt;
}

HttpErrorKind HttpErrorKindOf(const absl::Status& status) {
  if (status.ok()) return HttpErrorKind::kNone;
  const auto payload = status.GetPayload(kKindPayloadUrl);
  int kind = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &kind) || kind < 0 ||
      kind > static_cast<int>(HttpErrorKind::kClient)) {
    return HttpErrorKind::kNone;
  }
  return static_cast<HttpErrorKind>(kind);
}

int HttpStatusOf(const absl::Status& status) {
  if (status.ok()) return 0;
  const auto payload = status.GetPayload(kStatusPayloadUrl);
  int http_status = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &http_status))
    return 0;
  return http_status;
}

absl::Status MalformedBodyError(absl::string_view url,
                                absl::string_view detail) {
  return MakeError(
      absl::StatusCode::kDataLoss, HttpErrorKind::kMalformedBody, 0,
      absl::StrCat("malformed response body from ", url, ": ", detail));
}

struct HttpClient::Impl {
  explicit Impl(HttpClientOptions options_in)
      : options(std::move(options_in)), redactor(options.redact) {
    if (options.clock == nullptr) options.clock = Clock::Real();
    if (options.pool == nullptr) {
      options.pool = std::make_shared<ConnectionPool>();
    }
  }

  // `body` null: GET; else POST of *body.
  Attempt Perform(CURL* handle, const std::string& url, curl_slist* header_list,
                  const std::string* body, absl::Duration timeout) {
    Attempt attempt;
    char error_buffer[CURL_ERROR_SIZE] = {0};
    BodySink sink{handle, &attempt.response.body, options.max_response_bytes};
    // Reset keeps the connection cache, so keep-alive connections survive
    // between requests.
    curl_easy_reset(handle);
    curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
    if (body == nullptr) {
      curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(handle, CURLOPT_POST, 1L);
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(body->size()));
    }
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(timeout)));
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::max<int64_t>(
                         1, absl::ToInt64Milliseconds(
                                std::min(options.connect_timeout, timeout)))));
    curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING,
                     "");  // all curl can decode
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
    // HTTP/2 when an https server offers it: one connection's header
    // compression and flow control. (libcurl's default since 7.62; explicit
    // so an older or differently built libcurl behaves the same.)
    curl_easy_setopt(handle, CURLOPT_HTTP_VERSION,
                     static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(handle, CURLOPT_USERAGENT, "graphmill");
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, header_list);
    if (options.max_response_bytes > 0) {
      curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE,
                       static_cast<curl_off_t>(options.max_response_bytes));
    }
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &WriteHeader);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &attempt.response.headers);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    attempt.code = curl_easy_perform(handle);
    // The buffer is on this stack frame: detach it before returning the handle
    // to the pool.
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
    attempt.curl_error = error_buffer;
    attempt.body_too_large =
        sink.overflow || attempt.code == CURLE_FILESIZE_EXCEEDED;
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    attempt.response.status = static_cast<int>(status);
    long connections = 0;
    curl_easy_getinfo(handle, CURLINFO_NUM_CONNECTS, &connections);
    attempt.connections_opened = connections;
    return attempt;
  }

  std::string Redact(absl::string_view text) const {
    return redactor.Redact(text);
  }

  double RandomFraction() {
    if (options.random_fraction) return options.random_fraction();
    absl::MutexLock lock(&mutex);
    return absl::Uniform(absl::IntervalClosedClosed, random, 0.0, 1.0);
  }

  HttpClientOptions options;
  const Redactor redactor;  // of options.redact
  // Requests count for the integration of the scope the client was made in.
  const std::string metrics_integration = CurrentProviderLabel();
  absl::Mutex mutex;
  absl::BitGen random ABSL_GUARDED_BY(mutex);
};

HttpClient::HttpClient(HttpClientOptions options) {
  InitCurlOnce();
  impl_ = std::make_unique<Impl>(std::move(options));
}

HttpClient::~HttpClient() = default;

std::string HttpClient::Redact(absl::string_view text) const {
  return impl_->Redact(text);
}

const Redactor& HttpClient::redactor() const { return impl_->redactor; }

absl::StatusOr<HttpResponse> HttpClient::Get(const std::string& url,
                                             const HttpHeaders& headers) {
  return Send("GET", url, headers, nullptr);
}

absl::StatusOr<HttpResponse> HttpClient::Post(const std::string& url,
                                              const HttpHeaders& headers,
                                              const std::string& body) {
  return Send("POST", url, headers, &body);
}

absl::StatusOr<HttpResponse> HttpClient::Send(absl::string_view method,
                                              const std::string& url,
                                              const HttpHeaders& headers,
                                              const std::string* body) {
  const HttpClientOptions& options = impl_->options;
  const std::string prefix =
      impl_->Redact(absl::StrCat(method, " ", url, ": "));
  absl::StatusOr<HeaderList> header_list = MakeHeaderList(headers);
  if (!header_list.ok()) {
    return MakeError(absl::StatusCode::kInvalidArgument, HttpErrorKind::kClient,
                     0, absl::StrCat(prefix, header_list.status().message()));
  }
  if (body != nullptr) {
    // "Expect:" with no value stops curl from waiting for a 100 Continue
    // before large bodies (a round trip, or a 1 s stall if none comes).
    curl_slist* extended = curl_slist_append(header_list->get(), "Expect:");
    if (extended == nullptr) {
      return MakeError(absl::StatusCode::kResourceExhausted,
                       HttpErrorKind::kClient, 0,
                       absl::StrCat(prefix, "curl_slist_append failed"));
    }
    header_list->release();
    header_list->reset(extended);
  }
  const int max_attempts = std::max(1, options.max_attempts);
  Clock* clock = options.clock;
  const absl::Time start = clock->Now();
  // Time blocked in before_request is throttling, not retrying: the budget
  // excludes it.
  absl::Duration throttled;
  auto budget_used = [&] { return clock->Now() - start - throttled; };

  for (int attempt_number = 1;; ++attempt_number) {
    if (options.before_request) {
      const absl::Time before = clock->Now();
      options.before_request();
      throttled += clock->Now() - before;
    }
    const absl::Duration remaining = options.total_budget - budget_used();
    const absl::Duration timeout = std::max(
        std::min(options.request_timeout, remaining), kMinAttemptTimeout);

    // Declared before the attempt so it runs after the attempt's body is freed
    // (an error body; a 2xx body is the caller's to trim).
    ScopedMemoryTrim trim;
    CURL* handle = options.pool->Acquire();
    if (handle == nullptr) {
      return MakeError(absl::StatusCode::kInternal, HttpErrorKind::kNetwork, 0,
                       absl::StrCat(prefix, "cannot create a curl handle"));
    }
    // Real time even under a fake clock: the latency metric measures the
    // network, not the backoff.
    const absl::Time sent = absl::Now();
    Attempt attempt =
        impl_->Perform(handle, url, header_list->get(), body, timeout);
    options.pool->Release(handle);
    ProviderMetrics::Get().Request(
        impl_->metrics_integration, method, url,
        attempt.code == CURLE_OK ? attempt.response.status : 0,
        absl::Now() - sent);
    ProviderMetrics::Get().ConnectionsOpened(impl_->metrics_integration,
                                             attempt.connections_opened);
    const bool success = attempt.code == CURLE_OK &&
                         attempt.response.status >= 200 &&
                         attempt.response.status < 300;
    if (!success) trim.Note(attempt.response.body.size());

    // What went wrong, for messages: "HTTP 404 (Project not found)" or curl's
    // reason.
    std::string what;
    ErrorClass error_class{absl::StatusCode::kUnknown, HttpErrorKind::kNone};
    int http_status = 0;
    bool retryable = false;
    std::optional<absl::Duration> retry_after;
    if (attempt.code == CURLE_OK) {
      if (options.after_response) options.after_response(attempt.response);
      http_status = attempt.response.status;
      if (http_status >= 200 && http_status < 300)
        return std::move(attempt.response);
      error_class = ClassifyHttpStatus(http_status);
      retryable = IsRetryableStatus(http_status);
      what = absl::StrCat("HTTP ", http_status);
      const std::string excerpt =
          ErrorExcerpt(attempt.response, impl_->redactor);
      if (!excerpt.empty()) absl::StrAppend(&what, " (", excerpt, ")");
      if (retryable) {
        if (std::optional<std::string> value =
                attempt.response.Header("Retry-After")) {
          retry_after = ParseRetryAfter(*value, clock->Now());
        }
      }
    } else if (attempt.body_too_large) {
      std::string message =
          absl::StrCat("response from ", method, " ", url, " exceeds ",
                       options.max_response_bytes, " bytes");
      if (!options.max_response_bytes_flag.empty()) {
        absl::StrAppend(&message, " (", options.max_response_bytes_flag, ")");
      }
      return MakeError(absl::StatusCode::kDataLoss,
                       HttpErrorKind::kMalformedBody, attempt.response.status,
                       impl_->Redact(message));
    } else {
      what = curl_easy_strerror(attempt.code);
      if (!attempt.curl_error.empty())
        absl::StrAppend(&what, " (", attempt.curl_error, ")");
      retryable = IsRetryableCurlCode(attempt.code);
      error_class = {absl::StatusCode::kUnavailable, HttpErrorKind::kNetwork};
      if (attempt.code == CURLE_URL_MALFORMAT ||
          attempt.code == CURLE_UNSUPPORTED_PROTOCOL) {
        error_class = {absl::StatusCode::kInvalidArgument,
                       HttpErrorKind::kClient};
      }
    }

    std::string stop_reason;
    absl::Duration wait;
    if (retryable) {
      if (attempt_number >= max_attempts) {
        retryable = false;
      } else {
        wait = retry_after.value_or(
            Backoff(options, attempt_number, impl_->RandomFraction()));
        if (budget_used() + wait > options.total_budget) {
          stop_reason =
              absl::StrCat("; a wait of ", absl::FormatDuration(wait),
                           " would exceed the retry budget of ",
                           absl::FormatDuration(options.total_budget));
          retryable = false;
        }
      }
    }
    if (!retryable) {
      std::string message = absl::StrCat(prefix, what);
      if (attempt_number > 1)
        absl::StrAppend(&message, " after ", attempt_number, " attempts");
      absl::StrAppend(&message, stop_reason);
      return MakeError(error_class.code, error_class.kind, http_status,
                       impl_->Redact(message));
    }
    LogWarn(impl_->Redact(
        absl::StrCat(prefix, what, "; attempt ", attempt_number, " of ",
                     max_attempts, ", retrying in ", absl::FormatDuration(wait),
                     retry_after ? " (Retry-After)" : "")));
    // Not held through the wait.
    std::string().swap(attempt.response.body);
    clock->Sleep(wait);
  }
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), absl::ascii_isdigit)) {
    int64_t seconds = 0;
    // More digits than int64 holds is not a wait anyone means; treat as
    // unparsable.
    if (!absl::SimpleAtoi(value, &seconds) || seconds <= 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  // IMF-fixdate, then the two obsolete forms RFC 9110 says recipients must
  // accept.
  static constexpr const char* kDateFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",
      "%A, %d-%b-%y %H:%M:%S GMT",
      "%a %b %e %H:%M:%S %Y",
  };
  const std::string text(value);
  for (const char* format : kDateFormats) {
    absl::Time time;
    std::string error;
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &time, &error)) {
      if (time <= now) return std::nullopt;
      return time - now;
    }
  }
  return std::nullopt;
}

std::string UrlEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  encoded.reserve(text.size());
  for (const char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      encoded.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      encoded.push_back('%');
      encoded.push_back(kHex[byte >> 4]);
      encoded.push_back(kHex[byte & 0x0F]);
    }
  }
  return encoded;
}

std::string AppendQueryParameter(absl::string_view url, absl::string_view name,
                                 absl::string_view value) {
  // A fragment stays last.
  const size_t hash = url.find('#');
  const absl::string_view fragment =
      hash == absl::string_view::npos ? absl::string_view() : url.substr(hash);
  const absl::string_view base = url.substr(0, hash);
  absl::string_view separator = "&";
  if (base.find('?') == absl::string_view::npos) {
    separator = "?";
  } else if (absl::EndsWith(base, "?") || absl::EndsWith(base, "&")) {
    separator = "";
  }
  return absl::StrCat(base, separator, UrlEncode(name), "=", UrlEncode(value),
                      fragment);
}

}  // namespace graphmill::http
