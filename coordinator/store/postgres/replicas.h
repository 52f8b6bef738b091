// What lets several coordinator processes (replicas) share one PostgreSQL
// store: one of them at a time takes run-level decisions (PgLeadership), and
// each hears about the others' commits (PgChangeListener), so its pump,
// run watchers and subscribers wake without polling.
//
// Leadership is a session-level advisory lock on a connection of its own. The
// server releases it when that session ends, so a replica that dies (SIGKILL,
// lost node) frees it as soon as the server sees the connection close, and a
// live replica that is merely slow keeps it: two replicas never both hold it.
//
// Notifications are NOTIFYs on one channel, sent inside the writing
// transaction (delivered only if it commits). A payload is
// "<replica id>:<kind>"; a listener ignores its own replica's.
//
// Thread safety: PgLeadership is thread-safe. PgChangeListener calls its
// callback on its own thread, one call at a time.
// Errors: PgLeadership::Hold returns UNAVAILABLE when the server cannot be
// reached (the caller is then not the leader).
#ifndef GRAPHMILL_COORDINATOR_STORE_POSTGRES_REPLICAS_H_
#define GRAPHMILL_COORDINATOR_STORE_POSTGRES_REPLICAS_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/store/postgres.h"

namespace graphmill::coordinator {

// The channel replicas NOTIFY and LISTEN on.
inline constexpr char kReplicaChannel[] = "graphmill";

// What a notification says changed.
enum class ReplicaChange {
  kRuns,    // runs, steps, tasks or the change log
  kTokens,  // bearer tokens (verifiers must drop what they cached)
};

// "<replica>:<kind>", the payload of a NOTIFY about `change`.
std::string ReplicaPayload(absl::string_view replica, ReplicaChange change);

class PgLeadership {
 public:
  explicit PgLeadership(std::string uri) : uri_(std::move(uri)) {}

  // True if this process holds the leader lock, taking it if it is free. The
  // session that holds it is checked on every call: if the connection was
  // lost (and with it the lock), the lock is taken again only if free.
  absl::StatusOr<bool> Hold() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const std::string uri_;
  absl::Mutex mu_;
  std::unique_ptr<PgConnection> db_ ABSL_GUARDED_BY(mu_);
  // The backend of the session that took the lock; 0: not held.
  int holder_pid_ ABSL_GUARDED_BY(mu_) = 0;
};

class PgChangeListener {
 public:
  // Starts a thread that LISTENs on kReplicaChannel and calls `changed` for
  // each kind other replicas (payloads not from `self`) announced, once per
  // burst. When its connection is lost it reconnects (with back-off) and
  // reports every kind, since it may have missed some.
  PgChangeListener(std::string uri, std::string self,
                   std::function<void(ReplicaChange)> changed);
  // Stops the thread (within about 100 ms).
  ~PgChangeListener();
  PgChangeListener(const PgChangeListener&) = delete;
  PgChangeListener& operator=(const PgChangeListener&) = delete;

 private:
  void Loop();

  const std::string uri_;
  const std::string self_;
  const std::function<void(ReplicaChange)> changed_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_STORE_POSTGRES_REPLICAS_H_
