// Implementation of coordinator/store/postgres/replicas.h.
#include "coordinator/store/postgres/replicas.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace graphmill::coordinator {
namespace {

// The leader lock's advisory key ("gmleader"); the schema's is another.
constexpr int64_t kLeaderLockKey = 0x676d6c6561646572;

constexpr char kRunsKind[] = "runs";
constexpr char kTokensKind[] = "tokens";

// How long the listener waits for notifications before it checks whether it
// is stopping, and how long it waits between attempts to reconnect.
constexpr absl::Duration kListenSlice = absl::Milliseconds(100);
constexpr absl::Duration kFirstReconnectDelay = absl::Milliseconds(100);
constexpr absl::Duration kMaxReconnectDelay = absl::Seconds(5);

}  // namespace

std::string ReplicaPayload(absl::string_view replica, ReplicaChange change) {
  return absl::StrCat(
      replica, ":", change == ReplicaChange::kTokens ? kTokensKind : kRunsKind);
}

absl::StatusOr<bool> PgLeadership::Hold() {
  absl::MutexLock lock(&mu_);
  if (db_ == nullptr) {
    absl::StatusOr<std::unique_ptr<PgConnection>> db = PgConnection::Open(uri_);
    if (!db.ok()) return db.status();
    db_ = *std::move(db);
  }
  if (holder_pid_ != 0) {
    // The lock lives as long as the session that took it. Asking for the
    // session's backend re-establishes a lost connection first, and a new
    // session has a new backend: the lock is then gone.
    absl::StatusOr<PgResult> backend = db_->Query("SELECT pg_backend_pid()");
    if (backend.ok() && backend->Int(0, 0) == holder_pid_) return true;
    holder_pid_ = 0;
    if (!backend.ok()) return backend.status();
  }
  absl::StatusOr<PgResult> taken = db_->Query("SELECT pg_try_advisory_lock($1)",
                                              PgParams().Int(kLeaderLockKey));
  if (!taken.ok()) return taken.status();
  if (taken->Bool(0, 0)) holder_pid_ = db_->BackendPid();
  return holder_pid_ != 0;
}

PgChangeListener::PgChangeListener(std::string uri, std::string self,
                                   std::function<void(ReplicaChange)> changed)
    : uri_(std::move(uri)),
      self_(std::move(self)),
      changed_(std::move(changed)),
      thread_([this] { Loop(); }) {}

PgChangeListener::~PgChangeListener() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void PgChangeListener::Loop() {
  std::unique_ptr<PgConnection> db;
  absl::Duration delay = kFirstReconnectDelay;
  std::string last_error;
  auto stopping = [this] {
    absl::MutexLock lock(&mu_);
    return stopping_;
  };
  while (!stopping()) {
    if (db == nullptr) {
      absl::StatusOr<std::unique_ptr<PgConnection>> opened =
          PgConnection::Open(uri_);
      absl::Status listening = opened.status();
      if (opened.ok()) listening = (*opened)->Execute("LISTEN graphmill");
      if (!listening.ok()) {
        if (listening.ToString() != last_error) {
          LogWarn("replica notifications: ", listening.message(),
                  "; other replicas' changes are seen at the next tick");
          last_error = listening.ToString();
        }
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
        delay = std::min(delay * 2, kMaxReconnectDelay);
        continue;
      }
      db = *std::move(opened);
      delay = kFirstReconnectDelay;
      last_error.clear();
      // Whatever was committed while nobody listened.
      changed_(ReplicaChange::kRuns);
      changed_(ReplicaChange::kTokens);
    }
    absl::StatusOr<std::vector<std::string>> payloads =
        db->AwaitNotifications(kListenSlice);
    if (!payloads.ok()) {
      db.reset();
      continue;
    }
    bool runs = false;
    bool tokens = false;
    for (const std::string& payload : *payloads) {
      const size_t colon = payload.rfind(':');
      if (colon == std::string::npos) continue;
      if (absl::string_view(payload).substr(0, colon) == self_) continue;
      const absl::string_view kind =
          absl::string_view(payload).substr(colon + 1);
      if (kind == kTokensKind) {
        tokens = true;
      } else {
        runs = true;
      }
    }
    if (runs) changed_(ReplicaChange::kRuns);
    if (tokens) changed_(ReplicaChange::kTokens);
  }
}

}  // namespace graphmill::coordinator
