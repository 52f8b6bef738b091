// Tests of payload.h: upload validation (shape, required fields, raw data,
// property values), job creation, finalize, abort and event bodies.
#include "tests/fakes/jupiterone/payload.h"

#include "gtest/gtest.h"

namespace graphmill::fakes::jupiterone {
namespace {

// The error of a parse that must fail; fails the test if it succeeded.
template <typename T>
ApiError ErrorOf(const Parsed<T>& parsed) {
  const ApiError* error = std::get_if<ApiError>(&parsed);
  if (error == nullptr) {
    ADD_FAILURE() << "expected an error";
    return {};
  }
  return *error;
}

TEST(ParseUploadBodyTest, AcceptsFlatEntitiesWithRawDataAndCanonicalizes) {
  Parsed<std::vector<ReceivedObject>> parsed = ParseUploadBody(
      R"({"entities":[
          {"_type":"circleci_user","_key":"circleci_user:1","_class":["User"],
           "name":"a","tags":["x",1,true,null],"active":true,"n":1.5,
           "_rawData":[{"name":"default","rawData":{"z":1,"a":{"b":[1]}}},
                       {"name":"text","rawData":"plain"}]},
          {"_key":"circleci_org:22","_type":"circleci_org","_class":"Account"}
        ]})",
      ObjectKind::kEntity);
  ASSERT_TRUE(std::holds_alternative<std::vector<ReceivedObject>>(parsed))
      << ErrorOf(parsed).message;
  const auto& objects = std::get<std::vector<ReceivedObject>>(parsed);
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0].key, "circleci_user:1");
  EXPECT_EQ(objects[0].type, "circleci_user");
  // Members sorted at every level, compact.
  EXPECT_EQ(objects[0].json,
            R"({"_class":["User"],"_key":"circleci_user:1",)"
            R"("_rawData":[{"name":"default","rawData":{"a":{"b":[1]},"z":1}},)"
            R"({"name":"text","rawData":"plain"}],"_type":"circleci_user",)"
            R"("active":true,"n":1.5,"name":"a","tags":["x",1,true,null]})");
  EXPECT_EQ(objects[1].key, "circleci_org:22");
}

TEST(ParseUploadBodyTest, AcceptsRelationshipsWithKeysOrMapping) {
  Parsed<std::vector<ReceivedObject>> parsed = ParseUploadBody(
      R"({"relationships":[
          {"_key":"a|has|b","_type":"x_has_y","_class":"HAS",
           "_fromEntityKey":"a","_toEntityKey":"b","role":"admin"},
          {"_key":"m|is|u","_type":"mapping_source_is_user","_class":"IS",
           "_mapping":{"sourceEntityKey":"m","targetEntity":{"_type":"u"}}}
        ]})",
      ObjectKind::kRelationship);
  ASSERT_TRUE(std::holds_alternative<std::vector<ReceivedObject>>(parsed))
      << ErrorOf(parsed).message;
  EXPECT_EQ(std::get<std::vector<ReceivedObject>>(parsed).size(), 2u);
}

TEST(ParseUploadBodyTest, RejectsWrongShapes) {
  ApiError not_json = ErrorOf(ParseUploadBody("{", ObjectKind::kEntity));
  EXPECT_EQ(not_json.http_status, 400);
  EXPECT_EQ(not_json.code, "INVALID_JSON");
  ApiError not_object = ErrorOf(ParseUploadBody("[]", ObjectKind::kEntity));
  EXPECT_EQ(not_object.code, "INVALID_JSON");
  ApiError not_array =
      ErrorOf(ParseUploadBody(R"({"entities":{}})", ObjectKind::kEntity));
  EXPECT_EQ(not_array.code, "ENTITY_IS_NOT_ARRAY");
  EXPECT_EQ(not_array.message, R"("entities" should be an array)");
  // The member must match the route.
  ApiError wrong_member =
      ErrorOf(ParseUploadBody(R"({"entities":[]})", ObjectKind::kRelationship));
  EXPECT_EQ(wrong_member.code, "RELATIONSHIP_IS_NOT_ARRAY");
}

