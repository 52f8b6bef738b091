// Tests of heroku/mutations.h: what each operation changes (and leaves
// alone), the webhook changes it reports, errors, all-or-nothing batches and
// the JSON form.
#include "tests/fakes/heroku/mutations.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/heroku/payloads.h"

namespace graphmill::fakes::heroku {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'714'557'600);  // 2024-05-01
constexpr char kNowText[] = "2024-05-01T10:00:00Z";

Dataset Generate() {
  DatasetOptions options;
  options.accounts = 1;
  options.shared_members = 0;
  options.teams_per_account = 2;
  options.apps_per_team = 3;
  options.addons_per_app = 2;
  absl::StatusOr<Dataset> data = GenerateDataset(options);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *std::move(data) : Dataset();
}

Dataset Apply(const Dataset& data, const std::vector<Mutation>& mutations,
              std::vector<Change>* changes = nullptr) {
  absl::StatusOr<Dataset> out = ApplyMutations(data, mutations, kNow, changes);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *std::move(out) : data;
}

// The add-on names of each app, by app name: what the API shows.
std::vector<std::string> AddonsByApp(const Dataset& data) {
  std::vector<std::string> out;
  for (const Addon& addon : data.addons) {
    out.push_back(data.apps[addon.app].name + "/" + addon.name);
  }
  return out;
}

TEST(HerokuMutationsTest, RenameAppChangesNameAndUpdatedAtAndReportsAnUpdate) {
  const Dataset before = Generate();
  const App& app = before.apps[2];
  std::vector<Change> changes;
  const Dataset after =
      Apply(before, {Mutation::RenameApp(app.id, "renamed-app-1")}, &changes);
  EXPECT_EQ(after.apps[2].name, "renamed-app-1");
  EXPECT_EQ(after.apps[2].updated_at, kNowText);
  EXPECT_EQ(after.apps[2].id, app.id);
  EXPECT_EQ(after.apps[2].created_at, app.created_at);
  for (size_t i = 0; i < before.apps.size(); ++i) {
    if (i != 2) EXPECT_EQ(after.apps[i].name, before.apps[i].name) << i;
  }
  ASSERT_EQ(after.addons.size(), before.addons.size());
  // The change carries the app exactly as the API renders it, after the
  // change.
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0],
            (Change{"app", "update", app.id, AppJson(after, after.apps[2])}));
  EXPECT_EQ(changes[0].include(), "api:app");
  EXPECT_THAT(changes[0].data, HasSubstr("\"name\":\"renamed-app-1\""));
  // By name too, and its add-ons show the new name.
  const Dataset again =
      Apply(after, {Mutation::RenameApp("renamed-app-1", "renamed-app-2")});
  EXPECT_EQ(again.apps[2].name, "renamed-app-2");
  for (const Addon& addon : again.addons) {
    if (addon.app == 2) {
      EXPECT_THAT(AddonJson(again, addon),
                  HasSubstr("\"name\":\"renamed-app-2\""));
    }
  }
}

TEST(HerokuMutationsTest, RemoveAppTakesItsAddonsAndReportsEachDestroy) {
  const Dataset before = Generate();
  const App removed = before.apps[1];
  std::vector<Change> changes;
  const Dataset after =
      Apply(before, {Mutation::RemoveApp(removed.name)}, &changes);
  ASSERT_EQ(after.apps.size(), before.apps.size() - 1);
  ASSERT_EQ(after.addons.size(), before.addons.size() - 2);
  for (const App& app : after.apps) EXPECT_NE(app.id, removed.id);
  // The other add-ons still belong to the same apps (indices shifted).
  std::vector<std::string> expected;
  for (const Addon& addon : before.addons) {
    if (addon.app != 1) {
      expected.push_back(before.apps[addon.app].name + "/" + addon.name);
    }
  }
  EXPECT_EQ(AddonsByApp(after), expected);

  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0],
            (Change{"app", "destroy", removed.id, AppJson(before, removed)}));
  int k = 1;
  for (const Addon& addon : before.addons) {
    if (addon.app != 1) continue;
    ASSERT_LT(k, 3);
    EXPECT_EQ(changes[k], (Change{"addon", "destroy", removed.id,
                                  AddonJson(before, addon)}));
    EXPECT_EQ(changes[k].include(), "api:addon");
    ++k;
  }
}

