#include "tests/fakes/common/fast_gzip.h"

#include <zlib.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace graphmill::fakes::common {

std::string Gzip(absl::string_view data, int level) {
  z_stream stream{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return "";
  }
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return result == Z_STREAM_END ? out : "";
}

void CompressResponse(const httplib::Request& request,
                      httplib::Response& response) {
  if (response.body.empty() || response.has_header("Content-Encoding")) return;
  const std::string type = response.get_header_value("Content-Type");
  if (type != "application/json" &&
      !absl::StartsWith(type, "application/json;")) {
    return;
  }
  if (type == "application/json") {
    // set_header adds a header (the map is a multimap); httplib reads the
    // first.
    response.headers.erase("Content-Type");
    response.set_header("Content-Type", "application/json; charset=utf-8");
  }
  if (!absl::StrContains(request.get_header_value("Accept-Encoding"), "gzip")) {
    return;
  }
  std::string compressed = Gzip(response.body, 1);
  if (compressed.empty()) return;  // zlib failed: send it as it is
  response.body = std::move(compressed);
  response.set_header("Content-Encoding", "gzip");
}

}  // namespace graphmill::fakes::common
