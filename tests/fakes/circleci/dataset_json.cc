// Implementation of dataset_json.h.
#include "tests/fakes/circleci/dataset_json.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace graphmill::fakes {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

template <typename T>
struct StringField {
  const char* name;
  std::string T::*member;
};

template <typename T>
struct IntField {
  const char* name;
  int T::*member;
};

constexpr StringField<User> kUserStrings[] = {{"id", &User::id},
                                              {"login", &User::login}};
constexpr StringField<Org> kOrgStrings[] = {{"id", &Org::id},
                                            {"slug", &Org::slug},
                                            {"name", &Org::name},
                                            {"vcs_type", &Org::vcs_type},
                                            {"avatar_url", &Org::avatar_url}};
constexpr StringField<Project> kProjectStrings[] = {
    {"id", &Project::id},
    {"slug", &Project::slug},
    {"name", &Project::name},
    {"organization_id", &Project::organization_id},
    {"organization_name", &Project::organization_name},
    {"organization_slug", &Project::organization_slug},
    {"vcs_url", &Project::vcs_url},
    {"default_branch", &Project::default_branch},
    {"provider", &Project::provider}};
constexpr StringField<Pipeline> kPipelineStrings[] = {
    {"id", &Pipeline::id},
    {"project_slug", &Pipeline::project_slug},
    {"org_slug", &Pipeline::org_slug},
    {"state", &Pipeline::state},
    {"created_at", &Pipeline::created_at},
    {"updated_at", &Pipeline::updated_at},
    {"trigger_type", &Pipeline::trigger_type},
    {"branch", &Pipeline::branch},
    {"revision", &Pipeline::revision}};
constexpr IntField<Pipeline> kPipelineInts[] = {{"number", &Pipeline::number}};
constexpr StringField<Workflow> kWorkflowStrings[] = {
    {"id", &Workflow::id},
    {"pipeline_id", &Workflow::pipeline_id},
    {"name", &Workflow::name},
    {"project_slug", &Workflow::project_slug},
    {"status", &Workflow::status},
    {"started_by", &Workflow::started_by},
    {"created_at", &Workflow::created_at},
    {"stopped_at", &Workflow::stopped_at},
    {"canceled_by", &Workflow::canceled_by}};
constexpr IntField<Workflow> kWorkflowInts[] = {
    {"pipeline_number", &Workflow::pipeline_number}};
constexpr StringField<Job> kJobStrings[] = {
    {"id", &Job::id},
    {"workflow_id", &Job::workflow_id},
    {"name", &Job::name},
    {"project_slug", &Job::project_slug},
    {"status", &Job::status},
    {"type", &Job::type},
    {"started_at", &Job::started_at},
    {"stopped_at", &Job::stopped_at}};
constexpr IntField<Job> kJobInts[] = {{"job_number", &Job::job_number}};
constexpr StringField<ProjectEnvVar> kProjectEnvVarStrings[] = {
    {"project_slug", &ProjectEnvVar::project_slug},
    {"name", &ProjectEnvVar::name},
    {"masked_value", &ProjectEnvVar::masked_value},
    {"created_at", &ProjectEnvVar::created_at}};
constexpr StringField<Context> kContextStrings[] = {
    {"id", &Context::id},
    {"org_slug", &Context::org_slug},
    {"name", &Context::name},
    {"created_at", &Context::created_at}};
constexpr StringField<ContextRestriction> kRestrictionStrings[] = {
    {"id", &ContextRestriction::id},
    {"context_id", &ContextRestriction::context_id},
    {"project_id", &ContextRestriction::project_id},
    {"name", &ContextRestriction::name},
    {"restriction_type", &ContextRestriction::restriction_type},
    {"restriction_value", &ContextRestriction::restriction_value}};
constexpr StringField<ContextEnvVar> kContextEnvVarStrings[] = {
    {"context_id", &ContextEnvVar::context_id},
    {"variable", &ContextEnvVar::variable},
    {"created_at", &ContextEnvVar::created_at},
    {"updated_at", &ContextEnvVar::updated_at}};

