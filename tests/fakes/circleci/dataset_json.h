// A Dataset as compact JSON (GET /_control/dataset), written in pieces so a
// large one streams, and read back, so a test running the fake as a separate
// process gets the same Dataset an in-process test gets from dataset().
//
// Shape: {"version": N, "user": {...}, "orgs": [...], "projects": [...],
// "pipelines": [...], "workflows": [...], "jobs": [...],
// "project_env_vars": [...], "contexts": [...], "restrictions": [...],
// "context_env_vars": [...]}; arrays in Dataset order, objects with the
// dataset.h field names. The one field left out is ProjectEnvVar::value (the
// secret the API never serves; masked_value is there).
#ifndef GRAPHMILL_TESTS_FAKES_CIRCLECI_DATASET_JSON_H_
#define GRAPHMILL_TESTS_FAKES_CIRCLECI_DATASET_JSON_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/fakes/circleci/dataset.h"

namespace graphmill::fakes {

// Writes one dataset's JSON piece by piece. Not thread-safe; the dataset must
// not change while it is written (the fake hands it an immutable snapshot).
class DatasetJsonWriter {
 public:
  DatasetJsonWriter(std::shared_ptr<const Dataset> data, int64_t version);

  // Appends the next piece (whole items, about `max_bytes`, at least one item)
  // to *out. Returns false, appending nothing, once everything was written.
  bool Next(size_t max_bytes, std::string* out);

 private:
  std::shared_ptr<const Dataset> data_;
  int64_t version_;
  bool header_written_ = false;
  bool done_ = false;
  int section_ = 0;          // index into the arrays after "user"
  bool array_open_ = false;  // its "[" is written
  size_t item_ = 0;          // next item of that array
};

// The whole JSON at once.
std::string DatasetToJson(const Dataset& data, int64_t version = 0);

struct VersionedDataset {
  Dataset data;  // project_env_vars[*].value empty
  int64_t version = 0;
};

// Reads DatasetToJson's output. INVALID_ARGUMENT naming the first missing or
// mistyped member (e.g. "dataset JSON: jobs[3].status must be a string").
absl::StatusOr<VersionedDataset> DatasetFromJson(absl::string_view json);

}  // namespace graphmill::fakes

#endif  // GRAPHMILL_TESTS_FAKES_CIRCLECI_DATASET_JSON_H_
