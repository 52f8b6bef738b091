// Implementation of coordinator/store/object_diff.h.
#include "coordinator/store/object_diff.h"

#include <algorithm>
#include <set>

#include "google/protobuf/util/message_differencer.h"

namespace graphmill::coordinator {
namespace {

using google::protobuf::util::MessageDifferencer;

void DiffProperties(const google::protobuf::Map<std::string, v1::Value>& a,
                    const google::protobuf::Map<std::string, v1::Value>& b,
                    std::set<std::string>* fields) {
  for (const auto& [name, value] : a) {
    auto it = b.find(name);
    if (it == b.end() || !MessageDifferencer::Equals(value, it->second))
      fields->insert(name);
  }
  for (const auto& [name, value] : b) {
    if (!a.contains(name)) fields->insert(name);
  }
}

}  // namespace

std::vector<std::string> DifferingFields(const v1::Entity& a,
                                         const v1::Entity& b) {
  std::set<std::string> fields;
  if (a.type() != b.type()) fields.insert("_type");
  if (!std::equal(a.classes().begin(), a.classes().end(), b.classes().begin(),
                  b.classes().end())) {
    fields.insert("_class");
  }
  if (a.raw_data_size() != b.raw_data_size()) {
    fields.insert("_rawData");
  } else {
    for (int i = 0; i < a.raw_data_size(); ++i) {
      if (!MessageDifferencer::Equals(a.raw_data(i), b.raw_data(i)))
        fields.insert("_rawData");
    }
  }
  DiffProperties(a.properties(), b.properties(), &fields);
  return {fields.begin(), fields.end()};
}

std::vector<std::string> DifferingFields(const v1::Relationship& a,
                                         const v1::Relationship& b) {
  std::set<std::string> fields;
  if (a.type() != b.type()) fields.insert("_type");
  if (a.class_name() != b.class_name()) fields.insert("_class");
  if (a.from_entity_key() != b.from_entity_key())
    fields.insert("_fromEntityKey");
  if (a.to_entity_key() != b.to_entity_key()) fields.insert("_toEntityKey");
  DiffProperties(a.properties(), b.properties(), &fields);
  return {fields.begin(), fields.end()};
}

}  // namespace graphmill::coordinator