void WriteString(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

template <typename T, size_t N>
void WriteStrings(Writer& w, const T& item, const StringField<T> (&fields)[N]) {
  for (const StringField<T>& field : fields) {
    WriteString(w, field.name, item.*field.member);
  }
}

template <typename T, size_t N>
void WriteInts(Writer& w, const T& item, const IntField<T> (&fields)[N]) {
  for (const IntField<T>& field : fields) {
    w.Key(field.name);
    w.Int(item.*field.member);
  }
}

// An object of string fields only.
template <typename T, size_t N>
void WritePlain(Writer& w, const T& item, const StringField<T> (&fields)[N]) {
  w.StartObject();
  WriteStrings(w, item, fields);
  w.EndObject();
}

void WriteItem(Writer& w, const Org& org) { WritePlain(w, org, kOrgStrings); }
void WriteItem(Writer& w, const Project& p) {
  WritePlain(w, p, kProjectStrings);
}
void WriteItem(Writer& w, const Pipeline& p) {
  w.StartObject();
  WriteStrings(w, p, kPipelineStrings);
  WriteInts(w, p, kPipelineInts);
  w.Key("created_at_ms");
  w.Int64(p.created_at_ms);
  w.EndObject();
}
void WriteItem(Writer& w, const Workflow& wf) {
  w.StartObject();
  WriteStrings(w, wf, kWorkflowStrings);
  WriteInts(w, wf, kWorkflowInts);
  w.EndObject();
}
void WriteItem(Writer& w, const Job& job) {
  w.StartObject();
  WriteStrings(w, job, kJobStrings);
  WriteInts(w, job, kJobInts);
  w.Key("dependencies");
  w.StartArray();
  for (const std::string& id : job.dependencies) {
    w.String(id.c_str(), static_cast<rapidjson::SizeType>(id.size()));
  }
  w.EndArray();
  w.EndObject();
}
void WriteItem(Writer& w, const ProjectEnvVar& v) {
  WritePlain(w, v, kProjectEnvVarStrings);
}
void WriteItem(Writer& w, const Context& c) {
  WritePlain(w, c, kContextStrings);
}
void WriteItem(Writer& w, const ContextRestriction& r) {
  WritePlain(w, r, kRestrictionStrings);
}
void WriteItem(Writer& w, const ContextEnvVar& v) {
  WritePlain(w, v, kContextEnvVarStrings);
}

// The arrays after "user", in output order.
constexpr const char* kSections[] = {
    "orgs",      "projects",     "pipelines",
    "workflows", "jobs",         "project_env_vars",
    "contexts",  "restrictions", "context_env_vars"};
constexpr int kSectionCount = sizeof(kSections) / sizeof(kSections[0]);

// Calls `visit(items)` with the vector of section `index`.
template <typename Visit>
void VisitSection(const Dataset& d, int index, Visit visit) {
  switch (index) {
    case 0:
      return visit(d.orgs);
    case 1:
      return visit(d.projects);
    case 2:
      return visit(d.pipelines);
    case 3:
      return visit(d.workflows);
    case 4:
      return visit(d.jobs);
    case 5:
      return visit(d.project_env_vars);
    case 6:
      return visit(d.contexts);
    case 7:
      return visit(d.restrictions);
    default:
      return visit(d.context_env_vars);
  }
}

// --- Reading

absl::Status Missing(const std::string& where, const char* what) {
  return absl::InvalidArgumentError(
      absl::StrCat("dataset JSON: ", where, " must be ", what));
}

template <typename T, size_t N>
absl::Status ReadStrings(const rapidjson::Value& obj, const std::string& where,
                         const StringField<T> (&fields)[N], T& item) {
  for (const StringField<T>& field : fields) {
    auto it = obj.FindMember(field.name);
    if (it == obj.MemberEnd() || !it->value.IsString()) {
      return Missing(absl::StrCat(where, ".", field.name), "a string");
    }
    item.*field.member =
        std::string(it->value.GetString(), it->value.GetStringLength());
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ReadInt(const rapidjson::Value& obj,
                                const std::string& where, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsInt64()) {
    return Missing(absl::StrCat(where, ".", name), "an integer");
  }
  return it->value.GetInt64();
}

template <typename T, size_t N>
absl::Status ReadInts(const rapidjson::Value& obj, const std::string& where,
                      const IntField<T> (&fields)[N], T& item) {
  for (const IntField<T>& field : fields) {
    absl::StatusOr<int64_t> value = ReadInt(obj, where, field.name);
    if (!value.ok()) return value.status();
    item.*field.member = static_cast<int>(*value);
  }
  return absl::OkStatus();
}

template <size_t N, typename T>
absl::Status ReadPlain(const rapidjson::Value& obj, const std::string& where,
                       const StringField<T> (&fields)[N], T& item) {
  return ReadStrings(obj, where, fields, item);
}

absl::Status ReadItem(const rapidjson::Value& obj, const std::string& where,
                      Org& item) {
  return ReadPlain(obj, where, kOrgStrings, item);
}
absl::Status ReadItem(const rapidjson::Value& obj, const std::string& where,
                      Project& item) {
  return ReadPlain(obj, where, kProjectStrings, item);
}
absl::Status ReadItem(const rapidjson::Value& obj, const std::string& where,
                      Pipeline& item) {
  if (absl::Status s = ReadStrings(obj, where, kPipelineStrings, item);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ReadInts(obj, where, kPipelineInts, item); !s.ok()) {
    return s;
  }
  absl::StatusOr<int64_t> created_at_ms = ReadInt(obj, where, "created_at_ms");
  if (!created_at_ms.ok()) return created_at_ms.status();
  item.created_at_ms = *created_at_ms;
  return absl::OkStatus();
}
absl::Status ReadItem(const rapidjson::Value& obj, const std::string& where,
                      Workflow& item) {
  if (absl::Status s = ReadStrings(obj, where, kWorkflowStrings, item);
      !s.ok()) {
    return s;
  }
  return ReadInts(obj, where, kWorkflowInts, item);
}
absl::Status ReadItem(const rapidjson::Value& obj, const std::string& where,
                      Job& item) {
  if (absl::Status s = ReadStrings(obj, where, kJobStrings, item); !s.ok()) {
    return s;
  }
  if (absl::Status s = ReadInts(obj, where, kJobInts, item); !s.ok()) return s;
  auto it = obj.FindMember("dependencies");
  if (it == obj.MemberEnd() || !it->value.IsArray()) {
    return Missing(absl::StrCat(where, ".dependencies"), "an array");
  }
  for (const rapidjson::Value& id : it->value.GetArray()) {
    if (!id.IsString()) {
      return Missing(absl::StrCat(where, ".dependencies[]"), "a string");
    }
    item.dependencies.emplace_back(id.GetString(), id.GetStringLength());
  }
  return absl::OkStatus();
}
absl::Status ReadItem(const rapidjson::Value& obj, const std::string& where,
                      ProjectEnvVar& item) {
  return ReadPlain(obj, where, kProjectEnvVarStrings, item);
}
absl::Status ReadItem(const rapidjson::Value& obj, const std::string& where,
                      Context& item) {
  return ReadPlain(obj, where, kContextStrings, item);
}
absl::Status ReadItem(const rapidjson::Value& obj, const std::string& where,
                      ContextRestriction& item) {
  return ReadPlain(obj, where, kRestrictionStrings, item);
}
absl::Status ReadItem(const rapidjson::Value& obj, const std::string& where,
                      ContextEnvVar& item) {
  return ReadPlain(obj, where, kContextEnvVarStrings, item);
}

template <typename T>
absl::Status ReadArray(const rapidjson::Value& doc, const char* key,
                       std::vector<T>& items) {
  auto it = doc.FindMember(key);
  if (it == doc.MemberEnd() || !it->value.IsArray()) {
    return Missing(key, "an array");
  }
  items.reserve(it->value.Size());
  for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
    const std::string where = absl::StrCat(key, "[", i, "]");
    const rapidjson::Value& obj = it->value[i];
    if (!obj.IsObject()) return Missing(where, "an object");
    T item;
    if (absl::Status s = ReadItem(obj, where, item); !s.ok()) return s;
    items.push_back(std::move(item));
  }
  return absl::OkStatus();
}

}  // namespace

