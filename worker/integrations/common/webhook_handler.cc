#include "worker/integrations/common/webhook_handler.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "worker/integrations/common/entity_builder.h"

namespace graphmill::worker {

std::string WebhookString(const rapidjson::Value& event,
                          std::initializer_list<const char*> path) {
  const rapidjson::Value* value = &event;
  const char* const* last = path.end() - 1;
  for (const char* const* step = path.begin(); step != last; ++step) {
    value = ObjectField(*value, *step);
    if (value == nullptr) return "";
  }
  return StringField(*value, *last).value_or("");
}

absl::Status MissingWebhookField(absl::string_view provider,
                                 absl::string_view field) {
  return absl::InvalidArgumentError(
      absl::StrCat(provider, " webhook: field '", field, "' is missing"));
}

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

absl::StatusOr<std::string> WebhookSecret(const InstanceConfig& config) {
  auto secret = config.find(kWebhookSecretConfigField);
  if (secret == config.end() || secret->second.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("config field '", kWebhookSecretConfigField,
                     "' is not set: webhooks are signed with it"));
  }
  return secret->second;
}

absl::StatusOr<std::string> WebhookResourceId(const v1::Entity& entity) {
  auto id = entity.properties().find("id");
  if (id == entity.properties().end() || !id->second.has_string_value() ||
      id->second.string_value().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "entity '", entity.key(), "' has no string 'id' property"));
  }
  return id->second.string_value();
}

absl::StatusOr<bool> InstallWebhookOnce(
    const std::function<absl::StatusOr<bool>()>& exists,
    const std::function<absl::Status()>& create) {
  absl::StatusOr<bool> existed = exists();
  if (!existed.ok()) return existed.status();
  if (*existed) return false;
  absl::Status created = create();
  if (created.ok()) return true;
  const http::HttpErrorKind kind = http::HttpErrorKindOf(created);
  if (kind == http::HttpErrorKind::kServer ||
      kind == http::HttpErrorKind::kNetwork) {
    absl::StatusOr<bool> after = exists();
    if (after.ok() && *after) return true;
  }
  return created;
}

}  // namespace graphmill::worker