TEST(ParseUploadBodyTest, RejectsInvalidObjectsNamingIndexAndField) {
  struct Case {
    const char* object;
    ObjectKind kind;
    const char* message;
  };
  const char* kValid =
      R"({"_key":"k0000000001","_type":"t_x","_class":"Thing"},)";
  for (const Case& c : {
           Case{R"(5)", ObjectKind::kEntity, "entities[1] is not an object"},
           Case{R"({"_type":"t_x","_class":"A"})", ObjectKind::kEntity,
                "entities[1]._key is required (a non-empty string)"},
           Case{R"({"_key":"","_type":"t_x","_class":"A"})",
                ObjectKind::kEntity,
                "entities[1]._key is required (a non-empty string)"},
           Case{R"({"_key":"k","_class":"A"})", ObjectKind::kEntity,
                "entities[1]._type is required (a non-empty string)"},
           Case{R"({"_key":"k","_type":"t"})", ObjectKind::kEntity,
                "entities[1]._class is required (a non-empty string or "
                "array of them)"},
           Case{R"({"_key":"k","_type":"t","_class":[]})", ObjectKind::kEntity,
                "entities[1]._class must not be an empty array"},
           Case{R"({"_key":"k","_type":"t","_class":["A",3]})",
                ObjectKind::kEntity,
                "entities[1]._class must hold non-empty strings"},
           Case{R"({"_key":"k","_type":"t","_class":"A","p":{"x":1}})",
                ObjectKind::kEntity,
                "entities[1].p must be null, a primitive or an array of "
                "primitives"},
           Case{R"({"_key":"k","_type":"t","_class":"A","p":[[1]]})",
                ObjectKind::kEntity,
                "entities[1].p must be null, a primitive or an array of "
                "primitives"},
           Case{R"({"_key":"k","_type":"t","_class":"A","_rawData":{}})",
                ObjectKind::kEntity, "entities[1]._rawData must be an array"},
           Case{R"({"_key":"k","_type":"t","_class":"A",
                    "_rawData":[{"rawData":{}}]})",
                ObjectKind::kEntity,
                "entities[1]._rawData[0].name is required (a non-empty "
                "string)"},
           Case{R"({"_key":"k","_type":"t","_class":"A",
                    "_rawData":[{"name":"d","rawData":5}]})",
                ObjectKind::kEntity,
                "entities[1]._rawData[0].rawData is required (an object or "
                "a string)"},
           Case{R"({"_key":"k","_type":"t","_class":"A",
                    "_rawData":[{"name":"d","rawData":{}},
                                {"name":"d","rawData":"x"}]})",
                ObjectKind::kEntity,
                "entities[1]._rawData[1].name 'd' repeats "
                "(DUPLICATE_RAW_DATA_NAME)"},
           Case{R"({"_key":"k","_type":"t","_class":["HAS"],
                    "_fromEntityKey":"a","_toEntityKey":"b"})",
                ObjectKind::kRelationship,
                "relationships[1]._class is required (a non-empty string)"},
           Case{R"({"_key":"k","_type":"t","_class":"HAS",
                    "_fromEntityKey":"a"})",
                ObjectKind::kRelationship,
                "relationships[1]._toEntityKey is required (a non-empty "
                "string) unless _mapping is given"},
           Case{R"({"_key":"k","_type":"t","_class":"HAS","_mapping":[]})",
                ObjectKind::kRelationship,
                "relationships[1]._mapping must be an object"},
           Case{R"({"_key":"k","_type":"t","_class":"HAS",
                    "_fromEntityKey":"a","_toEntityKey":"b",
                    "_rawData":[{"name":"d","rawData":{}}]})",
                ObjectKind::kRelationship,
                "relationships[1]._rawData must be null, a primitive or an "
                "array of primitives"},
       }) {
    const std::string body =
        std::string("{\"") + ObjectKindPlural(c.kind) + "\":[" +
        (c.kind == ObjectKind::kEntity
             ? kValid
             : R"({"_key":"r1","_type":"t_x","_class":"HAS",)"
               R"("_fromEntityKey":"a","_toEntityKey":"b"},)") +
        c.object + "]}";
    ApiError error = ErrorOf(ParseUploadBody(body, c.kind));
    EXPECT_EQ(error.http_status, 400) << c.object;
    EXPECT_EQ(error.code, "INVALID_GRAPH_OBJECT") << c.object;
    EXPECT_EQ(error.message, c.message) << c.object;
  }
}

TEST(ParseCreateJobBodyTest, AcceptsTheSourcesWithTheirFields) {
  auto external = ParseCreateJobBody(
      R"({"source":"integration-external","integrationInstanceId":"ii-1"})");
  ASSERT_TRUE(std::holds_alternative<CreateJobRequest>(external));
  EXPECT_EQ(std::get<CreateJobRequest>(external).integration_instance_id,
            "ii-1");
  auto api = ParseCreateJobBody(R"({"source":"api","scope":"s1"})");
  ASSERT_TRUE(std::holds_alternative<CreateJobRequest>(api));
  EXPECT_EQ(std::get<CreateJobRequest>(api).scope, "s1");
  auto managed = ParseCreateJobBody(
      R"({"source":"integration-managed","integrationInstanceId":"i",)"
      R"("integrationJobId":"job-7"})");
  ASSERT_TRUE(std::holds_alternative<CreateJobRequest>(managed));
  EXPECT_EQ(std::get<CreateJobRequest>(managed).integration_job_id, "job-7");
}

