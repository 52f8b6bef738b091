// Conformance: integrations, instances, schedule slots and tokens (see
// store_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"
#include "coordinator/store/conformance/store_fixture.h"

namespace graphmill::coordinator::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_P(StoreTest, IntegrationsAreUpsertedAndListedByName) {
  v1::IntegrationDefinition b = Definition();
  b.set_name("b-integration");
  v1::IntegrationDefinition a = Definition();
  a.set_name("a-integration");
  ASSERT_TRUE(store_->PutIntegration(b).ok());
  ASSERT_TRUE(store_->PutIntegration(a).ok());
  a.set_version("2");
  ASSERT_TRUE(store_->PutIntegration(a).ok());  // replaces
  auto got = store_->GetIntegration("a-integration");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->version(), "2");
  EXPECT_EQ(got->steps_size(), 2);
  auto list = store_->ListIntegrations();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name(), "a-integration");
  EXPECT_EQ((*list)[1].name(), "b-integration");
  auto missing = store_->GetIntegration("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "unknown integration 'nope' (no connected worker has advertised "
            "it)");
}

TEST_P(StoreTest, InstancesAreCreatedReadUpdatedAndListed) {
  v1::Instance b;
  b.set_id("b-inst");
  b.set_integration("test");
  (*b.mutable_config())["login"] = "me";
  b.set_created_at_ms(10);
  b.set_updated_at_ms(10);
  b.set_next_run_at_ms(99);  // output only: not stored
  ASSERT_TRUE(store_->CreateInstance(b).ok());
  absl::Status again = store_->CreateInstance(b);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "instance 'b-inst' already exists");

  auto list = store_->ListInstances();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id(), "b-inst");
  EXPECT_EQ((*list)[1].id(), "inst");
  auto got = store_->GetInstance("b-inst");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->integration(), "test");
  EXPECT_EQ(got->config().at("login"), "me");
  EXPECT_EQ(got->created_at_ms(), 10);
  EXPECT_EQ(got->next_run_at_ms(), 0);

  (*b.mutable_config())["login"] = "you";
  b.add_disabled_steps("fetch-b");
  b.set_updated_at_ms(20);
  b.set_created_at_ms(999);  // not an update's to change
  ASSERT_TRUE(store_->UpdateInstance(b).ok());
  got = store_->GetInstance("b-inst");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->config().at("login"), "you");
  EXPECT_THAT(got->disabled_steps(), ElementsAre("fetch-b"));
  EXPECT_EQ(got->updated_at_ms(), 20);
  EXPECT_EQ(got->created_at_ms(), 10);

  v1::Instance ghost;
  ghost.set_id("ghost");
  absl::Status update = store_->UpdateInstance(ghost);
  EXPECT_EQ(update.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(update.message(), "instance 'ghost' not found");
  EXPECT_EQ(store_->GetInstance("ghost").status().message(),
            "instance 'ghost' not found");
}

TEST_P(StoreTest, GraphSurvivesReopen) {
  auto spec = NewSpec("reopen");
  ASSERT_TRUE(spec.ok()) << spec.status();
  {
    auto store = Store::Open(*spec);
    ASSERT_TRUE(store.ok()) << store.status();
    v1::Instance instance;
    instance.set_id("persist");
    instance.set_integration("test");
    (*instance.mutable_config())["login"] = "me";
    ASSERT_TRUE((*store)->CreateInstance(instance).ok());
  }
  auto store = Store::Open(*spec);
  ASSERT_TRUE(store.ok()) << store.status();
  auto instance = (*store)->GetInstance("persist");
  ASSERT_TRUE(instance.ok()) << instance.status();
  EXPECT_EQ(instance->config().at("login"), "me");
}

