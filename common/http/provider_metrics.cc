// Implementation of common/http/provider_metrics.h.
#include "common/http/provider_metrics.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"

namespace graphmill::http {
namespace {

thread_local const std::string* current_label = nullptr;

const metrics::Buckets& RequestBuckets() {
  static const auto* const buckets = new metrics::Buckets{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *buckets;
}

bool LooksLikeId(absl::string_view segment) {
  if (segment.size() > 40) return true;
  int digits = 0;
  for (const char c : segment) {
    if (absl::ascii_isdigit(c)) {
      ++digits;
    } else if (!absl::ascii_isalpha(c) && c != '-' && c != '_') {
      return true;  // '%', '.', ':', '@', ...: escaped slugs, names, addresses
    }
  }
  return digits >= 3 || digits == static_cast<int>(segment.size());
}

// Distinct endpoint labels handed out so far, to bound them.
class EndpointSet {
 public:
  std::string Admit(absl::string_view method, std::string endpoint) {
    absl::MutexLock lock(&mu_);
    if (seen_.contains(endpoint)) return endpoint;
    if (static_cast<int>(seen_.size()) >= kMaxEndpoints) {
      return absl::StrCat(method, " {other}");
    }
    seen_.insert(endpoint);
    return endpoint;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> seen_ ABSL_GUARDED_BY(mu_);
};

EndpointSet& Endpoints() {
  static auto* const endpoints = new EndpointSet();
  return *endpoints;
}

std::string StatusLabel(int http_status) {
  return http_status > 0 ? absl::StrCat(http_status) : "error";
}

}  // namespace

ProviderMetrics& ProviderMetrics::Get() {
  static auto* const instance = new ProviderMetrics();
  return *instance;
}

ProviderMetrics::ProviderMetrics()
    : requests_(metrics::AddCounter(
          "graphmill_provider_requests_total",
          "Provider API requests (each attempt, retries included) by "
          "integration, endpoint (route template) and HTTP status (\"error\": "
          "no response)")),
      connections_opened_(metrics::AddCounter(
          "graphmill_provider_connections_opened_total",
          "Connections opened to provider APIs (each a TCP and, for https, a "
          "TLS handshake), by integration")),
      latency_(metrics::AddHistogram(
          "graphmill_provider_request_duration_seconds",
          "Time from sending a provider API request to the end of its "
          "response, by integration and endpoint",
          RequestBuckets())) {}

void ProviderMetrics::Request(const std::string& integration,
                              absl::string_view method, absl::string_view url,
                              int http_status, absl::Duration latency) {
  const std::string endpoint = EndpointTemplate(method, url);
  requests_
      .Add({{"integration", integration},
            {"endpoint", endpoint},
            {"status", StatusLabel(http_status)}})
      .Increment();
  latency_.With({{"integration", integration}, {"endpoint", endpoint}})
      .Observe(absl::ToDoubleSeconds(latency));
}

void ProviderMetrics::ConnectionsOpened(const std::string& integration,
                                        int64_t count) {
  // Created even at 0, so the series exists from the first request.
  prometheus::Counter& counter =
      connections_opened_.Add({{"integration", integration}});
  if (count > 0) counter.Increment(static_cast<double>(count));
}

ProviderLabelScope::ProviderLabelScope(std::string integration)
    : integration_(std::move(integration)), previous_(current_label) {
  current_label = &integration_;
}

ProviderLabelScope::~ProviderLabelScope() { current_label = previous_; }

std::string CurrentProviderLabel() {
  return current_label == nullptr || current_label->empty() ? "unknown"
                                                            : *current_label;
}

std::string EndpointTemplate(absl::string_view method, absl::string_view url) {
  absl::string_view path = url;
  const size_t scheme = path.find("://");
  if (scheme != absl::string_view::npos) {
    path.remove_prefix(scheme + 3);
    const size_t slash = path.find('/');
    path = slash == absl::string_view::npos ? absl::string_view()
                                            : path.substr(slash);
  }
  path = path.substr(0, path.find_first_of("?#"));
  std::string endpoint = absl::StrCat(method, " ");
  if (path.empty()) path = "/";
  bool first = true;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (!first) endpoint.push_back('/');
    first = false;
    if (segment.empty()) continue;
    if (LooksLikeId(segment)) {
      endpoint += "{id}";
    } else {
      endpoint.append(segment.data(), segment.size());
    }
  }
  return Endpoints().Admit(method, std::move(endpoint));
}

}  // namespace graphmill::http
