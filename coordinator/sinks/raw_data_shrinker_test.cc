// Tests of raw_data_shrinker.h: the order values are cut in (object with the
// largest raw data, its largest entry, that entry's largest value), when it
// stops, and that only raw data values change.
#include "coordinator/sinks/raw_data_shrinker.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::sinks {
namespace {

using ::testing::ElementsAre;

std::string Text(size_t bytes, char c) { return std::string(bytes, c); }

int64_t TotalBytes(const std::vector<std::string>& objects) {
  int64_t total = 0;
  for (const std::string& object : objects) total += object.size();
  return total;
}

TEST(ShrinkRawDataTest, CutsTheLargestValueOfTheLargestRawDataFirst) {
  std::vector<std::string> objects = {
      R"({"_key":"entity-a","_type":"t","_class":["A"],"name":"a",)"
      R"("_rawData":[{"name":"default","rawData":{"small":"x","big":")" +
          Text(1000, 'b') + R"(","n":12}}]})",
      R"({"_key":"entity-b","_type":"t","_class":["A"],)"
      R"("_rawData":[{"name":"default","rawData":{"mid":")" +
          Text(500, 'm') + R"("}}]})",
  };
  const std::string untouched = objects[1];
  const int64_t before = TotalBytes(objects);

  const ShrinkOutcome outcome = ShrinkRawData(objects, 100);

  EXPECT_EQ(outcome.values_truncated, 1);
  EXPECT_THAT(outcome.changed, ElementsAre(0u));
  EXPECT_EQ(objects[0],
            R"({"_key":"entity-a","_type":"t","_class":["A"],"name":"a",)"
            R"("_rawData":[{"name":"default","rawData":{"small":"x",)"
            R"("big":"TRUNCATED","n":12}}]})");
  EXPECT_EQ(objects[1], untouched);
  // 1002 bytes ("b..." with quotes) became 11.
  EXPECT_EQ(outcome.bytes_removed, 1002 - 11);
  EXPECT_EQ(before - TotalBytes(objects), outcome.bytes_removed);
}

TEST(ShrinkRawDataTest, MovesOnToTheNextLargestUntilEnoughIsRemoved) {
  std::vector<std::string> objects = {
      R"({"_key":"a","_rawData":[{"name":"default","rawData":{"x":")" +
          Text(600, 'x') + R"(","y":")" + Text(400, 'y') + R"("}}]})",
      R"({"_key":"b","_rawData":[{"name":"default","rawData":{"z":")" +
          Text(500, 'z') + R"("}}]})",
  };
  const int64_t before = TotalBytes(objects);

  // x (a is largest), then b's z (a now has 400+, b 500+), then a's y.
  const ShrinkOutcome outcome = ShrinkRawData(objects, 1200);

  EXPECT_EQ(outcome.values_truncated, 3);
  EXPECT_THAT(outcome.changed, ElementsAre(0u, 1u));
  EXPECT_EQ(objects[0],
            R"({"_key":"a","_rawData":[{"name":"default","rawData":)"
            R"({"x":"TRUNCATED","y":"TRUNCATED"}}]})");
  EXPECT_EQ(objects[1],
            R"({"_key":"b","_rawData":[{"name":"default","rawData":)"
            R"({"z":"TRUNCATED"}}]})");
  EXPECT_EQ(before - TotalBytes(objects), outcome.bytes_removed);
}

TEST(ShrinkRawDataTest, StopsAsSoonAsEnoughIsRemoved) {
  std::vector<std::string> objects = {
      R"({"_key":"a","_rawData":[{"name":"default","rawData":{"x":")" +
          Text(600, 'x') + R"(","y":")" + Text(400, 'y') + R"("}}]})",
  };
  const ShrinkOutcome outcome = ShrinkRawData(objects, 10);
  EXPECT_EQ(outcome.values_truncated, 1);
  EXPECT_NE(objects[0].find(Text(400, 'y')), std::string::npos);
}

TEST(ShrinkRawDataTest, SkipsAnObjectWhoseValuesAreAllSmall) {
  // a has the larger raw data but only values too small to cut.
  std::string many_small;
  for (int i = 0; i < 200; ++i) {
    if (i > 0) many_small += ",";
    many_small += R"("k)" + std::to_string(i) + R"(":1)";
  }
  std::vector<std::string> objects = {
      R"({"_key":"a","_rawData":[{"name":"default","rawData":{)" + many_small +
          "}}]})",
      R"({"_key":"b","_rawData":[{"name":"default","rawData":{"z":")" +
          Text(300, 'z') + R"("}}]})",
  };
  ASSERT_GT(objects[0].size(), objects[1].size());
  const std::string small_ones = objects[0];

  const ShrinkOutcome outcome = ShrinkRawData(objects, 50);

  EXPECT_EQ(outcome.values_truncated, 1);
  EXPECT_THAT(outcome.changed, ElementsAre(1u));
  EXPECT_EQ(objects[0], small_ones);
}

TEST(ShrinkRawDataTest, PrefersTheLargestEntryAndCutsStringsAndArrays) {
  std::vector<std::string> objects = {
      R"({"_key":"a","_rawData":[)"
      R"({"name":"extra","rawData":{"b":")" +
          Text(100, 'b') +
          R"("}},)"
          R"({"name":"default","rawData":{"a":")" +
          Text(300, 'a') +
          R"("}},)"
          R"({"name":"text","rawData":")" +
          Text(50, 't') +
          R"("},)"
          R"({"name":"list","rawData":[")" +
          Text(30, 'l') + R"(",1]}]})",
  };
  ShrinkOutcome outcome = ShrinkRawData(objects, 1);
  EXPECT_EQ(outcome.values_truncated, 1);
  EXPECT_NE(
      objects[0].find(R"({"name":"default","rawData":{"a":"TRUNCATED"}})"),
      std::string::npos)
      << objects[0];

  outcome = ShrinkRawData(objects, 1'000'000);  // everything
  EXPECT_EQ(outcome.values_truncated, 3);
  EXPECT_EQ(objects[0], R"({"_key":"a","_rawData":[)"
                        R"({"name":"extra","rawData":{"b":"TRUNCATED"}},)"
                        R"({"name":"default","rawData":{"a":"TRUNCATED"}},)"
                        R"({"name":"text","rawData":"TRUNCATED"},)"
                        R"({"name":"list","rawData":["TRUNCATED",1]}]})");
  // Nothing is left to cut.
  const ShrinkOutcome again = ShrinkRawData(objects, 1'000'000);
  EXPECT_EQ(again.values_truncated, 0);
  EXPECT_EQ(again.bytes_removed, 0);
  EXPECT_TRUE(again.changed.empty());
}

TEST(ShrinkRawDataTest, LeavesObjectsWithoutRawDataAndBadJsonAlone) {
  std::vector<std::string> objects = {
      R"({"_key":"a|has|b","_type":"t","_class":"HAS","big":")" +
          Text(5000, 'p') + R"("})",
      "not json",
      R"({"_key":"c","_rawData":[]})",
  };
  const std::vector<std::string> original = objects;
  const ShrinkOutcome outcome = ShrinkRawData(objects, 100);
  EXPECT_EQ(outcome.values_truncated, 0);
  EXPECT_EQ(objects, original);
  EXPECT_EQ(ShrinkRawData(objects, 0).values_truncated, 0);
}

}  // namespace
}  // namespace graphmill::sinks
