// Which types a run looked at completely, and what finalize may delete.
//
// Completeness flows through the step DAG. A type is incomplete when its step
// failed, was partial (a dependency failed) or disabled, when the integration
// declares it partial, when a task reported it partly collected, or when a
// task could not list some scopes (parent entities) completely; and,
// transitively, when its step reads an incomplete type of a dependency step.
// Incompleteness of a step's parent type only costs scopes (the step's objects
// are scoped by the parent they were listed for); of any other type read, the
// whole type. Each incomplete type gets a deletion rule:
//  - kKeepAll: nothing of the type is deleted (the whole type is in doubt);
//  - kScopedOnly: objects that carry a scope are deleted only where their
//    scope was listed completely (the store decides per object); unscoped
//    objects are kept.
// Complete types are kDeleteMissing: unscoped objects missing from the run are
// deleted, scoped ones by the scope rule (see Store::Finalize).
//
// Plain functions of their inputs: no I/O, no locking.
#ifndef GRAPHMILL_COORDINATOR_COMPLETENESS_H_
#define GRAPHMILL_COORDINATOR_COMPLETENESS_H_

#include <map>
#include <string>
#include <vector>

#include "coordinator/store/store.h"
#include "graphmill/v1/integration.pb.h"
#include "graphmill/v1/run.pb.h"

namespace graphmill::coordinator {

// One declared type's verdict.
struct TypeCompleteness {
  DeletionRule rule = DeletionRule::kDeleteMissing;
  // True when the incompleteness comes from an error (the run is PARTIAL).
  bool error = false;
  // Why it is incomplete; empty for a complete type.
  std::string reason;

  bool complete() const { return reason.empty(); }
};

// A run's verdict: every declared type, by `_type`.
struct RunCompleteness {
  std::map<std::string, TypeCompleteness> types;

  // True when some type is incomplete because of an error: the run ends
  // PARTIAL.
  bool degraded() const;
  // The incomplete types as the Run reports them, in type order.
  std::vector<v1::IncompleteType> IncompleteTypes() const;
  // Types whose rule is not kDeleteMissing, for Store::Finalize.
  std::map<std::string, DeletionRule> DeletionRules() const;
  // E.g. "circleci_job, circleci_workflow": the types incomplete by error.
  std::string ErrorTypesList() const;
};

// Computes the verdict from the definition the run was planned with and its
// settled steps (status, error, partial types and scope gaps as the store
// recorded them). Steps absent from `steps` count as not run (kKeepAll).
RunCompleteness ComputeCompleteness(const v1::IntegrationDefinition& definition,
                                    const std::vector<StepRecord>& steps);

}  // namespace graphmill::coordinator

#endif  // GRAPHMILL_COORDINATOR_COMPLETENESS_H_
