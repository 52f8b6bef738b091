// Tests of the fake JupiterOne server over HTTP: auth, the job lifecycle and
// state machine, validation, the 413 size limit (gzip bodies decoded first),
// faults, the diff after finalize, and the control endpoints.
#include "tests/fakes/jupiterone/fake_jupiterone.h"

#include <httplib.h>
#include <zlib.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace graphmill::fakes {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kJobs[] = "/persister/synchronization/jobs";

std::string Gzip(const std::string& text) {
  z_stream stream{};
  deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
               Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, text.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

rapidjson::Document Parse(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str(), text.size());
  EXPECT_FALSE(document.HasParseError()) << text;
  return document;
}

std::string Entity(const std::string& key, const std::string& type = "t_x",
                   const std::string& extra = "") {
  return absl::StrCat(R"({"_key":")", key, R"(","_type":")", type,
                      R"(","_class":["Thing"],"name":"n")", extra, "}");
}

std::string Relationship(const std::string& key) {
  return absl::StrCat(R"({"_key":")", key,
                      R"(","_type":"t_has_y","_class":"HAS",)"
                      R"("_fromEntityKey":"a","_toEntityKey":"b"})");
}

class FakeJupiterOneTest : public ::testing::Test {
 protected:
  void Start(FakeJupiterOneOptions options = {}) {
    absl::StatusOr<std::unique_ptr<FakeJupiterOne>> fake =
        FakeJupiterOne::Start(std::move(options));
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = *std::move(fake);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", fake_->port());
    client_->set_read_timeout(10, 0);
  }

  httplib::Headers Auth(const std::string& token = "test-token",
                        const std::string& account = "test-account") {
    return {{"Authorization", "Bearer " + token},
            {"JupiterOne-Account", account}};
  }

  httplib::Result Post(const std::string& path, const std::string& body,
                       httplib::Headers headers) {
    return client_->Post(path.c_str(), headers, body, "application/json");
  }
  httplib::Result Post(const std::string& path, const std::string& body) {
    return Post(path, body, Auth());
  }

  // Creates a job for `instance`; returns its id.
  std::string CreateJob(const std::string& instance = "ii-1") {
    httplib::Result result = Post(
        kJobs, absl::StrCat(R"({"source":"integration-external",)",
                            R"("integrationInstanceId":")", instance, R"("})"));
    EXPECT_TRUE(result) << httplib::to_string(result.error());
    if (!result) return "";
    EXPECT_EQ(result->status, 200) << result->body;
    rapidjson::Document document = Parse(result->body);
    return document["job"]["id"].GetString();
  }

  std::string JobPath(const std::string& id, const std::string& action = "") {
    return absl::StrCat(kJobs, "/", id, action.empty() ? "" : "/", action);
  }

  std::unique_ptr<FakeJupiterOne> fake_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(FakeJupiterOneTest, JobLifecycleFromCreateToFinished) {
  Start();
  httplib::Result created = Post(
      kJobs,
      R"({"source":"integration-external","integrationInstanceId":"ii-1"})");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  EXPECT_EQ(created->get_header_value("Content-Type"),
            "application/json; charset=utf-8");
  rapidjson::Document job = Parse(created->body);
  const std::string id = job["job"]["id"].GetString();
  EXPECT_STREQ(job["job"]["status"].GetString(), "AWAITING_UPLOADS");
  EXPECT_STREQ(job["job"]["source"].GetString(), "integration-external");
  EXPECT_STREQ(job["job"]["integrationInstanceId"].GetString(), "ii-1");
  EXPECT_TRUE(job["job"]["scope"].IsNull());
  EXPECT_EQ(job["job"]["numEntitiesUploaded"].GetInt64(), 0);

  httplib::Result entities =
      Post(JobPath(id, "entities"),
           absl::StrCat(R"({"entities":[)", Entity("entity-0001"), ",",
                        Entity("entity-0002", "t_y"), "]}"),
           [&] {
             httplib::Headers headers = Auth();
             headers.emplace("JupiterOne-Correlation-Id", "corr-1");
             return headers;
           }());
  ASSERT_TRUE(entities);
  ASSERT_EQ(entities->status, 200) << entities->body;
  EXPECT_EQ(Parse(entities->body)["job"]["numEntitiesUploaded"].GetInt64(), 2);
  httplib::Result relationships = Post(
      JobPath(id, "relationships"),
      absl::StrCat(R"({"relationships":[)", Relationship("rel-00001"), "]}"));
  ASSERT_TRUE(relationships);
  ASSERT_EQ(relationships->status, 200) << relationships->body;

  httplib::Result finalized =
      Post(JobPath(id, "finalize"), R"({"partialDatasets":{"types":["t_y"]}})");
  ASSERT_TRUE(finalized);
  ASSERT_EQ(finalized->status, 200) << finalized->body;
  EXPECT_STREQ(Parse(finalized->body)["job"]["status"].GetString(),
               "FINALIZE_PENDING");

  httplib::Result got = client_->Get(JobPath(id).c_str(), Auth());
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200);
  rapidjson::Document finished = Parse(got->body);
  EXPECT_STREQ(finished["job"]["status"].GetString(), "FINISHED");
  EXPECT_EQ(finished["job"]["numEntitiesUploaded"].GetInt64(), 2);
  EXPECT_EQ(finished["job"]["numEntitiesCreated"].GetInt64(), 2);
  EXPECT_EQ(finished["job"]["numRelationshipsUploaded"].GetInt64(), 1);
  EXPECT_EQ(finished["job"]["numRelationshipsCreated"].GetInt64(), 1);

