// A fake JupiterOne synchronization API server (cpp-httplib on 127.0.0.1) for
// tests, benchmarks and demos: the /persister/synchronization/jobs endpoints
// with bearer + JupiterOne-Account auth, the job state machine, payload
// validation with a body size limit (413), gzip request bodies, faults, and
// what each job received for tests to read. Routes, control endpoints and the
// fault syntax are described in README.md.
#ifndef GRAPHMILL_TESTS_FAKES_JUPITERONE_FAKE_JUPITERONE_H_
#define GRAPHMILL_TESTS_FAKES_JUPITERONE_FAKE_JUPITERONE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/fakes/jupiterone/faults.h"
#include "tests/fakes/jupiterone/job_store.h"

namespace graphmill::fakes {

// JupiterOne's upload batch size (5,000,000 bytes of JSON) plus 1 KiB for the
// `{"entities": ...}` envelope, which clients that count only the array leave
// out.
inline constexpr int64_t kDefaultJupiterOneMaxBodyBytes = 5'000'000 + 1'024;

struct FakeJupiterOneOptions {
  std::string token = "test-token";      // the only accepted bearer token
  std::string account = "test-account";  // the only accepted JupiterOne-Account
  // A request whose body (after gzip decoding) is larger gets 413
  // RequestEntityTooLargeException. >= 1.
  int64_t max_body_bytes = kDefaultJupiterOneMaxBodyBytes;
  // How long a finalized job reads FINALIZE_PENDING before FINISHED.
  absl::Duration finalize_delay = absl::ZeroDuration();
  std::vector<jupiterone::Fault> faults;  // active from the start
  int port = 0;                           // 0 = an ephemeral port
  // Request-handling threads. cpp-httplib holds one per open keep-alive
  // connection, and many workers each keep several: a small pool starves.
  int threads = 256;
};

// Thread-safe. Not copyable.
class FakeJupiterOne {
 public:
  // Binds 127.0.0.1:options.port and serves in background threads.
  // INVALID_ARGUMENT for bad options, UNAVAILABLE when the port cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<FakeJupiterOne>> Start(
      FakeJupiterOneOptions options);

  // Stops accepting, waits for requests in flight (including injected latency),
  // joins.
  ~FakeJupiterOne();
  FakeJupiterOne(const FakeJupiterOne&) = delete;
  FakeJupiterOne& operator=(const FakeJupiterOne&) = delete;

  int port() const;
  // "http://127.0.0.1:PORT": the API base URL (endpoints live under
  // /persister/synchronization/jobs).
  std::string base_url() const;

  // Faults apply to requests that arrive after the call.
  void AddFault(jupiterone::Fault fault);
  absl::Status AddFault(absl::string_view spec);  // text syntax of faults.h
  void ClearFaults();
  std::vector<jupiterone::FaultTable::Entry> Faults() const;

  // Requests received per route name (jupiterone::kRouteNames), plus
  // "unmatched" (no route) and "total". Every API request counts, whatever its
  // outcome (401s, faults and 413s included); /_control requests do not.
  int64_t RequestCount(absl::string_view name) const;
  std::map<std::string, int64_t> Counters() const;
  void ResetCounters();

  // What the jobs received, in creation order / by id.
  std::vector<jupiterone::JobSnapshot> Jobs() const;
  std::optional<jupiterone::JobSnapshot> Job(const std::string& id) const;
  // The graph stored for an integration instance after its finalized jobs
  // (api-source jobs: "api:<scope>").
  jupiterone::StoredGraph Graph(const std::string& instance) const;
  // Forgets all jobs and stored graphs (counters and faults stay).
  void ResetState();

 private:
  class Impl;
  explicit FakeJupiterOne(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_JUPITERONE_FAKE_JUPITERONE_H_
