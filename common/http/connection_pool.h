// Provider connections kept open across HttpClients: a pool of libcurl easy
// handles, each keeping its own kept-alive connections, plus one curl share of
// the DNS cache and TLS sessions. A worker builds a client per task; without a
// pool every task, and every fan-out thread in it, opened fresh connections
// (TCP and TLS handshakes, and SYNs a small listen queue drops). With one pool
// per integration, created once per worker process, a request reuses the
// connection the previous request on that handle left open, whichever task
// made it.
//
// What is not shared: the connections themselves. libcurl documents sharing
// its connection cache (CURL_LOCK_DATA_CONNECT) between concurrent threads as
// unsupported (CURLSHOPT_SHARE(3), 7.88), and HTTP/2 streams of one connection
// cannot be driven from several threads. A handle is used by one thread at a
// time and carries its connections with it, so at most as many connections
// stay open as handles were busy at once (bounded by max_idle_handles when
// they come back).
//
// Contract: thread-safe. Owned through std::shared_ptr: the integration holds
// one and every HttpClient built with it (HttpClientOptions::pool) holds
// another, so the pool outlives every client, and every handle is released
// before it is destroyed. Acquire and Release are HttpClient's; a handle is
// returned in whatever state its last transfer left it (HttpClient resets the
// options before each transfer; the connection and DNS caches survive that).
#ifndef GRAPHMILL_COMMON_HTTP_CONNECTION_POOL_H_
#define GRAPHMILL_COMMON_HTTP_CONNECTION_POOL_H_

#include <curl/curl.h>

#include <array>
#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace graphmill::http {

// curl_global_init, once per process, before anything else of libcurl (the
// pool and HttpClient call it). Thread-safe.
void InitCurlOnce();

struct ConnectionPoolOptions {
  // Handles kept for reuse, with their connections; a handle released beyond
  // it is closed. Set it to the most requests the pool's clients make at once
  // (a worker: its share of each credential's requests in flight, up to the
  // integration's whole budget, 96 for CircleCI), so a burst does not close
  // connections the next one needs.
  int max_idle_handles = 128;
};

class ConnectionPool {
 public:
  explicit ConnectionPool(ConnectionPoolOptions options = {});
  // Closes the idle handles and their connections.
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // The most recently released handle (its connections most likely still
  // open), or a new one attached to the share; null if curl cannot allocate
  // one. The caller uses it from one thread and gives it back with Release.
  CURL* Acquire();
  // Takes `handle` back (from Acquire of this pool); null is ignored.
  void Release(CURL* handle);

  // Handles waiting for reuse now.
  int idle_handles() const;

 private:
  static void Lock(CURL* handle, curl_lock_data data, curl_lock_access access,
                   void* pool);
  static void Unlock(CURL* handle, curl_lock_data data, void* pool);

  const ConnectionPoolOptions options_;
  // libcurl locks each kind of shared data separately (its docs ask for one
  // lock per kind); std::mutex because curl's lock and unlock are separate
  // callbacks, which absl's scoped annotations cannot follow.
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks_;
  CURLSH* const share_;
  mutable absl::Mutex mutex_;
  // Most recently released last.
  std::vector<CURL*> idle_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace graphmill::http

#endif  // GRAPHMILL_COMMON_HTTP_CONNECTION_POOL_H_
