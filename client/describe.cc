#include "client/describe.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/table.h"

namespace graphmill::cli {
namespace {

namespace v1 = ::graphmill::v1;

std::string TypeName(v1::ConfigFieldType type) {
  switch (type) {
    case v1::CONFIG_FIELD_TYPE_STRING:
      return "string";
    case v1::CONFIG_FIELD_TYPE_BOOLEAN:
      return "boolean";
    case v1::CONFIG_FIELD_TYPE_INTEGER:
      return "integer";
    case v1::CONFIG_FIELD_TYPE_STRING_LIST:
      return "string list";
    default:
      return "?";
  }
}

std::string OrDash(const std::string& text) {
  return text.empty() ? "-" : text;
}

}  // namespace

std::string RenderIntegrationDescription(
    const v1::IntegrationDefinition& definition) {
  std::string text =
      absl::StrCat(definition.name(), " ", definition.version(),
                   definition.display_name().empty()
                       ? ""
                       : absl::StrCat(" (", definition.display_name(), ")"),
                   "\n\nConfig fields (--config NAME=VALUE):\n");
  std::vector<std::vector<std::string>> fields;
  for (const v1::ConfigField& field : definition.config_fields()) {
    fields.push_back({field.name(), TypeName(field.type()),
                      field.secret() ? "yes" : "no",
                      field.optional() ? "yes" : "no",
                      field.secret() ? "-" : OrDash(field.default_value()),
                      OrDash(field.description())});
  }
  absl::StrAppend(&text,
                  FormatTable({"NAME", "TYPE", "SECRET", "OPTIONAL", "DEFAULT",
                               "DESCRIPTION"},
                              fields),
                  "\nSteps (--disable-step ID, --enable-step ID):\n");
  std::vector<std::vector<std::string>> steps;
  for (const v1::StepDefinition& step : definition.steps()) {
    std::vector<std::string> types;
    for (const auto& entity : step.entities()) types.push_back(entity.type());
    for (const auto& relationship : step.relationships()) {
      types.push_back(relationship.type());
    }
    steps.push_back({step.id(), OrDash(step.name()),
                     OrDash(absl::StrJoin(step.depends_on(), ",")),
                     OrDash(step.parent_type()),
                     OrDash(absl::StrJoin(types, ","))});
  }
  absl::StrAppend(
      &text,
      FormatTable({"ID", "NAME", "DEPENDS ON", "SPLIT BY", "TYPES"}, steps));
  return text;
}

}  // namespace graphmill::cli
