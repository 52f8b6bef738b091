// A fake CircleCI API v2 server (cpp-httplib on 127.0.0.1) for tests,
// benchmarks and demos: generated or recorded (HAR) data, pagination, auth,
// per-route counters, faults and data mutations between runs. Routes, control
// endpoints and the fault syntax are described in README.md.
#ifndef GRAPHMILL_TESTS_FAKES_CIRCLECI_FAKE_CIRCLECI_H_
#define GRAPHMILL_TESTS_FAKES_CIRCLECI_FAKE_CIRCLECI_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/fakes/circleci/dataset.h"
#include "tests/fakes/circleci/faults.h"
#include "tests/fakes/circleci/generated_api.h"
#include "tests/fakes/circleci/mutations.h"
#include "tests/fakes/common/webhook_sender.h"

namespace graphmill::fakes {

enum class FakeMode {
  kGenerated,  // serves GenerateDataset(generator)
  kReplay,  // serves recorded HAR entries; anything else is 404 and "unmatched"
};

struct FakeCircleCiOptions {
  std::string token =
      "test-token";  // the only accepted Circle-Token; must not be empty
  FakeMode mode = FakeMode::kGenerated;
  GeneratorOptions generator;  // generated mode (its login/user_id answer /me)
  int page_size = 20;          // items per page of every paginated list; >= 1
  // Generated mode: each pipeline-feed page after the first starts with the
  // last item of the previous page, as CircleCI sometimes does (ignored when
  // page_size < 2).
  bool pipeline_page_overlap = false;
  // Generated mode: large items on one paginated route (generated_api.h), so
  // tests can give entities large raw data.
  ItemPadding padding;
  std::vector<std::string>
      recordings;             // replay mode: .har files or directories of them
  std::vector<Fault> faults;  // active from the start
  int port = 0;               // 0 = an ephemeral port
  // Request-handling threads. cpp-httplib holds one per open keep-alive
  // connection, and many workers each keep several: a small pool starves.
  int threads = 256;
  // Webhook deliveries: the timeout of each, and the PEM CA bundle that
  // https targets are verified with (empty: the system's).
  absl::Duration webhook_timeout = absl::Seconds(5);
  std::string webhook_ca_file;
};

// Thread-safe. Not copyable.
class FakeCircleCi {
 public:
  // Generates or loads the data, binds 127.0.0.1:options.port and serves in
  // background threads. INVALID_ARGUMENT for bad options,
  // NOT_FOUND/INVALID_ARGUMENT naming the file for unreadable recordings,
  // UNAVAILABLE when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<FakeCircleCi>> Start(
      FakeCircleCiOptions options);

  // Stops accepting, waits for requests in flight (including injected latency),
  // joins.
  ~FakeCircleCi();
  FakeCircleCi(const FakeCircleCi&) = delete;
  FakeCircleCi& operator=(const FakeCircleCi&) = delete;

  int port() const;
  std::string root_url() const;  // "http://127.0.0.1:PORT"
  std::string base_url()
      const;  // "http://127.0.0.1:PORT/api/v2" (no trailing slash)

  // The generated data being served now (empty in replay mode). Every version
  // is kept for the server's life, so the reference stays valid, and
  // unchanged, after later mutations: call again to see them.
  const Dataset& dataset() const;

  // How many Mutate calls have succeeded (the "version" member of
  // /_control/dataset and /_control/dataset-summary).
  int64_t data_version() const;

  // Applies `mutations` in order, all or nothing (ApplyMutations in
  // mutations.h), then serves the result. Atomic for requests: each is
  // answered from the data before or after the whole list, never a mix. On
  // error nothing changes: INVALID_ARGUMENT (also for an empty list),
  // NOT_FOUND naming the unknown id, ALREADY_EXISTS, or FAILED_PRECONDITION in
  // replay mode. Mutations run one at a time; each re-renders only the lists it
  // changed and keeps one more Dataset copy alive (see dataset()), so they are
  // meant to be few (tens, not millions).
  //
  // A set_workflow_status (set_job_status) with a finished status sends the
  // workflow-completed (job-completed) webhook event to the matching targets
  // of webhooks(), in mutation order, once the new data is served and before
  // Mutate returns (README.md, "Webhooks").
  absl::Status Mutate(const std::vector<Mutation>& mutations);
  absl::Status Mutate(const Mutation& mutation);

  // Faults apply to requests that arrive after the call.
  void AddFault(Fault fault);
  absl::Status AddFault(absl::string_view spec);  // text syntax of faults.h
  void ClearFaults();
  std::vector<FaultTable::Entry> Faults() const;

  // Requests received per route name (kRouteNames), plus "unmatched" (unknown
  // routes and replay misses) and "total". Every API request counts, whatever
  // its outcome (401s and injected faults included); /_control requests do not.
  // Unknown names give 0.
  int64_t RequestCount(absl::string_view name) const;
  std::map<std::string, int64_t> Counters() const;
  void ResetCounters();

  // The webhook targets (registered with /_control/webhooks, POST
  // /api/v2/webhook or here) and their delivery statistics.
  common::WebhookSender& webhooks();

 private:
  class Impl;
  explicit FakeCircleCi(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_CIRCLECI_FAKE_CIRCLECI_H_