  // What the job received, through the class and the control endpoint.
  std::optional<jupiterone::JobSnapshot> snapshot = fake_->Job(id);
  ASSERT_TRUE(snapshot.has_value());
  EXPECT_THAT(snapshot->entities,
              ElementsAre(Pair("entity-0001", ::testing::_),
                          Pair("entity-0002", ::testing::_)));
  EXPECT_THAT(snapshot->partial_types, ElementsAre("t_y"));
  EXPECT_EQ(snapshot->requests, 5);  // create, 2 uploads, finalize, get
  ASSERT_EQ(snapshot->uploads.size(), 2u);
  EXPECT_EQ(snapshot->uploads[0].correlation_id, "corr-1");
  EXPECT_FALSE(snapshot->uploads[0].gzip);

  httplib::Result control = client_->Get(
      absl::StrCat("/_control/jobs/", id, "?objects=true").c_str());
  ASSERT_TRUE(control);
  ASSERT_EQ(control->status, 200);
  rapidjson::Document view = Parse(control->body);
  EXPECT_STREQ(view["job"]["status"].GetString(), "FINISHED");
  EXPECT_EQ(view["requests"].GetInt64(), 5);
  EXPECT_EQ(view["uploads"].Size(), 2u);
  EXPECT_EQ(view["uploads"][0]["objects"].GetInt64(), 2);
  EXPECT_STREQ(view["uploads"][0]["kind"].GetString(), "entities");
  EXPECT_STREQ(view["uploads"][1]["kind"].GetString(), "relationships");
  EXPECT_STREQ(view["entityKeys"][1].GetString(), "entity-0002");
  EXPECT_STREQ(view["relationshipKeys"][0].GetString(), "rel-00001");
  EXPECT_STREQ(view["partialTypes"][0].GetString(), "t_y");
  EXPECT_EQ(view["diff"]["entities"]["created"].GetInt64(), 2);
  EXPECT_STREQ(view["entities"][0]["name"].GetString(), "n");
  EXPECT_STREQ(view["relationships"][0]["_fromEntityKey"].GetString(), "a");

  httplib::Result list = client_->Get("/_control/jobs");
  ASSERT_TRUE(list);
  rapidjson::Document jobs = Parse(list->body);
  ASSERT_EQ(jobs["jobs"].Size(), 1u);
  EXPECT_STREQ(jobs["jobs"][0]["job"]["id"].GetString(), id.c_str());
  EXPECT_FALSE(jobs["jobs"][0].HasMember("entityKeys"));
}

TEST_F(FakeJupiterOneTest, RequiresTheBearerTokenAndTheAccount) {
  Start();
  const std::string body =
      R"({"source":"integration-external","integrationInstanceId":"i"})";
  for (const httplib::Headers& headers :
       {httplib::Headers{}, Auth("wrong-token"), Auth("test-token", "other"),
        httplib::Headers{{"Authorization", "Bearer test-token"}},
        httplib::Headers{{"Authorization", "test-token"},
                         {"JupiterOne-Account", "test-account"}}}) {
    httplib::Result result = Post(kJobs, body, headers);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 401);
    rapidjson::Document error = Parse(result->body);
    EXPECT_STREQ(error["error"]["code"].GetString(), "UNAUTHORIZED");
    EXPECT_THAT(result->body, ::testing::Not(HasSubstr("test-token")));
  }
  EXPECT_TRUE(fake_->Jobs().empty());
  // The scheme is case-insensitive.
  httplib::Result lower = Post(kJobs, body,
                               {{"Authorization", "bearer test-token"},
                                {"JupiterOne-Account", "test-account"}});
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->status, 200);
  EXPECT_EQ(fake_->RequestCount("create-job"), 6);
  EXPECT_EQ(fake_->RequestCount("total"), 6);
}

