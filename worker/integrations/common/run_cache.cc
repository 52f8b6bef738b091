// Implementation of worker/integrations/common/run_cache.h.
#include "worker/integrations/common/run_cache.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace graphmill::worker {
namespace {

RunCacheOptions Normalized(RunCacheOptions options) {
  if (options.clock == nullptr) options.clock = Clock::Real();
  options.max_entries = std::max<size_t>(options.max_entries, 1);
  return options;
}

}  // namespace

RunCache::RunCache(RunCacheOptions options)
    : options_(Normalized(std::move(options))) {}

absl::StatusOr<RunCache::Value> RunCache::GetOrFetch(
    const std::string& key,
    absl::FunctionRef<absl::StatusOr<std::string>()> fetch) {
  {
    absl::MutexLock lock(&mutex_);
    const auto settled = [this, &key]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return !fetching_.contains(key);
    };
    for (;;) {
      if (const Entry* entry = Find(key, options_.clock->Now())) {
        return entry->value;
      }
      if (fetching_.insert(key).second) break;
      // Another task of the run is fetching it: its answer is ours, unless it
      // fails, in which case the loop makes one of the waiters the fetcher.
      mutex_.Await(absl::Condition(&settled));
    }
  }
  absl::StatusOr<std::string> fetched = fetch();
  absl::MutexLock lock(&mutex_);
  fetching_.erase(key);
  if (!fetched.ok()) return fetched.status();
  Value value = std::make_shared<const std::string>(*std::move(fetched));
  Store(key, value, options_.clock->Now());
  return value;
}

size_t RunCache::size() const {
  absl::MutexLock lock(&mutex_);
  return entries_.size();
}

const RunCache::Entry* RunCache::Find(const std::string& key, absl::Time now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (now - it->second.stored >= options_.ttl) {
    Erase(it);
    return nullptr;
  }
  recency_.splice(recency_.end(), recency_, it->second.recency);
  return &it->second;
}

void RunCache::Store(const std::string& key, Value value, absl::Time now) {
  auto [it, inserted] = entries_.try_emplace(key);
  if (!inserted) recency_.erase(it->second.recency);
  recency_.push_back(key);
  it->second = Entry{std::move(value), now, std::prev(recency_.end())};
  // From the least recently used end: what is over the cap, and what expired.
  // An entry unused for a TTL has expired; one used since may have too, and
  // goes when next looked up or pushed out.
  while (!recency_.empty()) {
    auto oldest = entries_.find(recency_.front());
    if (entries_.size() <= options_.max_entries &&
        now - oldest->second.stored < options_.ttl) {
      break;
    }
    Erase(oldest);
  }
}

void RunCache::Erase(absl::flat_hash_map<std::string, Entry>::iterator it) {
  recency_.erase(it->second.recency);
  entries_.erase(it);
}

std::string RunCacheKey(int64_t run_id, absl::string_view base_url,
                        absl::string_view credential,
                        absl::string_view resource) {
  // Unit separators: none of the parts (a URL, a hex hash, a slug) holds one.
  return absl::StrCat(run_id, "\x1f", base_url, "\x1f",
                      absl::Hex(absl::HashOf(credential)), "\x1f", resource);
}

}  // namespace graphmill::worker
