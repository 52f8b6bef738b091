// A test double for the worker runtime: runs an integration's steps against an
// in-memory graph the way the coordinator would (ancestors' entities visible,
// parent types sharded, identical duplicates merged), and records events,
// scopes, partial types and incomplete scopes.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_COMMON_FAKE_STEP_CONTEXT_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_COMMON_FAKE_STEP_CONTEXT_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "graphmill/v1/graph.pb.h"
#include "graphmill/v1/integration.pb.h"
#include "worker/runtime/integration.h"

namespace graphmill::worker::testing {

struct RecordedEvent {
  std::string step_id;
  v1::EventLevel level = v1::EVENT_LEVEL_UNSPECIFIED;
  std::string name;
  std::string description;
};

// The graph of one run, built step by step. Not thread-safe across RunStep
// calls (tests run steps one after another); the task contexts it hands out are
// thread-safe.
class FakeRun {
 public:
  // `run_id` 0: a new id, unique in the process, so a run never sees what an
  // integration kept for another one (run_cache.h); tests that run two tasks
  // "of the same run" on separate FakeRuns pass the same id.
  explicit FakeRun(InstanceConfig config, int64_t run_id = 0);

  int64_t run_id() const { return run_id_; }

  // Makes this an incremental run (StepContext::incremental_since_ms) over
  // the graph `previous` left (what ForEachKnownEntity serves), in which
  // `not_carried` types may not be carried (StepContext::CanCarry). Call
  // before running steps.
  void StartIncremental(const FakeRun& previous, int64_t since_ms,
                        std::set<std::string> not_carried = {});

  // The shard (of `shards`) whose task sees the parent entity `key`.
  static int ShardOf(absl::string_view key, int shards);

  // Runs `step_id` of `integration` as `shards` tasks (one after another), each
  // seeing its share of the step's parent type (by a stable hash of the key).
  // What a task added is merged even when it fails (as the runtime keeps it).
  // Returns the first task error.
  absl::Status RunStep(Integration& integration, absl::string_view step_id,
                       int shards = 1);
  // Runs every step in a dependency order; returns the statuses by step id.
  std::map<std::string, absl::Status> RunAll(Integration& integration,
                                             int shards = 1);

  const std::map<std::string, v1::Entity>& entities() const {
    return entities_;
  }
  const std::map<std::string, v1::Relationship>& relationships() const {
    return relationships_;
  }
  // Objects added twice with different content (the coordinator keeps the first
  // and warns).
  const std::vector<std::string>& conflicts() const { return conflicts_; }
  const std::vector<RecordedEvent>& events() const { return events_; }
  // Keys one task added more than once (the integration promises none).
  const std::vector<std::string>& repeated_in_task() const {
    return repeated_in_task_;
  }
  // Step id -> types it marked partial.
  const std::map<std::string, std::set<std::string>>& partial_types() const {
    return partial_types_;
  }
  // Step id -> scopes it marked incomplete -> the reason.
  const std::map<std::string, std::map<std::string, std::string>>&
  incomplete_scopes() const {
    return incomplete_scopes_;
  }
  // The scope an object (entity or relationship `_key`) was added with.
  std::string ScopeOf(absl::string_view key) const;

  // Counts by `_type`.
  int CountEntities(absl::string_view type) const;
  int CountRelationships(absl::string_view type) const;
  std::vector<const v1::Entity*> EntitiesOfType(absl::string_view type) const;
  std::vector<const v1::Relationship*> RelationshipsOfType(
      absl::string_view type) const;
  // Events named `name`.
  std::vector<RecordedEvent> EventsNamed(absl::string_view name) const;

 private:
  friend class FakeStepContext;
  void MergeEntity(const v1::Entity& entity);
  void MergeRelationship(const v1::Relationship& relationship);

  const InstanceConfig config_;
  const int64_t run_id_;
  int64_t incremental_since_ms_ = 0;
  std::set<std::string, std::less<>> not_carried_;
  // The graph an incremental run builds on: entities and the scope of each.
  std::map<std::string, v1::Entity> known_entities_;
  std::map<std::string, std::string> known_scopes_;
  std::map<std::string, v1::Entity> entities_;
  std::map<std::string, v1::Relationship> relationships_;
  std::vector<std::string> conflicts_;
  std::vector<std::string> repeated_in_task_;
  std::vector<RecordedEvent> events_;
  std::map<std::string, std::set<std::string>> partial_types_;
  std::map<std::string, std::map<std::string, std::string>> incomplete_scopes_;
  std::map<std::string, std::string, std::less<>> scopes_;
};

// One task's StepContext. Thread-safe.
class FakeStepContext : public StepContext {
 public:
  FakeStepContext(FakeRun& run, std::string step_id, std::string parent_type,
                  int shard, int shards);

  const InstanceConfig& config() const override { return run_.config_; }
  int64_t run_id() const override { return run_.run_id_; }
  absl::Status ForEachEntity(
      absl::string_view type,
      const std::function<absl::Status(const v1::Entity&)>& visit) override;
  int64_t incremental_since_ms() const override {
    return run_.incremental_since_ms_;
  }
  bool CanCarry(absl::string_view type) const override {
    return run_.incremental_since_ms_ != 0 && !run_.not_carried_.contains(type);
  }
  // As the coordinator serves them: for the parent type, this shard's; for
  // another type of a sharded step, those whose scope is in this shard
  // (scope, then key order); otherwise all.
  absl::Status ForEachKnownEntity(
      absl::string_view type,
      const std::function<absl::Status(
          const v1::Entity&, const std::string& scope)>& visit) override;
  absl::Status AddEntity(v1::Entity entity, absl::string_view scope) override;
  absl::Status AddRelationship(v1::Relationship relationship,
                               absl::string_view scope) override;
  void AddEvent(v1::EventLevel level, absl::string_view name,
                absl::string_view description) override;
  void MarkPartial(absl::string_view type, absl::string_view reason) override;
  void MarkScopeIncomplete(absl::string_view scope,
                           absl::string_view reason) override;
  bool cancelled() const override { return false; }

  // Moves what the task added into the run. Call once, after the handler
  // returned.
  void Commit();

 private:
  FakeRun& run_;
  const std::string step_id_;
  const std::string parent_type_;
  const int shard_;
  const int shards_;
  mutable absl::Mutex mutex_;
  std::vector<v1::Entity> entities_ ABSL_GUARDED_BY(mutex_);
  std::vector<v1::Relationship> relationships_ ABSL_GUARDED_BY(mutex_);
  std::vector<RecordedEvent> events_ ABSL_GUARDED_BY(mutex_);
  std::set<std::string> partial_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, std::string> incomplete_scopes_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, std::string> scopes_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace graphmill::worker::testing

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_FAKE_STEP_CONTEXT_H_