TEST_F(FakeJupiterOneTest, InvalidUploadsAreRejectedWholeAndCounted) {
  Start();
  const std::string id = CreateJob();
  httplib::Result missing_class =
      Post(JobPath(id, "entities"),
           absl::StrCat(R"({"entities":[)", Entity("entity-0001"),
                        R"(,{"_key":"entity-0002","_type":"t_x"}]})"));
  ASSERT_TRUE(missing_class);
  EXPECT_EQ(missing_class->status, 400);
  rapidjson::Document error = Parse(missing_class->body);
  EXPECT_STREQ(error["error"]["code"].GetString(), "INVALID_GRAPH_OBJECT");
  EXPECT_THAT(error["error"]["message"].GetString(),
              HasSubstr("entities[1]._class is required"));

  httplib::Result not_array =
      Post(JobPath(id, "relationships"), R"({"relationships":{}})");
  ASSERT_TRUE(not_array);
  EXPECT_EQ(not_array->status, 400);
  EXPECT_STREQ(Parse(not_array->body)["error"]["code"].GetString(),
               "RELATIONSHIP_IS_NOT_ARRAY");

  httplib::Result bad_create =
      Post(kJobs, R"({"source":"integration-external"})");
  ASSERT_TRUE(bad_create);
  EXPECT_EQ(bad_create->status, 400);

  const jupiterone::JobSnapshot snapshot = *fake_->Job(id);
  EXPECT_TRUE(snapshot.entities.empty());
  EXPECT_TRUE(snapshot.uploads.empty());
  EXPECT_EQ(snapshot.rejected_requests, 2);
  EXPECT_EQ(snapshot.job.entities_uploaded, 0);
}

TEST_F(FakeJupiterOneTest, EndedJobsRejectUploadsWithJobNotAwaitingUploads) {
  Start();
  const std::string finalized = CreateJob();
  ASSERT_EQ(Post(JobPath(finalized, "finalize"), "")->status, 200);
  httplib::Result late =
      Post(JobPath(finalized, "entities"),
           absl::StrCat(R"({"entities":[)", Entity("entity-0001"), "]}"));
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 400);
  EXPECT_STREQ(Parse(late->body)["error"]["code"].GetString(),
               "JOB_NOT_AWAITING_UPLOADS");
  EXPECT_EQ(Post(JobPath(finalized, "finalize"), "")->status, 400);
  EXPECT_EQ(Post(JobPath(finalized, "abort"), R"({"reason":"x"})")->status,
            400);

  const std::string aborted = CreateJob();
  httplib::Result abort = Post(JobPath(aborted, "abort"),
                               R"({"reason":"upload failed: HTTP 500"})");
  ASSERT_TRUE(abort);
  ASSERT_EQ(abort->status, 200);
  EXPECT_STREQ(Parse(abort->body)["job"]["status"].GetString(), "ABORTED");
  EXPECT_EQ(Post(JobPath(aborted, "relationships"),
                 absl::StrCat(R"({"relationships":[)",
                              Relationship("rel-00001"), "]}"))
                ->status,
            400);
  EXPECT_EQ(fake_->Job(aborted)->abort_reason, "upload failed: HTTP 500");

  httplib::Result unknown =
      Post(JobPath("no-such-job", "entities"), R"({"entities":[]})");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_STREQ(Parse(unknown->body)["error"]["code"].GetString(),
               "JOB_NOT_FOUND");
  httplib::Result no_route = Post(JobPath(aborted, "delete"), "{}");
  ASSERT_TRUE(no_route);
  EXPECT_EQ(no_route->status, 404);
  EXPECT_EQ(fake_->RequestCount("unmatched"), 1);
}

