// What the JupiterOne uploader's tests share: objects to upload, a source
// over vectors, and a fixture with the in-process fake JupiterOne, a FakeClock
// (retries cost no time) and the events the upload raised. For tests only.
#ifndef GRAPHMILL_COORDINATOR_SINKS_UPLOADER_TEST_UTIL_H_
#define GRAPHMILL_COORDINATOR_SINKS_UPLOADER_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/testing/fake_clock.h"
#include "coordinator/sinks/jupiterone_uploader.h"
#include "gtest/gtest.h"
#include "tests/fakes/jupiterone/fake_jupiterone.h"

namespace graphmill::sinks::testing {

inline constexpr char kToken[] = "test-token";
inline constexpr char kAccount[] = "test-account";
inline constexpr char kInstance[] = "j1-instance-1";

// An entity of `type` with name, displayName and createdOn, and `raw_json` as
// its "default" raw data (none when empty).
v1::Entity MakeEntity(const std::string& key, const std::string& type,
                      const std::string& raw_json = "");
// test_thing `from` HAS test_other `to`.
v1::Relationship MakeRelationship(const std::string& from,
                                  const std::string& to);
// A raw data object with values of several sizes (largest `big` bytes).
std::string RawJson(int index, size_t big);

// Objects held in vectors.
class VectorSource : public ObjectSource {
 public:
  absl::Status ForEachEntity(
      const std::function<absl::Status(const v1::Entity&)>& fn) override;
  absl::Status ForEachRelationship(
      const std::function<absl::Status(const v1::Relationship&)>& fn) override;

  std::vector<v1::Entity> entities;
  std::vector<v1::Relationship> relationships;
  absl::Status entity_error;  // returned after all entities
  std::function<void()> after_each_entity;
};

class UploaderTest : public ::testing::Test {
 protected:
  // Starts fake_ accepting kToken for kAccount.
  void StartFake(
      int64_t max_body_bytes = fakes::kDefaultJupiterOneMaxBodyBytes);
  // fake_ as the target, with a trailing '/' (which must not matter).
  JupiterOneTarget Target() const;
  // Fast, deterministic retries on clock_ (100 ms doubling, no jitter, 4
  // attempts); events recorded for Events().
  UploaderOptions Options(int64_t max_batch_bytes = kMaxBatchBytes);
  // The recorded events named `name`, in order.
  std::vector<v1::Event> Events(const std::string& name);
  // fake_'s one job (expects exactly one).
  fakes::jupiterone::JobSnapshot OnlyJob();
  static std::vector<std::string> Keys(
      const std::map<std::string, std::string>& objects);

  std::unique_ptr<fakes::FakeJupiterOne> fake_;
  FakeClock clock_;
  absl::Mutex mutex_;
  std::vector<v1::Event> events_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace graphmill::sinks::testing

#endif  // GRAPHMILL_COORDINATOR_SINKS_UPLOADER_TEST_UTIL_H_
