#include "coordinator/store/patch_apply.h"

#include <deque>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace graphmill::coordinator {
namespace {

std::string JoinedClasses(const v1::Entity& entity) {
  std::string joined = "|";
  for (const std::string& name : entity.classes()) {
    absl::StrAppend(&joined, name, "|");
  }
  return joined;
}

PatchRow RowOf(const v1::Entity& entity, const std::string& scope) {
  PatchRow row;
  row.object = PatchObject::kEntity;
  row.key = entity.key();
  row.type = entity.type();
  row.classes = JoinedClasses(entity);
  row.data = SerializeDeterministic(entity);
  row.properties = &entity.properties();
  row.scope = scope;
  return row;
}

PatchRow RowOf(const v1::Relationship& relationship, const std::string& scope) {
  PatchRow row;
  row.object = PatchObject::kRelationship;
  row.key = relationship.key();
  row.type = relationship.type();
  row.classes = absl::StrCat("|", relationship.class_name(), "|");
  row.from_key = relationship.from_entity_key();
  row.to_key = relationship.to_entity_key();
  row.data = SerializeDeterministic(relationship);
  row.properties = &relationship.properties();
  row.scope = scope;
  return row;
}

class Applier {
 public:
  Applier(PatchTransaction& tx, const GraphPatch& patch)
      : tx_(tx), patch_(patch) {}

  // True if a newer patch marked the object; otherwise marks it as this
  // patch's.
  absl::StatusOr<bool> Claim(PatchObject object, const std::string& key) {
    GM_ASSIGN_OR_RETURN(std::optional<int64_t> mark, tx_.Mark(object, key));
    if (mark.has_value() && *mark > patch_.as_of_ms) return false;
    GM_RETURN_IF_ERROR(tx_.SetMark(object, key, patch_.as_of_ms));
    return true;
  }

  absl::Status Upsert(const PatchRow& row) {
    GM_ASSIGN_OR_RETURN(bool claimed, Claim(row.object, row.key));
    if (!claimed) {
      ++counts_.skipped;
      return absl::OkStatus();
    }
    GM_ASSIGN_OR_RETURN(std::optional<PatchTransaction::Stored> stored,
                        tx_.Read(row.object, row.key));
    if (stored.has_value() && stored->data == row.data &&
        stored->scope == row.scope) {
      return absl::OkStatus();
    }
    GM_RETURN_IF_ERROR(tx_.Write(row));
    if (!stored.has_value()) {
      ++counts_.created;
      return tx_.Log(v1::CHANGE_KIND_CREATED, row.object, row.key, row.type,
                     row.data, "", patch_.now_ms);
    }
    // A changed scope alone is not a change of content (as at finalize).
    if (stored->data == row.data) return absl::OkStatus();
    ++counts_.updated;
    return tx_.Log(v1::CHANGE_KIND_UPDATED, row.object, row.key, row.type,
                   row.data, stored->data, patch_.now_ms);
  }

  // Deletes the object unless a newer patch marked it (`claimed`: the
  // caller already marked it as this patch's).
  absl::Status Remove(PatchObject object, const std::string& key,
                      bool claimed = false) {
    if (!claimed) {
      GM_ASSIGN_OR_RETURN(claimed, Claim(object, key));
    }
    if (!claimed) {
      ++counts_.skipped;
      return absl::OkStatus();
    }
    GM_ASSIGN_OR_RETURN(std::optional<PatchTransaction::Stored> stored,
                        tx_.Read(object, key));
    if (!stored.has_value()) return absl::OkStatus();
    GM_RETURN_IF_ERROR(tx_.Delete(object, key));
    ++counts_.deleted;
    return tx_.Log(v1::CHANGE_KIND_DELETED, object, key, stored->type,
                   stored->data, "", patch_.now_ms);
  }

