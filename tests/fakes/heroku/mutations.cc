// Implementation of mutations.h.
#include "tests/fakes/heroku/mutations.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fakes/common/control.h"
#include "tests/fakes/heroku/payloads.h"

namespace graphmill::fakes::heroku {
namespace {

struct OpInfo {
  MutationOp op;
  const char* name;
  bool takes_name;
};

constexpr OpInfo kOps[] = {
    {MutationOp::kRenameApp, "rename_app", true},
    {MutationOp::kRemoveApp, "remove_app", false},
    {MutationOp::kRenameAddon, "rename_addon", true},
    {MutationOp::kRemoveAddon, "remove_addon", false},
};

const OpInfo& InfoFor(MutationOp op) {
  for (const OpInfo& info : kOps) {
    if (info.op == op) return info;
  }
  return kOps[0];  // unreachable: kOps lists every op
}

std::string IsoSeconds(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

// Heroku's app name rule.
bool ValidAppName(absl::string_view name) {
  if (name.size() < 3 || name.size() > 30) return false;
  if (!absl::ascii_islower(name.front()) || name.back() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
  });
}

bool ValidAddonName(absl::string_view name) {
  if (name.size() < 2 || !absl::ascii_isalpha(name.front())) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '_';
  });
}

int FindApp(const Dataset& data, const std::string& key) {
  for (size_t i = 0; i < data.apps.size(); ++i) {
    if (data.apps[i].id == key || data.apps[i].name == key) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

int FindAddon(const Dataset& data, const std::string& key) {
  for (size_t i = 0; i < data.addons.size(); ++i) {
    if (data.addons[i].id == key || data.addons[i].name == key) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

absl::Status CheckFields(const Mutation& m) {
  if (m.id.empty()) return absl::InvalidArgumentError("field 'id' is required");
  const bool takes_name = InfoFor(m.op).takes_name;
  if (takes_name && m.name.empty()) {
    return absl::InvalidArgumentError("field 'name' is required");
  }
  if (!takes_name && !m.name.empty()) {
    return absl::InvalidArgumentError("field 'name' does not apply");
  }
  return absl::OkStatus();
}

absl::Status ApplyOne(Dataset& data, const Mutation& m, absl::Time now,
                      std::vector<Change>& changes) {
  if (absl::Status status = CheckFields(m); !status.ok()) return status;
  switch (m.op) {
    case MutationOp::kRenameApp: {
      const int app = FindApp(data, m.id);
      if (app < 0) {
        return absl::NotFoundError(absl::StrCat("app '", m.id, "' not found"));
      }
      if (!ValidAppName(m.name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "app name '", m.name,
            "' must be 3 to 30 lower-case letters, digits and dashes, start "
            "with a letter and not end with a dash"));
      }
      const int taken = FindApp(data, m.name);
      if (taken >= 0 && taken != app) {
        return absl::AlreadyExistsError(
            absl::StrCat("app name '", m.name, "' is already taken"));
      }
      data.apps[app].name = m.name;
      data.apps[app].updated_at = IsoSeconds(now);
      changes.push_back(Change{"app", "update", data.apps[app].id,
                               AppJson(data, data.apps[app])});
      return absl::OkStatus();
    }
    case MutationOp::kRemoveApp: {
      const int app = FindApp(data, m.id);
      if (app < 0) {
        return absl::NotFoundError(absl::StrCat("app '", m.id, "' not found"));
      }
      const std::string app_id = data.apps[app].id;
      changes.push_back(
          Change{"app", "destroy", app_id, AppJson(data, data.apps[app])});
      for (const Addon& addon : data.addons) {
        if (addon.app == app) {
          changes.push_back(
              Change{"addon", "destroy", app_id, AddonJson(data, addon)});
        }
      }
      std::erase_if(data.addons,
                    [app](const Addon& addon) { return addon.app == app; });
      for (Addon& addon : data.addons) {
        if (addon.app > app) --addon.app;
      }
      data.apps.erase(data.apps.begin() + app);
      return absl::OkStatus();
    }
    case MutationOp::kRenameAddon: {
      const int addon = FindAddon(data, m.id);
      if (addon < 0) {
        return absl::NotFoundError(
            absl::StrCat("add-on '", m.id, "' not found"));
      }
      if (!ValidAddonName(m.name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "add-on name '", m.name,
            "' must be a letter followed by letters, digits, '-' or '_'"));
      }
      const int taken = FindAddon(data, m.name);
      if (taken >= 0 && taken != addon) {
        return absl::AlreadyExistsError(
            absl::StrCat("add-on name '", m.name, "' is already taken"));
      }
      Addon& renamed = data.addons[addon];
      renamed.name = m.name;
      renamed.updated_at = IsoSeconds(now);
      changes.push_back(Change{"addon", "update", data.apps[renamed.app].id,
                               AddonJson(data, renamed)});
      return absl::OkStatus();
    }
    case MutationOp::kRemoveAddon: {
      const int addon = FindAddon(data, m.id);
      if (addon < 0) {
        return absl::NotFoundError(
            absl::StrCat("add-on '", m.id, "' not found"));
      }
      changes.push_back(Change{"addon", "destroy",
                               data.apps[data.addons[addon].app].id,
                               AddonJson(data, data.addons[addon])});
      data.addons.erase(data.addons.begin() + addon);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown op");
}

absl::StatusOr<Mutation> MutationFromJson(const rapidjson::Value& value) {
  if (!value.IsObject()) {
    return absl::InvalidArgumentError("a mutation must be a JSON object");
  }
  Mutation m;
  bool has_op = false;
  for (const auto& member : value.GetObject()) {
    const absl::string_view key(member.name.GetString(),
                                member.name.GetStringLength());
    if (!member.value.IsString()) {
      return absl::InvalidArgumentError(
          absl::StrCat("member '", key, "' must be a string"));
    }
    const absl::string_view text(member.value.GetString(),
                                 member.value.GetStringLength());
    if (key == "op") {
      const OpInfo* found = nullptr;
      for (const OpInfo& info : kOps) {
        if (text == info.name) found = &info;
      }
      if (found == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown op '", text, "'"));
      }
      m.op = found->op;
      has_op = true;
    } else if (key == "id") {
      m.id = std::string(text);
    } else if (key == "name") {
      m.name = std::string(text);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown member '", key, "'"));
    }
  }
  if (!has_op) return absl::InvalidArgumentError("member 'op' is required");
  return m;
}

}  // namespace

Mutation Mutation::RenameApp(std::string app, std::string name) {
  return Mutation{MutationOp::kRenameApp, std::move(app), std::move(name)};
}
Mutation Mutation::RemoveApp(std::string app) {
  return Mutation{MutationOp::kRemoveApp, std::move(app), ""};
}
Mutation Mutation::RenameAddon(std::string addon, std::string name) {
  return Mutation{MutationOp::kRenameAddon, std::move(addon), std::move(name)};
}
Mutation Mutation::RemoveAddon(std::string addon) {
  return Mutation{MutationOp::kRemoveAddon, std::move(addon), ""};
}

const char* MutationOpName(MutationOp op) { return InfoFor(op).name; }

absl::StatusOr<Dataset> ApplyMutations(const Dataset& data,
                                       const std::vector<Mutation>& mutations,
                                       absl::Time now,
                                       std::vector<Change>* changes) {
  if (mutations.empty()) {
    return absl::InvalidArgumentError("the mutation list is empty");
  }
  Dataset out = data;
  std::vector<Change> caused;
  for (size_t i = 0; i < mutations.size(); ++i) {
    if (absl::Status status = ApplyOne(out, mutations[i], now, caused);
        !status.ok()) {
      return absl::Status(
          status.code(),
          absl::StrCat("mutation #", i, " (", MutationOpName(mutations[i].op),
                       "): ", status.message()));
    }
  }
  if (changes != nullptr) *changes = std::move(caused);
  return out;
}

absl::StatusOr<std::vector<Mutation>> ParseMutationsJson(
    absl::string_view json) {
  return common::MutationsFromJson<Mutation>(json, MutationFromJson);
}

std::string MutationToJson(const Mutation& mutation) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("op");
  w.String(MutationOpName(mutation.op));
  w.Key("id");
  w.String(mutation.id.c_str(),
           static_cast<rapidjson::SizeType>(mutation.id.size()));
  if (!mutation.name.empty()) {
    w.Key("name");
    w.String(mutation.name.c_str(),
             static_cast<rapidjson::SizeType>(mutation.name.size()));
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace graphmill::fakes::heroku