TEST_P(StoreTest, ScheduleSlotsAreRecordedEvenWhenTheRunIsRefused) {
  EXPECT_EQ(*store_->GetLastScheduledSlot("inst"), 0);
  ASSERT_TRUE(store_->SetLastScheduledSlot("inst", 100).ok());
  EXPECT_EQ(*store_->GetLastScheduledSlot("inst"), 100);
  auto first = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_SCHEDULE,
                                 {}, 1, 200);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*store_->GetLastScheduledSlot("inst"), 200);
  auto refused = store_->CreateRun("inst", Definition(),
                                   v1::RUN_TRIGGER_SCHEDULE, {}, 2, 300);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*store_->GetLastScheduledSlot("inst"), 300);
  EXPECT_EQ(store_->GetLastScheduledSlot("ghost").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreTest, AScheduleSlotStartsOneRunAtMost) {
  auto first = store_->CreateRun("inst", Definition(), v1::RUN_TRIGGER_SCHEDULE,
                                 {}, 1, 200);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(
      store_->SetRunStatus(*first, v1::RUN_STATUS_SUCCEEDED, "", 2).ok());
  // The same slot again (a second replica that read the instance before the
  // first recorded it), or an older one: refused though no run is active.
  for (int64_t slot : {200, 150}) {
    auto again = store_->CreateRun("inst", Definition(),
                                   v1::RUN_TRIGGER_SCHEDULE, {}, 3, slot);
    EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(again.status().message(), HasSubstr("already fired"));
  }
  EXPECT_EQ(store_->ListRuns("inst", 10)->size(), 1u);
  EXPECT_EQ(*store_->GetLastScheduledSlot("inst"), 200);
  // Manual runs have no slot; a later slot fires.
  EXPECT_TRUE(store_
                  ->CreateRun("inst", Definition(), v1::RUN_TRIGGER_SCHEDULE,
                              {}, 4, 300)
                  .ok());
}

TEST_P(StoreTest, TokensAreCreatedListedFoundAndRevoked) {
  const std::string admin_hash(32, 'a');
  const std::string reader_hash(32, 'r');
  ASSERT_TRUE(
      store_->CreateToken("ops", v1::TOKEN_ROLE_ADMIN, admin_hash, 1000).ok());
  ASSERT_TRUE(
      store_->CreateToken("dash", v1::TOKEN_ROLE_READER, reader_hash, 2000)
          .ok());

  auto list = store_->ListTokens();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "dash");
  EXPECT_EQ((*list)[0].role, v1::TOKEN_ROLE_READER);
  EXPECT_EQ((*list)[0].created_ms, 2000);
  EXPECT_EQ((*list)[0].hash, "");  // never listed
  EXPECT_EQ((*list)[1].name, "ops");
  EXPECT_EQ((*list)[1].role, v1::TOKEN_ROLE_ADMIN);

  auto found = store_->FindTokenByHash(reader_hash);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->name, "dash");
  EXPECT_EQ(found->role, v1::TOKEN_ROLE_READER);
  EXPECT_EQ(found->hash, reader_hash);
  EXPECT_EQ(found->created_ms, 2000);

  ASSERT_TRUE(store_->RevokeToken("dash").ok());
  auto gone = store_->FindTokenByHash(reader_hash);
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(gone.status().message(), "unknown or revoked token");
  absl::Status again = store_->RevokeToken("dash");
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(again.message(), "token 'dash' not found");
  // A revoked token's name can be used again.
  EXPECT_TRUE(store_
                  ->CreateToken("dash", v1::TOKEN_ROLE_WORKER,
                                std::string(32, 'w'), 3000)
                  .ok());
}

