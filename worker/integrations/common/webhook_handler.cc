#include "worker/integrations/common/webhook_handler.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace graphmill::worker {

absl::StatusOr<int64_t> WebhookTimeMs(absl::string_view text,
                                      absl::string_view field) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook field '", field, "' is not an RFC 3339 time"));
  }
  return absl::ToUnixMillis(time);
}

}  // namespace graphmill::worker