TEST(ParseCreateJobBodyTest, RejectsMissingFieldsAndUnknownSources) {
  EXPECT_EQ(ErrorOf(ParseCreateJobBody(R"({"source":"integration-external"})"))
                .message,
            R"("integrationInstanceId" is required for source )"
            R"("integration-external")");
  EXPECT_EQ(ErrorOf(ParseCreateJobBody(R"({"source":"api"})")).message,
            R"("scope" is required for source "api")");
  EXPECT_EQ(ErrorOf(ParseCreateJobBody(R"({"source":"ftp"})")).code,
            "INVALID_SYNC_JOB_CONFIG");
  EXPECT_EQ(
      ErrorOf(ParseCreateJobBody(R"({"integrationInstanceId":"i"})")).code,
      "INVALID_SYNC_JOB_CONFIG");
  EXPECT_EQ(
      ErrorOf(ParseCreateJobBody(R"({"source":"api","scope":5})")).message,
      R"("scope" must be a string)");
  EXPECT_EQ(ErrorOf(ParseCreateJobBody("")).code, "INVALID_JSON");
}

TEST(ParseFinalizeBodyTest, ReadsPartialTypes) {
  auto types = ParseFinalizeBody(
      R"({"partialDatasets":{"types":["circleci_job","circleci_pipeline"]}})");
  ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(types));
  EXPECT_EQ(std::get<std::vector<std::string>>(types),
            (std::vector<std::string>{"circleci_job", "circleci_pipeline"}));
  for (const char* empty :
       {"", "{}", R"({"partialDatasets":{}})", R"({"partialDatasets":null})"}) {
    auto none = ParseFinalizeBody(empty);
    ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(none))
        << empty;
    EXPECT_TRUE(std::get<std::vector<std::string>>(none).empty());
  }
  EXPECT_EQ(
      ErrorOf(ParseFinalizeBody(R"({"partialDatasets":{"types":"x"}})")).code,
      "INVALID_PARTIAL_DATASETS");
  EXPECT_EQ(
      ErrorOf(ParseFinalizeBody(R"({"partialDatasets":{"types":[1]}})")).code,
      "INVALID_PARTIAL_DATASETS");
}

TEST(ParseAbortBodyTest, ReadsReasonAndTerminalStatus) {
  auto abort = ParseAbortBody(R"({"reason":"upload failed"})");
  ASSERT_TRUE(std::holds_alternative<AbortRequest>(abort));
  EXPECT_EQ(std::get<AbortRequest>(abort).reason, "upload failed");
  EXPECT_EQ(std::get<AbortRequest>(abort).terminal_status, "ABORTED");
  auto bad_data =
      ParseAbortBody(R"({"reason":"x","terminalStatus":"ERROR_BAD_DATA"})");
  ASSERT_TRUE(std::holds_alternative<AbortRequest>(bad_data));
  EXPECT_EQ(std::get<AbortRequest>(bad_data).terminal_status, "ERROR_BAD_DATA");
  EXPECT_TRUE(std::holds_alternative<AbortRequest>(ParseAbortBody("")));
  EXPECT_EQ(ErrorOf(ParseAbortBody(R"({"terminalStatus":"FINISHED"})")).code,
            "INVALID_ABORT");
  EXPECT_EQ(ErrorOf(ParseAbortBody(R"({"reason":7})")).code, "INVALID_ABORT");
}

TEST(ParseEventsBodyTest, ReadsNameAndDescription) {
  auto events =
      ParseEventsBody(R"({"events":[{"name":"warn_x","description":"d1"}]})");
  ASSERT_TRUE(
      (std::holds_alternative<std::vector<std::pair<std::string, std::string>>>(
          events)));
  EXPECT_EQ(
      (std::get<std::vector<std::pair<std::string, std::string>>>(events)[0]),
      (std::pair<std::string, std::string>{"warn_x", "d1"}));
  EXPECT_EQ(ErrorOf(ParseEventsBody(R"({"events":[{"name":"x"}]})")).code,
            "INVALID_EVENTS");
}

TEST(ErrorBodyTest, IsJupiterOnesShape) {
  EXPECT_EQ(ErrorBody({413, "RequestEntityTooLargeException", "too \"big\""}),
            R"({"error":{"code":"RequestEntityTooLargeException",)"
            R"("message":"too \"big\""}})");
}

}  // namespace
}  // namespace graphmill::fakes::jupiterone
