// Tests of the fake Heroku's app webhooks: a mutation delivers a signed body
// of Heroku's documented shape to a real loopback receiver before the
// mutation request is answered; targets filter by include and app;
// redelivery repeats the body; POST/GET /apps/{app}/webhooks register and
// list targets and validate their input.
#include <httplib.h>

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/hmac.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fakes/common/webhook_receiver.h"
#include "tests/fakes/heroku/fake_heroku.h"
#include "tests/fakes/heroku/mutations.h"
#include "tests/fakes/heroku/test_util.h"

namespace graphmill::fakes {
namespace {

using common::ReceivedRequest;
using common::WebhookReceiver;
using heroku::Mutation;
using heroku_test::Get;
using heroku_test::kAccept;
using heroku_test::Keys;
using heroku_test::kToken;
using heroku_test::MakeClient;
using heroku_test::ParseJson;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'714'557'600);
constexpr char kNowText[] = "2024-05-01T10:00:00Z";
constexpr char kUuidPattern[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

std::string Str(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject() || !object.HasMember(key) || !object[key].IsString()) {
    ADD_FAILURE() << "no string member " << key;
    return "";
  }
  return object[key].GetString();
}

std::string Compact(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// True if Heroku-Webhook-Hmac-SHA256 is the base64 HMAC of the exact body.
bool SignedWith(const ReceivedRequest& request, const std::string& secret) {
  return ConstantTimeEquals(request.Header("Heroku-Webhook-Hmac-SHA256"),
                            HmacSha256Base64(secret, request.body));
}

class FakeHerokuWebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeHerokuOptions options;
    options.dataset.accounts = 1;
    options.dataset.shared_members = 0;
    options.dataset.teams_per_account = 2;
    options.dataset.apps_per_team = 3;
    options.dataset.addons_per_app = 2;
    options.tokens = {*heroku::ParseTokenSpec("test-token:global:admin"),
                      *heroku::ParseTokenSpec("t-read:read:admin")};
    options.clock = [] { return kNow; };
    absl::StatusOr<std::unique_ptr<FakeHeroku>> server =
        FakeHeroku::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = MakeClient(server_->port());
    absl::StatusOr<std::unique_ptr<WebhookReceiver>> receiver =
        WebhookReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
  }

  const heroku::Dataset& data() const { return server_->dataset(); }

