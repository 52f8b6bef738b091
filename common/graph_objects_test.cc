#include "common/graph_objects.h"

#include <gtest/gtest.h>

namespace graphmill {
namespace {

TEST(RelationshipType, StripsSharedPrefixFromTarget) {
  EXPECT_EQ(RelationshipType("aws_iam_user", "HAS", "aws_iam_group"),
            "aws_iam_user_has_group");
  EXPECT_EQ(RelationshipType("circleci_account", "HAS", "circleci_user_group"),
            "circleci_account_has_user_group");
  EXPECT_EQ(RelationshipType("circleci_project", "USES",
                             "circleci_context_environment_variable"),
            "circleci_project_uses_context_environment_variable");
  EXPECT_EQ(RelationshipType("heroku_team", "HAS", "heroku_account_member"),
            "heroku_team_has_account_member");
  EXPECT_EQ(RelationshipType("heroku_team", "OWNS", "heroku_application"),
            "heroku_team_owns_application");
}

TEST(RelationshipType, KeepsLastSegmentWhenTypesAreEqual) {
  EXPECT_EQ(RelationshipType("x_node", "HAS", "x_node"), "x_node_has_node");
}

TEST(DirectRelationship, BuildsKeyClassAndDisplayName) {
  v1::Relationship r =
      DirectRelationship("circleci_account:1", "circleci_account", "has",
                         "circleci_user:2", "circleci_user");
  EXPECT_EQ(r.key(), "circleci_account:1|has|circleci_user:2");
  EXPECT_EQ(r.class_name(), "HAS");
  EXPECT_EQ(r.type(), "circleci_account_has_user");
  EXPECT_EQ(r.properties().at("displayName").string_value(), "HAS");
}

TEST(ParseTimestampMs, ParsesIsoAndRejectsGarbage) {
  EXPECT_EQ(ParseTimestampMs("2012-01-01T12:00:00Z"), 1325419200000);
  EXPECT_EQ(ParseTimestampMs("2020-04-14T13:58:00Z"), 1586872680000);
  EXPECT_EQ(ParseTimestampMs("2024-03-21T10:00:00.123Z"), 1711015200123);
  EXPECT_EQ(ParseTimestampMs("2024-03-21T12:00:00+02:00"), 1711015200000);
  EXPECT_EQ(ParseTimestampMs(""), std::nullopt);
  EXPECT_EQ(ParseTimestampMs("yesterday"), std::nullopt);
}

TEST(IsValidPropertyName, FollowsDataModelPattern) {
  EXPECT_TRUE(IsValidPropertyName("displayName"));
  EXPECT_TRUE(IsValidPropertyName("_rawData"));
  EXPECT_TRUE(IsValidPropertyName("tag.Owner"));
  EXPECT_TRUE(IsValidPropertyName("a.b c-d"));
  EXPECT_FALSE(IsValidPropertyName(""));
  EXPECT_FALSE(IsValidPropertyName("_"));
  EXPECT_FALSE(IsValidPropertyName("bad/name"));
  EXPECT_FALSE(IsValidPropertyName("emoji\xF0\x9F\x98\x80"));
}

v1::Entity GoodEntity() {
  v1::Entity e;
  e.set_key("circleci_user:123");
  e.set_type("circleci_user");
  e.add_classes("User");
  (*e.mutable_properties())["name"] = StringValue("kjb");
  (*e.mutable_properties())["displayName"] = StringValue("kjb");
  return e;
}

TEST(ValidateEntity, AcceptsGoodEntity) {
  EXPECT_TRUE(ValidateEntity(GoodEntity()).ok());
}

TEST(ValidateEntity, RejectsShortKeyNamingIt) {
  v1::Entity e = GoodEntity();
  e.set_key("short");
  absl::Status s = ValidateEntity(e);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'short'"), absl::string_view::npos);
  EXPECT_NE(s.message().find("at least 10"), absl::string_view::npos);
}

TEST(ValidateEntity, RequiresNameAndDisplayName) {
  v1::Entity e = GoodEntity();
  e.mutable_properties()->erase("displayName");
  EXPECT_NE(ValidateEntity(e).message().find("displayName"),
            absl::string_view::npos);
}

TEST(ValidateEntity, ServiceNeedsCategoryAndFunction) {
  v1::Entity e = GoodEntity();
  e.set_type("heroku_addon");
  e.clear_classes();
  e.add_classes("Service");
  EXPECT_NE(ValidateEntity(e).message().find("category"),
            absl::string_view::npos);
  (*e.mutable_properties())["category"] = StringListValue({"platform"});
  (*e.mutable_properties())["function"] = StringListValue({});
  EXPECT_TRUE(ValidateEntity(e).ok());
}

TEST(ValidateRelationship, RejectsListProperty) {
  v1::Relationship r =
      DirectRelationship("heroku_team:aaaa", "heroku_team", "HAS",
                         "heroku_member:b", "heroku_member");
  EXPECT_TRUE(ValidateRelationship(r).ok());
  (*r.mutable_properties())["roles"] = StringListValue({"admin"});
  EXPECT_EQ(ValidateRelationship(r).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphmill
