// Checks on what workers advertise and operators configure: a definition's step
// DAG, and an instance's config against the definition's fields.
#ifndef GRAPHMILL_COORDINATOR_DEFINITIONS_H_
#define GRAPHMILL_COORDINATOR_DEFINITIONS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graphmill/v1/integration.pb.h"

namespace graphmill::coordinator {

namespace v1 = ::graphmill::v1;

using ConfigMap = std::map<std::string, std::string>;

// The value secrets read back as, everywhere.
inline constexpr char kMaskedSecret[] = "***";

// Rejects (INVALID_ARGUMENT, naming the step) duplicate step ids, an unknown
// dependsOn, a cycle, a config field without a type. Returns the step ids in a
// topological order.
absl::StatusOr<std::vector<std::string>> ValidateDefinition(
    const v1::IntegrationDefinition& definition);

// Whether a worker may register `offered` where `stored` is registered for the
// same integration name: the same version must be the same definition (a
// changed definition needs a new version), and no version may turn a secret
// field into a plain one or an endpoint field into a plain one (a worker could
// otherwise make new instances store keys in clear, or send them elsewhere).
// FAILED_PRECONDITION saying which rule and field.
absl::Status CheckDefinitionChange(const v1::IntegrationDefinition& stored,
                                   const v1::IntegrationDefinition& offered);

// Checks `config` for instance `instance_id`: unknown field, missing or empty
// required field, empty secret, wrong type (boolean, integer). INVALID_ARGUMENT
// names the instance and field.
absl::Status ValidateConfig(const v1::IntegrationDefinition& definition,
                            const std::string& instance_id,
                            const ConfigMap& config);

// The config with defaults of omitted optional fields filled in (what a task
// receives).
ConfigMap WithDefaults(const v1::IntegrationDefinition& definition,
                       ConfigMap config);

// The config with secret values replaced by kMaskedSecret (what every read API
// returns).
ConfigMap Masked(const v1::IntegrationDefinition& definition, ConfigMap config);

// True if `id` is a valid instance id: [a-z0-9][a-z0-9-]{0,62}.
bool IsValidInstanceId(const std::string& id);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_DEFINITIONS_H_