DatasetJsonWriter::DatasetJsonWriter(std::shared_ptr<const Dataset> data,
                                     int64_t version)
    : data_(std::move(data)), version_(version) {}

bool DatasetJsonWriter::Next(size_t max_bytes, std::string* out) {
  if (done_) return false;
  const size_t start = out->size();
  // The first item (or header) always goes in, so every call makes progress.
  bool progressed = false;
  auto room = [&] { return !progressed || out->size() - start < max_bytes; };
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  auto flush = [&] {
    out->append(buffer.GetString(), buffer.GetSize());
    buffer.Clear();
    w.Reset(buffer);
  };
  if (!header_written_) {
    absl::StrAppend(out, "{\"version\":", version_, ",\"user\":");
    WritePlain(w, data_->user, kUserStrings);
    flush();
    header_written_ = true;
    progressed = true;
  }
  while (section_ < kSectionCount && room()) {
    VisitSection(*data_, section_, [&](const auto& items) {
      if (!array_open_) {
        absl::StrAppend(out, ",\"", kSections[section_], "\":[");
        array_open_ = true;
      }
      while (item_ < items.size() && room()) {
        if (item_ > 0) out->push_back(',');
        WriteItem(w, items[item_]);
        flush();
        ++item_;
        progressed = true;
      }
      if (item_ == items.size()) {
        out->push_back(']');
        ++section_;
        item_ = 0;
        array_open_ = false;
        progressed = true;
      }
    });
  }
  if (section_ == kSectionCount) {
    out->push_back('}');
    done_ = true;
  }
  return true;
}

