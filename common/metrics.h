// Prometheus metrics: a thin wrapper over prometheus-cpp (Debian's
// prometheus-cpp-dev). One process-wide registry, typed helpers to add metric
// families to it, hooks that refresh gauges derived from in-memory state just
// before each scrape, and the HTTP server behind --metrics_listen.
//
// Families are named once per process, with their help text, in that process's
// metrics module (coordinator/metrics.h, worker/runtime/metrics.h);
// docs/operations.md ("Metrics and alerts") lists them all.
#ifndef GRAPHMILL_COMMON_METRICS_H_
#define GRAPHMILL_COMMON_METRICS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace graphmill::metrics {

using Labels = std::map<std::string, std::string>;
using CounterFamily = prometheus::Family<prometheus::Counter>;
using GaugeFamily = prometheus::Family<prometheus::Gauge>;
using Buckets = std::vector<double>;

// The process's registry. Thread-safe; lives until the process exits.
prometheus::Registry& Registry();

// Adds a family to Registry(). `name` must follow Prometheus conventions
// (counters end in _total, durations are _seconds); adding a name twice
// returns the family added first.
CounterFamily& AddCounter(const std::string& name, const std::string& help);
GaugeFamily& AddGauge(const std::string& name, const std::string& help);

// A histogram family with its bucket upper bounds (increasing; +Inf is
// implicit).
class HistogramFamily {
 public:
  HistogramFamily(prometheus::Family<prometheus::Histogram>& family,
                  Buckets buckets)
      : family_(&family), buckets_(std::move(buckets)) {}
  // The histogram for `labels`, created on first use.
  prometheus::Histogram& With(const Labels& labels) const;

 private:
  prometheus::Family<prometheus::Histogram>* family_;
  Buckets buckets_;
};
HistogramFamily AddHistogram(const std::string& name, const std::string& help,
                             Buckets buckets);

// `count` bounds: start, start*factor, start*factor^2, ...
Buckets ExponentialBuckets(double start, double factor, int count);

// Observes the seconds between its construction and destruction.
class ScopedTimer {
 public:
  explicit ScopedTimer(prometheus::Histogram& histogram)
      : histogram_(&histogram), start_(absl::Now()) {}
  ~ScopedTimer() {
    histogram_->Observe(absl::ToDoubleSeconds(absl::Now() - start_));
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  prometheus::Histogram* histogram_;
  absl::Time start_;
};

// Registers `hook` to run before every collection (each scrape, and
// Exposition()), e.g. to set gauges computed from in-memory state. Hooks must
// be cheap (no store scans), thread-safe, and live as long as the process:
// register them from process-wide singletons only.
void OnCollect(std::function<void()> hook);

// Every family of Registry() in Prometheus' text format (0.0.4), after running
// the collect hooks: what /metrics serves.
std::string Exposition();

// Serves GET /metrics (text format) over plain HTTP on `address`.
class Server {
 public:
  // `address` is HOST:PORT (an IPv4 address or host name; "localhost" is
  // 127.0.0.1); port 0 picks a free one. INVALID_ARGUMENT for another form,
  // UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const std::string& address);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The port bound (the chosen one for port 0).
  int port() const { return port_; }

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace graphmill::metrics

#endif  // GRAPHMILL_COMMON_METRICS_H_
