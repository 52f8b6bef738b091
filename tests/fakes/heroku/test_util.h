// Helpers for the fake Heroku tests: an HTTP client that talks like
// heroku-client, JSON helpers, a Next-Range walker and a raw socket GET.
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_TEST_UTIL_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_TEST_UTIL_H_

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "rapidjson/document.h"

namespace graphmill::fakes::heroku_test {

inline constexpr char kToken[] = "test-token";
inline constexpr char kAccept[] = "application/vnd.heroku+json; version=3";

// A keep-alive client for 127.0.0.1:port with short timeouts and TCP_NODELAY.
std::unique_ptr<httplib::Client> MakeClient(int port);

// GET `target` with Accept version 3, "Authorization: Bearer <token>" (none
// when `token` is empty) and a Range header when `range` is non-empty.
httplib::Result Get(httplib::Client& client, const std::string& target,
                    const std::string& token = kToken,
                    const std::string& range = "");

// GET with exactly `headers` (nothing added).
httplib::Result GetWith(httplib::Client& client, const std::string& target,
                        const httplib::Headers& headers);

// "Basic base64(user ':' token)".
std::string BasicAuth(const std::string& user, const std::string& token);

// Parses `text`; a parse error fails the current test and returns a null
// document.
rapidjson::Document ParseJson(const std::string& text);

// The string at `path` ("id", "user.email") of each object in `items`.
std::vector<std::string> Strings(const rapidjson::Value& items,
                                 const std::string& path);

// The member names of `object`, in order.
std::vector<std::string> Keys(const rapidjson::Value& object);

struct WalkResult {
  std::vector<std::string> ids;    // `field` of every item, in order
  std::vector<int> statuses;       // per page
  std::vector<size_t> page_sizes;  // per page
  bool ok = false;  // every page was 2xx and the last had no Next-Range
};

// Follows Next-Range from `range` (like heroku-client: on any 2xx), at most
// `max_pages` pages.
WalkResult WalkRange(httplib::Client& client, const std::string& target,
                     const std::string& range, const std::string& field,
                     const std::string& token = kToken, int max_pages = 10000);

struct RawResult {
  std::string received;  // every byte read before EOF or the error
  int error = 0;  // errno of the failed read (e.g. ECONNRESET); 0 = clean EOF
};

// Sends a GET with Bearer `token` and Connection: close over a plain socket
// and reads until the server closes, showing exactly what was sent.
RawResult RawGet(int port, const std::string& target,
                 const std::string& token = kToken);

// Absolute path of a file in tests/fakes/heroku/testdata (a data dependency).
std::string TestDataPath(const std::string& name);

}  // namespace graphmill::fakes::heroku_test

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_TEST_UTIL_H_
