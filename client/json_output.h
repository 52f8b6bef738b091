// The CLI's one JSON dialect, used by every command that prints JSON (-o json,
// graph export --format jsonl, graph snapshot, subscribe):
// - a message is proto3 canonical JSON: lowerCamelCase field names, enum
//   values by their full name ("RUN_STATUS_SUCCEEDED", "CHANGE_KIND_CREATED"),
//   int64 and uint64 as decimal strings, zero values included, map entries
//   sorted by key (so the same message always prints the same line);
// - except graph objects (v1::Entity, v1::Relationship), which are JupiterOne
//   flat JSON (common/graph_json.h) both when printed on their own and as a
//   singular field of the printed message (ChangeEvent.entity, Neighbor.entity
//   and the like). Consumers read them as JupiterOne's own tools do.
#ifndef GRAPHMILL_CLIENT_JSON_OUTPUT_H_
#define GRAPHMILL_CLIENT_JSON_OUTPUT_H_

#include <string>

#include "google/protobuf/message.h"

namespace graphmill::cli {

// `message` as one line of JSON in the dialect above, without a newline.
// Entities carry `_rawData` only with `include_raw_data`. Never fails: a
// message protobuf refuses to convert becomes {"error":"cannot convert <type>
// to JSON"}, still one parseable line (protobuf 3.21 rather drops a string
// field of invalid UTF-8, logging it).
std::string ToJson(const google::protobuf::Message& message,
                   bool include_raw_data = false);

// ToJson(message, include_raw_data) followed by '\n'.
std::string JsonLine(const google::protobuf::Message& message,
                     bool include_raw_data = false);

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_JSON_OUTPUT_H_
