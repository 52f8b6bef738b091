// Reads recorded HTTP traffic (Polly.JS HAR 1.2 files) into plain entries; each
// fake indexes them by its own key (CircleCI by path and query, Heroku also by
// Range).
#ifndef GRAPHMILL_TESTS_FAKES_COMMON_HAR_H_
#define GRAPHMILL_TESTS_FAKES_COMMON_HAR_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace graphmill::fakes::common {

struct RecordedResponse {
  int status = 0;
  // As recorded, minus content-length, content-encoding, transfer-encoding and
  // connection (bodies are stored decoded and the server frames them itself).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HarEntry {
  std::string method;
  std::string target;  // the URL without scheme, host and fragment: "/x?y"
  std::vector<std::pair<std::string, std::string>> request_headers;
  int order = 0;  // Polly's _order: the n-th time the same request was recorded
  RecordedResponse response;
};

struct HarFile {
  std::string path;
  std::vector<HarEntry> entries;  // in file order
};

// Reads `paths`, each a .har file or a directory (its *.har files, by name), in
// order. NOT_FOUND / INVALID_ARGUMENT name the file (and entry) at fault.
absl::StatusOr<std::vector<HarFile>> ReadHarFiles(
    const std::vector<std::string>& paths);

}  // namespace graphmill::fakes::common

#endif  // GRAPHMILL_TESTS_FAKES_COMMON_HAR_H_
