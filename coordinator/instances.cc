// Implementation of coordinator/instances.h.
#include "coordinator/instances.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "coordinator/definitions.h"
#include "coordinator/scheduler/schedule.h"

namespace graphmill::coordinator {
namespace {

bool IsSecret(const v1::IntegrationDefinition& definition,
              const std::string& name) {
  for (const v1::ConfigField& field : definition.config_fields()) {
    if (field.name() == name) return field.secret();
  }
  return false;
}

// Where the instance's config secrets are sent: each endpoint field's value
// (or its default), e.g. "baseUrl=https://circleci.com/api/v2".
std::string ConfigDestination(const v1::IntegrationDefinition& definition,
                              const v1::Instance& instance) {
  std::vector<std::string> parts;
  for (const v1::ConfigField& field : definition.config_fields()) {
    if (!field.endpoint()) continue;
    auto value = instance.config().find(field.name());
    parts.push_back(absl::StrCat(field.name(), "=",
                                 value == instance.config().end()
                                     ? field.default_value()
                                     : value->second));
  }
  return absl::StrJoin(parts, "&");
}

// Where the upload token is sent ("" base URL: JupiterOne's default).
std::string UploadDestination(const v1::Instance& instance) {
  return absl::StrCat("base_url=", instance.upload().base_url(),
                      "&account_id=", instance.upload().account_id());
}

// Where a sealed value belongs: its instance, field and destination. A value
// copied to another place, or kept while the destination changed, does not
// decrypt.
std::string ConfigPlace(const v1::IntegrationDefinition& definition,
                        const v1::Instance& instance,
                        const std::string& field) {
  return absl::StrCat("instance/", instance.id(), "/config/", field, "@",
                      ConfigDestination(definition, instance));
}
std::string UploadTokenPlace(const v1::Instance& instance) {
  return absl::StrCat("instance/", instance.id(), "/upload/api_token@",
                      UploadDestination(instance));
}
// Places before secrets were bound to their destination (schema of stores
// written before then); only Rebind opens values sealed there.
std::string LegacyConfigPlace(const std::string& instance_id,
                              const std::string& field) {
  return absl::StrCat("instance/", instance_id, "/config/", field);
}
std::string LegacyUploadTokenPlace(const std::string& instance_id) {
  return absl::StrCat("instance/", instance_id, "/upload/api_token");
}

bool Given(const std::string& value) {
  return !value.empty() && value != kMaskedSecret;
}

}  // namespace

absl::Status ValidateInstanceSettings(
    const v1::IntegrationDefinition& definition, const v1::Instance& instance) {
  const std::string where = absl::StrCat("instance '", instance.id(), "'");
  ConfigMap config(instance.config().begin(), instance.config().end());
  GM_RETURN_IF_ERROR(ValidateConfig(definition, instance.id(), config));
  // On a create there is nothing for "***" to keep, and after MergeUpdate a
  // "***" is left only where nothing was stored: storing it would make the
  // mask the secret.
  for (const v1::ConfigField& field : definition.config_fields()) {
    auto it = config.find(field.name());
    if (field.secret() && it != config.end() && it->second == kMaskedSecret) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": secret config field '", field.name(), "' is \"",
          kMaskedSecret,
          "\" (the mask secrets read back as) and there is no stored value "
          "to keep: give the secret itself"));
    }
  }
  if (instance.has_schedule()) {
    absl::Status schedule = ValidateSchedule(instance.schedule());
    if (!schedule.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", schedule.message()));
    }
  }
  std::set<std::string> disabled;
  for (const std::string& step : instance.disabled_steps()) {
    bool known = false;
    for (const v1::StepDefinition& definition_step : definition.steps()) {
      known |= definition_step.id() == step;
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": disabled step '", step, "' is not a step of integration '",
          definition.name(), "'"));
    }
    // A repeat means the request was built wrong (the CLI sends each step
    // once): refuse it rather than store a list that reads back with the step
    // twice.
    if (!disabled.insert(step).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": disabled step '", step, "' is listed twice"));
    }
  }
  // Written so that NaN fails too (every comparison with NaN is false).
  const double rate = instance.rate_limit_per_second();
  if (rate != 0 &&
      !(rate >= kMinRateLimitPerSecond && rate <= kMaxRateLimitPerSecond)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": rate_limit_per_second ", rate,
                     " is out of range: use 0 (the coordinator's default) or ",
                     kMinRateLimitPerSecond, " to ", kMaxRateLimitPerSecond,
                     " requests per second"));
  }
  if (instance.has_upload()) {
    const v1::JupiterOneUpload& upload = instance.upload();
    for (const auto& [name, value] :
         {std::pair<const char*, const std::string*>{"account_id",
                                                     &upload.account_id()},
          {"api_token", &upload.api_token()},
          {"integration_instance_id", &upload.integration_instance_id()}}) {
      if (value->empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": upload.", name, " is required for a JupiterOne upload"));
      }
    }
    // As for secret config fields: a "***" here has no stored token behind it.
    if (upload.api_token() == kMaskedSecret) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": upload.api_token is \"", kMaskedSecret,
          "\" (the mask secrets read back as) and there is no stored token "
          "to keep: give the token itself"));
    }
    if (!upload.base_url().empty() &&
        !absl::StartsWith(upload.base_url(), "https://") &&
        !absl::StartsWith(upload.base_url(), "http://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": upload.base_url must start with https:// or http://"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Instance> MergeUpdate(
    const v1::IntegrationDefinition& definition, const v1::Instance& stored,
    v1::Instance update, const std::vector<std::string>& unset_config) {
  const std::string where = absl::StrCat("instance '", stored.id(), "'");
  // Checked first, so a misspelt name changes nothing: removing a field that
  // does not exist would otherwise succeed silently and leave the field meant
  // in place.
  for (const std::string& name : unset_config) {
    const bool known = std::any_of(
        definition.config_fields().begin(), definition.config_fields().end(),
        [&](const v1::ConfigField& field) { return field.name() == name; });
    if (!known) {
      std::vector<std::string> names;
      for (const v1::ConfigField& field : definition.config_fields()) {
        names.push_back(field.name());
      }
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": cannot unset unknown config field '", name,
                       "' of integration '", definition.name(),
                       "' (known: ", absl::StrJoin(names, ", "), ")"));
    }
    if (update.config().contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": config field '", name, "' is both set and unset"));
    }
  }
  // A secret is kept only where it was sent before: a new destination needs
  // the secrets given again, so a caller who does not know them cannot
  // redirect them.
  if (ConfigDestination(definition, stored) !=
      ConfigDestination(definition, update)) {
    std::vector<std::string> missing;
    for (const v1::ConfigField& field : definition.config_fields()) {
      auto given = update.config().find(field.name());
      if (field.secret() && stored.config().contains(field.name()) &&
          (given == update.config().end() || !Given(given->second))) {
        missing.push_back(absl::StrCat("'", field.name(), "'"));
      }
    }
    if (!missing.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          where, ": changing ",
          ConfigDestination(definition, update).empty()
              ? "the endpoint"
              : ConfigDestination(definition, update),
          " changes where secrets are sent: give secret config field",
          missing.size() == 1 ? " " : "s ", absl::StrJoin(missing, ", "),
          " again in the same update"));
    }
  }
  if (update.has_upload() && stored.has_upload() &&
      UploadDestination(update) != UploadDestination(stored) &&
      !Given(update.upload().api_token())) {
    return absl::FailedPreconditionError(absl::StrCat(
        where,
        ": changing the upload's base URL or account changes where its token "
        "is sent: give upload.api_token again in the same update"));
  }
  const std::set<std::string> unset(unset_config.begin(), unset_config.end());
  for (const v1::ConfigField& field : definition.config_fields()) {
    // An unset secret is not kept: its absence is what was asked for.
    if (!field.secret() || unset.contains(field.name())) continue;
    auto given = update.config().find(field.name());
    auto kept = stored.config().find(field.name());
    const bool keep =
        given == update.config().end() || given->second == kMaskedSecret;
    if (keep && kept != stored.config().end()) {
      (*update.mutable_config())[field.name()] = kept->second;
    }
  }
  if (update.has_upload() && stored.has_upload() &&
      (update.upload().api_token().empty() ||
       update.upload().api_token() == kMaskedSecret)) {
    update.mutable_upload()->set_api_token(stored.upload().api_token());
  }
  update.set_id(stored.id());
  update.set_integration(stored.integration());
  update.set_created_at_ms(stored.created_at_ms());
  return update;
}