  std::string AddTarget(const std::string& path, const std::string& secret,
                        const std::string& extra = "") {
    httplib::Result res = client_->Post(
        "/_control/webhooks",
        absl::StrCat(R"({"url":")", receiver_->url(path), R"(","secret":")",
                     secret, R"(")", extra, "}"),
        "application/json");
    EXPECT_TRUE(res);
    if (!res) return "";
    EXPECT_EQ(res->status, 201) << res->body;
    return Str(ParseJson(res->body), "id");
  }

  void Mutate(const std::string& body) {
    httplib::Result res =
        client_->Post("/_control/mutations", body, "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }

  httplib::Result PostApi(const std::string& target, const std::string& body,
                          const std::string& token = kToken) {
    httplib::Headers headers = {{"Accept", kAccept}};
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return client_->Post(target, headers, body, "application/json");
  }

  // The item `id` of the JSON array `list`, compact.
  static std::string ItemOf(const std::string& list, const std::string& id) {
    rapidjson::Document doc = ParseJson(list);
    for (const auto& item : doc.GetArray()) {
      if (Str(item, "id") == id) return Compact(item);
    }
    ADD_FAILURE() << "no item " << id;
    return "";
  }

  std::vector<std::string> ReceivedPaths() const {
    std::vector<std::string> paths;
    for (const ReceivedRequest& r : receiver_->requests()) {
      paths.push_back(r.target);
    }
    return paths;
  }

  std::unique_ptr<FakeHeroku> server_;
  std::unique_ptr<httplib::Client> client_;
  std::unique_ptr<WebhookReceiver> receiver_;
};

TEST_F(FakeHerokuWebhooksTest, RenameAppDeliversASignedAppUpdate) {
  const std::string target_id = AddTarget("/heroku", "app-secret");
  const heroku::App app = data().apps[4];
  const std::string team_apps =
      absl::StrCat("/teams/", data().teams[app.team].id, "/apps");
  Mutate(absl::StrCat(R"({"op":"rename_app","id":")", app.id,
                      R"(","name":"renamed-by-test"})"));

  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 1u);
  const ReceivedRequest& request = got[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/heroku");
  EXPECT_EQ(request.Header("Content-Type"), "application/json");
  EXPECT_TRUE(SignedWith(request, "app-secret"));
  EXPECT_FALSE(SignedWith(request, "app-secreT"));
  std::string raw;
  ASSERT_TRUE(
      absl::Base64Unescape(request.Header("Heroku-Webhook-Hmac-SHA256"), &raw));
  EXPECT_EQ(raw.size(), 32u);

  rapidjson::Document body = ParseJson(request.body);
  EXPECT_THAT(Keys(body), ElementsAre("id", "action", "actor", "created_at",
                                      "data", "previous_data", "published_at",
                                      "resource", "sequence", "updated_at",
                                      "version", "webhook_metadata"));
  const std::string event_id = Str(body, "id");
  EXPECT_TRUE(std::regex_match(event_id, std::regex(kUuidPattern)));
  EXPECT_EQ(Str(body, "action"), "update");
  EXPECT_EQ(Str(body, "resource"), "app");
  EXPECT_THAT(Keys(body["actor"]), ElementsAre("email", "id"));
  EXPECT_EQ(Str(body["actor"], "email"), data().users[0].email);
  EXPECT_EQ(Str(body["actor"], "id"), data().users[0].id);
  EXPECT_EQ(Str(body, "created_at"), kNowText);
  EXPECT_EQ(Str(body, "published_at"), kNowText);
  EXPECT_EQ(Str(body, "updated_at"), kNowText);
  EXPECT_TRUE(body["previous_data"].IsObject());
  EXPECT_EQ(body["previous_data"].MemberCount(), 0u);
  EXPECT_TRUE(body["sequence"].IsNull());
  EXPECT_EQ(Str(body, "version"), "application/vnd.heroku+json; version=3");
  // `data` is the app exactly as /teams/{id}/apps serves it now.
  httplib::Result apps = Get(*client_, team_apps);
  ASSERT_TRUE(apps);
  EXPECT_EQ(Compact(body["data"]), ItemOf(apps->body, app.id));
  EXPECT_EQ(Str(body["data"], "name"), "renamed-by-test");
  EXPECT_EQ(Str(body["data"], "updated_at"), kNowText);

  const rapidjson::Value& meta = body["webhook_metadata"];
  EXPECT_THAT(Keys(meta),
              ElementsAre("attempt", "delivery", "event", "webhook"));
  const std::string delivery_id = Str(meta["delivery"], "id");
  EXPECT_TRUE(std::regex_match(delivery_id, std::regex(kUuidPattern)));
  EXPECT_TRUE(
      std::regex_match(Str(meta["attempt"], "id"), std::regex(kUuidPattern)));
  EXPECT_NE(Str(meta["attempt"], "id"), delivery_id);
  EXPECT_THAT(Keys(meta["event"]), ElementsAre("id", "include"));
  EXPECT_EQ(Str(meta["event"], "id"), event_id);
  EXPECT_EQ(Str(meta["event"], "include"), "api:app");
  EXPECT_EQ(Str(meta["webhook"], "id"), target_id);
  EXPECT_EQ(request.Header("Heroku-Webhook-Id"), delivery_id);

  const common::WebhookTarget stored = *server_->webhooks().Find(target_id);
  EXPECT_EQ(stored.deliveries, 1);
  EXPECT_EQ(stored.last_status, 200);
}

