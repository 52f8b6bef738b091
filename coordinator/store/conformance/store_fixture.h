// The Store conformance suite's shared fixture. Every TEST_P of StoreTest (and
// of fixtures derived from it) runs against each implementation: SqliteStore
// (":memory:", and a file, which reads through its reader pool) and
// PostgresStore (a new database of a throwaway PostgreSQL 15 server that the
// binary starts once; testing/postgres_server.h). Tests named Sqlite* and
// Postgres* cover what only one implementation has.
//
// The suite is one test binary (//coordinator/store:store_test) over these
// files; store_fixture.cc instantiates StoreTest for both backends once.
//
// Contract coverage (store.h method: tests, by file):
//   PutIntegration, GetIntegration, ListIntegrations (instances_test.cc):
//       IntegrationsAreUpsertedAndListedByName
//   CreateInstance, GetInstance, ListInstances, UpdateInstance
//   (instances_test.cc): InstancesAreCreatedReadUpdatedAndListed,
//       GraphSurvivesReopen
//   DeleteInstance (runs_test.cc):
//       CancelledRunChangesNothingAndDeleteLogsTheGraphAway,
//       DeleteInstanceWaitsForTheActiveRun
//   GetLastScheduledSlot, SetLastScheduledSlot, CreateRun's schedule slot
//   (instances_test.cc): ScheduleSlotsAreRecordedEvenWhenTheRunIsRefused
//   CreateRun (runs_test.cc): OneActiveRunPerInstance,
//       DisabledStepsStartDisabled
//   GetRun, ListRuns, ActiveRunIds, GetRunDefinition, SetRunStatus,
//   SetRunUpload (runs_test.cc): RunsAreReadListedAndEnded,
//       ObjectsOfRunningAttemptsArriveBeforeTheyCount
//   CancelRun (runs_test.cc, write_path_test.cc):
//       CancelledRunChangesNothingAndDeleteLogsTheGraphAway,
//       DeleteInstanceWaitsForTheActiveRun,
//       CancellingARunDropsEveryAttemptsObjects
//   GetSteps, SetStepStatus, StartStep (runs_test.cc, finalize_test.cc,
//   staging_test.cc): AStepStartsOnceWithItsTasks,
//       StepsRecordStatusTimesTasksAndTypeCounts,
//       IncompleteReportsBecomeTheStepsPartialTypesAndScopeGaps, the
//       ScopedDeletionTest tests,
//       ConflictingDuplicatesKeepFirstWarnAndMarkPartial
//   CreateTask, CreateValidationTask, GetTask, TasksOfRun, PendingTasks
//   (runs_test.cc): PendingTasksOfActiveRunsComeUnshardedFirstThenOldest
//   LeaseTask, RenewLease, LeasedTasks (runs_test.cc):
//       LeasesAreRenewedAndFoundWhenExpired
//   ReleaseTask (runs_test.cc, write_path_test.cc):
//       ReleaseFailsTaskAfterMaxAttempts, StaleAttemptIsFenced,
//       AReleasedAttemptsObjectsAreNeverSeenOrFinalized,
//       ATaskThatFailsByReleaseAddsNothing
//   StageBatch, CommitAttempt (staging_test.cc, runs_test.cc):
//       StaleAttemptIsFenced, ResultsNeedTheLeaseIdNotJustTheAttempt,
//       IdenticalDuplicatesMergeSilently,
//       ConflictingDuplicatesKeepFirstWarnAndMarkPartial,
//       ObjectsRoundTripByteForByte; write_path_test.cc:
//       AnAttemptsObjectsJoinTheRunWhenItCommits,
//       AKeyStagedByTwoTasksKeepsTheFirstCommittedVersion,
//       AKeyRepeatedInALaterBatchOfTheAttemptKeepsTheFirst,
//       IdenticalCopiesKeepTheScopeOfTheFirstCommitted,
//       ManyTasksAndBatchesStageEachKeyOnce
//   ForEachStagedEntity (staging_test.cc):
//       StagedEntitiesReadByTypeAndShardRange
//   ForEachStagedObject, HasStagedObjects, ForEachStagedKey (staging_test.cc):
//       StagedObjectsAreVisitedInKeyOrderUntilALaterRunFinalizes
//   Finalize (finalize_test.cc): FinalizeCreatesUpdatesAndDeletes,
//       KeepAllTypesAreNeverDeleted,
//       RelationshipsWithoutEndpointsAreDroppedWithAnEvent,
//       RelationshipOfProtectedTypeGoesWithItsDeletedEndpoint,
//       FinalizeRecordsCountsAndIncompleteTypesOnTheRun,
//       FinalizeEndsTheRunAndHandsOffItsUploadAtOnce,
//       AFinalizedRunEndsWhenFinalizeCommitsAndKeepsWhenItBegan,
//       ARunThatWasNotFinalizedHasNoFinalizeTimes,
//       FinalizeWithoutAnUploadTargetLeavesNoUpload,
//       ARecollectedRelationshipGoesWithItsDeletedEndpoint,
//       GrandchildrenOfADeletedParentGoToo, the ScopedDeletionTest tests
//   AddEvent, ListEvents (runs_test.cc): EventsAreListedInOrderAfterASequence
//   ListEntities, ListRelationships, GetEntity, ListNeighbors (graph_test.cc):
//       PropertyFiltersAndNeighbors, PropertyFiltersCompareJsonTypesAndValues,
//       GraphListingsFilterAndPageInByteOrder
//   Snapshot (graph_test.cc): SnapshotIsAConsistentCopyWithItsSequence
//   GetChangeLogBounds, ReadChanges (graph_test.cc):
//       ChangeLogRecordsEveryChangeInOrderWithPreviousVersions,
//       DeletionsCarryTheObjectAsItWas
//   PruneChanges (graph_test.cc): RetentionPrunesByCountAndRemembersWhere,
//       RetentionPrunesByAge
//   CreateToken, ListTokens, RevokeToken, FindTokenByHash, HasAdminToken,
//   TokenGeneration (instances_test.cc): TokensAreCreatedListedFoundAndRevoked,
//       TokenNamesAreUniqueAndRolesRequired, TheLastAdminTokenCannotBeRevoked,
//       TokenGenerationMovesOnEveryChange, TokensSurviveReopening
//   Open: the Sqlite* tests (sqlite_test.cc: migration from version 1, the
//       file lock, a version-2 file without tokens) and the Postgres* tests
//       (postgres_test.cc: reconnecting after a server restart, errors without
//       the password, another schema version, text the server refuses).
#ifndef GRAPHMILL_COORDINATOR_STORE_CONFORMANCE_STORE_FIXTURE_H_
#define GRAPHMILL_COORDINATOR_STORE_CONFORMANCE_STORE_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/store/store.h"

