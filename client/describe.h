// `graphmill integration describe`: an integration's config fields and steps
// as a table.
#ifndef GRAPHMILL_CLIENT_DESCRIBE_H_
#define GRAPHMILL_CLIENT_DESCRIBE_H_

#include <string>

#include "graphmill/v1/integration.pb.h"

namespace graphmill::cli {

// The header line, then "Config fields:" (name, type, secret, optional,
// default, description) and "Steps:" (id, name, dependencies, entity and
// relationship types, the parent type it is split by).
std::string RenderIntegrationDescription(
    const ::graphmill::v1::IntegrationDefinition& definition);

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_DESCRIBE_H_