TEST_F(FakeHerokuWebhooksTest, RemoveAppSendsTheAppThenEachAddonAsTheyWere) {
  AddTarget("/all", "s");
  const heroku::App app = data().apps[2];
  std::vector<std::string> addon_ids;
  for (const heroku::Addon& addon : data().addons) {
    if (data().apps[addon.app].id == app.id) addon_ids.push_back(addon.id);
  }
  ASSERT_EQ(addon_ids.size(), 2u);
  httplib::Result addons =
      Get(*client_, absl::StrCat("/apps/", app.id, "/addons"));
  httplib::Result apps = Get(
      *client_, absl::StrCat("/teams/", data().teams[app.team].id, "/apps"));
  ASSERT_TRUE(addons && apps);

  ASSERT_TRUE(server_->Mutate(Mutation::RemoveApp(app.name)).ok());
  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 3u);
  std::vector<std::string> kinds;
  std::vector<std::string> event_ids;
  for (const ReceivedRequest& request : got) {
    EXPECT_TRUE(SignedWith(request, "s"));
    rapidjson::Document body = ParseJson(request.body);
    kinds.push_back(
        absl::StrCat(Str(body, "resource"), "/", Str(body, "action"), "/",
                     Str(body["webhook_metadata"]["event"], "include")));
    event_ids.push_back(Str(body, "id"));
  }
  EXPECT_THAT(kinds,
              ElementsAre("app/destroy/api:app", "addon/destroy/api:addon",
                          "addon/destroy/api:addon"));
  EXPECT_NE(event_ids[0], event_ids[1]);
  EXPECT_NE(event_ids[1], event_ids[2]);
  // As the API served them before the change.
  EXPECT_EQ(Compact(ParseJson(got[0].body)["data"]),
            ItemOf(apps->body, app.id));
  EXPECT_EQ(Compact(ParseJson(got[1].body)["data"]),
            ItemOf(addons->body, addon_ids[0]));
  EXPECT_EQ(Compact(ParseJson(got[2].body)["data"]),
            ItemOf(addons->body, addon_ids[1]));
}

TEST_F(FakeHerokuWebhooksTest, TargetsGetOnlyTheirIncludesAndApp) {
  const heroku::App a = data().apps[0];
  const heroku::App b = data().apps[3];
  const heroku::Addon addon_of_a = data().addons[0];
  const heroku::Addon addon_of_b = data().addons[6];
  ASSERT_EQ(data().apps[addon_of_a.app].id, a.id);
  ASSERT_EQ(data().apps[addon_of_b.app].id, b.id);
  AddTarget("/addons-anywhere", "x", R"(,"events":["api:addon"])");
  AddTarget("/apps-of-a", "y",
            absl::StrCat(R"(,"events":["api:app"],"scope":")", a.id, R"(")"));
  // Registered through Heroku's API on app b: both entities.
  httplib::Result created = PostApi(
      absl::StrCat("/apps/", b.name, "/webhooks"),
      absl::StrCat(R"({"include":["api:app","api:addon"],"level":"notify",)",
                   R"("url":")", receiver_->url("/api-b"),
                   R"(","secret":"b-secret"})"));
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;

  Mutate(absl::StrCat(
      R"([{"op":"rename_app","id":")", a.id, R"(","name":"app-a2"},)",
      R"({"op":"rename_addon","id":")", addon_of_a.id, R"(","name":"la"},)",
      R"({"op":"rename_app","id":")", b.id, R"(","name":"app-b2"},)",
      R"({"op":"remove_addon","id":")", addon_of_b.id, R"("}])"));
  EXPECT_THAT(ReceivedPaths(), ElementsAre("/apps-of-a",        // a renamed
                                           "/addons-anywhere",  // a's add-on
                                           "/api-b",            // b renamed
                                           "/addons-anywhere",  // b's add-on
                                           "/api-b"));
  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 5u);
  EXPECT_TRUE(SignedWith(got[0], "y"));
  EXPECT_TRUE(SignedWith(got[1], "x"));
  EXPECT_TRUE(SignedWith(got[2], "b-secret"));
  EXPECT_TRUE(SignedWith(got[4], "b-secret"));
  // One event to two targets: the same event id, two deliveries.
  rapidjson::Document to_x = ParseJson(got[3].body);
  rapidjson::Document to_b = ParseJson(got[4].body);
  EXPECT_EQ(Str(to_x, "id"), Str(to_b, "id"));
  EXPECT_EQ(Str(to_x, "action"), "destroy");
  EXPECT_NE(got[3].Header("Heroku-Webhook-Id"),
            got[4].Header("Heroku-Webhook-Id"));
  EXPECT_NE(Str(to_x["webhook_metadata"]["webhook"], "id"),
            Str(to_b["webhook_metadata"]["webhook"], "id"));

  // A failing batch sends nothing.
  httplib::Result failed =
      client_->Post("/_control/mutations",
                    absl::StrCat(R"([{"op":"remove_app","id":")", a.id,
                                 R"("},{"op":"remove_app","id":"nope"}])"),
                    "application/json");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 404);
  EXPECT_EQ(receiver_->requests().size(), 5u);
}