absl::Status InstanceSecrets::Seal(const v1::IntegrationDefinition& definition,
                                   v1::Instance* instance) const {
  auto seal = [&](std::string* value,
                  const std::string& place) -> absl::Status {
    if (value->empty() || SecretBox::LooksEncrypted(*value))
      return absl::OkStatus();
    if (!box_.has_value()) return MissingSecretKeyError(instance->id());
    GM_ASSIGN_OR_RETURN(*value, box_->Encrypt(*value, place));
    return absl::OkStatus();
  };
  const v1::Instance places = *instance;  // destinations as they will be
  for (auto& [name, value] : *instance->mutable_config()) {
    if (IsSecret(definition, name)) {
      GM_RETURN_IF_ERROR(seal(&value, ConfigPlace(definition, places, name)));
    }
  }
  if (instance->has_upload()) {
    GM_RETURN_IF_ERROR(seal(instance->mutable_upload()->mutable_api_token(),
                            UploadTokenPlace(places)));
  }
  return absl::OkStatus();
}

absl::Status InstanceSecrets::Open(const v1::IntegrationDefinition& definition,
                                   v1::Instance* instance) const {
  auto open = [&](std::string* value, const std::string& place,
                  const std::string& what) -> absl::Status {
    if (!SecretBox::LooksEncrypted(*value)) return absl::OkStatus();
    if (!box_.has_value()) return MissingSecretKeyError(instance->id());
    absl::StatusOr<std::string> plain = box_->Decrypt(*value, place);
    if (!plain.ok()) {
      return absl::Status(
          plain.status().code(),
          absl::StrCat("instance '", instance->id(), "': cannot decrypt ", what,
                       ": ", plain.status().message()));
    }
    *value = std::move(*plain);
    return absl::OkStatus();
  };
  const v1::Instance places = *instance;
  for (auto& [name, value] : *instance->mutable_config()) {
    if (IsSecret(definition, name)) {
      GM_RETURN_IF_ERROR(open(&value, ConfigPlace(definition, places, name),
                              absl::StrCat("config field '", name, "'")));
    }
  }
  if (instance->has_upload()) {
    GM_RETURN_IF_ERROR(open(instance->mutable_upload()->mutable_api_token(),
                            UploadTokenPlace(places), "upload.api_token"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> InstanceSecrets::Rebind(
    const v1::IntegrationDefinition& definition, v1::Instance* instance) const {
  if (!box_.has_value()) return false;
  const v1::Instance places = *instance;
  bool changed = false;
  auto rebind = [&](std::string* value, const std::string& place,
                    const std::string& legacy) -> absl::Status {
    if (!SecretBox::LooksEncrypted(*value) || box_->Decrypt(*value, place).ok())
      return absl::OkStatus();
    absl::StatusOr<std::string> plain = box_->Decrypt(*value, legacy);
    if (!plain.ok()) return absl::OkStatus();  // Open reports it when used
    GM_ASSIGN_OR_RETURN(*value, box_->Encrypt(*plain, place));
    changed = true;
    return absl::OkStatus();
  };
  for (auto& [name, value] : *instance->mutable_config()) {
    if (IsSecret(definition, name)) {
      GM_RETURN_IF_ERROR(rebind(&value, ConfigPlace(definition, places, name),
                                LegacyConfigPlace(places.id(), name)));
    }
  }
  if (instance->has_upload()) {
    GM_RETURN_IF_ERROR(rebind(instance->mutable_upload()->mutable_api_token(),
                              UploadTokenPlace(places),
                              LegacyUploadTokenPlace(places.id())));
  }
  return changed;
}

void MaskSecrets(const v1::IntegrationDefinition& definition,
                 v1::Instance* instance) {
  for (auto& [name, value] : *instance->mutable_config()) {
    if (IsSecret(definition, name)) value = kMaskedSecret;
  }
  if (instance->has_upload() && !instance->upload().api_token().empty()) {
    instance->mutable_upload()->set_api_token(kMaskedSecret);
  }
}

std::vector<std::string> SecretValues(
    const v1::IntegrationDefinition& definition, const v1::Instance& instance) {
  std::vector<std::string> values;
  for (const auto& [name, value] : instance.config()) {
    if (IsSecret(definition, name)) values.push_back(value);
  }
  if (instance.has_upload() && !instance.upload().api_token().empty()) {
    values.push_back(instance.upload().api_token());
  }
  return values;
}

}  // namespace graphmill::coordinator
