// The worker's HTTP probes: GET /healthz (the process is alive: always 200)
// and GET /readyz (200 while connected to a coordinator and taking tasks, 503
// otherwise), each with a one-line text body saying why.
#ifndef GRAPHMILL_WORKER_RUNTIME_HEALTH_SERVER_H_
#define GRAPHMILL_WORKER_RUNTIME_HEALTH_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace graphmill::worker {

// What /readyz answers: ready or not, and why ("connected to ...").
struct Readiness {
  bool ready = false;
  std::string reason;
};

// Serves the probes on a thread pool of its own until destroyed.
class HealthServer {
 public:
  // Binds `listen` ("HOST:PORT", "[IPV6]:PORT", or ":PORT" for every
  // interface; port 0 picks a free one) and serves. `readiness` is called for
  // every /readyz, from the server's threads; it must be thread-safe and
  // outlive the server. INVALID_ARGUMENT for a malformed address,
  // UNAVAILABLE naming it when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<HealthServer>> Start(
      const std::string& listen, std::function<Readiness()> readiness);
  // Stops serving and joins the server's thread.
  ~HealthServer();

  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  // The bound port.
  int port() const { return port_; }

 private:
  HealthServer();

  std::unique_ptr<httplib::Server> server_;
  std::function<Readiness()> readiness_;
  int port_ = 0;
  std::atomic<bool> listen_returned_{false};
  std::thread thread_;
};

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_RUNTIME_HEALTH_SERVER_H_
