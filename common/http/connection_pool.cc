// Implementation of common/http/connection_pool.h.
#include "common/http/connection_pool.h"

#include <utility>

namespace graphmill::http {
namespace {

// A share of the DNS cache and TLS sessions whose locks are `pool`'s; null if
// curl cannot make one (the handles then work unshared).
CURLSH* NewShare(void* pool, curl_lock_function lock,
                 curl_unlock_function unlock) {
  InitCurlOnce();
  CURLSH* share = curl_share_init();
  if (share == nullptr) return nullptr;
  curl_share_setopt(share, CURLSHOPT_LOCKFUNC, lock);
  curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, unlock);
  curl_share_setopt(share, CURLSHOPT_USERDATA, pool);
  // Names resolved once for all tasks, and TLS sessions resumed instead of a
  // full handshake when a handle has to reconnect.
  curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  return share;
}

}  // namespace

void InitCurlOnce() {
  static std::once_flag once;
  // Not thread-safe in older libcurl, hence the once flag; never cleaned up
  // because clients may live until exit.
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

ConnectionPool::ConnectionPool(ConnectionPoolOptions options)
    : options_(std::move(options)), share_(NewShare(this, &Lock, &Unlock)) {}

ConnectionPool::~ConnectionPool() {
  absl::MutexLock lock(&mutex_);
  for (CURL* handle : idle_) curl_easy_cleanup(handle);
  idle_.clear();
  // Last: a share cannot be cleaned up while handles still use it.
  if (share_ != nullptr) curl_share_cleanup(share_);
}

CURL* ConnectionPool::Acquire() {
  {
    absl::MutexLock lock(&mutex_);
    if (!idle_.empty()) {
      CURL* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  CURL* handle = curl_easy_init();
  // Kept across curl_easy_reset, which clears the options but not the share.
  if (handle != nullptr && share_ != nullptr) {
    curl_easy_setopt(handle, CURLOPT_SHARE, share_);
  }
  return handle;
}

void ConnectionPool::Release(CURL* handle) {
  if (handle == nullptr) return;
  {
    absl::MutexLock lock(&mutex_);
    if (static_cast<int>(idle_.size()) < options_.max_idle_handles) {
      idle_.push_back(handle);
      return;
    }
  }
  // Outside the lock: closing its connections may take a moment.
  curl_easy_cleanup(handle);
}

int ConnectionPool::idle_handles() const {
  absl::MutexLock lock(&mutex_);
  return static_cast<int>(idle_.size());
}

void ConnectionPool::Lock(CURL*, curl_lock_data data, curl_lock_access,
                          void* pool) {
  auto* self = static_cast<ConnectionPool*>(pool);
  self->share_locks_[static_cast<size_t>(data) % CURL_LOCK_DATA_LAST].lock();
}

void ConnectionPool::Unlock(CURL*, curl_lock_data data, void* pool) {
  auto* self = static_cast<ConnectionPool*>(pool);
  self->share_locks_[static_cast<size_t>(data) % CURL_LOCK_DATA_LAST].unlock();
}

}  // namespace graphmill::http
