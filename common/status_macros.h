// Early-return helpers for absl::Status / absl::StatusOr (Abseil 20220623 has
// none public).
#ifndef GRAPHMILL_COMMON_STATUS_MACROS_H_
#define GRAPHMILL_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status); returns it from the caller if not OK.
#define GM_RETURN_IF_ERROR(expr)              \
  do {                                        \
    const ::absl::Status gm_status_ = (expr); \
    if (!gm_status_.ok()) return gm_status_;  \
  } while (0)

// Evaluates `expr` (an absl::StatusOr<T>); returns its status if not OK, else
// moves the value into `lhs`, which may be a declaration:
// GM_ASSIGN_OR_RETURN(auto x, Foo());
#define GM_ASSIGN_OR_RETURN(lhs, expr)                                      \
  GM_ASSIGN_OR_RETURN_IMPL_(GM_STATUS_CONCAT_(gm_statusor_, __LINE__), lhs, \
                            expr)

#define GM_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(*statusor)

#define GM_STATUS_CONCAT_INNER_(a, b) a##b
#define GM_STATUS_CONCAT_(a, b) GM_STATUS_CONCAT_INNER_(a, b)

#endif  // GRAPHMILL_COMMON_STATUS_MACROS_H_
