// Implementation of test_util.h.
#include "tests/fakes/heroku/test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace graphmill::fakes::heroku_test {

std::unique_ptr<httplib::Client> MakeClient(int port) {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
  client->set_connection_timeout(5);
  client->set_read_timeout(10);
  client->set_write_timeout(5);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  return client;
}

httplib::Result Get(httplib::Client& client, const std::string& target,
                    const std::string& token, const std::string& range) {
  httplib::Headers headers{{"Accept", kAccept}};
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  if (!range.empty()) headers.emplace("Range", range);
  return client.Get(target.c_str(), headers);
}

httplib::Result GetWith(httplib::Client& client, const std::string& target,
                        const httplib::Headers& headers) {
  return client.Get(target.c_str(), headers);
}

std::string BasicAuth(const std::string& user, const std::string& token) {
  return "Basic " + absl::Base64Escape(user + ":" + token);
}

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError()) {
    ADD_FAILURE() << "not JSON: " << text.substr(0, 200);
    doc.SetNull();
  }
  return doc;
}

std::vector<std::string> Strings(const rapidjson::Value& items,
                                 const std::string& path) {
  std::vector<std::string> out;
  if (!items.IsArray()) return out;
  const std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (const rapidjson::Value& item : items.GetArray()) {
    const rapidjson::Value* value = &item;
    for (const std::string& part : parts) {
      if (value == nullptr || !value->IsObject()) {
        value = nullptr;
        break;
      }
      auto it = value->FindMember(part.c_str());
      value = it == value->MemberEnd() ? nullptr : &it->value;
    }
    if (value != nullptr && value->IsString())
      out.push_back(value->GetString());
  }
  return out;
}

std::vector<std::string> Keys(const rapidjson::Value& object) {
  std::vector<std::string> keys;
  if (!object.IsObject()) return keys;
  for (const auto& member : object.GetObject()) {
    keys.push_back(member.name.GetString());
  }
  return keys;
}

WalkResult WalkRange(httplib::Client& client, const std::string& target,
                     const std::string& range, const std::string& field,
                     const std::string& token, int max_pages) {
  WalkResult result;
  std::string next = range;
  for (int page = 0; page < max_pages; ++page) {
    httplib::Result res = Get(client, target, token, next);
    if (!res) return result;
    result.statuses.push_back(res->status);
    if (res->status < 200 || res->status > 299) return result;
    rapidjson::Document doc = ParseJson(res->body);
    if (!doc.IsArray()) return result;
    result.page_sizes.push_back(doc.Size());
    for (const std::string& id : Strings(doc, field)) result.ids.push_back(id);
    if (!res->has_header("Next-Range")) {
      result.ok = true;
      return result;
    }
    next = res->get_header_value("Next-Range");
  }
  return result;
}

RawResult RawGet(int port, const std::string& target,
                 const std::string& token) {
  RawResult result;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    result.error = errno;
    return result;
  }
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    result.error = errno;
    close(fd);
    return result;
  }
  const std::string request = absl::StrCat(
      "GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: ", kAccept,
      "\r\nAuthorization: Bearer ", token, "\r\nConnection: close\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    result.error = errno;
    close(fd);
    return result;
  }
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      result.received.append(buffer, static_cast<size_t>(n));
    } else {
      result.error = n == 0 ? 0 : errno;
      break;
    }
  }
  close(fd);
  return result;
}

std::string TestDataPath(const std::string& name) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/",
                      workspace ? workspace : "graphmill",
                      "/tests/fakes/heroku/testdata/", name);
}

}  // namespace graphmill::fakes::heroku_test
