// Tests of har_replay.h on the recorded Heroku traffic.
#include "tests/fakes/heroku/har_replay.h"

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/heroku/test_util.h"

namespace graphmill::fakes::heroku {
namespace {

using heroku_test::TestDataPath;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kClientRange[] = "id ..; max=1000";

std::string TestDataDir() {
  std::string path = TestDataPath("x.har");
  return path.substr(0, path.size() - 6);
}

std::string Header(const RecordedResponse& response, const char* name) {
  for (const auto& [key, value] : response.headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "<absent>";
}

TEST(HarReplayTest, LoadsTheDirectoryAndCountsShadowedRecordings) {
  absl::StatusOr<std::unique_ptr<HarReplay>> replay =
      HarReplay::Load({TestDataDir()});
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ((*replay)->files().size(), 11u);
  EXPECT_EQ((*replay)->entry_count(), 13);
  // /account 200 and 401 and /enterprise-accounts are each recorded twice.
  EXPECT_EQ((*replay)->shadowed_count(), 3);
  EXPECT_THAT((*replay)->paths(),
              Contains("/teams/1e2fd576-c276-483d-8440-3c956e0fe015/apps"));
}

TEST(HarReplayTest, SeparatesRecorded401sFromSuccesses) {
  absl::StatusOr<std::unique_ptr<HarReplay>> replay =
      HarReplay::Load({TestDataDir()});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const RecordedResponse* ok =
      (*replay)->Find("GET", "/account", kClientRange, true);
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->status, 200);
  EXPECT_THAT(ok->body, HasSubstr("nick.dowmon@lifeomic.com"));
  const RecordedResponse* denied =
      (*replay)->Find("GET", "/account", kClientRange, false);
  ASSERT_NE(denied, nullptr);
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(denied->body,
            "{\"id\":\"unauthorized\",\"message\":\"Invalid credentials "
            "provided.\"}");
  // No 401 was recorded for the apps list.
  EXPECT_EQ(
      (*replay)->Find("GET", "/teams/1e2fd576-c276-483d-8440-3c956e0fe015/apps",
                      kClientRange, false),
      nullptr);
}

TEST(HarReplayTest, AOnly401RecordingServesAuthenticatedRequestsToo) {
  absl::StatusOr<std::unique_ptr<HarReplay>> replay =
      HarReplay::Load({TestDataPath("validate-invocation-fail.har")});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const RecordedResponse* response =
      (*replay)->Find("GET", "/account", kClientRange, true);
  ASSERT_NE(response, nullptr);
  EXPECT_EQ(response->status, 401);
}

TEST(HarReplayTest, RangeMatchesExactlyElseFallsBackToTheTarget) {
  absl::StatusOr<std::unique_ptr<HarReplay>> replay =
      HarReplay::Load({TestDataPath("fetch-team-apps.har")});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const std::string target = "/teams/1e2fd576-c276-483d-8440-3c956e0fe015/apps";
  EXPECT_NE((*replay)->Find("GET", target, "id  ..;max=1000", true), nullptr);
  EXPECT_NE((*replay)->Find("GET", target, "name ..; max=5", true), nullptr);
  EXPECT_NE((*replay)->Find("GET", target, "", true), nullptr);
  EXPECT_EQ((*replay)->Find("POST", target, kClientRange, true), nullptr);
  EXPECT_EQ((*replay)->Find("GET", "/teams/other/apps", kClientRange, true),
            nullptr);
}

TEST(HarReplayTest, DropsRecordedContentLengthAndKeepsOtherHeaders) {
  absl::StatusOr<std::unique_ptr<HarReplay>> replay =
      HarReplay::Load({TestDataPath("add-accounts.har")});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const RecordedResponse* response =
      (*replay)->Find("GET", "/enterprise-accounts", kClientRange, true);
  ASSERT_NE(response, nullptr);
  // Hand-edited: content-length 2, body 339 bytes.
  EXPECT_EQ(response->body.size(), 339u);
  EXPECT_EQ(Header(*response, "content-length"), "<absent>");
  EXPECT_EQ(Header(*response, "accept-ranges"), "id, name, updated_at");
  EXPECT_THAT(response->headers,
              Contains(Pair("oauth-scope-accepted",
                            "global read read-protected write "
                            "write-protected")));
}

TEST(HarReplayTest, TwoEntriesOfOneFileAreDistinctTargets) {
  absl::StatusOr<std::unique_ptr<HarReplay>> replay =
      HarReplay::Load({TestDataPath("add-members.har")});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const RecordedResponse* first = (*replay)->Find(
      "GET",
      "/enterprise-accounts/01234567-89ab-cdef-0123-456789abcdef/members",
      kClientRange, true);
  const RecordedResponse* second = (*replay)->Find(
      "GET",
      "/enterprise-accounts/76543210-89ab-cdef-0123-456789abcdef/members",
      kClientRange, true);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_THAT(first->body, HasSubstr("username@example.com"));
  EXPECT_EQ(second->body, "[]");
}

TEST(HarReplayTest, ReportsUnreadableAndInvalidFiles) {
  absl::StatusOr<std::unique_ptr<HarReplay>> missing =
      HarReplay::Load({"/nonexistent/x.har"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("/nonexistent/x.har"));

  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string bad = std::string(dir ? dir : "/tmp") + "/bad.har";
  std::ofstream(bad) << "{\"log\": {\"entries\": [{\"request\": {}}]}}";
  absl::StatusOr<std::unique_ptr<HarReplay>> invalid = HarReplay::Load({bad});
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(invalid.status().message()), HasSubstr("bad.har"));

  std::ofstream(bad) << "not json";
  EXPECT_EQ(HarReplay::Load({bad}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphmill::fakes::heroku
