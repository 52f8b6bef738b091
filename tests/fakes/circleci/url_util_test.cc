// Tests of url_util.h.
#include "tests/fakes/circleci/url_util.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::fakes {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(PercentDecodeTest, DecodesEscapesAndKeepsMalformedOnes) {
  EXPECT_EQ(PercentDecode("circleci%2FP41%2f", false), "circleci/P41/");
  EXPECT_EQ(PercentDecode("100%", false), "100%");
  EXPECT_EQ(PercentDecode("%zz%4", false), "%zz%4");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
}

TEST(PercentEncodeTest, EscapesAllButUnreserved) {
  EXPECT_EQ(PercentEncode("gh/a b~c-d_e.f"), "gh%2Fa%20b~c-d_e.f");
  EXPECT_EQ(PercentDecode(PercentEncode("x/y:z,%"), false), "x/y:z,%");
}

TEST(NormalizeEscapesTest, UppercasesHexAndDecodesUnreserved) {
  EXPECT_EQ(NormalizeEscapes("/project/gh%2fa%2Fb%41"), "/project/gh%2Fa%2FbA");
  EXPECT_NE(NormalizeEscapes("/project/gh%2Fa"),
            NormalizeEscapes("/project/gh/a"));
}

TEST(ParseQueryTest, DecodesPairsInOrder) {
  EXPECT_THAT(ParseQuery("org-slug=circleci%2FX&page-token=AB_c-&&flag"),
              ElementsAre(Pair("org-slug", "circleci/X"),
                          Pair("page-token", "AB_c-"), Pair("flag", "")));
  const QueryParams params = ParseQuery("a=1&a=2");
  ASSERT_NE(FindParam(params, "a"), nullptr);
  EXPECT_EQ(*FindParam(params, "a"), "1");
  EXPECT_EQ(FindParam(params, "b"), nullptr);
}

TEST(SplitTargetTest, SplitsAtFirstQuestionMark) {
  EXPECT_EQ(SplitTarget("/a%2Fb?x=1?2"),
            std::make_pair(std::string("/a%2Fb"), std::string("x=1?2")));
  EXPECT_EQ(SplitTarget("/a"),
            std::make_pair(std::string("/a"), std::string()));
}

}  // namespace
}  // namespace graphmill::fakes
