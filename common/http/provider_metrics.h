// Prometheus metrics of provider HTTP requests (graphmill_provider_requests_*,
// graphmill_provider_connections_opened_total), recorded by HttpClient for
// every attempt, so both processes that make
// provider requests export them: workers for their integrations, the
// coordinator for its JupiterOne uploads. docs/operations.md ("Metrics and
// alerts") lists them.
//
// Thread-safe. The families are registered in the process-wide registry of
// common/metrics.h by the first ProviderMetrics::Get().
#ifndef GRAPHMILL_COMMON_HTTP_PROVIDER_METRICS_H_
#define GRAPHMILL_COMMON_HTTP_PROVIDER_METRICS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/metrics.h"

namespace graphmill::http {

// Provider HTTP requests, one per attempt (retries count again).
class ProviderMetrics {
 public:
  // Process-wide; its families are registered by the first call.
  static ProviderMetrics& Get();

  // An attempt of `method` on `url` ended: `http_status` is the response's
  // status, 0 when none came (connection failure, timeout, body over the
  // limit). Labels: integration, endpoint (EndpointTemplate), status ("200",
  // "429", ..., or "error").
  void Request(const std::string& integration, absl::string_view method,
               absl::string_view url, int http_status, absl::Duration latency);

  // An attempt opened `count` new connections (libcurl's
  // CURLINFO_NUM_CONNECTS: 0 when it reused a kept-alive one). Label:
  // integration. Each is a TCP (and for https a TLS) handshake, so the ratio
  // to requests tells how well connections are reused.
  void ConnectionsOpened(const std::string& integration, int64_t count);

 private:
  ProviderMetrics();
  metrics::CounterFamily& requests_;
  metrics::CounterFamily& connections_opened_;
  metrics::HistogramFamily latency_;
};

// The `integration` label of HttpClients created on this thread while the
// scope lives (scopes nest). A client keeps the label it was created with, so
// requests from threads it fans out to count for the same integration. The
// worker opens one around each task, the coordinator around each upload
// ("jupiterone").
class ProviderLabelScope {
 public:
  explicit ProviderLabelScope(std::string integration);
  ~ProviderLabelScope();
  ProviderLabelScope(const ProviderLabelScope&) = delete;
  ProviderLabelScope& operator=(const ProviderLabelScope&) = delete;

 private:
  const std::string integration_;
  const std::string* const previous_;
};

// The label of the innermost ProviderLabelScope of this thread; "unknown"
// outside any.
std::string CurrentProviderLabel();

// The route of a request, as a bounded label value: the method and the URL's
// path without scheme, host, query or fragment, each segment that looks like
// an id (digits, UUIDs, escaped slugs, anything with '%', '.', ':' or '@',
// three digits or more, over 40 characters) replaced by "{id}". E.g. "GET
// /api/v2/pipeline/{id}/workflow". After kMaxEndpoints distinct values in the
// process, new ones become "<method> {other}".
std::string EndpointTemplate(absl::string_view method, absl::string_view url);
inline constexpr int kMaxEndpoints = 200;

}  // namespace graphmill::http

#endif  // GRAPHMILL_COMMON_HTTP_PROVIDER_METRICS_H_
