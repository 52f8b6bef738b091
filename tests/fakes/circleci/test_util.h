// Helpers for the fake CircleCI tests: an HTTP client, JSON parsing and page
// walking.
#ifndef GRAPHMILL_TESTS_FAKES_CIRCLECI_TEST_UTIL_H_
#define GRAPHMILL_TESTS_FAKES_CIRCLECI_TEST_UTIL_H_

#include <httplib.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rapidjson/document.h"
#include "tests/fakes/circleci/dataset.h"
#include "tests/fakes/circleci/dataset_json.h"

namespace graphmill::fakes {

// gtest prints a Dataset as its JSON (cut after 3,000 characters).
void PrintTo(const Dataset& data, std::ostream* os);

}  // namespace graphmill::fakes

namespace graphmill::fakes::fake_test {

inline constexpr char kToken[] = "test-token";

// A client for 127.0.0.1:port with short timeouts.
std::unique_ptr<httplib::Client> MakeClient(int port);

// GET `target` (path and query, sent as is) with the Circle-Token header when
// `token` is non-empty.
httplib::Result Get(httplib::Client& client, const std::string& target,
                    const std::string& token = kToken);

// Parses `text`; a parse error fails the current test and returns a null
// document.
rapidjson::Document ParseJson(const std::string& text);

// The string member `field` of each object in `items`.
std::vector<std::string> Strings(const rapidjson::Value& items,
                                 const char* field);

struct WalkResult {
  std::vector<std::string>
      ids;  // `id_field` of every item of every page, in order
  int pages = 0;
  bool ok = false;  // every page was 200 and the walk ended on a null token
};

// Follows next_page_token from `target` (adding page-token with '?' or '&'), at
// most `max_pages` pages.
WalkResult WalkPages(httplib::Client& client, const std::string& target,
                     const char* id_field, int max_pages = 10000);

struct RawResult {
  std::string received;  // every byte read before EOF or the error
  int error =
      0;  // errno of the failed read (e.g. ECONNRESET); 0 on a clean EOF
};

// Sends "GET target HTTP/1.1" with Connection: close over a plain socket and
// reads until the server closes: shows exactly what was sent, even when the
// response is cut or reset.
RawResult RawGet(int port, const std::string& target,
                 const std::string& token = kToken);

// The ids of `data`'s pipelines of `org_slug`, newest first: what the feed
// must list.
std::vector<std::string> ExpectedFeed(const Dataset& data,
                                      const std::string& org_slug);

// POST /_control/mutations with `body` (JSON).
httplib::Result PostMutations(httplib::Client& client, const std::string& body);

// GET /_control/dataset, parsed.
absl::StatusOr<VersionedDataset> FetchDataset(httplib::Client& client);

// `data` without the env var values GET /_control/dataset leaves out, to
// compare with what it returns.
Dataset WithoutSecrets(Dataset data);

// The "message" of an error body, or "<no message>".
std::string Message(const std::string& body);

// Absolute path of a file in tests/fakes/circleci/testdata (a test data
// dependency).
std::string TestDataPath(const std::string& name);

}  // namespace graphmill::fakes::fake_test

#endif  // GRAPHMILL_TESTS_FAKES_CIRCLECI_TEST_UTIL_H_