std::string DatasetToJson(const Dataset& data, int64_t version) {
  // Non-owning: `data` outlives the writer.
  DatasetJsonWriter writer(
      std::shared_ptr<const Dataset>(std::shared_ptr<const Dataset>(), &data),
      version);
  std::string out;
  while (writer.Next(size_t{1} << 20, &out)) {
  }
  return out;
}

absl::StatusOr<VersionedDataset> DatasetFromJson(absl::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError("dataset JSON: not a JSON object");
  }
  VersionedDataset out;
  absl::StatusOr<int64_t> version = ReadInt(doc, "top level", "version");
  if (!version.ok()) return version.status();
  out.version = *version;
  auto user = doc.FindMember("user");
  if (user == doc.MemberEnd() || !user->value.IsObject()) {
    return Missing("user", "an object");
  }
  if (absl::Status s =
          ReadStrings(user->value, "user", kUserStrings, out.data.user);
      !s.ok()) {
    return s;
  }
  Dataset& d = out.data;
  for (absl::Status s :
       {ReadArray(doc, "orgs", d.orgs), ReadArray(doc, "projects", d.projects),
        ReadArray(doc, "pipelines", d.pipelines),
        ReadArray(doc, "workflows", d.workflows),
        ReadArray(doc, "jobs", d.jobs),
        ReadArray(doc, "project_env_vars", d.project_env_vars),
        ReadArray(doc, "contexts", d.contexts),
        ReadArray(doc, "restrictions", d.restrictions),
        ReadArray(doc, "context_env_vars", d.context_env_vars)}) {
    if (!s.ok()) return s;
  }
  return out;
}

}  // namespace graphmill::fakes
