// Cheap response compression for the fake servers. httplib compresses JSON
// with brotli at quality 11 whenever a client accepts it (libcurl accepts
// everything it can decode): ~3 ms of CPU per page, which made the fake, not
// graphmill, the bottleneck of every benchmark. The providers serve gzip; so
// do the fakes, at level 1.
#ifndef GRAPHMILL_TESTS_FAKES_COMMON_FAST_GZIP_H_
#define GRAPHMILL_TESTS_FAKES_COMMON_FAST_GZIP_H_

#include <httplib.h>

#include <string>

#include "absl/strings/string_view.h"

namespace graphmill::fakes::common {

// After a fake's handler (ServerThread does it): a JSON response (application/json, with or
// without parameters) is gzipped at level 1 if the request accepts gzip, and
// otherwise sent as it is; either way httplib's own compression is kept off
// (it compresses only the exact type "application/json", so the type gains
// "; charset=utf-8", as CircleCI's does). Other types, empty bodies and
// responses that already have a Content-Encoding are left alone.
void CompressResponse(const httplib::Request& request,
                      httplib::Response& response);

// `data` as a gzip stream at `level` (1 fastest .. 9 smallest).
std::string Gzip(absl::string_view data, int level);

}  // namespace graphmill::fakes::common

#endif  // GRAPHMILL_TESTS_FAKES_COMMON_FAST_GZIP_H_
