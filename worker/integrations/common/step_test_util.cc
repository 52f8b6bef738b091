// Helpers shared by the integrations' step tests.
#include "worker/integrations/common/step_test_util.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace graphmill::worker::testing {

http::HttpClientOptions FastRetryHttpOptions() {
  http::HttpClientOptions options;
  options.max_attempts = 2;
  options.initial_backoff = absl::Milliseconds(1);
  options.max_backoff = absl::Milliseconds(5);
  options.request_timeout = absl::Seconds(10);
  options.total_budget = absl::Seconds(30);
  return options;
}

std::map<std::string, int> EntityCounts(const FakeRun& run) {
  std::map<std::string, int> counts;
  for (const auto& [key, entity] : run.entities()) ++counts[entity.type()];
  return counts;
}

std::map<std::string, int> RelationshipCounts(const FakeRun& run) {
  std::map<std::string, int> counts;
  for (const auto& [key, relationship] : run.relationships()) {
    ++counts[relationship.type()];
  }
  return counts;
}

void ExpectAllOk(const std::map<std::string, absl::Status>& results) {
  for (const auto& [step, status] : results) {
    EXPECT_TRUE(status.ok()) << step << ": " << status;
  }
}

void ExpectNoDanglingRelationships(const FakeRun& run) {
  for (const auto& [key, relationship] : run.relationships()) {
    EXPECT_TRUE(run.entities().contains(relationship.from_entity_key())) << key;
    EXPECT_TRUE(run.entities().contains(relationship.to_entity_key())) << key;
  }
}

}  // namespace graphmill::worker::testing
