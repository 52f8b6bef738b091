// Request bodies of the fake JupiterOne synchronization API: parsing and
// validation of job creation, uploads, events, finalize and abort, with the
// error (HTTP status, JupiterOne error code, message) a bad body gets.
#ifndef GRAPHMILL_TESTS_FAKES_JUPITERONE_PAYLOAD_H_
#define GRAPHMILL_TESTS_FAKES_JUPITERONE_PAYLOAD_H_

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "rapidjson/document.h"

namespace graphmill::fakes::jupiterone {

// An error answer: `{"error": {"code": code, "message": message}}` with
// `http_status`.
struct ApiError {
  int http_status = 400;
  std::string code;
  std::string message;
};

// Either a parsed value or the error to answer with.
template <typename T>
using Parsed = std::variant<T, ApiError>;

enum class ObjectKind { kEntity, kRelationship };

// "entities" or "relationships": the upload route and body member.
const char* ObjectKindPlural(ObjectKind kind);

// One valid graph object of an upload.
struct ReceivedObject {
  std::string key;   // `_key`
  std::string type;  // `_type`
  std::string json;  // the object as canonical JSON (CanonicalJson)
};

// `{"entities": [...]}` or `{"relationships": [...]}`. Every object must be a
// JSON object with non-empty string `_key` and `_type` and a `_class` (a
// non-empty string; entities may give a non-empty array of them). Entity
// `_rawData`, if present, is an array of {name: non-empty string, rawData:
// object or string} with unique names; a relationship has string
// `_fromEntityKey` and `_toEntityKey`, or a `_mapping` object. Every other
// member is null, a boolean, a number, a string or an array of those. One bad
// object rejects the whole request (400 naming it by index and field).
Parsed<std::vector<ReceivedObject>> ParseUploadBody(absl::string_view body,
                                                    ObjectKind kind);

struct CreateJobRequest {
  std::string source;  // integration-managed, integration-external, api or
                       // system-internal
  std::string integration_instance_id;  // integration-* sources (required)
  std::string integration_job_id;       // optional
  std::string scope;                    // source api (required)
};
Parsed<CreateJobRequest> ParseCreateJobBody(absl::string_view body);

// `{"partialDatasets": {"types": [...]}}`; an empty body or a missing member
// means no partial types.
Parsed<std::vector<std::string>> ParseFinalizeBody(absl::string_view body);

struct AbortRequest {
  std::string reason;  // may be empty
  std::string terminal_status =
      "ABORTED";  // ABORTED, ERROR_BAD_DATA or
                  // ABORTED_DUE_TO_INVALID_CONFIGURATION
};
Parsed<AbortRequest> ParseAbortBody(absl::string_view body);

// `{"events": [{"name", "description"}]}` as (name, description) pairs.
Parsed<std::vector<std::pair<std::string, std::string>>> ParseEventsBody(
    absl::string_view body);

// `value` as compact JSON with object members sorted by name at every level,
// so equal content gives equal text.
std::string CanonicalJson(const rapidjson::Value& value);

// The error body of `error`.
std::string ErrorBody(const ApiError& error);

}  // namespace graphmill::fakes::jupiterone

#endif  // GRAPHMILL_TESTS_FAKES_JUPITERONE_PAYLOAD_H_
