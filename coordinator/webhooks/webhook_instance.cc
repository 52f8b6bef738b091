#include "coordinator/webhooks/webhook_instance.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace graphmill::coordinator {

absl::StatusOr<WebhookInstance> LoadWebhookInstance(
    Store& store, const InstanceSecrets& secrets,
    const WebhookHandlers& handlers, const std::string& instance_id) {
  WebhookInstance loaded;
  absl::StatusOr<v1::Instance> instance = store.GetInstance(instance_id);
  if (!instance.ok()) return instance.status();
  loaded.instance = *std::move(instance);
  const std::string& integration = loaded.instance.integration();
  auto handler = handlers.find(integration);
  if (handler == handlers.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("instance '", instance_id, "': integration '", integration,
                     "' has no webhooks"));
  }
  loaded.handler = handler->second.get();
  absl::StatusOr<v1::IntegrationDefinition> definition =
      store.GetIntegration(integration);
  if (!definition.ok()) return definition.status();
  loaded.definition = *std::move(definition);
  if (absl::Status opened = secrets.Open(loaded.definition, &loaded.instance);
      !opened.ok()) {
    return opened;
  }
  loaded.config = WithDefaults(loaded.definition,
                               ConfigMap(loaded.instance.config().begin(),
                                         loaded.instance.config().end()));
  absl::StatusOr<std::string> secret = worker::WebhookSecret(loaded.config);
  if (!secret.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "instance '", instance_id, "' has no ",
        worker::kWebhookSecretConfigField,
        ": the provider signs deliveries with it and the coordinator checks "
        "them; set one first: graphmill instance update ",
        instance_id, " --config ", worker::kWebhookSecretConfigField,
        "=... (or --config-env ", worker::kWebhookSecretConfigField,
        "=ENVVAR)"));
  }
  loaded.secret = *std::move(secret);
  return loaded;
}

}  // namespace graphmill::coordinator
