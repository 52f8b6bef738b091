// Tests of common/log.h: both formats, fields, escaping, levels.
#include "common/log.h"

#include <string>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace graphmill {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

rapidjson::Document Parse(const std::string& line) {
  rapidjson::Document document;
  document.Parse(line.c_str(), line.size());
  EXPECT_FALSE(document.HasParseError()) << line;
  EXPECT_TRUE(document.IsObject()) << line;
  return document;
}

// Restores the process-wide settings each test changes.
class LogTest : public ::testing::Test {
 protected:
  ~LogTest() override {
    SetLogFormat(LogFormat::kText);
    SetLogLevel(LogLevel::kInfo);
    SetLogProgramName("graphmill");
  }
};

TEST_F(LogTest, TextLinesKeepTheirShapeAndAppendFields) {
  EXPECT_EQ(FormatLogLine(LogFormat::kText, "2024-01-02T03:04:05.678Z",
                          LogLevel::kWarn, "coordinator", {}, "hello world"),
            "2024-01-02T03:04:05.678Z WARN coordinator: hello world");
  EXPECT_EQ(
      FormatLogLine(LogFormat::kText, "T", LogLevel::kInfo, "worker",
                    {{"run", int64_t{42}}, {"instance", "ci prod"}, {"x", ""}},
                    "task done"),
      "T INFO worker: task done run=42 instance=\"ci prod\" x=\"\"");
}

TEST_F(LogTest, JsonLinesHaveTimeLevelProgramMessageAndTypedFields) {
  const std::string line = FormatLogLine(
      LogFormat::kJson, "2024-01-02T03:04:05.678Z", LogLevel::kError,
      "graphmill-worker",
      {{"run", 42}, {"task", int64_t{-7}}, {"instance", "ci-prod"}},
      "step failed");
  EXPECT_EQ(line,
            "{\"time\":\"2024-01-02T03:04:05.678Z\",\"level\":\"ERROR\","
            "\"program\":\"graphmill-worker\",\"message\":\"step failed\","
            "\"run\":42,\"task\":-7,\"instance\":\"ci-prod\"}");
  rapidjson::Document document = Parse(line);
  EXPECT_TRUE(document["run"].IsInt64());
  EXPECT_TRUE(document["instance"].IsString());
}

TEST_F(LogTest, JsonEscapesEverythingAndReplacesBytesThatAreNotUtf8) {
  const std::string message =
      std::string("quote \" backslash \\ newline \n tab \t nul ") +
      std::string(1, '\0') + " bell \x07 del \x7f caf\xc3\xa9 \xe2\x82\xac " +
      "\xf0\x9f\x98\x80 bad \xff \xc3 overlong \xc0\xaf surrogate \xed\xa0\x80";
  const std::string line = FormatLogLine(LogFormat::kJson, "T", LogLevel::kInfo,
                                         "p", {{"k\"ey", "v\nal"}}, message);
  EXPECT_THAT(line, Not(HasSubstr("\n")));
  rapidjson::Document document = Parse(line);
  const std::string parsed(document["message"].GetString(),
                           document["message"].GetStringLength());
  EXPECT_EQ(parsed,
            std::string("quote \" backslash \\ newline \n tab \t nul ") +
                std::string(1, '\0') +
                " bell \x07 del \x7f caf\xc3\xa9 \xe2\x82\xac "
                "\xf0\x9f\x98\x80 bad \xef\xbf\xbd \xef\xbf\xbd overlong "
                "\xef\xbf\xbd\xef\xbf\xbd surrogate "
                "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_STREQ(document["k\"ey"].GetString(), "v\nal");
}

TEST_F(LogTest, FieldsCannotHideTheLinesOwnKeys) {
  const std::string line =
      FormatLogLine(LogFormat::kJson, "T", LogLevel::kInfo, "p",
                    {{"level", "DEBUG"}, {"message", "forged"}}, "real");
  rapidjson::Document document = Parse(line);
  EXPECT_STREQ(document["level"].GetString(), "INFO");
  EXPECT_STREQ(document["message"].GetString(), "real");
  EXPECT_STREQ(document["field.level"].GetString(), "DEBUG");
  EXPECT_STREQ(document["field.message"].GetString(), "forged");
}

TEST_F(LogTest, ParsesLevelsAndFormats) {
  LogLevel level;
  ASSERT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  ASSERT_TRUE(ParseLogLevel("INFO", &level));
  EXPECT_EQ(level, LogLevel::kInfo);
  ASSERT_TRUE(ParseLogLevel("warning", &level));
  EXPECT_EQ(level, LogLevel::kWarn);
  ASSERT_TRUE(ParseLogLevel("Error", &level));
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("verbose", &level));
  EXPECT_FALSE(ParseLogLevel("", &level));
  LogFormat format;
  ASSERT_TRUE(ParseLogFormat("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  ASSERT_TRUE(ParseLogFormat("TEXT", &format));
  EXPECT_EQ(format, LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("xml", &format));
  std::string error;
  EXPECT_FALSE(AbslParseFlag("loud", &level, &error));
  EXPECT_THAT(error, HasSubstr("debug, info, warn, error"));
  EXPECT_EQ(AbslUnparseFlag(LogLevel::kWarn), "warn");
  EXPECT_EQ(AbslUnparseFlag(LogFormat::kJson), "json");
}

TEST_F(LogTest, WritesOneLinePerCallAtOrAboveTheLevel) {
  SetLogProgramName("log-test");
  SetLogLevel(LogLevel::kWarn);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  ::testing::internal::CaptureStderr();
  LogDebug("debug line");
  LogInfo("info line");
  LogWarn("warn line ", 1);
  LogError(LogFields{{"run", 9}}, "error line");
  std::string captured = ::testing::internal::GetCapturedStderr();
  std::vector<std::string> lines =
      absl::StrSplit(captured, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << captured;
  EXPECT_THAT(lines[0],
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z WARN "
                           "log-test: warn line 1"));
  EXPECT_THAT(lines[1], HasSubstr(" ERROR log-test: error line run=9"));

  SetLogLevel(LogLevel::kDebug);
  SetLogFormat(LogFormat::kJson);
  ::testing::internal::CaptureStderr();
  LogDebug({{"task", 3}, {"instance", "i"}}, "debug ", "line");
  LogInfo("info");
  captured = ::testing::internal::GetCapturedStderr();
  lines = absl::StrSplit(captured, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << captured;
  rapidjson::Document first = Parse(lines[0]);
  EXPECT_STREQ(first["level"].GetString(), "DEBUG");
  EXPECT_STREQ(first["program"].GetString(), "log-test");
  EXPECT_STREQ(first["message"].GetString(), "debug line");
  EXPECT_EQ(first["task"].GetInt(), 3);
  EXPECT_STREQ(first["instance"].GetString(), "i");
  EXPECT_THAT(std::string(first["time"].GetString()),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"));
  EXPECT_STREQ(Parse(lines[1])["level"].GetString(), "INFO");
}

}  // namespace
}  // namespace graphmill
