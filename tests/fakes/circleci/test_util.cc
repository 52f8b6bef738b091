// Implementation of test_util.h.
#include "tests/fakes/circleci/test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace graphmill::fakes {

void PrintTo(const Dataset& data, std::ostream* os) {
  const std::string json = DatasetToJson(data);
  *os << json.substr(0, 3000) << (json.size() > 3000 ? "..." : "");
}

}  // namespace graphmill::fakes

namespace graphmill::fakes::fake_test {

std::unique_ptr<httplib::Client> MakeClient(int port) {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
  client->set_connection_timeout(5);
  client->set_read_timeout(10);
  client->set_write_timeout(5);
  return client;
}

httplib::Result Get(httplib::Client& client, const std::string& target,
                    const std::string& token) {
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Circle-Token", token);
  return client.Get(target.c_str(), headers);
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
                                 const char* field) {
  std::vector<std::string> out;
  if (!items.IsArray()) return out;
  for (const rapidjson::Value& item : items.GetArray()) {
    if (item.IsObject() && item.HasMember(field) && item[field].IsString()) {
      out.push_back(item[field].GetString());
    }
  }
  return out;
}

WalkResult WalkPages(httplib::Client& client, const std::string& target,
                     const char* id_field, int max_pages) {
  WalkResult result;
  std::string next = target;
  while (result.pages < max_pages) {
    httplib::Result res = Get(client, next);
    if (!res || res->status != 200) return result;
    ++result.pages;
    rapidjson::Document doc = ParseJson(res->body);
    if (!doc.IsObject() || !doc.HasMember("items") ||
        !doc.HasMember("next_page_token")) {
      return result;
    }
    for (const std::string& id : Strings(doc["items"], id_field))
      result.ids.push_back(id);
    const rapidjson::Value& token = doc["next_page_token"];
    if (token.IsNull()) {
      result.ok = true;
      return result;
    }
    next =
        absl::StrCat(target, target.find('?') == std::string::npos ? "?" : "&",
                     "page-token=", token.GetString());
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
      "GET ", target, " HTTP/1.1\r\nHost: 127.0.0.1\r\nCircle-Token: ", token,
      "\r\nConnection: close\r\n\r\n");
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

std::vector<std::string> ExpectedFeed(const Dataset& data,
                                      const std::string& org_slug) {
  std::vector<const Pipeline*> pipelines;
  for (const Pipeline& p : data.pipelines) {
    if (p.org_slug == org_slug) pipelines.push_back(&p);
  }
  std::sort(pipelines.begin(), pipelines.end(),
            [](const Pipeline* a, const Pipeline* b) {
              return a->created_at_ms != b->created_at_ms
                         ? a->created_at_ms > b->created_at_ms
                         : a->id < b->id;
            });
  std::vector<std::string> ids;
  for (const Pipeline* p : pipelines) ids.push_back(p->id);
  return ids;
}

httplib::Result PostMutations(httplib::Client& client,
                              const std::string& body) {
  return client.Post("/_control/mutations", body, "application/json");
}

absl::StatusOr<VersionedDataset> FetchDataset(httplib::Client& client) {
  httplib::Result res = client.Get("/_control/dataset");
  if (!res) {
    return absl::UnavailableError(absl::StrCat(
        "GET /_control/dataset failed: ", httplib::to_string(res.error())));
  }
  if (res->status != 200) {
    return absl::InternalError(absl::StrCat("GET /_control/dataset: status ",
                                            res->status, " ", res->body));
  }
  return DatasetFromJson(res->body);
}

Dataset WithoutSecrets(Dataset data) {
  for (ProjectEnvVar& var : data.project_env_vars) var.value.clear();
  return data;
}

std::string Message(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  return !doc.HasParseError() && doc.IsObject() && doc.HasMember("message") &&
                 doc["message"].IsString()
             ? doc["message"].GetString()
             : "<no message>";
}

std::string TestDataPath(const std::string& name) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/",
                      workspace ? workspace : "graphmill",
                      "/tests/fakes/circleci/testdata/", name);
}

}  // namespace graphmill::fakes::fake_test