namespace graphmill::coordinator::conformance {

// The lease id tests lease tasks under (the engine makes random ones).
inline constexpr char kLease[] = "lease-1";

// An integration with two steps, fetch-a and fetch-b.
v1::IntegrationDefinition Definition();

// A valid entity of class Thing whose name and displayName are `name`.
v1::Entity MakeEntity(const std::string& key, const std::string& type,
                      const std::string& name);

// kSqlite is an in-memory database (one connection); kSqliteFile a file,
// read through the store's reader pool while its writer commits.
enum class Backend { kSqlite, kSqliteFile, kPostgres };

// Every backend, for INSTANTIATE_TEST_SUITE_P.
inline auto AllBackends() {
  return ::testing::Values(Backend::kSqlite, Backend::kSqliteFile,
                           Backend::kPostgres);
}

std::string BackendName(const ::testing::TestParamInfo<Backend>& info);

// A new PostgreSQL database on the shared server; its URI. Appends its name to
// `made` (to drop after the test).
absl::StatusOr<std::string> NewPostgresDatabase(const std::string& name,
                                                std::vector<std::string>* made);
void DropPostgresDatabases(const std::vector<std::string>& databases);

// A store of the parameter's backend with one instance, "inst".
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The spec of a new, empty store that outlives Store objects, for tests that
  // reopen one: a SQLite file, or a database of the PostgreSQL server.
  absl::StatusOr<std::string> NewSpec(const std::string& name);

  // Runs one step task producing `entities`, finalizes with `rules` and ends
  // the run SUCCEEDED.
  FinalizeCounts RunOnce(const std::vector<v1::Entity>& entities,
                         const std::map<std::string, DeletionRule>& rules = {});

  // Keys of the entities of the graph of "inst".
  std::vector<std::string> GraphKeys();

  std::unique_ptr<Store> store_;
  std::vector<std::string> databases_;  // PostgreSQL databases to drop
};

// Stages `batch` as one task of `run` (leased under kLease, not yet committed)
// and returns its attempt.
v1::TaskAttempt StageTask(Store& store, int64_t run, const std::string& step,
                          const v1::ResultBatch& batch);

// StageTask, then commits the attempt as succeeded.
absl::Status CommitTask(Store& store, int64_t run, const std::string& step,
                        const v1::ResultBatch& batch);

// A request to finalize `run` of "inst" at `now_ms` (status SUCCEEDED, no
// upload), every field set.
FinalizeRequest FinalizeOf(
    int64_t run, int64_t now_ms,
    const std::map<std::string, DeletionRule>& rules = {});

// The run's events named `name`, in order.
std::vector<v1::Event> EventsNamed(Store& store, int64_t run,
                                   const std::string& name);

}  // namespace graphmill::coordinator::conformance

#endif  // GRAPHMILL_COORDINATOR_STORE_CONFORMANCE_STORE_FIXTURE_H_
