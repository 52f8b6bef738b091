// An instance as its webhooks need it, loaded one way for the receiver (a
// delivery) and the installer (Admin.InstallWebhooks): its integration's
// handler, its definition, its config with secrets open and defaults applied,
// and its webhook secret.
//
// Errors: NOT_FOUND for an unknown instance; FAILED_PRECONDITION when the
// integration has no webhook handler or the instance no webhookSecret (saying
// how to set one); InstanceSecrets::Open's error when its secrets do not open;
// the store's errors as they are. No message holds a secret.
#ifndef GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_INSTANCE_H_
#define GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_INSTANCE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/definitions.h"
#include "coordinator/instances.h"
#include "coordinator/store/store.h"
#include "worker/integrations/common/webhook_handler.h"

namespace graphmill::coordinator {

// Integration name -> its webhook handler.
using WebhookHandlers =
    std::map<std::string, std::unique_ptr<worker::WebhookHandler>>;

struct WebhookInstance {
  v1::Instance instance;  // secrets open: never return it from an API
  v1::IntegrationDefinition definition;
  const worker::WebhookHandler* handler = nullptr;  // owned by the map
  ConfigMap config;                                 // with defaults
  std::string secret;                               // the webhookSecret
};

absl::StatusOr<WebhookInstance> LoadWebhookInstance(
    Store& store, const InstanceSecrets& secrets,
    const WebhookHandlers& handlers, const std::string& instance_id);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_INSTANCE_H_
