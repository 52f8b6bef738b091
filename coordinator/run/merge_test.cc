// Merge's checks of worker reports, without a store.
#include "coordinator/run/merge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/graph_objects.h"

namespace graphmill::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Entity Thing(const std::string& key) {
  v1::Entity e;
  e.set_key(key);
  e.set_type("thing");
  e.add_classes("Thing");
  (*e.mutable_properties())["name"] = StringValue(key);
  (*e.mutable_properties())["displayName"] = StringValue(key);
  return e;
}

google::protobuf::RepeatedPtrField<v1::Event> Events(
    const std::string& name, const std::string& description = "") {
  google::protobuf::RepeatedPtrField<v1::Event> events;
  v1::Event* event = events.Add();
  event->set_name(name);
  event->set_description(description);
  return events;
}

TEST(CheckWorkerEventsTest, NamesAreIdentifiersAndDescriptionsBounded) {
  EXPECT_TRUE(CheckWorkerEvents(Events("warn_missing_permission_2")).ok());
  for (const std::string& name :
       {std::string(), std::string("Not An Identifier"),
        std::string(kMaxEventNameBytes + 1, 'a')}) {
    EXPECT_EQ(CheckWorkerEvents(Events(name)).code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
  const absl::Status long_description = CheckWorkerEvents(
      Events("warn", std::string(kMaxEventDescriptionBytes + 1, 'x')));
  EXPECT_EQ(long_description.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(long_description.message(), HasSubstr("events.description"));
}

TEST(CheckIncompletenessTest, ExactlyOneOfTypeAndScopeWithAReason) {
  google::protobuf::RepeatedPtrField<v1::Incompleteness> entries;
  v1::Incompleteness* entry = entries.Add();
  entry->set_type("thing");
  entry->set_reason("HTTP 403");
  EXPECT_TRUE(CheckIncompleteness(entries).ok());
  entry->set_scope("parent:1");
  EXPECT_EQ(CheckIncompleteness(entries).code(),
            absl::StatusCode::kInvalidArgument);
  entry->clear_type();
  entry->clear_reason();
  EXPECT_EQ(CheckIncompleteness(entries).code(),
            absl::StatusCode::kInvalidArgument);
  entry->set_reason("HTTP 403");
  entry->set_scope(std::string(kMaxReportedKeyBytes + 1, 's'));
  EXPECT_EQ(CheckIncompleteness(entries).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CheckScopesTest, AbsentOrParallel) {
  v1::ResultBatch batch;
  *batch.add_entities() = Thing("thing:0001");
  *batch.add_entities() = Thing("thing:0002");
  EXPECT_TRUE(CheckScopes(batch).ok());
  batch.add_entity_scopes("parent:1");
  EXPECT_EQ(CheckScopes(batch).code(), absl::StatusCode::kInvalidArgument);
  batch.add_entity_scopes("parent:2");
  EXPECT_TRUE(CheckScopes(batch).ok());
}

TEST(ValidObjectsTest, DropsInvalidObjectsKeepingScopesParallel) {
  v1::ResultBatch batch;
  batch.add_events()->set_name("worker_event");
  *batch.add_entities() = Thing("thing:0001");
  *batch.add_entities() = Thing("short");
  *batch.add_entities() = Thing("thing:0003");
  batch.add_entity_scopes("parent:1");
  batch.add_entity_scopes("parent:2");
  batch.add_entity_scopes("parent:3");
  EXPECT_FALSE(AllObjectsValid(batch));
  const v1::ResultBatch valid = ValidObjects(batch);
  ASSERT_EQ(valid.entities_size(), 2);
  EXPECT_EQ(valid.entities(1).key(), "thing:0003");
  EXPECT_THAT(valid.entity_scopes(), ElementsAre("parent:1", "parent:3"));
  ASSERT_EQ(valid.events_size(), 2);
  EXPECT_EQ(valid.events(0).name(), "worker_event");
  EXPECT_EQ(valid.events(1).name(), "object_rejected");
  EXPECT_EQ(valid.events(1).level(), v1::EVENT_LEVEL_WARN);
  EXPECT_EQ(valid.events(1).description(),
            "entity 'short': _key must be at least 10 characters; the object "
            "was not stored");
}

TEST(CheckOutcomeTest, FailuresCarryAnErrorAndEverythingIsRedacted) {
  const Redactor redactor({"s3cr3t-token-value"});
  v1::TaskOutcome outcome;
  outcome.set_status(v1::TASK_OUTCOME_STATUS_FAILED);
  absl::StatusOr<CheckedOutcome> checked = CheckOutcome(outcome, redactor);
  ASSERT_TRUE(checked.ok());
  EXPECT_FALSE(checked->succeeded);
  EXPECT_EQ(checked->error, "the task failed without an error message");

  outcome.set_status(v1::TASK_OUTCOME_STATUS_INVALID_CONFIG);
  outcome.set_error("token s3cr3t-token-value refused");
  v1::Incompleteness* gap = outcome.add_incomplete();
  gap->set_type("thing");
  gap->set_reason("HTTP 403 for s3cr3t-token-value");
  checked = CheckOutcome(outcome, redactor);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->error, "invalid config: token *** refused");
  ASSERT_EQ(checked->incomplete.size(), 1u);
  EXPECT_EQ(checked->incomplete[0].reason(), "HTTP 403 for ***");

  outcome.set_status(v1::TASK_OUTCOME_STATUS_SUCCEEDED);
  outcome.set_error(std::string(kMaxEventDescriptionBytes + 1, 'e'));
  EXPECT_EQ(CheckOutcome(outcome, redactor).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RedactorsTest, EmptyUntilSet) {
  Redactors redactors;
  EXPECT_EQ(redactors.For("inst").Redact("s3cr3t-token-value"),
            "s3cr3t-token-value");
  redactors.Set("inst", Redactor({"s3cr3t-token-value"}));
  EXPECT_EQ(redactors.For("inst").Redact("s3cr3t-token-value"), "***");
  EXPECT_EQ(redactors.For("other").Redact("s3cr3t-token-value"),
            "s3cr3t-token-value");
}

}  // namespace
}  // namespace graphmill::coordinator