TEST_P(StoreTest, TokenNamesAreUniqueAndRolesRequired) {
  ASSERT_TRUE(
      store_
          ->CreateToken("ci", v1::TOKEN_ROLE_WORKER, std::string(32, '1'), 1000)
          .ok());
  absl::Status taken = store_->CreateToken("ci", v1::TOKEN_ROLE_READER,
                                           std::string(32, '2'), 1000);
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(), "token 'ci' already exists");
  absl::Status same_hash = store_->CreateToken("ci-2", v1::TOKEN_ROLE_READER,
                                               std::string(32, '1'), 1000);
  EXPECT_EQ(same_hash.code(), absl::StatusCode::kAlreadyExists);
  absl::Status no_role = store_->CreateToken("x", v1::TOKEN_ROLE_UNSPECIFIED,
                                             std::string(32, '3'), 1000);
  EXPECT_EQ(no_role.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(no_role.message(), "token 'x': role is required");
  auto list = store_->ListTokens();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_P(StoreTest, TheLastAdminTokenCannotBeRevoked) {
  auto has_admin = store_->HasAdminToken();
  ASSERT_TRUE(has_admin.ok());
  EXPECT_FALSE(*has_admin);
  ASSERT_TRUE(store_
                  ->CreateToken("reader", v1::TOKEN_ROLE_READER,
                                std::string(32, 'r'), 1)
                  .ok());
  EXPECT_FALSE(*store_->HasAdminToken());
  ASSERT_TRUE(
      store_->CreateToken("old", v1::TOKEN_ROLE_ADMIN, std::string(32, 'o'), 1)
          .ok());
  EXPECT_TRUE(*store_->HasAdminToken());
  absl::Status last = store_->RevokeToken("old");
  EXPECT_EQ(last.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(last.message(),
            "token 'old' is the last admin token; create another admin token "
            "first");
  // Rotation: create the new one, then revoke the old one.
  ASSERT_TRUE(
      store_->CreateToken("new", v1::TOKEN_ROLE_ADMIN, std::string(32, 'n'), 2)
          .ok());
  EXPECT_TRUE(store_->RevokeToken("old").ok());
  EXPECT_TRUE(*store_->HasAdminToken());
  EXPECT_TRUE(store_->RevokeToken("reader").ok());
}

TEST_P(StoreTest, TokenGenerationMovesOnEveryChange) {
  const int64_t start = store_->TokenGeneration();
  ASSERT_TRUE(
      store_->CreateToken("a", v1::TOKEN_ROLE_ADMIN, std::string(32, 'a'), 1)
          .ok());
  const int64_t created = store_->TokenGeneration();
  EXPECT_NE(created, start);
  ASSERT_TRUE(
      store_->CreateToken("b", v1::TOKEN_ROLE_READER, std::string(32, 'b'), 1)
          .ok());
  const int64_t second = store_->TokenGeneration();
  EXPECT_NE(second, created);
  ASSERT_TRUE(store_->RevokeToken("b").ok());
  const int64_t revoked = store_->TokenGeneration();
  EXPECT_NE(revoked, second);
  // Failures change nothing.
  EXPECT_FALSE(store_->RevokeToken("b").ok());
  EXPECT_FALSE(
      store_->CreateToken("a", v1::TOKEN_ROLE_ADMIN, std::string(32, 'c'), 1)
          .ok());
  EXPECT_EQ(store_->TokenGeneration(), revoked);
  // Reads change nothing.
  ASSERT_TRUE(store_->ListTokens().ok());
  EXPECT_EQ(store_->TokenGeneration(), revoked);
}

TEST_P(StoreTest, TokensSurviveReopening) {
  auto spec = NewSpec("tokens");
  ASSERT_TRUE(spec.ok()) << spec.status();
  {
    auto store = Store::Open(*spec);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE(
        (*store)
            ->CreateToken("ops", v1::TOKEN_ROLE_ADMIN, std::string(32, 'h'), 5)
            .ok());
  }
  auto store = Store::Open(*spec);
  ASSERT_TRUE(store.ok()) << store.status();
  auto found = (*store)->FindTokenByHash(std::string(32, 'h'));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->name, "ops");
  EXPECT_TRUE(*(*store)->HasAdminToken());
}

}  // namespace
}  // namespace graphmill::coordinator::conformance
