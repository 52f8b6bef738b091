// JupiterOne's flat JSON shape for graph objects: `_key`, `_type`, `_class`,
// properties at top level, `_rawData` as [{name, rawData}]. Used by the CLI,
// exports and the upload sink.
#ifndef GRAPHMILL_COMMON_GRAPH_JSON_H_
#define GRAPHMILL_COMMON_GRAPH_JSON_H_

#include <string>

#include "graphmill/v1/graph.pb.h"

namespace graphmill {

// One entity as a single-line JSON object. Raw data is embedded as JSON when it
// parses, as a string otherwise. `include_raw_data` false leaves `_rawData`
// out.
std::string EntityToJson(const v1::Entity& entity, bool include_raw_data);

// One relationship as a single-line JSON object.
std::string RelationshipToJson(const v1::Relationship& relationship);

// Properties alone as one JSON object, names sorted: what property filters
// query.
std::string PropertiesToJson(
    const google::protobuf::Map<std::string, v1::Value>& properties);

// A property value as JSON text ("null", "true", "12", "\"x\"", "[1,2]").
std::string ValueToJson(const v1::Value& value);

}  // namespace graphmill

#endif  // GRAPHMILL_COMMON_GRAPH_JSON_H_
