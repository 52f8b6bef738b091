// Tests of http_server.h: Heroku Range headers reach the handler intact, even
// when split across TCP segments, and bodies are untouched.
#include "tests/fakes/heroku/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/heroku/test_util.h"

namespace graphmill::fakes::heroku {
namespace {

using ::testing::HasSubstr;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.set_tcp_nodelay(true);
    server_.Get(".*", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("range=[" + req.get_header_value("Range") + "] socket=" +
                          (HttpServer::CurrentSocket() >= 0 ? "yes" : "no"),
                      "text/plain");
    });
    server_.Post(".*", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("body=[" + req.body + "]", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }

  // Sends `pieces` with a pause between them, then reads until close.
  std::string Exchange(const std::vector<std::string>& pieces) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(
        connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (const std::string& piece : pieces) {
      send(fd, piece.data(), piece.size(), MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::string received;
    char buffer[4096];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) {
      received.append(buffer, static_cast<size_t>(n));
    }
    close(fd);
    return received;
  }

  HttpServer server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(HttpServerTest, HerokuRangeReachesTheHandler) {
  auto client = heroku_test::MakeClient(port_);
  httplib::Result res =
      client->Get("/x", {{"Range", "id ]abc..; max=1000, order=desc"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "range=[id ]abc..; max=1000, order=desc] socket=yes");
  EXPECT_FALSE(res->has_header("Content-Range"));

  // Several requests on one keep-alive connection.
  for (int i = 0; i < 8; ++i) {
    httplib::Result again = client->Get("/y", {{"range", "name .."}});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, "range=[name ..] socket=yes");
  }
}

TEST_F(HttpServerTest, RangeSplitAcrossSegments) {
  const std::string received =
      Exchange({"GET /x HTTP/1.1\r\nHost: a\r\nRa", "n", "ge: id ..; max=5\r\n",
                "Connection: close\r\n\r\n"});
  EXPECT_THAT(received, HasSubstr("HTTP/1.1 200"));
  EXPECT_THAT(received, HasSubstr("range=[id ..; max=5]"));
}

TEST_F(HttpServerTest, NoRangeAndLookalikeHeaders) {
  const std::string received =
      Exchange({"GET /x HTTP/1.1\r\nHost: a\r\nRangefinder: 1\r\nX-Range: 2\r\n"
                "Connection: close\r\n\r\n"});
  EXPECT_THAT(received, HasSubstr("range=[]"));
}

TEST_F(HttpServerTest, BodiesKeepTheirLength) {
  const std::string body = "line\r\nRange: inside body\r\nend";
  const std::string received = Exchange(
      {"POST /p HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\n"
       "Content-Length: " +
       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body});
  EXPECT_THAT(received, HasSubstr("HTTP/1.1 200"));
  // The body line was renamed in place (same length), not cut.
  EXPECT_THAT(received, HasSubstr("body=[line\r\nX-Rng: inside body\r\nend]"));
}

TEST_F(HttpServerTest, StopEndsIdleKeepAliveConnections) {
  auto client = heroku_test::MakeClient(port_);
  ASSERT_TRUE(client->Get("/x"));
  const auto start = std::chrono::steady_clock::now();
  server_.stop();
  thread_.join();
  thread_ = std::thread([] {});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace graphmill::fakes::heroku
