// Implementation of coordinator/definitions.h.
#include "coordinator/definitions.h"

#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace graphmill::coordinator {

absl::StatusOr<std::vector<std::string>> ValidateDefinition(
    const v1::IntegrationDefinition& definition) {
  const std::string where =
      absl::StrCat("integration '", definition.name(), "'");
  if (definition.name().empty() || definition.version().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": name and version are required"));
  }
  for (const v1::ConfigField& field : definition.config_fields()) {
    if (field.type() == v1::CONFIG_FIELD_TYPE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": config field '", field.name(), "' has no type"));
    }
  }
  absl::flat_hash_map<std::string, const v1::StepDefinition*> steps;
  for (const v1::StepDefinition& step : definition.steps()) {
    if (!steps.emplace(step.id(), &step).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": duplicate step id '", step.id(), "'"));
    }
  }
  for (const v1::StepDefinition& step : definition.steps()) {
    for (const std::string& dependency : step.depends_on()) {
      if (!steps.contains(dependency)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": step '", step.id(),
                         "' depends on unknown step '", dependency, "'"));
      }
    }
  }
  // Depth-first search; a grey node reached again closes a cycle, reported as a
  // path.
  enum class Mark { kWhite, kGrey, kBlack };
  absl::flat_hash_map<std::string, Mark> marks;
  std::vector<std::string> order;
  std::vector<std::string> path;
  std::function<absl::Status(const std::string&)> visit =
      [&](const std::string& id) -> absl::Status {
    Mark& mark = marks[id];
    if (mark == Mark::kBlack) return absl::OkStatus();
    if (mark == Mark::kGrey) {
      auto start = std::find(path.begin(), path.end(), id);
      std::vector<std::string> cycle(start, path.end());
      cycle.push_back(id);
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": dependency cycle: ", absl::StrJoin(cycle, " -> ")));
    }
    mark = Mark::kGrey;
    path.push_back(id);
    for (const std::string& dependency : steps.at(id)->depends_on()) {
      absl::Status status = visit(dependency);
      if (!status.ok()) return status;
    }
    path.pop_back();
    marks[id] = Mark::kBlack;
    order.push_back(id);
    return absl::OkStatus();
  };
  for (const v1::StepDefinition& step : definition.steps()) {
    absl::Status status = visit(step.id());
    if (!status.ok()) return status;
  }
  return order;
}

absl::Status CheckDefinitionChange(const v1::IntegrationDefinition& stored,
                                   const v1::IntegrationDefinition& offered) {
  const std::string what = absl::StrCat("integration '", offered.name(),
                                        "' version ", offered.version());
  if (stored.version() == offered.version()) {
    if (google::protobuf::util::MessageDifferencer::Equals(stored, offered)) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        what,
        " is already registered with a different definition; a changed "
        "definition needs a new version"));
  }
  for (const v1::ConfigField& before : stored.config_fields()) {
    for (const v1::ConfigField& after : offered.config_fields()) {
      if (after.name() != before.name()) continue;
      if (before.secret() && !after.secret()) {
        return absl::FailedPreconditionError(
            absl::StrCat(what, " would make secret config field '",
                         before.name(), "' a plain one"));
      }
      if (before.endpoint() && !after.endpoint()) {
        return absl::FailedPreconditionError(
            absl::StrCat(what, " would make endpoint config field '",
                         before.name(), "' a plain one"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateConfig(const v1::IntegrationDefinition& definition,
                            const std::string& instance_id,
                            const ConfigMap& config) {
  const std::string where = absl::StrCat("instance '", instance_id, "'");
  absl::flat_hash_map<std::string, const v1::ConfigField*> fields;
  for (const v1::ConfigField& field : definition.config_fields()) {
    fields[field.name()] = &field;
  }
  for (const auto& [name, value] : config) {
    auto it = fields.find(name);
    if (it == fields.end()) {
      std::vector<std::string> known;
      for (const v1::ConfigField& field : definition.config_fields()) {
        known.push_back(field.name());
      }
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": unknown config field '", name, "' for integration '",
          definition.name(), "' (known: ", absl::StrJoin(known, ", "), ")"));
    }
    const v1::ConfigField& field = *it->second;
    if (value.empty()) {
      if (field.secret()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": secret config field '", name, "' must not be empty"));
      }
      continue;
    }
    if (field.type() == v1::CONFIG_FIELD_TYPE_BOOLEAN && value != "true" &&
        value != "false") {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": config field '", name, "' must be true or false"));
    }
    int64_t ignored;
    if (field.type() == v1::CONFIG_FIELD_TYPE_INTEGER &&
        !absl::SimpleAtoi(value, &ignored)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": config field '", name, "' must be an integer"));
    }
  }
  for (const v1::ConfigField& field : definition.config_fields()) {
    if (field.optional()) continue;
    auto it = config.find(field.name());
    if (it == config.end() || it->second.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": config field '", field.name(), "' is required"));
    }
  }
  return absl::OkStatus();
}

ConfigMap WithDefaults(const v1::IntegrationDefinition& definition,
                       ConfigMap config) {
  for (const v1::ConfigField& field : definition.config_fields()) {
    if (!field.default_value().empty() && !config.contains(field.name())) {
      config[field.name()] = field.default_value();
    }
  }
  return config;
}

ConfigMap Masked(const v1::IntegrationDefinition& definition,
                 ConfigMap config) {
  for (const v1::ConfigField& field : definition.config_fields()) {
    auto it = config.find(field.name());
    if (field.secret() && it != config.end()) it->second = kMaskedSecret;
  }
  return config;
}

bool IsValidInstanceId(const std::string& id) {
  if (id.empty() || id.size() > 63) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool ok =
        absl::ascii_islower(c) || absl::ascii_isdigit(c) || (i > 0 && c == '-');
    if (!ok) return false;
  }
  return true;
}

}  // namespace graphmill::coordinator
