// Names the fields in which two versions of a graph object differ, for
// duplicate-key warnings.
#ifndef GRAPHMILL_COORDINATOR_STORE_OBJECT_DIFF_H_
#define GRAPHMILL_COORDINATOR_STORE_OBJECT_DIFF_H_

#include <string>
#include <vector>

#include "graphmill/v1/graph.pb.h"

namespace graphmill::coordinator {

// Field names that differ ("_type", "_class", "_rawData", property names),
// sorted.
std::vector<std::string> DifferingFields(const v1::Entity& a,
                                         const v1::Entity& b);
std::vector<std::string> DifferingFields(const v1::Relationship& a,
                                         const v1::Relationship& b);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_STORE_OBJECT_DIFF_H_
