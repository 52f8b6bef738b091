// An engine over an in-memory store, on a FakeClock, with one recording
// worker ("w1", capacity 4) connected and one instance ("inst") of a two-step
// integration ("test": fetch-parents, then fetch-children sharded over
// thing_parent). Tests drive it synchronously: a worker's report pumps the
// engine before it returns, and Engine::Pump() pumps after the test moved the
// clock, so nothing waits for real time except the recording worker for
// messages in flight.
#ifndef GRAPHMILL_COORDINATOR_TESTING_ENGINE_FIXTURE_H_
#define GRAPHMILL_COORDINATOR_TESTING_ENGINE_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/testing/fake_clock.h"
#include "coordinator/engine.h"
#include "coordinator/instances.h"
#include "coordinator/store/store.h"
#include "coordinator/testing/recording_worker.h"

namespace graphmill::coordinator::testing {

// The "test" integration: fetch-parents (thing_parent), then fetch-children
// (thing_child, one task per shard of thing_parent); optional secret apiKey.
v1::IntegrationDefinition TestDefinition();
// A valid entity.
v1::Entity MakeEntity(const std::string& key, const std::string& type);

class EngineFixture : public ::testing::Test {
 protected:
  void SetUp() override { Init(EngineOptions()); }
  // The engine's session threads write to worker_: stop them first.
  void TearDown() override { engine_.reset(); }

  // A new store and engine with `options` on clock_.
  void Init(EngineOptions options);

  // Stages `batch` (if it has objects) and ends the attempt as succeeded.
  void Finish(const v1::TaskAssignment& assignment,
              const v1::ResultBatch& batch);
  // Starts a run of "inst" and completes its validation task.
  int64_t StartAndValidate();
  // The run after one more pump, expected to have ended.
  v1::Run Ended(int64_t run_id);

  FakeClock clock_;
  InstanceSecrets secrets_{*SecretBox::FromKeyMaterial(std::string(32, 'k'))};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  RecordingWorker worker_;
  int64_t session_ = 0;
};

}  // namespace graphmill::coordinator::testing

#endif  // GRAPHMILL_COORDINATOR_TESTING_ENGINE_FIXTURE_H_