TEST_F(FakeJupiterOneTest, BodiesOverTheLimitGet413AfterGzipDecoding) {
  FakeJupiterOneOptions options;
  options.max_body_bytes = 2000;
  Start(options);
  const std::string id = CreateJob();
  // A body of exactly the limit fits; one byte more does not.
  std::string body = absl::StrCat(
      R"({"entities":[)", Entity("entity-0001", "t_x", R"(,"pad":")"), "]}");
  const size_t pad = 2000 - body.size() - 1;  // the closing quote
  body = absl::StrCat(
      R"({"entities":[)",
      Entity("entity-0001", "t_x",
             absl::StrCat(R"(,"pad":")", std::string(pad, 'p'), "\"")),
      "]}");
  ASSERT_EQ(body.size(), 2000u);
  httplib::Result fits = Post(JobPath(id, "entities"), body);
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 200) << fits->body;

  const std::string too_big = absl::StrCat(
      R"({"entities":[)",
      Entity("entity-0002", "t_x",
             absl::StrCat(R"(,"pad":")", std::string(pad + 1, 'p'), "\"")),
      "]}");
  httplib::Result rejected = Post(JobPath(id, "entities"), too_big);
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 413);
  rapidjson::Document error = Parse(rejected->body);
  EXPECT_STREQ(error["error"]["code"].GetString(),
               "RequestEntityTooLargeException");
  EXPECT_THAT(error["error"]["message"].GetString(),
              HasSubstr("2001 bytes exceeds the limit of 2000"));

  // Compressed it is far smaller than the limit, but the decoded body counts.
  const std::string compressed = Gzip(too_big);
  ASSERT_LT(compressed.size(), 500u);
  httplib::Headers gzip_headers = Auth();
  gzip_headers.emplace("Content-Encoding", "gzip");
  httplib::Result gzip_rejected =
      Post(JobPath(id, "entities"), compressed, gzip_headers);
  ASSERT_TRUE(gzip_rejected);
  EXPECT_EQ(gzip_rejected->status, 413);

  const jupiterone::JobSnapshot snapshot = *fake_->Job(id);
  EXPECT_THAT(snapshot.entities,
              ElementsAre(Pair("entity-0001", ::testing::_)));
  EXPECT_EQ(snapshot.rejected_requests, 2);
}

TEST_F(FakeJupiterOneTest, GzipBodiesAreDecodedAndRecorded) {
  Start();
  const std::string id = CreateJob();
  std::string body = R"({"entities":[)";
  for (int i = 0; i < 50; ++i) {
    if (i > 0) body += ",";
    body += Entity(absl::StrCat("entity-", 1000 + i));
  }
  body += "]}";
  const std::string compressed = Gzip(body);
  httplib::Headers headers = Auth();
  headers.emplace("Content-Encoding", "gzip");
  httplib::Result result = Post(JobPath(id, "entities"), compressed, headers);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const jupiterone::JobSnapshot snapshot = *fake_->Job(id);
  EXPECT_EQ(snapshot.entities.size(), 50u);
  ASSERT_EQ(snapshot.uploads.size(), 1u);
  EXPECT_TRUE(snapshot.uploads[0].gzip);
  EXPECT_EQ(snapshot.uploads[0].body_bytes, static_cast<int64_t>(body.size()));
  EXPECT_EQ(snapshot.uploads[0].wire_bytes,
            static_cast<int64_t>(compressed.size()));
}

TEST_F(FakeJupiterOneTest, FaultsAnswerTheirStatusFirstKTimes) {
  Start();
  const std::string id = CreateJob();
  ASSERT_TRUE(fake_->AddFault("entities:500:times=1").ok());
  ASSERT_TRUE(fake_->AddFault("relationships:429:times=1:retry_after=7").ok());
  ASSERT_TRUE(fake_->AddFault("finalize:413:times=1").ok());
  const std::string entities =
      absl::StrCat(R"({"entities":[)", Entity("entity-0001"), "]}");

  httplib::Result first = Post(JobPath(id, "entities"), entities);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 500);
  EXPECT_STREQ(Parse(first->body)["error"]["code"].GetString(),
               "INTERNAL_SERVER_ERROR");
  httplib::Result second = Post(JobPath(id, "entities"), entities);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);

  httplib::Result limited =
      Post(JobPath(id, "relationships"), R"({"relationships":[]})");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "7");
  httplib::Result too_large = Post(JobPath(id, "finalize"), "{}");
  ASSERT_TRUE(too_large);
  EXPECT_EQ(too_large->status, 413);
  EXPECT_STREQ(Parse(too_large->body)["error"]["code"].GetString(),
               "RequestEntityTooLargeException");
  EXPECT_EQ(Post(JobPath(id, "finalize"), "{}")->status, 200);

  const jupiterone::JobSnapshot snapshot = *fake_->Job(id);
  EXPECT_EQ(snapshot.uploads.size(), 1u);  // only the second entities upload
  EXPECT_EQ(snapshot.rejected_requests, 3);
  EXPECT_EQ(fake_->RequestCount("entities"), 2);
  for (const auto& entry : fake_->Faults()) EXPECT_EQ(entry.fired, 1);

  // A 401 fault, even with the right token.
  ASSERT_TRUE(fake_->AddFault("create-job:401:times=1").ok());
  httplib::Result unauthorized =
      Post(kJobs,
           R"({"source":"integration-external","integrationInstanceId":"i"})");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
}

