// Changes to a generated Heroku Dataset between two ingestion runs (an app
// renamed or deleted, an add-on renamed or deleted): the operations, their
// JSON form, and a function that applies them and says which webhook events
// they cause.
//
// JSON form (POST /_control/mutations; README.md): an object
// {"op": NAME, MEMBER: "string", ...}, an array of them, or
// {"mutations": [...]}, as in the fake CircleCI. Every op takes exactly:
//
//   op             members
//   rename_app     id, name     the app's id or name; its new name
//   remove_app     id           the app and its add-ons disappear
//   rename_addon   id, name     the add-on's id or name; its new name
//   remove_addon   id
#ifndef GRAPHMILL_TESTS_FAKES_HEROKU_MUTATIONS_H_
#define GRAPHMILL_TESTS_FAKES_HEROKU_MUTATIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/fakes/heroku/dataset.h"

namespace graphmill::fakes::heroku {

enum class MutationOp {
  // New name (Heroku's rule: 3 to 30 characters, lower-case letters, digits
  // and dashes, starting with a letter and not ending with a dash; unique);
  // updated_at becomes the mutation's time. Its add-ons show the new name.
  kRenameApp,
  // The app and its add-ons disappear.
  kRemoveApp,
  // New name (a letter, then letters, digits, '-' or '_'; unique); updated_at
  // becomes the mutation's time.
  kRenameAddon,
  kRemoveAddon,
};

struct Mutation {
  MutationOp op = MutationOp::kRenameApp;
  std::string id;    // id or name of the app (add-on)
  std::string name;  // rename_*: the new name

  static Mutation RenameApp(std::string app, std::string name);
  static Mutation RemoveApp(std::string app);
  static Mutation RenameAddon(std::string addon, std::string name);
  static Mutation RemoveAddon(std::string addon);

  bool operator==(const Mutation&) const = default;
};

// "rename_app", ... (the JSON op names).
const char* MutationOpName(MutationOp op);

// A webhook event a mutation causes: Heroku's resource and action, the app it
// belongs to (webhooks are per app) and the resource's JSON exactly as the API
// serves it (AppJson, AddonJson): after an update, as it was before a destroy.
struct Change {
  std::string resource;  // "app" or "addon"
  std::string action;    // "update" or "destroy"
  std::string app_id;    // the app, or the add-on's app
  std::string data;      // compact JSON object

  // The webhook include name: "api:app", "api:addon".
  std::string include() const { return "api:" + resource; }

  bool operator==(const Change&) const = default;
};

// Applies `mutations` in order to a copy of `data`, renames at time `now`, and
// returns it; `data` is never changed. All or nothing: the first failure is
// returned, its message prefixed with "mutation #<index> (<op>): ". NOT_FOUND
// names the unknown app or add-on; INVALID_ARGUMENT a missing, extra or bad
// field (and an empty list); ALREADY_EXISTS a name in use. When `changes` is
// given it receives the events, in order: rename_app one app update,
// remove_app one app destroy then one addon destroy per add-on, rename_addon
// one addon update, remove_addon one addon destroy (nothing on failure).
absl::StatusOr<Dataset> ApplyMutations(const Dataset& data,
                                       const std::vector<Mutation>& mutations,
                                       absl::Time now,
                                       std::vector<Change>* changes = nullptr);

// Parses the JSON form. INVALID_ARGUMENT naming the problem (not JSON, an
// unknown op or member, a member that is not a string, an empty list).
absl::StatusOr<std::vector<Mutation>> ParseMutationsJson(
    absl::string_view json);

// The JSON form of one mutation, which ParseMutationsJson reads back.
std::string MutationToJson(const Mutation& mutation);

}  // namespace graphmill::fakes::heroku

#endif  // GRAPHMILL_TESTS_FAKES_HEROKU_MUTATIONS_H_
