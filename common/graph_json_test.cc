#include "common/graph_json.h"

#include <gtest/gtest.h>

#include "common/graph_objects.h"

namespace graphmill {
namespace {

TEST(EntityToJson, FlatShapeWithRawData) {
  v1::Entity e;
  e.set_key("circleci_user:1");
  e.set_type("circleci_user");
  e.add_classes("User");
  (*e.mutable_properties())["name"] = StringValue("kjb");
  (*e.mutable_properties())["active"] = BoolValue(true);
  (*e.mutable_properties())["createdOn"] = IntValue(1325419200000);
  v1::RawData* raw = e.add_raw_data();
  raw->set_name("default");
  raw->set_json(R"({"login": "kjb"})");
  EXPECT_EQ(
      EntityToJson(e, true),
      R"({"_key":"circleci_user:1","_type":"circleci_user","_class":["User"],)"
      R"("active":true,"createdOn":1325419200000,"name":"kjb",)"
      R"("_rawData":[{"name":"default","rawData":{"login":"kjb"}}]})");
  EXPECT_EQ(EntityToJson(e, false).find("_rawData"), std::string::npos);
}

TEST(RelationshipToJson, FlatShape) {
  v1::Relationship r = DirectRelationship("a_thing:0001", "a_thing", "HAS",
                                          "a_other:0002", "a_other");
  EXPECT_EQ(
      RelationshipToJson(r),
      R"({"_key":"a_thing:0001|has|a_other:0002","_type":"a_thing_has_other",)"
      R"("_class":"HAS","_fromEntityKey":"a_thing:0001",)"
      R"("_toEntityKey":"a_other:0002","displayName":"HAS"})");
}

TEST(ValueToJson, ListsAndEscapes) {
  EXPECT_EQ(ValueToJson(StringListValue({"a\"b", "c"})), R"(["a\"b","c"])");
  EXPECT_EQ(ValueToJson(NullValue()), "null");
}

}  // namespace
}  // namespace graphmill
