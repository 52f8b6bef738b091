// Tests of range.h: the Range grammar and page selection.
#include "tests/fakes/heroku/range.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace graphmill::fakes::heroku {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kFields = {"id", "name", "updated_at"};

TEST(ParseRangeTest, EmptyHeaderGivesDefaults) {
  absl::StatusOr<RangeSpec> spec = ParseRange("", kFields);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->field, "id");
  EXPECT_FALSE(spec->start.has_value());
  EXPECT_FALSE(spec->end.has_value());
  EXPECT_EQ(spec->max, 200);
  EXPECT_FALSE(spec->descending);
}

TEST(ParseRangeTest, ReadsTheClientsDefaultRange) {
  absl::StatusOr<RangeSpec> spec = ParseRange("id ..; max=1000", kFields);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->field, "id");
  EXPECT_FALSE(spec->start.has_value());
  EXPECT_EQ(spec->max, 1000);
}

TEST(ParseRangeTest, ReadsBoundsAndTheirExclusivity) {
  absl::StatusOr<RangeSpec> spec =
      ParseRange("name ]app-b..app-x[; max=10, order=desc", kFields);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->field, "name");
  EXPECT_EQ(spec->start, "app-b");
  EXPECT_TRUE(spec->start_exclusive);
  EXPECT_EQ(spec->end, "app-x");
  EXPECT_TRUE(spec->end_exclusive);
  EXPECT_EQ(spec->max, 10);
  EXPECT_TRUE(spec->descending);

  spec = ParseRange("id [a..z]", kFields);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_FALSE(spec->start_exclusive);
  EXPECT_FALSE(spec->end_exclusive);
  EXPECT_EQ(spec->start, "a");
  EXPECT_EQ(spec->end, "z");

  spec = ParseRange("updated_at 2021-01-01T00:00:00Z..", kFields);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->start, "2021-01-01T00:00:00Z");
  EXPECT_FALSE(spec->start_exclusive);
}

TEST(ParseRangeTest, FieldDefaultsToIdAndParamsMayUseSemicolons) {
  absl::StatusOr<RangeSpec> spec =
      ParseRange("]abc..; order=desc; max=3", kFields);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->field, "id");
  EXPECT_EQ(spec->start, "abc");
  EXPECT_TRUE(spec->start_exclusive);
  EXPECT_TRUE(spec->descending);
  EXPECT_EQ(spec->max, 3);
}

TEST(ParseRangeTest, CapsMaxAtOneThousand) {
  absl::StatusOr<RangeSpec> spec = ParseRange("id ..; max=5000", kFields);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->max, 1000);
}

TEST(ParseRangeTest, RejectsBadRanges) {
  for (const char* header :
       {"email ..", "id", "id ..; max=0", "id ..; max=-5", "id ..; max=ten",
        "id ..; order=sideways", "id ..; limit=4", "id ..; max", "id a b..",
        "id ]]a.."}) {
    absl::StatusOr<RangeSpec> spec = ParseRange(header, kFields);
    EXPECT_FALSE(spec.ok()) << header;
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr(header));
  }
}

RangePage Select(const std::string& header,
                 const std::vector<absl::string_view>& keys) {
  absl::StatusOr<RangeSpec> spec = ParseRange(header, kFields);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return SelectPage(*spec, keys);
}

TEST(SelectPageTest, ReturnsEverythingWith200WhenItFits) {
  const std::vector<absl::string_view> keys = {"c", "a", "b"};
  RangePage page = Select("id ..; max=3", keys);
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.items, ElementsAre(1, 2, 0));
  EXPECT_EQ(page.content_range, "id a..c");
  EXPECT_EQ(page.next_range, "");
}

TEST(SelectPageTest, Returns206AndNextRangeWhenMoreRemain) {
  const std::vector<absl::string_view> keys = {"d", "b", "a", "c", "e"};
  RangePage page = Select("id ..; max=2", keys);
  EXPECT_EQ(page.status, 206);
  EXPECT_THAT(page.items, ElementsAre(2, 1));
  EXPECT_EQ(page.content_range, "id a..b");
  EXPECT_EQ(page.next_range, "id ]b..; max=2");

  page = Select(page.next_range, keys);
  EXPECT_EQ(page.status, 206);
  EXPECT_THAT(page.items, ElementsAre(3, 0));
  EXPECT_EQ(page.next_range, "id ]d..; max=2");

  page = Select(page.next_range, keys);
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.items, ElementsAre(4));
  EXPECT_EQ(page.next_range, "");
}

TEST(SelectPageTest, InclusiveAndExclusiveBounds) {
  const std::vector<absl::string_view> keys = {"a", "b", "c", "d"};
  EXPECT_THAT(Select("id b..", keys).items, ElementsAre(1, 2, 3));
  EXPECT_THAT(Select("id ]b..", keys).items, ElementsAre(2, 3));
  EXPECT_THAT(Select("id ..c", keys).items, ElementsAre(0, 1, 2));
  EXPECT_THAT(Select("id ..c[", keys).items, ElementsAre(0, 1));
  EXPECT_THAT(Select("id ]a..c[", keys).items, ElementsAre(1));
  // A start that falls between keys.
  EXPECT_THAT(Select("id ]bb..", keys).items, ElementsAre(2, 3));
}

TEST(SelectPageTest, DescendingOrderWalksDownAndKeepsTheOrderInNextRange) {
  const std::vector<absl::string_view> keys = {"a", "b", "c", "d"};
  RangePage page = Select("id ..; max=3, order=desc", keys);
  EXPECT_EQ(page.status, 206);
  EXPECT_THAT(page.items, ElementsAre(3, 2, 1));
  EXPECT_EQ(page.content_range, "id d..b");
  EXPECT_EQ(page.next_range, "id ]b..; max=3,order=desc");
  page = Select(page.next_range, keys);
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.items, ElementsAre(0));
}

TEST(SelectPageTest, NextRangeKeepsTheEndBound) {
  const std::vector<absl::string_view> keys = {"a", "b", "c", "d", "e"};
  RangePage page = Select("id ..d[; max=2", keys);
  EXPECT_EQ(page.next_range, "id ]b..d[; max=2");
  page = Select(page.next_range, keys);
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.items, ElementsAre(2));
}

TEST(SelectPageTest, EmptySelectionHasNoContentRange) {
  EXPECT_EQ(Select("id ..", {}).content_range, "");
  const std::vector<absl::string_view> keys = {"a"};
  RangePage page = Select("id ]a..", keys);
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(page.items.empty());
  EXPECT_EQ(page.content_range, "");
}

TEST(SelectPageTest, TiesKeepInputOrder) {
  const std::vector<absl::string_view> keys = {"x", "a", "x", "a"};
  EXPECT_THAT(Select("id ..", keys).items, ElementsAre(1, 3, 0, 2));
}

}  // namespace
}  // namespace graphmill::fakes::heroku
