#include "client/suggest.h"

#include "gtest/gtest.h"

namespace graphmill::cli {
namespace {

const std::vector<std::string> kCommands = {
    "integration", "instance", "run", "graph", "subscribe", "token"};

TEST(SuggestTest, TyposFindTheirCommand) {
  EXPECT_EQ(ClosestMatch("intance", kCommands), "instance");
  EXPECT_EQ(ClosestMatch("isntance", kCommands), "instance");  // a swap
  EXPECT_EQ(ClosestMatch("rnu", kCommands), "run");
  EXPECT_EQ(ClosestMatch("subscirbe", kCommands), "subscribe");
  EXPECT_EQ(ClosestMatch("integraton", kCommands), "integration");
}

TEST(SuggestTest, UnrelatedWordsFindNothing) {
  EXPECT_EQ(ClosestMatch("deploy", kCommands), "");
  EXPECT_EQ(ClosestMatch("x", {"yz"}), "");
  EXPECT_EQ(ClosestMatch("anything", {}), "");
  EXPECT_EQ(DidYouMean("deploy", kCommands), "");
}

TEST(SuggestTest, DidYouMeanQuotesTheMatchWithItsPrefix) {
  EXPECT_EQ(DidYouMean("instnce", {"instance", "integration"}, "--"),
            " (did you mean '--instance'?)");
}

}  // namespace
}  // namespace graphmill::cli
