// Implementation of common/metrics.h on prometheus-cpp's core and pull
// libraries.
#include "common/metrics.h"

#include <exception>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/text_serializer.h"

namespace graphmill::metrics {
namespace {

// The registry with the collect hooks run first: what the exposer and
// Exposition() collect.
class HookedRegistry : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<std::function<void()>> hooks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hooks = hooks_;
    }
    for (const auto& hook : hooks) hook();
    return registry_.Collect();
  }

  void AddHook(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    hooks_.push_back(std::move(hook));
  }

  prometheus::Registry& registry() { return registry_; }

 private:
  prometheus::Registry registry_;
  mutable std::mutex mu_;
  std::vector<std::function<void()>> hooks_;
};

// Never destroyed: metrics may be updated by threads that outlive main().
const std::shared_ptr<HookedRegistry>& Hooked() {
  static auto* const hooked =
      new std::shared_ptr<HookedRegistry>(std::make_shared<HookedRegistry>());
  return *hooked;
}

}  // namespace

prometheus::Registry& Registry() { return Hooked()->registry(); }

CounterFamily& AddCounter(const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(Registry());
}

GaugeFamily& AddGauge(const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(Registry());
}

prometheus::Histogram& HistogramFamily::With(const Labels& labels) const {
  return family_->Add(labels, buckets_);
}

HistogramFamily AddHistogram(const std::string& name, const std::string& help,
                             Buckets buckets) {
  return HistogramFamily(
      prometheus::BuildHistogram().Name(name).Help(help).Register(Registry()),
      std::move(buckets));
}

Buckets ExponentialBuckets(double start, double factor, int count) {
  Buckets buckets;
  double bound = start;
  for (int i = 0; i < count; ++i) {
    buckets.push_back(bound);
    bound *= factor;
  }
  return buckets;
}

void OnCollect(std::function<void()> hook) {
  Hooked()->AddHook(std::move(hook));
}

std::string Exposition() {
  return prometheus::TextSerializer().Serialize(Hooked()->Collect());
}

struct Server::Impl {
  std::unique_ptr<prometheus::Exposer> exposer;
};

Server::Server(std::unique_ptr<Impl> impl, int port)
    : impl_(std::move(impl)), port_(port) {}

Server::~Server() = default;

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const std::string& address) {
  // civetweb reads suffixes after the port ("s" for TLS, "r" for redirects)
  // and a bare port as "all interfaces": insist on HOST:PORT.
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), &port) ||
      port < 0 || port > 65535 || !absl::ascii_isdigit(address.back())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address '", address,
        "' is not HOST:PORT (e.g. 127.0.0.1:9464, or port 0 for any)"));
  }
  std::string bind = address;
  if (absl::EqualsIgnoreCase(address.substr(0, colon), "localhost")) {
    bind = absl::StrCat("127.0.0.1", address.substr(colon));
  }
  auto impl = std::make_unique<Impl>();
  try {
    impl->exposer = std::make_unique<prometheus::Exposer>(bind, 2);
  } catch (const std::exception&) {
    // civetweb's own message says no more than that.
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address,
                     ": the port is in use or the host is not an address of "
                     "this machine"));
  }
  impl->exposer->RegisterCollectable(Hooked());
  const std::vector<int> ports = impl->exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": no port bound"));
  }
  return std::unique_ptr<Server>(new Server(std::move(impl), ports.front()));
}

}  // namespace graphmill::metrics
