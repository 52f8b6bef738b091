// Provider resources fetched once per run by a worker process, whichever task
// (shard) of the run asks first: a bounded, expiring map from a key that
// starts with the run (RunCacheKey) to the response body. E.g. CircleCI's
// project details, which every shard of fetch-projects needs for the projects
// of its pipelines: without it, a project was fetched once per shard.
//
// Entries are only ever hits for the same run (the key names it), so the TTL
// is not about freshness within a run but about dropping a finished run's
// entries; a run that outlasts it fetches again, which is only a cost. Each
// worker process has its own cache: several workers each fetch once.
//
// Contract: thread-safe. Values are shared, immutable strings; a caller may
// keep one after it was evicted. Fetches run on the caller's thread, without
// the cache's lock held.
#ifndef GRAPHMILL_WORKER_INTEGRATIONS_COMMON_RUN_CACHE_H_
#define GRAPHMILL_WORKER_INTEGRATIONS_COMMON_RUN_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace graphmill::worker {

struct RunCacheOptions {
  // An entry is dropped this long after it was stored.
  absl::Duration ttl = absl::Minutes(10);
  // Most entries held; beyond it the least recently used goes first.
  size_t max_entries = 10'000;
  // Reads the time for the TTL; must outlive the cache. Null: Clock::Real().
  Clock* clock = Clock::Real();
};

class RunCache {
 public:
  using Value = std::shared_ptr<const std::string>;

  explicit RunCache(RunCacheOptions options = {});
  RunCache(const RunCache&) = delete;
  RunCache& operator=(const RunCache&) = delete;

  // The value stored under `key`, else the one `fetch` returns, stored if OK.
  // Concurrent callers with the same key wait for the first one's fetch
  // instead of repeating it; if it fails, its caller gets the error and one
  // waiter fetches in turn (a failure is never stored: a 403 or a timeout in
  // one task must not decide for another).
  absl::StatusOr<Value> GetOrFetch(
      const std::string& key,
      absl::FunctionRef<absl::StatusOr<std::string>()> fetch);

  // Entries held now (expired ones may still count until touched or pushed
  // out).
  size_t size() const;

 private:
  struct Entry {
    Value value;
    absl::Time stored;
    std::list<std::string>::iterator recency;  // into recency_
  };

  // The live entry of `key`, marked most recently used; null if none (an
  // expired one is dropped).
  const Entry* Find(const std::string& key, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Store(const std::string& key, Value value, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Erase(absl::flat_hash_map<std::string, Entry>::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const RunCacheOptions options_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mutex_);
  // Keys, least recently used first.
  std::list<std::string> recency_ ABSL_GUARDED_BY(mutex_);
  // Keys being fetched now.
  absl::flat_hash_set<std::string> fetching_ ABSL_GUARDED_BY(mutex_);
};

// The key of `resource` within run `run_id` of the instance whose API is
// `base_url` with credential `credential`. The credential enters only hashed
// (the key lives for the TTL, longer than the task holding the secret); with
// the base URL it keeps two instances apart should a worker ever see the same
// run id from two coordinators.
std::string RunCacheKey(int64_t run_id, absl::string_view base_url,
                        absl::string_view credential,
                        absl::string_view resource);

}  // namespace graphmill::worker

#endif  // GRAPHMILL_WORKER_INTEGRATIONS_COMMON_RUN_CACHE_H_