  // Deletes the entities, those scoped to them (recursively) and every
  // relationship touching one of them.
  absl::Status DeleteEntities() {
    std::deque<std::string> queue(patch_.deleted_entity_keys.begin(),
                                  patch_.deleted_entity_keys.end());
    std::set<std::string> seen;
    while (!queue.empty()) {
      std::string key = std::move(queue.front());
      queue.pop_front();
      if (!seen.insert(key).second) continue;
      // What a newer patch wrote stays, and so do its children.
      GM_ASSIGN_OR_RETURN(bool claimed, Claim(PatchObject::kEntity, key));
      if (!claimed) {
        ++counts_.skipped;
        continue;
      }
      for (const std::string& type : patch_.entity_types) {
        GM_ASSIGN_OR_RETURN(std::vector<std::string> children,
                            tx_.ScopedEntities(type, key));
        for (std::string& child : children) queue.push_back(std::move(child));
      }
      GM_ASSIGN_OR_RETURN(std::vector<std::string> relationships,
                          tx_.RelationshipsTouching(key));
      for (const std::string& relationship : relationships) {
        GM_RETURN_IF_ERROR(Remove(PatchObject::kRelationship, relationship));
      }
      GM_RETURN_IF_ERROR(Remove(PatchObject::kEntity, key, claimed));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<PatchCounts> Apply() {
    GM_ASSIGN_OR_RETURN(bool exists, tx_.InstanceExists());
    if (!exists) {
      return absl::NotFoundError(
          absl::StrCat("instance '", patch_.instance_id, "' not found"));
    }
    GM_ASSIGN_OR_RETURN(
        bool recorded,
        tx_.RecordEvent(patch_.event_id, patch_.now_ms,
                        patch_.now_ms - kWebhookEventRetentionMs));
    if (!recorded) {
      counts_.duplicate = true;
      return counts_;
    }
    const v1::ResultBatch& objects = patch_.objects;
    GM_ASSIGN_OR_RETURN(int64_t run_start, tx_.NewestFinalizedRunStart());
    if (patch_.as_of_ms < run_start) {
      // A finalized run read the provider after this data was current.
      counts_.skipped = objects.entities_size() + objects.relationships_size() +
                        static_cast<int64_t>(patch_.deleted_entity_keys.size());
      return counts_;
    }
    static const std::string kUnscoped;
    auto scope_of = [](const auto& scopes, int i) -> const std::string& {
      return i < scopes.size() ? scopes[i] : kUnscoped;
    };
    for (int i = 0; i < objects.entities_size(); ++i) {
      GM_RETURN_IF_ERROR(Upsert(
          RowOf(objects.entities(i), scope_of(objects.entity_scopes(), i))));
    }
    GM_RETURN_IF_ERROR(DeleteEntities());
    for (int i = 0; i < objects.relationships_size(); ++i) {
      const v1::Relationship& relationship = objects.relationships(i);
      GM_ASSIGN_OR_RETURN(
          std::optional<PatchTransaction::Stored> from,
          tx_.Read(PatchObject::kEntity, relationship.from_entity_key()));
      GM_ASSIGN_OR_RETURN(
          std::optional<PatchTransaction::Stored> to,
          tx_.Read(PatchObject::kEntity, relationship.to_entity_key()));
      if (!from.has_value() || !to.has_value()) {
        ++counts_.skipped;
        continue;
      }
      GM_RETURN_IF_ERROR(Upsert(
          RowOf(relationship, scope_of(objects.relationship_scopes(), i))));
    }
    return counts_;
  }

 private:
  PatchTransaction& tx_;
  const GraphPatch& patch_;
  PatchCounts counts_;
};

}  // namespace

absl::Status CheckPatch(const GraphPatch& patch) {
  if (patch.event_id.empty()) {
    return absl::InvalidArgumentError("patch: event_id is empty");
  }
  const v1::ResultBatch& objects = patch.objects;
  if (objects.entity_scopes_size() != 0 &&
      objects.entity_scopes_size() != objects.entities_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "patch: ", objects.entity_scopes_size(), " entity scopes for ",
        objects.entities_size(), " entities"));
  }
  if (objects.relationship_scopes_size() != 0 &&
      objects.relationship_scopes_size() != objects.relationships_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("patch: ", objects.relationship_scopes_size(),
                     " relationship scopes for ", objects.relationships_size(),
                     " relationships"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PatchCounts> ApplyPatchIn(PatchTransaction& tx,
                                         const GraphPatch& patch) {
  return Applier(tx, patch).Apply();
}

}  // namespace graphmill::coordinator
