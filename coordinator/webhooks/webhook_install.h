// Registers the coordinator's webhook endpoint with an instance's provider
// (Admin.InstallWebhooks, `graphmill instance webhooks install`), with the
// instance's credentials, which never leave the coordinator.
//
// Contract of WebhookInstaller::Install, in this order:
// - LoadWebhookInstance's errors (webhook_instance.h): NOT_FOUND for an
//   unknown instance, FAILED_PRECONDITION for an integration without webhooks
//   or an instance without a webhookSecret, secrets that do not open;
// - INVALID_ARGUMENT naming `url` unless it is an https URL (http only to a
//   loopback host) without user info, query or fragment (WebhookEndpointUrl);
// - FAILED_PRECONDITION when the graph holds no entity of the handler's
//   install_entity_type() ("run the instance first");
// - otherwise OK, with one result per such entity, in key order: the handler's
//   Install (list the resource's webhooks, create one unless the endpoint URL
//   is there). A provider's error on one resource is that result's `error`,
//   and the others are still tried. Messages hold no secret of the instance.
// Nothing is stored in the coordinator. Running it again creates nothing for
// resources that have the webhook, so it may be re-run after errors or once
// new resources appeared.
//
// Thread-safe (handlers are); resources are installed on up to
// kWebhookInstallThreads threads at once.
#ifndef GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_INSTALL_H_
#define GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_INSTALL_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "coordinator/instances.h"
#include "coordinator/store/store.h"
#include "coordinator/webhooks/webhook_instance.h"
#include "graphmill/v1/admin.pb.h"
#include "worker/integrations/common/webhook_handler.h"

namespace graphmill::coordinator {

// Provider resources installed at once (each is one list and at most one
// create request, mostly waiting on the provider).
inline constexpr int kWebhookInstallThreads = 8;

// "<base_url without trailing '/'>/webhooks/<instance_id>", or
// INVALID_ARGUMENT naming `url`: a scheme other than https (http is accepted
// only for a loopback host: localhost, 127.0.0.0/8, [::1]), no host, user
// info, a query or a fragment.
absl::StatusOr<std::string> WebhookEndpointUrl(absl::string_view base_url,
                                               absl::string_view instance_id);

class WebhookInstaller {
 public:
  // `store` and `secrets` must outlive the installer. `handlers`: integration
  // name -> its handler (DefaultWebhookHandlers).
  WebhookInstaller(Store* store, const InstanceSecrets* secrets,
                   WebhookHandlers handlers);

  // See the header comment. `stop` (may be null) is asked before each
  // resource: once it returns true (the caller went away), the resources not
  // started get the error "not attempted: the call was cancelled".
  absl::StatusOr<v1::InstallWebhooksResponse> Install(
      const std::string& instance_id, absl::string_view url,
      const std::function<bool()>& stop = nullptr) const;

 private:
  Store* const store_;
  const InstanceSecrets* const secrets_;
  const WebhookHandlers handlers_;
};

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_WEBHOOKS_WEBHOOK_INSTALL_H_
