#include "tests/fakes/common/fast_gzip.h"

#include <httplib.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/fakes/common/server_thread.h"

namespace graphmill::fakes::common {
namespace {

// A JSON page of the size the fakes serve.
std::string Page() {
  std::string page = "{\"items\":[";
  for (int i = 0; i < 200; ++i) {
    page += "{\"id\":\"" + std::to_string(i) + "\",\"name\":\"project\"},";
  }
  page.back() = ']';
  return page + "}";
}

class FastGzipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        thread_
            .Start({.name = "test server"},
                   [](const httplib::Request& req, httplib::Response& res) {
                     res.set_content(Page(), req.path == "/html"
                                                 ? "text/html"
                                                 : "application/json");
                   })
            .ok());
  }

  httplib::Result Get(const std::string& path,
                      const std::string& accept_encoding) {
    httplib::Client client("127.0.0.1", thread_.port());
    client.set_decompress(false);
    return client.Get(path.c_str(), {{"Accept-Encoding", accept_encoding}});
  }

  httplib::Server server_;
  ServerThread thread_{server_};
};

TEST_F(FastGzipTest, JsonIsGzippedWhenAcceptedAndNeverBrotli) {
  httplib::Result result = Get("/json", "gzip, deflate, br");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(result->get_header_value_count("Content-Encoding"), 1u);
  EXPECT_EQ(result->get_header_value("Content-Type"),
            "application/json; charset=utf-8");
  EXPECT_LT(result->body.size(), Page().size() / 4);
  // And it decodes to the page.
  httplib::Client client("127.0.0.1", thread_.port());
  httplib::Result decoded = client.Get("/json", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->body, Page());
}

TEST_F(FastGzipTest, JsonIsSentAsItIsWhenGzipIsNotAccepted) {
  httplib::Result result = Get("/json", "br");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->has_header("Content-Encoding"));
  EXPECT_EQ(result->body, Page());
}

TEST(GzipTest, ProducesAGzipStream) {
  const std::string gzipped = Gzip("hello hello hello", 1);
  ASSERT_GE(gzipped.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(gzipped[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gzipped[1]), 0x8b);
}

}  // namespace
}  // namespace graphmill::fakes::common