TEST_F(FakeHerokuWebhooksTest, StatusesAreRecordedAndRedeliverRepeats) {
  const std::string id = AddTarget("/h", "s");
  receiver_->set_status(502);
  ASSERT_TRUE(
      server_->Mutate(Mutation::RenameAddon(data().addons[1].id, "new-name"))
          .ok());
  EXPECT_EQ(server_->webhooks().Find(id)->last_status, 502);
  receiver_->set_status(200);
  httplib::Result again =
      client_->Post("/_control/webhooks/redeliver", "", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body,
            absl::StrCat(R"({"statuses":[200],"targets":[")", id, R"("]})"));
  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].body, got[0].body);
  EXPECT_EQ(got[1].Header("Heroku-Webhook-Id"),
            got[0].Header("Heroku-Webhook-Id"));
  EXPECT_EQ(got[1].Header("Heroku-Webhook-Hmac-SHA256"),
            got[0].Header("Heroku-Webhook-Hmac-SHA256"));
  httplib::Result listed = client_->Get("/_control/webhooks");
  ASSERT_TRUE(listed);
  rapidjson::Document doc = ParseJson(listed->body);
  EXPECT_EQ(doc["targets"][0]["deliveries"].GetInt(), 2);
  EXPECT_EQ(doc["targets"][0]["last_status"].GetInt(), 200);

  receiver_->Stop();
  ASSERT_TRUE(server_->Mutate(Mutation::RemoveAddon("new-name")).ok());
  EXPECT_EQ(server_->webhooks().Find(id)->last_status, -1);
}

TEST_F(FakeHerokuWebhooksTest, AppWebhookApiRegistersAndLists) {
  const heroku::App app = data().apps[1];
  const std::string path = absl::StrCat("/apps/", app.id, "/webhooks");
  const std::string body = absl::StrCat(
      R"({"include":["api:addon","api:app","api:addon"],"level":"sync",)",
      R"("url":")", receiver_->url("/h"),
      R"(","secret":"given","authorization":"Bearer xyz"})");
  httplib::Result unauthorized = PostApi(path, body, "");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
  httplib::Result read_only = PostApi(path, body, "t-read");
  ASSERT_TRUE(read_only);
  EXPECT_EQ(read_only->status, 403);
  EXPECT_THAT(server_->webhooks().Targets(), IsEmpty());

  httplib::Result created = PostApi(path, body);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_FALSE(created->has_header("Heroku-Webhook-Secret"));
  EXPECT_THAT(created->body, Not(HasSubstr("given")));
  rapidjson::Document doc = ParseJson(created->body);
  EXPECT_THAT(Keys(doc), ElementsAre("app", "created_at", "id", "include",
                                     "level", "updated_at", "url"));
  EXPECT_THAT(Keys(doc["app"]), ElementsAre("id", "name"));
  EXPECT_EQ(Str(doc["app"], "id"), app.id);
  EXPECT_EQ(Str(doc["app"], "name"), app.name);
  EXPECT_TRUE(std::regex_match(Str(doc, "id"), std::regex(kUuidPattern)));
  EXPECT_TRUE(
      std::regex_match(Str(doc, "created_at"),
                       std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  EXPECT_EQ(Str(doc, "updated_at"), Str(doc, "created_at"));
  ASSERT_EQ(doc["include"].Size(), 2u);
  EXPECT_EQ(std::string(doc["include"][0].GetString()), "api:addon");
  EXPECT_EQ(std::string(doc["include"][1].GetString()), "api:app");
  EXPECT_EQ(Str(doc, "level"), "sync");
  EXPECT_EQ(Str(doc, "url"), receiver_->url("/h"));
  const std::string id = Str(doc, "id");

  // By name, no secret: Heroku makes one and shows it once, in a header.
  httplib::Result generated =
      PostApi(absl::StrCat("/apps/", app.name, "/webhooks"),
              absl::StrCat(R"({"include":["api:app"],"level":"notify","url":")",
                           receiver_->url("/g"), R"("})"));
  ASSERT_TRUE(generated);
  ASSERT_EQ(generated->status, 201) << generated->body;
  const std::string secret =
      generated->get_header_value("Heroku-Webhook-Secret");
  EXPECT_GE(secret.size(), 32u);

  // Another app's webhook is not in this app's list.
  ASSERT_EQ(
      PostApi(absl::StrCat("/apps/", data().apps[0].id, "/webhooks"), body)
          ->status,
      201);
  httplib::Result listed = Get(*client_, path);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200) << listed->body;
  rapidjson::Document list = ParseJson(listed->body);
  ASSERT_TRUE(list.IsArray());
  ASSERT_EQ(list.Size(), 2u);
  EXPECT_EQ(Str(list[0], "id"), id);
  EXPECT_EQ(Str(list[1], "level"), "notify");
  EXPECT_EQ(Compact(list[0]), Compact(doc));

  // Deliveries: the generated secret signs, the authorization is sent.
  ASSERT_TRUE(server_->Mutate(Mutation::RenameApp(app.id, "webhooked")).ok());
  const std::vector<ReceivedRequest> got = receiver_->requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].target, "/h");
  EXPECT_TRUE(SignedWith(got[0], "given"));
  EXPECT_EQ(got[0].Header("Authorization"), "Bearer xyz");
  EXPECT_EQ(got[1].target, "/g");
  EXPECT_TRUE(SignedWith(got[1], secret));
  EXPECT_EQ(got[1].Header("Authorization"), "");
  // The list shows the app's new name.
  EXPECT_THAT(Get(*client_, path)->body, HasSubstr(R"("name":"webhooked")"));

  EXPECT_EQ(server_->RequestCount("app-webhook-create"), 5);
  EXPECT_EQ(server_->RequestCount("app-webhooks"), 2);
  EXPECT_EQ(server_->RequestCount("unmatched"), 0);
}

