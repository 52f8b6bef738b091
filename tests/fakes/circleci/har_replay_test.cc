// Tests of har_replay.h against the recorded CircleCI traffic and small
// hand-written files.
#include "tests/fakes/circleci/har_replay.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/fakes/circleci/test_util.h"

namespace graphmill::fakes {
namespace {

using fake_test::TestDataPath;

constexpr char kProject[] =
    "/api/v2/project/"
    "circleci%2FP41trZB78zFveRJerr7hfw%2F4MnekCoaAa1jaMKrdxNTDg";

std::string WriteTempFile(const std::string& name, const std::string& text) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string HeaderValue(const RecordedResponse& response,
                        const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

TEST(ReplayKeyTest, NormalisesEscapesAndSortsQuery) {
  EXPECT_EQ(ReplayKey("get", "/p/a%2fb", "y=2&x=a%2Fb"),
            ReplayKey("GET", "/p/a%2Fb", "x=a/b&y=2"));
  EXPECT_NE(ReplayKey("GET", "/p/a%2Fb", ""), ReplayKey("GET", "/p/a/b", ""));
  EXPECT_NE(ReplayKey("GET", "/p", "page-token=A"),
            ReplayKey("GET", "/p", "page-token=B"));
}

TEST(HarReplayTest, ServesRecordedProject) {
  auto replay = HarReplay::Load({TestDataPath("fetch-projects.har")});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ((*replay)->entry_count(), 24);
  EXPECT_EQ((*replay)->shadowed_count(), 0);

  const RecordedResponse* response = (*replay)->Find("GET", kProject, "");
  ASSERT_NE(response, nullptr);
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(absl::StrContains(response->body, "\"name\" : \"delete14\""));
  EXPECT_EQ(HeaderValue(*response, "content-type"), "text/plain;charset=utf-8");
  EXPECT_EQ(HeaderValue(*response, "x-route"), "/api/v2/project/:project-slug");
  for (const auto& [name, value] : response->headers) {
    EXPECT_NE(name, "content-length");
    EXPECT_NE(name, "connection");
  }

  // Lower-case escapes match; unescaped slashes do not.
  EXPECT_NE(
      (*replay)->Find("GET",
                      "/api/v2/project/circleci%2fP41trZB78zFveRJerr7hfw%2f"
                      "4MnekCoaAa1jaMKrdxNTDg",
                      ""),
      nullptr);
  EXPECT_EQ((*replay)->Find("GET",
                            "/api/v2/project/circleci/P41trZB78zFveRJerr7hfw/"
                            "4MnekCoaAa1jaMKrdxNTDg",
                            ""),
            nullptr);
  EXPECT_EQ((*replay)->Find("POST", kProject, ""), nullptr);
}

TEST(HarReplayTest, QueryMustMatchIncludingPageToken) {
  auto replay = HarReplay::Load({TestDataPath("fetch-pipelines.har")});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_NE((*replay)->Find("GET", "/api/v2/pipeline",
                            "org-slug=circleci/P41trZB78zFveRJerr7hfw"),
            nullptr);
  EXPECT_EQ(
      (*replay)->Find("GET", "/api/v2/pipeline", "org-slug=circleci/other"),
      nullptr);
  EXPECT_EQ((*replay)->Find(
                "GET", "/api/v2/pipeline",
                "org-slug=circleci%2FP41trZB78zFveRJerr7hfw&page-token=nope"),
            nullptr);
}

TEST(HarReplayTest, DirectoryLoadsAllFilesFirstFileWins) {
  auto replay = HarReplay::Load({TestDataPath("")});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ((*replay)->files().size(), 10u);
  EXPECT_EQ((*replay)->entry_count(),
            175);  // sum of the 10 recordings' entries
  EXPECT_GT((*replay)->shadowed_count(), 0);
  // build-account-and-user-group-relationships.har (2022) sorts first.
  const RecordedResponse* collaborations =
      (*replay)->Find("GET", "/api/v2/me/collaborations", "");
  ASSERT_NE(collaborations, nullptr);
  EXPECT_TRUE(absl::StrContains(collaborations->body, "gh/kjb-test"));
}

TEST(HarReplayTest, RepeatsInOneFileAreServedInOrder) {
  const std::string path = WriteTempFile("ordered.har", R"({"log": {"entries": [
    {"_order": 1, "request": {"method": "GET", "url": "https://x/api/v2/me"},
     "response": {"status": 500, "headers": [], "content": {"text": "second"}}},
    {"_order": 0, "request": {"method": "GET", "url": "https://x/api/v2/me"},
     "response": {"status": 200, "headers": [{"name": "Content-Length", "value": "5"}],
                  "content": {"text": "Zmlyc3Q=", "encoding": "base64"}}}
  ]}})");
  auto replay = HarReplay::Load({path});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const RecordedResponse* first = (*replay)->Find("GET", "/api/v2/me", "");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->body, "first");
  EXPECT_TRUE(first->headers.empty());
  EXPECT_EQ((*replay)->Find("GET", "/api/v2/me", "")->body, "second");
  EXPECT_EQ((*replay)->Find("GET", "/api/v2/me", "")->status, 500);
}

TEST(HarReplayTest, BadInputNamesTheFile) {
  const std::string not_json = WriteTempFile("broken.har", "{\"log\": [");
  auto replay = HarReplay::Load({not_json});
  ASSERT_FALSE(replay.ok());
  EXPECT_TRUE(absl::StrContains(replay.status().message(), "broken.har"));

  const std::string no_entries = WriteTempFile("empty.har", "{\"log\": {}}");
  replay = HarReplay::Load({no_entries});
  ASSERT_FALSE(replay.ok());
  EXPECT_TRUE(absl::StrContains(replay.status().message(), "log.entries"));

  replay = HarReplay::Load({"/nonexistent/file.har"});
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace graphmill::fakes
