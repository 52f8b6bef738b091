// The CLI's JSON dialect: proto3 canonical JSON for messages, JupiterOne flat
// JSON for graph objects, on their own or as fields.
#include "client/json_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/graph_json.h"
#include "google/protobuf/util/json_util.h"
#include "graphmill/v1/admin.pb.h"
#include "graphmill/v1/graph.pb.h"
#include "graphmill/v1/run.pb.h"
#include "rapidjson/document.h"

namespace graphmill::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::Entity User(const std::string& key) {
  v1::Entity entity;
  entity.set_key(key);
  entity.set_type("circleci_user");
  entity.add_classes("User");
  (*entity.mutable_properties())["displayName"].set_string_value("kim");
  (*entity.mutable_properties())["createdOn"].set_int_value(1711015384000);
  v1::RawData* raw = entity.add_raw_data();
  raw->set_name("default");
  raw->set_json(R"({"login":"kim"})");
  return entity;
}

v1::Relationship Has() {
  v1::Relationship relationship;
  relationship.set_key("circleci_account:1|has|circleci_user:1");
  relationship.set_type("circleci_account_has_user");
  relationship.set_class_name("HAS");
  relationship.set_from_entity_key("circleci_account:1");
  relationship.set_to_entity_key("circleci_user:1");
  return relationship;
}

TEST(ToJson, MessagesAreProto3CanonicalJson) {
  v1::Run run;
  run.set_id(12);
  run.set_instance_id("ci-prod");
  run.set_status(v1::RUN_STATUS_SUCCEEDED);
  const std::string json = ToJson(run);
  // int64 as a string, enums by full name, lowerCamelCase, zero values too.
  EXPECT_THAT(json, HasSubstr(R"("id":"12")"));
  EXPECT_THAT(json, HasSubstr(R"("instanceId":"ci-prod")"));
  EXPECT_THAT(json, HasSubstr(R"("status":"RUN_STATUS_SUCCEEDED")"));
  EXPECT_THAT(json, HasSubstr(R"("createdCount":"0")"));
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_EQ(JsonLine(run), json + "\n");
  // It parses back to the same message.
  v1::Run parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok());
  EXPECT_EQ(parsed.id(), 12);
  EXPECT_EQ(parsed.instance_id(), "ci-prod");
  EXPECT_EQ(parsed.status(), v1::RUN_STATUS_SUCCEEDED);
}

TEST(ToJson, MapsAreSortedByKey) {
  v1::Instance one;
  v1::Instance other;
  const std::vector<std::string> keys = {
      "login", "apiKey", "userId", "baseUrl", "extraProjectSlugs", "b", "a"};
  for (const std::string& key : keys) (*one.mutable_config())[key] = key;
  for (auto key = keys.rbegin(); key != keys.rend(); ++key) {
    (*other.mutable_config())[*key] = *key;
  }
  EXPECT_EQ(ToJson(one), ToJson(other));
  EXPECT_THAT(ToJson(one),
              HasSubstr(R"("config":{"a":"a","apiKey":"apiKey","b":"b",)"
                        R"("baseUrl":"baseUrl",)"
                        R"("extraProjectSlugs":"extraProjectSlugs",)"
                        R"("login":"login","userId":"userId"})"));
}

TEST(ToJson, GraphObjectsOnTheirOwnAreFlat) {
  EXPECT_EQ(ToJson(User("circleci_user:1")),
            EntityToJson(User("circleci_user:1"), false));
  EXPECT_EQ(ToJson(User("circleci_user:1"), /*include_raw_data=*/true),
            EntityToJson(User("circleci_user:1"), true));
  EXPECT_EQ(ToJson(Has()), RelationshipToJson(Has()));
}