TEST_F(FakeHerokuWebhooksTest, AppWebhookApiRejectsBadInput) {
  const std::string path =
      absl::StrCat("/apps/", data().apps[0].id, "/webhooks");
  const std::string url = receiver_->url();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nope", "JSON object"},
      {absl::StrCat(R"({"level":"notify","url":")", url, R"("})"),
       "include must be"},
      {absl::StrCat(R"({"include":[],"level":"notify","url":")", url, R"("})"),
       "include must be"},
      {absl::StrCat(R"({"include":["api:nothing"],"level":"notify","url":")",
                    url, R"("})"),
       "unknown entity 'api:nothing'"},
      {absl::StrCat(R"({"include":["api:app"],"url":")", url, R"("})"),
       "level must be notify or sync"},
      {absl::StrCat(R"({"include":["api:app"],"level":"loud","url":")", url,
                    R"("})"),
       "level must be notify or sync"},
      {R"({"include":["api:app"],"level":"notify"})", "url is required"},
      {R"({"include":["api:app"],"level":"notify","url":"gopher://x"})",
       "\"url\""},
      {absl::StrCat(R"({"include":["api:app"],"level":"notify","url":")", url,
                    R"(","secret":""})"),
       "secret must be"},
  };
  for (const auto& [body, message] : cases) {
    httplib::Result res = PostApi(path, body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 422) << body;
    rapidjson::Document doc = ParseJson(res->body);
    EXPECT_EQ(Str(doc, "id"), "invalid_params") << body;
    EXPECT_THAT(Str(doc, "message"), HasSubstr(message)) << body;
  }
  httplib::Result unknown =
      PostApi("/apps/no-such-app/webhooks",
              absl::StrCat(R"({"include":["api:app"],"level":"notify","url":")",
                           url, R"("})"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(Str(ParseJson(unknown->body), "id"), "not_found");
  EXPECT_EQ(Str(ParseJson(unknown->body), "message"),
            "Couldn't find that app.");
  httplib::Result unknown_list = Get(*client_, "/apps/no-such-app/webhooks");
  ASSERT_TRUE(unknown_list);
  EXPECT_EQ(unknown_list->status, 404);
  EXPECT_THAT(server_->webhooks().Targets(), IsEmpty());
}

}  // namespace
}  // namespace graphmill::fakes
