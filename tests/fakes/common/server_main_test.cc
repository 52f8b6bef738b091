// Tests of server_main.h: repeated flags and the port file.
#include "tests/fakes/common/server_main.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace graphmill::fakes::common {
namespace {

TEST(RepeatedFlagValuesTest, CollectsEveryFormUpToTerminator) {
  const char* args[] = {"prog", "--fault=a", "-fault",
                        "b",    "--other=x", "--fault",
                        "c",    "--",        "--fault=d"};
  std::vector<std::string> values = RepeatedFlagValues(
      static_cast<int>(std::size(args)), const_cast<char**>(args), "fault");
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(WritePortFileTest, WritesThePortAndALineEnd) {
  const std::string path = ::testing::TempDir() + "/port_file_test";
  ASSERT_TRUE(WritePortFile(path, 43210));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "43210\n");
}

TEST(WritePortFileTest, FailsInAMissingDirectory) {
  EXPECT_FALSE(WritePortFile(::testing::TempDir() + "/no/such/dir/port", 1));
}

}  // namespace
}  // namespace graphmill::fakes::common