TEST_F(FakeJupiterOneTest, LatencyFaultSlowsTheAnswer) {
  Start();
  ASSERT_TRUE(fake_->AddFault("get-job:latency:ms=150").ok());
  const std::string id = CreateJob();
  const auto start = std::chrono::steady_clock::now();
  httplib::Result result = client_->Get(JobPath(id).c_str(), Auth());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));
}

TEST_F(FakeJupiterOneTest, ControlEndpointsManageFaultsCountersAndState) {
  Start();
  httplib::Result added = client_->Post(
      "/_control/faults",
      R"({"faults":["entities:413:times=2",{"route":"abort","kind":"503"}]})",
      "application/json");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 200) << added->body;
  rapidjson::Document faults = Parse(added->body);
  ASSERT_EQ(faults["faults"].Size(), 2u);
  EXPECT_STREQ(faults["faults"][0]["spec"].GetString(), "entities:413:times=2");
  EXPECT_STREQ(faults["faults"][1]["spec"].GetString(), "abort:503");
  httplib::Result bad = client_->Post(
      "/_control/faults", R"({"spec":"entities:999"})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(fake_->Faults().size(), 2u);
  ASSERT_EQ(client_->Delete("/_control/faults")->status, 200);
  EXPECT_TRUE(fake_->Faults().empty());

  const std::string id = CreateJob("ii-9");
  Post(JobPath(id, "entities"),
       absl::StrCat(R"({"entities":[)", Entity("entity-0001"), "]}"));
  Post(JobPath(id, "finalize"), "{}");
  httplib::Result graph = client_->Get("/_control/graphs/ii-9");
  ASSERT_TRUE(graph);
  EXPECT_STREQ(Parse(graph->body)["entities"]["entity-0001"].GetString(),
               "t_x");

  httplib::Result counters = client_->Get("/_control/counters");
  ASSERT_TRUE(counters);
  rapidjson::Document counts = Parse(counters->body);
  EXPECT_EQ(counts["create-job"].GetInt64(), 1);
  EXPECT_EQ(counts["entities"].GetInt64(), 1);
  EXPECT_EQ(counts["total"].GetInt64(), 3);
  ASSERT_EQ(client_->Delete("/_control/counters")->status, 200);
  EXPECT_EQ(fake_->RequestCount("total"), 0);

  ASSERT_EQ(client_->Delete("/_control/state")->status, 200);
  EXPECT_TRUE(fake_->Jobs().empty());
  EXPECT_TRUE(fake_->Graph("ii-9").entities.empty());
  EXPECT_EQ(client_->Get("/_control/jobs/nope")->status, 404);
  EXPECT_EQ(client_->Get("/_control/health")->status, 200);
}

TEST_F(FakeJupiterOneTest, EventsAreRecorded) {
  Start();
  const std::string id = CreateJob();
  httplib::Result result = Post(
      JobPath(id, "events"),
      R"({"events":[{"name":"warn_x","description":"something happened"}]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_THAT(fake_->Job(id)->events,
              ElementsAre(Pair("warn_x", "something happened")));
}

TEST(FakeJupiterOneOptionsTest, BadOptionsAreInvalidArgument) {
  FakeJupiterOneOptions no_token;
  no_token.token = "";
  EXPECT_EQ(FakeJupiterOne::Start(no_token).status().code(),
            absl::StatusCode::kInvalidArgument);
  FakeJupiterOneOptions no_limit;
  no_limit.max_body_bytes = 0;
  EXPECT_EQ(FakeJupiterOne::Start(no_limit).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphmill::fakes
