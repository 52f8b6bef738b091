// HerokuWebhookHandler: signatures and the objects a delivery stands for (the
// steps' converters and scopes). No API request is made.
#include "worker/integrations/heroku/webhook.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/hmac.h"

namespace graphmill::worker::heroku {
namespace {

std::string Addon(const std::string& action) {
  return absl::StrCat(
      R"({"id":"ev-2","action":")", action,
      R"(","resource":"addon","created_at":"2026-12-03T10:00:00Z","data":)",
      R"({"id":"addon-1","name":"papertrail-1","app":{"id":"app-1","name":"shop"},)",
      R"("web_url":"https://addons.example/1","created_at":"2026-01-01T00:00:00Z",)",
      R"("updated_at":"2026-12-03T10:00:00Z"}})");
}

TEST(HerokuWebhookTest, VerifiesTheBase64Signature) {
  HerokuWebhookHandler handler;
  const std::string body = Addon("update");
  EXPECT_TRUE(
      handler
          .Verify({{"heroku-webhook-hmac-sha256", HmacSha256Base64("s", body)}},
                  body, "s")
          .ok());
  EXPECT_EQ(
      handler
          .Verify({{"heroku-webhook-hmac-sha256", HmacSha256Hex("s", body)}},
                  body, "s")
          .code(),
      absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(handler.Verify({}, body, "s").code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(HerokuWebhookTest, AnAddonBecomesTheStepsEntityScopedToItsApp) {
  HerokuWebhookHandler handler;
  auto change = handler.Resolve({}, Addon("create"), 0);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->event_id, "ev-2");
  EXPECT_EQ(change->event_type, "api:addon create");
  // 2026-12-03T10:00:00Z, to the end of that second.
  EXPECT_EQ(change->as_of_ms, 1'796'292'000'999);
  ASSERT_EQ(change->objects.entities_size(), 1);
  const v1::Entity& addon = change->objects.entities(0);
  EXPECT_EQ(addon.key(), "addon-1");
  EXPECT_EQ(addon.type(), "heroku_addon");
  EXPECT_EQ(addon.properties().at("applicationId").string_value(), "app-1");
  EXPECT_EQ(change->objects.entity_scopes(0), "app-1");
  ASSERT_EQ(change->objects.relationships_size(), 1);
  EXPECT_EQ(change->objects.relationships(0).type(),
            "heroku_application_has_addon");
  EXPECT_EQ(change->api_requests, 0);
}

TEST(HerokuWebhookTest, DestroyDeletesAndUnknownShapesAreRefused) {
  HerokuWebhookHandler handler;
  auto destroyed = handler.Resolve({}, Addon("destroy"), 0);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status();
  EXPECT_EQ(destroyed->deleted_entity_keys,
            std::vector<std::string>{"addon-1"});
  EXPECT_EQ(destroyed->objects.entities_size(), 0);
  EXPECT_EQ(handler.Resolve({}, Addon("explode"), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string no_time = Addon("update");
  no_time.replace(no_time.find("2026-12-03T10:00:00Z"), 20, "yesterday");
  EXPECT_EQ(handler.Resolve({}, no_time, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  // An app outside a team is not in the graph.
  auto personal = handler.Resolve(
      {},
      R"({"id":"ev-3","action":"update","resource":"app","created_at":"2026-12-03T10:00:00Z","data":{"id":"app-9","name":"mine","team":null}})",
      0);
  ASSERT_TRUE(personal.ok()) << personal.status();
  EXPECT_TRUE(personal->ignored);
}

}  // namespace
}  // namespace graphmill::worker::heroku
