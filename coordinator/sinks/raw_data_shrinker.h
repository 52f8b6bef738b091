// Shrinks the raw data of serialized entities (JupiterOne flat JSON) so that a
// batch JupiterOne rejected with HTTP 413 fits: the reference SDK's
// shrinkBatchRawData, largest first.
#ifndef GRAPHMILL_COORDINATOR_SINKS_RAW_DATA_SHRINKER_H_
#define GRAPHMILL_COORDINATOR_SINKS_RAW_DATA_SHRINKER_H_

#include <cstdint>
#include <string>
#include <vector>

namespace graphmill::sinks {

// What replaces a cut raw data value.
inline constexpr char kTruncatedValue[] = "TRUNCATED";

struct ShrinkOutcome {
  int64_t bytes_removed = 0;     // total shrinkage of the objects' JSON
  int64_t values_truncated = 0;  // raw data values replaced
  std::vector<size_t> changed;   // indices of the objects rewritten, ascending
};

// Repeatedly takes the object with the largest `_rawData`, then its largest
// raw data entry, then that entry's largest top-level value (a member of an
// object `rawData`, an element of an array one, or a string `rawData` as a
// whole) and replaces it with the string "TRUNCATED", until `bytes_to_remove`
// bytes are gone or no value larger than "TRUNCATED" is left (then everything
// cuttable was cut). Objects without `_rawData`, or that do not parse, are left
// alone; changed objects are re-serialized compactly in place, members in
// their original order. Sizes are bytes of compact JSON.
ShrinkOutcome ShrinkRawData(std::vector<std::string>& objects,
                            int64_t bytes_to_remove);

}  // namespace graphmill::sinks

#endif  // GRAPHMILL_COORDINATOR_SINKS_RAW_DATA_SHRINKER_H_
