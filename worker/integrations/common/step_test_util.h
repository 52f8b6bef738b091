// Test helpers for the integrations' step tests: fast-retry HTTP options and
// summaries and checks of a FakeRun's graph. For tests only.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_COMMON_STEP_TEST_UTIL_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_COMMON_STEP_TEST_UTIL_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "common/http/http_client.h"
#include "worker/integrations/common/fake_step_context.h"

namespace graphmill::worker::testing {

// Two attempts with millisecond backoff, so fault tests finish quickly
// (HttpClient's own tests cover backoff).
http::HttpClientOptions FastRetryHttpOptions();

// Number of the run's entities / relationships by `_type`.
std::map<std::string, int> EntityCounts(const FakeRun& run);
std::map<std::string, int> RelationshipCounts(const FakeRun& run);

// Expects every status of `results` (step id -> status) to be OK.
void ExpectAllOk(const std::map<std::string, absl::Status>& results);

// Expects every relationship of the run to join two entities of the run.
void ExpectNoDanglingRelationships(const FakeRun& run);

}  // namespace graphmill::worker::testing

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_STEP_TEST_UTIL_H_