TEST(HerokuMutationsTest, AddonOperations) {
  const Dataset before = Generate();
  const Addon addon = before.addons[3];
  const std::string app_id = before.apps[addon.app].id;
  std::vector<Change> changes;
  const Dataset renamed = Apply(
      before, {Mutation::RenameAddon(addon.id, "papertrail_new-1")}, &changes);
  EXPECT_EQ(renamed.addons[3].name, "papertrail_new-1");
  EXPECT_EQ(renamed.addons[3].updated_at, kNowText);
  EXPECT_EQ(renamed.apps[addon.app].updated_at,
            before.apps[addon.app].updated_at);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], (Change{"addon", "update", app_id,
                                AddonJson(renamed, renamed.addons[3])}));

  const Dataset removed =
      Apply(renamed, {Mutation::RemoveAddon("papertrail_new-1")}, &changes);
  EXPECT_EQ(removed.addons.size(), before.addons.size() - 1);
  EXPECT_EQ(removed.apps.size(), before.apps.size());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], (Change{"addon", "destroy", app_id,
                                AddonJson(renamed, renamed.addons[3])}));
}

TEST(HerokuMutationsTest, BatchesReportChangesInOrderAndFailAsAWhole) {
  const Dataset before = Generate();
  std::vector<Change> changes;
  const Dataset after = Apply(before,
                              {Mutation::RenameApp(before.apps[0].id, "aaa"),
                               Mutation::RemoveAddon(before.addons[5].id),
                               Mutation::RenameApp("aaa", "bbb")},
                              &changes);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_THAT(changes[0].data, HasSubstr("\"name\":\"aaa\""));
  EXPECT_EQ(changes[1].resource, "addon");
  EXPECT_THAT(changes[2].data, HasSubstr("\"name\":\"bbb\""));
  EXPECT_EQ(after.apps[0].name, "bbb");

  std::vector<Change> none = {Change{"x", "y", "z", "{}"}};
  absl::StatusOr<Dataset> failed =
      ApplyMutations(before,
                     {Mutation::RenameApp(before.apps[0].id, "ccc"),
                      Mutation::RemoveApp("no-such-app")},
                     kNow, &none);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(failed.status().message(),
              HasSubstr("mutation #1 (remove_app): app 'no-such-app'"));
  EXPECT_EQ(none.size(), 1u) << "left alone on failure";
  // Removing an add-on twice fails on the second; so does one of a removed
  // app.
  EXPECT_EQ(ApplyMutations(before,
                           {Mutation::RemoveAddon(before.addons[0].id),
                            Mutation::RemoveAddon(before.addons[0].id)},
                           kNow)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ApplyMutations(before,
                           {Mutation::RemoveApp(before.apps[0].id),
                            Mutation::RenameAddon(before.addons[0].id, "x1")},
                           kNow)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(HerokuMutationsTest, ErrorsNameTheProblem) {
  const Dataset data = Generate();
  struct Case {
    Mutation mutation;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Mutation::RenameApp("nope", "fine-name"), absl::StatusCode::kNotFound,
       "app 'nope' not found"},
      {Mutation::RenameApp(data.apps[0].id, "Upper"),
       absl::StatusCode::kInvalidArgument, "app name 'Upper'"},
      {Mutation::RenameApp(data.apps[0].id, "ab"),
       absl::StatusCode::kInvalidArgument, "app name 'ab'"},
      {Mutation::RenameApp(data.apps[0].id, "ends-with-"),
       absl::StatusCode::kInvalidArgument, "app name"},
      {Mutation::RenameApp(data.apps[0].id, "9starts-with-digit"),
       absl::StatusCode::kInvalidArgument, "app name"},
      {Mutation::RenameApp(data.apps[0].id, data.apps[1].name),
       absl::StatusCode::kAlreadyExists, "is already taken"},
      {Mutation::RenameApp(data.apps[0].id, ""),
       absl::StatusCode::kInvalidArgument, "field 'name' is required"},
      {Mutation::RemoveApp(""), absl::StatusCode::kInvalidArgument,
       "field 'id' is required"},
      {Mutation{MutationOp::kRemoveApp, data.apps[0].id, "x"},
       absl::StatusCode::kInvalidArgument, "field 'name' does not apply"},
      {Mutation::RenameAddon("nope", "x1"), absl::StatusCode::kNotFound,
       "add-on 'nope' not found"},
      {Mutation::RenameAddon(data.addons[0].id, "bad name"),
       absl::StatusCode::kInvalidArgument, "add-on name 'bad name'"},
      {Mutation::RenameAddon(data.addons[0].id, data.addons[1].name),
       absl::StatusCode::kAlreadyExists, "is already taken"},
      {Mutation::RemoveAddon("nope"), absl::StatusCode::kNotFound,
       "add-on 'nope' not found"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Dataset> out = ApplyMutations(data, {c.mutation}, kNow);
    EXPECT_EQ(out.status().code(), c.code) << MutationToJson(c.mutation);
    EXPECT_THAT(out.status().message(), HasSubstr(c.message))
        << MutationToJson(c.mutation);
  }
  EXPECT_EQ(ApplyMutations(data, {}, kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Renaming an app to its own name is allowed (only updated_at changes).
  const Dataset same =
      Apply(data, {Mutation::RenameApp(data.apps[0].id, data.apps[0].name)});
  EXPECT_EQ(same.apps[0].updated_at, kNowText);
}

TEST(HerokuMutationsJsonTest, ParsesEveryFormAndRoundTrips) {
  const std::vector<Mutation> all = {
      Mutation::RenameApp("a", "new-name"), Mutation::RemoveApp("a"),
      Mutation::RenameAddon("b", "n"), Mutation::RemoveAddon("b")};
  std::string array = "[";
  for (const Mutation& m : all) {
    absl::StatusOr<std::vector<Mutation>> one =
        ParseMutationsJson(MutationToJson(m));
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_THAT(*one, ElementsAre(m));
    if (array.size() > 1) array += ",";
    array += MutationToJson(m);
  }
  array += "]";
  absl::StatusOr<std::vector<Mutation>> list = ParseMutationsJson(array);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(*list, all);
  absl::StatusOr<std::vector<Mutation>> wrapped =
      ParseMutationsJson("{\"mutations\":" + array + "}");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(*wrapped, all);
  EXPECT_EQ(MutationToJson(Mutation::RenameApp("a", "b")),
            R"({"op":"rename_app","id":"a","name":"b"})");
  EXPECT_EQ(MutationToJson(Mutation::RemoveAddon("x")),
            R"({"op":"remove_addon","id":"x"})");

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "not JSON"},
      {"[]", "empty"},
      {R"({"mutations":{}})", "array"},
      {"42", "object"},
      {R"({"id":"x"})", "'op' is required"},
      {R"({"op":"remove_pipeline","id":"x"})", "unknown op 'remove_pipeline'"},
      {R"({"op":"remove_app","app":"x"})", "unknown member 'app'"},
      {R"({"op":"remove_app","id":1})", "'id' must be a string"},
      {R"([{"op":"remove_app","id":"a"},7])", "mutation #1"},
  };
  for (const auto& [body, message] : bad) {
    absl::StatusOr<std::vector<Mutation>> parsed = ParseMutationsJson(body);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << body;
    EXPECT_THAT(parsed.status().message(), HasSubstr(message)) << body;
  }
}

}  // namespace
}  // namespace graphmill::fakes::heroku
