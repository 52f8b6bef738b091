// The coordinator's TokenVerifier: hashes the presented token and looks the
// hash up in the store. Valid tokens are cached until the store's token
// generation moves (any CreateToken or RevokeToken), so a revocation takes
// effect for every call that starts after RevokeToken returns, and a call
// with a cached token does not wait for the store (which may be busy with a
// long finalize).
#ifndef GRAPHMILL_COORDINATOR_AUTH_STORE_TOKEN_VERIFIER_H_
#define GRAPHMILL_COORDINATOR_AUTH_STORE_TOKEN_VERIFIER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/auth/token_verifier.h"
#include "coordinator/store/store.h"

namespace graphmill::coordinator {

class StoreTokenVerifier : public TokenVerifier {
 public:
  // `store` must outlive the verifier; it is the only writer of its tokens
  // (revocations made by another process are not seen until a token changes
  // here).
  explicit StoreTokenVerifier(Store* store) : store_(store) {}

  // UNAUTHENTICATED "unknown or revoked token" for a token that is not stored;
  // other store errors as they are. Messages never hold the token.
  absl::StatusOr<Caller> Verify(absl::string_view token) const override;

 private:
  // Cached valid tokens: (hash, caller). Small: one entry per token in use.
  static constexpr size_t kMaxCached = 256;

  Store* const store_;
  mutable absl::Mutex mu_;
  // The store's TokenGeneration() the cache belongs to.
  mutable int64_t generation_ ABSL_GUARDED_BY(mu_) = -1;
  mutable std::vector<std::pair<std::string, Caller>> cache_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_AUTH_STORE_TOKEN_VERIFIER_H_
