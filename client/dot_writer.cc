// Implementation of client/dot_writer.h.
#include "client/dot_writer.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace graphmill::cli {
namespace {

// ColorBrewer "Set3": light, distinct, readable under black text.
constexpr const char* kColors[] = {
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
    "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f",
};
constexpr const char* kShapes[] = {"box", "ellipse", "hexagon", "octagon"};
constexpr int kColorCount = sizeof(kColors) / sizeof(kColors[0]);
static_assert(kColorCount * (sizeof(kShapes) / sizeof(kShapes[0])) ==
              DotPalette::kSize);

// 64-bit FNV-1a: stable across runs and platforms, unlike std::hash.
uint64_t Fnv1a(absl::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

DotStyle StyleAt(int slot) {
  return {kShapes[slot / kColorCount], kColors[slot % kColorCount]};
}

}  // namespace

std::string DotQuote(absl::string_view text) {
  std::string quoted = "\"";
  quoted.reserve(text.size() + 2);
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const unsigned char byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      quoted.push_back('\\');
      quoted.push_back(c);
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      quoted.append("\\n");
    } else if (byte < 0x20 || byte == 0x7f) {
      quoted.push_back(' ');
    } else {
      quoted.push_back(c);
    }
  }
  quoted.push_back('"');
  return quoted;
}

DotPalette::DotPalette() : taken_(kSize, false) {}

DotStyle DotPalette::StyleFor(const std::string& type) {
  if (auto it = assigned_.find(type); it != assigned_.end()) {
    return StyleAt(it->second);
  }
  const int preferred = static_cast<int>(Fnv1a(type) % kSize);
  int slot = preferred;
  for (int probe = 0; probe < kSize; ++probe) {
    const int candidate = (preferred + probe) % kSize;
    if (!taken_[candidate]) {
      slot = candidate;
      taken_[candidate] = true;
      break;
    }
  }
  assigned_[type] = slot;
  return StyleAt(slot);
}

DotWriter::DotWriter(std::ostream& out, absl::string_view graph_name)
    : out_(out), graph_name_(graph_name) {}

void DotWriter::Start() {
  if (started_) return;
  started_ = true;
  out_ << "digraph " << DotQuote(graph_name_) << " {\n"
       << "  graph [rankdir=LR];\n"
       << "  node [style=filled, fontsize=10];\n"
       << "  edge [fontsize=9];\n";
}

void DotWriter::AddEntity(const v1::Entity& entity) {
  Start();
  const auto display_name = entity.properties().find("displayName");
  const std::string name =
      display_name != entity.properties().end() &&
              display_name->second.kind_case() == v1::Value::kStringValue &&
              !display_name->second.string_value().empty()
          ? display_name->second.string_value()
          : entity.key();
  const DotStyle style = palette_.StyleFor(entity.type());
  out_ << "  " << DotQuote(entity.key())
       << " [label=" << DotQuote(absl::StrCat(name, "\n", entity.type()))
       << ", shape=" << style.shape << ", fillcolor=\"" << style.fillcolor
       << "\"];\n";
}

void DotWriter::AddRelationship(const v1::Relationship& relationship) {
  Start();
  out_ << "  " << DotQuote(relationship.from_entity_key()) << " -> "
       << DotQuote(relationship.to_entity_key())
       << " [label=" << DotQuote(relationship.class_name()) << "];\n";
}

void DotWriter::Finish() {
  Start();
  out_ << "}\n";
}

}  // namespace graphmill::cli
