// The in-memory run and StepContext test doubles.
#include "worker/integrations/common/fake_step_context.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/util/message_differencer.h"

namespace graphmill::worker::testing {
namespace {

bool SameMessage(const google::protobuf::Message& a,
                 const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

// Stable across runs and platforms (std::hash is neither guaranteed).
uint64_t Fnv1a(absl::string_view text) {
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

}  // namespace

FakeRun::FakeRun(InstanceConfig config, int64_t run_id)
    : config_(std::move(config)), run_id_([run_id] {
        // Far above the small ids tests pass, so the two never meet.
        static std::atomic<int64_t> last_run_id{int64_t{1} << 40};
        return run_id != 0 ? run_id : ++last_run_id;
      }()) {}

void FakeRun::StartIncremental(const FakeRun& previous, int64_t since_ms,
                               std::set<std::string> not_carried) {
  incremental_since_ms_ = since_ms;
  not_carried_.insert(not_carried.begin(), not_carried.end());
  known_entities_ = previous.entities_;
  for (const auto& [key, entity] : known_entities_) {
    known_scopes_[key] = previous.ScopeOf(key);
  }
}

int FakeRun::ShardOf(absl::string_view key, int shards) {
  return shards > 1 ? static_cast<int>(Fnv1a(key) % shards) : 0;
}

void FakeRun::MergeEntity(const v1::Entity& entity) {
  auto [it, inserted] = entities_.try_emplace(entity.key(), entity);
  if (!inserted && !SameMessage(it->second, entity)) {
    conflicts_.push_back(entity.key());
  }
}

void FakeRun::MergeRelationship(const v1::Relationship& relationship) {
  auto [it, inserted] =
      relationships_.try_emplace(relationship.key(), relationship);
  if (!inserted && !SameMessage(it->second, relationship)) {
    conflicts_.push_back(relationship.key());
  }
}

absl::Status FakeRun::RunStep(Integration& integration,
                              absl::string_view step_id, int shards) {
  std::string parent_type;
  for (const v1::StepDefinition& step : integration.definition().steps()) {
    if (step.id() == step_id) parent_type = step.parent_type();
  }
  if (parent_type.empty()) shards = 1;
  absl::Status first_error;
  for (int shard = 0; shard < shards; ++shard) {
    FakeStepContext context(*this, std::string(step_id), parent_type, shard,
                            shards);
    absl::Status status = integration.ExecuteStep(step_id, context);
    context.Commit();
    if (first_error.ok()) first_error = status;
  }
  return first_error;
}

std::map<std::string, absl::Status> FakeRun::RunAll(Integration& integration,
                                                    int shards) {
  std::map<std::string, absl::Status> results;
  const auto& steps = integration.definition().steps();
  // Repeatedly run the steps whose dependencies have settled (definition order
  // breaks ties).
  while (results.size() < static_cast<size_t>(steps.size())) {
    bool progressed = false;
    for (const v1::StepDefinition& step : steps) {
      if (results.contains(step.id())) continue;
      bool ready = true;
      for (const std::string& dependency : step.depends_on()) {
        ready = ready && results.contains(dependency);
      }
      if (!ready) continue;
      results[step.id()] = RunStep(integration, step.id(), shards);
      progressed = true;
    }
    if (!progressed)
      break;  // a cycle or unknown dependency: definition_test catches it
  }
  return results;
}

int FakeRun::CountEntities(absl::string_view type) const {
  return static_cast<int>(EntitiesOfType(type).size());
}

int FakeRun::CountRelationships(absl::string_view type) const {
  return static_cast<int>(RelationshipsOfType(type).size());
}

std::vector<const v1::Entity*> FakeRun::EntitiesOfType(
    absl::string_view type) const {
  std::vector<const v1::Entity*> result;
  for (const auto& [key, entity] : entities_) {
    if (entity.type() == type) result.push_back(&entity);
  }
  return result;
}

std::vector<const v1::Relationship*> FakeRun::RelationshipsOfType(
    absl::string_view type) const {
  std::vector<const v1::Relationship*> result;
  for (const auto& [key, relationship] : relationships_) {
    if (relationship.type() == type) result.push_back(&relationship);
  }
  return result;
}

std::vector<RecordedEvent> FakeRun::EventsNamed(absl::string_view name) const {
  std::vector<RecordedEvent> result;
  for (const RecordedEvent& event : events_) {
    if (event.name == name) result.push_back(event);
  }
  return result;
}

FakeStepContext::FakeStepContext(FakeRun& run, std::string step_id,
                                 std::string parent_type, int shard, int shards)
    : run_(run),
      step_id_(std::move(step_id)),
      parent_type_(std::move(parent_type)),
      shard_(shard),
      shards_(shards) {}

absl::Status FakeStepContext::ForEachEntity(
    absl::string_view type,
    const std::function<absl::Status(const v1::Entity&)>& visit) {
  // The run's graph only changes in Commit, after the handler returned.
  for (const auto& [key, entity] : run_.entities_) {
    if (entity.type() != type) continue;
    if (type == parent_type_ && shards_ > 1 &&
        FakeRun::ShardOf(key, shards_) != shard_) {
      continue;
    }
    absl::Status status = visit(entity);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status FakeStepContext::ForEachKnownEntity(
    absl::string_view type,
    const std::function<absl::Status(const v1::Entity&, const std::string&)>&
        visit) {
  if (run_.incremental_since_ms_ == 0) {
    return absl::FailedPreconditionError("not an incremental run");
  }
  const bool parents = !parent_type_.empty() && type == parent_type_;
  const bool children = !parent_type_.empty() && !parents;
  std::vector<std::pair<std::string, const v1::Entity*>> selected;
  for (const auto& [key, entity] : run_.known_entities_) {
    if (entity.type() != type) continue;
    const std::string& scope = run_.known_scopes_.at(key);
    if (parents && FakeRun::ShardOf(key, shards_) != shard_) continue;
    if (children &&
        (scope.empty() || FakeRun::ShardOf(scope, shards_) != shard_)) {
      continue;
    }
    selected.emplace_back(children ? scope : "", &entity);
  }
  std::stable_sort(
      selected.begin(), selected.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, entity] : selected) {
    GM_RETURN_IF_ERROR(visit(*entity, run_.known_scopes_.at(entity->key())));
  }
  return absl::OkStatus();
}

absl::Status FakeStepContext::AddEntity(v1::Entity entity,
                                        absl::string_view scope) {
  absl::MutexLock lock(&mutex_);
  scopes_.try_emplace(entity.key(), scope);
  entities_.push_back(std::move(entity));
  return absl::OkStatus();
}

absl::Status FakeStepContext::AddRelationship(v1::Relationship relationship,
                                              absl::string_view scope) {
  absl::MutexLock lock(&mutex_);
  scopes_.try_emplace(relationship.key(), scope);
  relationships_.push_back(std::move(relationship));
  return absl::OkStatus();
}

void FakeStepContext::AddEvent(v1::EventLevel level, absl::string_view name,
                               absl::string_view description) {
  absl::MutexLock lock(&mutex_);
  events_.push_back(
      {step_id_, level, std::string(name), std::string(description)});
}

void FakeStepContext::MarkPartial(absl::string_view type,
                                  absl::string_view reason) {
  (void)reason;
  absl::MutexLock lock(&mutex_);
  partial_.insert(std::string(type));
}

void FakeStepContext::MarkScopeIncomplete(absl::string_view scope,
                                          absl::string_view reason) {
  absl::MutexLock lock(&mutex_);
  incomplete_scopes_.try_emplace(std::string(scope), reason);
}

void FakeStepContext::Commit() {
  absl::MutexLock lock(&mutex_);
  std::set<std::string> keys;
  for (const v1::Entity& entity : entities_) {
    if (!keys.insert(entity.key()).second) {
      run_.repeated_in_task_.push_back(entity.key());
    }
    run_.MergeEntity(entity);
  }
  for (const v1::Relationship& relationship : relationships_) {
    if (!keys.insert(relationship.key()).second) {
      run_.repeated_in_task_.push_back(relationship.key());
    }
    run_.MergeRelationship(relationship);
  }
  for (RecordedEvent& event : events_) run_.events_.push_back(std::move(event));
  for (const std::string& type : partial_) {
    run_.partial_types_[step_id_].insert(type);
  }
  for (const auto& [scope, reason] : incomplete_scopes_) {
    run_.incomplete_scopes_[step_id_].try_emplace(scope, reason);
  }
  for (const auto& [key, scope] : scopes_) run_.scopes_.try_emplace(key, scope);
  scopes_.clear();
  entities_.clear();
  relationships_.clear();
  events_.clear();
}

std::string FakeRun::ScopeOf(absl::string_view key) const {
  auto found = scopes_.find(key);
  return found == scopes_.end() ? "" : found->second;
}

}  // namespace graphmill::worker::testing