TEST(ToJson, ChangeEventEnvelopeIsProtoJsonWithFlatObjects) {
  v1::ChangeEvent event;
  event.set_sequence(1873);
  event.set_kind(v1::CHANGE_KIND_UPDATED);
  event.set_instance_id("ci-prod");
  event.set_run_id(13);
  event.set_time_ms(1711015384000);
  *event.mutable_entity() = User("circleci_user:1");
  *event.mutable_previous_entity() = User("circleci_user:1");
  EXPECT_EQ(
      ToJson(event),
      R"({"sequence":"1873","kind":"CHANGE_KIND_UPDATED","instanceId":"ci-prod",)"
      R"("runId":"13","timeMs":"1711015384000","entity":)" +
          EntityToJson(event.entity(), false) + R"(,"previousEntity":)" +
          EntityToJson(event.previous_entity(), false) + "}");
  EXPECT_THAT(ToJson(event, true), HasSubstr(R"("_rawData":)"));
  EXPECT_THAT(ToJson(event, false), Not(HasSubstr(R"("_rawData":)")));
}

TEST(ToJson, RelationshipFieldsAreFlat) {
  v1::ChangeEvent event;
  event.set_sequence(7);
  event.set_kind(v1::CHANGE_KIND_DELETED);
  *event.mutable_relationship() = Has();
  *event.mutable_previous_relationship() = Has();
  const std::string json = ToJson(event);
  EXPECT_THAT(json, HasSubstr(R"("kind":"CHANGE_KIND_DELETED")"));
  EXPECT_THAT(json,
              HasSubstr(R"("relationship":)" + RelationshipToJson(Has())));
  EXPECT_THAT(json, HasSubstr(R"("previousRelationship":)" +
                              RelationshipToJson(Has())));
  EXPECT_THAT(json, Not(HasSubstr(R"("entity")")));
  // Quotes in the envelope are escaped: the line still parses.
  event.set_instance_id("ci \"prod\"");
  const std::string quoted = ToJson(event);
  rapidjson::Document document;
  document.Parse(quoted.c_str());
  ASSERT_TRUE(document.IsObject()) << quoted;
  EXPECT_STREQ(document["instanceId"].GetString(), "ci \"prod\"");
  EXPECT_STREQ(document["sequence"].GetString(), "7");
  EXPECT_STREQ(document["previousRelationship"]["_fromEntityKey"].GetString(),
               "circleci_account:1");
}

TEST(ToJson, NeighborDirectionByNameAndFlatObjects) {
  v1::Neighbor neighbor;
  neighbor.set_direction(v1::DIRECTION_OUT);
  *neighbor.mutable_relationship() = Has();
  *neighbor.mutable_entity() = User("circleci_user:1");
  EXPECT_EQ(ToJson(neighbor, true),
            R"({"direction":"DIRECTION_OUT","relationship":)" +
                RelationshipToJson(Has()) + R"(,"entity":)" +
                EntityToJson(neighbor.entity(), true) + "}");
}

TEST(ToJson, AMessageOfOnlyGraphObjectsStaysValid) {
  v1::Neighbor neighbor;
  *neighbor.mutable_entity() = User("circleci_user:1");
  // Zero values are printed, so direction comes first even when unset.
  EXPECT_EQ(ToJson(neighbor),
            R"({"direction":"DIRECTION_UNSPECIFIED","entity":)" +
                EntityToJson(neighbor.entity(), false) + "}");
  EXPECT_EQ(ToJson(v1::GetEntityRequest()),
            R"({"instanceId":"","key":"","includeRawData":false})");
}

TEST(ToJson, InvalidUtf8IsStillOneParseableLine) {
  v1::Instance instance;
  instance.set_id("\xff\xfe");
  instance.set_integration("circleci");
  // protobuf drops the field or refuses the message (then ToJson prints an
  // error object); either way the line is one JSON object.
  const std::string json = ToJson(instance);
  rapidjson::Document document;
  document.Parse(json.c_str());
  EXPECT_TRUE(!document.HasParseError() && document.IsObject()) << json;
  EXPECT_EQ(json.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace graphmill::cli
