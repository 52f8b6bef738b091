// Implementation of tests/e2e/fake_control.h.
#include "tests/e2e/fake_control.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "rapidjson/document.h"

namespace graphmill::testing {

void Control(const std::string& root, const std::string& method,
             const std::string& path, const std::string& body) {
  httplib::Client client(root);
  auto response = method == "POST"
                      ? client.Post(path.c_str(), body, "application/json")
                      : client.Delete(path.c_str());
  ASSERT_TRUE(response) << method << " " << root << path;
  ASSERT_EQ(response->status, 200)
      << method << " " << root << path << " " << body << ": " << response->body;
}

std::vector<int64_t> FaultsFired(const std::string& root) {
  httplib::Client client(root);
  auto response = client.Get("/_control/faults");
  std::vector<int64_t> fired;
  if (!response || response->status != 200) return fired;
  rapidjson::Document document;
  document.Parse(response->body.c_str());
  if (document.HasParseError() || !document.HasMember("faults")) return fired;
  for (const rapidjson::Value& fault : document["faults"].GetArray()) {
    fired.push_back(fault["fired"].GetInt64());
  }
  return fired;
}

}  // namespace graphmill::testing
