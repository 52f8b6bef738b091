// Instance settings as the coordinator handles them: checked against the
// integration's definition, secrets sealed (AES-256-GCM) before they are
// stored, opened only for the tasks that need them, and masked in everything a
// read API returns.
#ifndef GRAPHMILL_COORDINATOR_INSTANCES_H_
#define GRAPHMILL_COORDINATOR_INSTANCES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/secrets/secret_box.h"
#include "graphmill/v1/integration.pb.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::coordinator {

namespace v1 = ::graphmill::v1;

// Accepted Instance.rate_limit_per_second values besides 0 (0 means the
// coordinator's --default_rate_limit). The floor is one request per 100 s: a
// slower run in effect never ends, and its tasks hold worker capacity that
// other instances' runs wait for. The ceiling is far above any provider's own
// limit; more is a typo.
inline constexpr double kMinRateLimitPerSecond = 0.01;
inline constexpr double kMaxRateLimitPerSecond = 100000;

// Checks everything an operator sets: config (see ValidateConfig; a secret
// value of "***" is refused: it is the mask secrets read back as, and reaching
// here it has no stored value to stand for, see MergeUpdate), schedule (see
// ValidateSchedule), disabled steps (steps of the definition, each once), rate
// limit (0, or finite in [kMinRateLimitPerSecond, kMaxRateLimitPerSecond]),
// upload target (account, token and integration instance id together, the
// token not "***", base URL http(s)). INVALID_ARGUMENT names the field; call
// it on a create's instance as given and on an update's MergeUpdate result.
absl::Status ValidateInstanceSettings(
    const v1::IntegrationDefinition& definition, const v1::Instance& instance);

// `update` applied to the stored (sealed) instance: a secret config field that
// is absent or "***" keeps its stored value, as does an upload token that is
// empty or "***". A "***" with no stored value stays "***", for
// ValidateInstanceSettings to refuse. Identity and creation time come from
// `stored`. Secrets are kept only where they are sent as before: if the update
// changes an endpoint field (ConfigField.endpoint, e.g. baseUrl), every stored
// secret config field must be given again, and if it changes the upload's base
// URL or account, the upload token must be; FAILED_PRECONDITION naming them
// otherwise. `unset_config` names config fields to remove (secrets included:
// they are not kept); INVALID_ARGUMENT, before anything else, names one that is
// not a config field of `definition` (with the valid ones) or that `update`
// also sets.
absl::StatusOr<v1::Instance> MergeUpdate(
    const v1::IntegrationDefinition& definition, const v1::Instance& stored,
    v1::Instance update, const std::vector<std::string>& unset_config = {});

// Thread-safe.
class InstanceSecrets {
 public:
  // `box` empty: the coordinator has no key and refuses instances with secrets.
  explicit InstanceSecrets(std::optional<SecretBox> box)
      : box_(std::move(box)) {}

  // Encrypts secret config values and the upload token (values already sealed
  // are kept). FAILED_PRECONDITION saying how to provide a key if there are
  // secrets and no key.
  absl::Status Seal(const v1::IntegrationDefinition& definition,
                    v1::Instance* instance) const;
  // Decrypts them (for a task). Errors name the instance and field, never the
  // value. A sealed value is bound to its instance, field and destination
  // (the endpoint fields' values; the upload's base URL and account): one
  // moved or kept across a change of destination does not open.
  absl::Status Open(const v1::IntegrationDefinition& definition,
                    v1::Instance* instance) const;

  // Re-seals values sealed before secrets were bound to their destination
  // (stores written by earlier versions) so that Open accepts them; returns
  // whether anything changed. Values that open neither way are left for Open
  // to report.
  absl::StatusOr<bool> Rebind(const v1::IntegrationDefinition& definition,
                              v1::Instance* instance) const;

 private:
  std::optional<SecretBox> box_;
};

// Secret config values and the upload token replaced by "***".
void MaskSecrets(const v1::IntegrationDefinition& definition,
                 v1::Instance* instance);

// The secret config values and the upload token of an opened instance, for a
// Redactor (common/redact.h).
std::vector<std::string> SecretValues(
    const v1::IntegrationDefinition& definition, const v1::Instance& instance);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_INSTANCES_H_
