// Implementation of coordinator/auth/store_token_verifier.h.
#include "coordinator/auth/store_token_verifier.h"

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "coordinator/auth/tokens.h"

namespace graphmill::coordinator {
namespace {

absl::Status Unknown() {
  return absl::UnauthenticatedError("unknown or revoked token");
}

}  // namespace

absl::StatusOr<Caller> StoreTokenVerifier::Verify(
    absl::string_view token) const {
  // Nothing else was ever issued; no need to hash or look it up.
  if (token.size() != kTokenLength || !absl::StartsWith(token, kTokenPrefix)) {
    return Unknown();
  }
  const std::string hash = HashToken(token);
  if (hash.empty()) return absl::InternalError("cannot hash the token");
  const int64_t generation = store_->TokenGeneration();
  {
    absl::MutexLock lock(&mu_);
    if (generation_ != generation) {
      cache_.clear();
      generation_ = generation;
    }
    // Every entry is compared, in constant time, so the time taken says
    // nothing about which entry matched or how closely.
    const Caller* found = nullptr;
    for (const auto& [cached_hash, caller] : cache_) {
      if (HashesEqual(cached_hash, hash)) found = &caller;
    }
    if (found != nullptr) return *found;
  }
  absl::StatusOr<TokenRecord> record = store_->FindTokenByHash(hash);
  if (absl::IsNotFound(record.status())) return Unknown();
  if (!record.ok()) return record.status();
  // The store found the row by its hash; compare again in constant time.
  if (!HashesEqual(record->hash, hash)) return Unknown();
  const std::optional<Role> role = RoleFromProto(record->role);
  if (!role.has_value()) {
    return absl::InternalError(
        absl::StrCat("token '", record->name, "' has no valid role"));
  }
  Caller caller{.token_name = record->name, .role = *role};
  absl::MutexLock lock(&mu_);
  // Cache only if no token changed since `generation` was read: otherwise the
  // record may already be revoked.
  if (generation_ == generation && store_->TokenGeneration() == generation &&
      cache_.size() < kMaxCached) {
    cache_.emplace_back(hash, caller);
  }
  return caller;
}

}  // namespace graphmill::coordinator
