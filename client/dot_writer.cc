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

DotWriter::DotWriter(std::ostream& out, absl::string_view graph_name, int fold)
    : out_(out), graph_name_(graph_name), fold_(fold) {}

void DotWriter::Start() {
  if (started_) return;
  started_ = true;
  out_ << "digraph " << DotQuote(graph_name_) << " {\n"
       << "  graph [rankdir=LR];\n"
       << "  node [style=filled, fontsize=10];\n"
       << "  edge [fontsize=9];\n";
}

void DotWriter::WriteNode(absl::string_view key, absl::string_view name,
                          const std::string& type) {
  const DotStyle style = palette_.StyleFor(type);
  out_ << "  " << DotQuote(key)
       << " [label=" << DotQuote(absl::StrCat(name, "\n", type))
       << ", shape=" << style.shape << ", fillcolor=\"" << style.fillcolor
       << "\"];\n";
}

void DotWriter::WriteEdge(absl::string_view from, absl::string_view to,
                          absl::string_view class_name,
                          absl::string_view attributes) {
  out_ << "  " << DotQuote(from) << " -> " << DotQuote(to)
       << " [label=" << DotQuote(class_name) << attributes << "];\n";
}

void DotWriter::AddEntity(const v1::Entity& entity) {
  const auto display_name = entity.properties().find("displayName");
  const std::string& name =
      display_name != entity.properties().end() &&
              display_name->second.kind_case() == v1::Value::kStringValue &&
              !display_name->second.string_value().empty()
          ? display_name->second.string_value()
          : entity.key();
  if (fold_ == 0) {
    Start();
    WriteNode(entity.key(), name, entity.type());
    return;
  }
  // Styles are taken in the order types arrive, drawn or not, so a type looks
  // the same whatever folding hides.
  palette_.StyleFor(entity.type());
  Node& node = nodes_[NodeIndex(entity.key())];
  node.name = name;
  node.type = entity.type();
  node.added = true;
}

int DotWriter::NodeIndex(const std::string& key) {
  auto [it, inserted] =
      node_index_.try_emplace(key, static_cast<int>(nodes_.size()));
  if (inserted) {
    nodes_.emplace_back();
    nodes_.back().key = key;
  }
  return it->second;
}

void DotWriter::AddRelationship(const v1::Relationship& relationship) {
  if (fold_ == 0) {
    Start();
    WriteEdge(relationship.from_entity_key(), relationship.to_entity_key(),
              relationship.class_name(), "");
    return;
  }
  const int from = NodeIndex(relationship.from_entity_key());
  const int to = NodeIndex(relationship.to_entity_key());
  auto [it, inserted] = group_index_.try_emplace(
      std::make_tuple(from, relationship.class_name(), nodes_[to].type),
      static_cast<int>(groups_.size()));
  if (inserted) {
    groups_.push_back(Group{.from = from,
                            .class_name = relationship.class_name(),
                            .to_type = nodes_[to].type});
  }
  Group& group = groups_[it->second];
  ++group.edges;
  if (group.edges <= fold_) {
    edges_.push_back(Edge{from, to, it->second, static_cast<int>(group.edges)});
  } else {
    nodes_[to].beyond_fold = true;
  }
}

bool DotWriter::Kept(const Edge& edge, int n) const {
  return groups_[edge.group].edges <= n || edge.rank < n;
}

DotWriter::Folding DotWriter::Fold(int n) const {
  Folding folding{.n = n, .hidden = std::vector<bool>(nodes_.size(), false)};
  std::vector<int> kept_in(nodes_.size(), 0);
  std::vector<bool> folded_in(nodes_.size(), false);
  // Kept edges by their start, to pass hiding on from an entity to those it
  // alone reaches: each edge is followed at most once.
  std::vector<std::vector<int>> kept_out(nodes_.size());
  for (int e = 0; e < static_cast<int>(edges_.size()); ++e) {
    const Edge& edge = edges_[e];
    if (Kept(edge, n)) {
      ++kept_in[edge.to];
      kept_out[edge.from].push_back(edge.to);
    } else {
      folded_in[edge.to] = true;
    }
  }
  std::vector<int> pending;
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    if ((folded_in[i] || nodes_[i].beyond_fold) && kept_in[i] == 0) {
      folding.hidden[i] = true;
      pending.push_back(i);
    }
  }
  while (!pending.empty()) {
    const int i = pending.back();
    pending.pop_back();
    for (int to : kept_out[i]) {
      if (--kept_in[to] == 0 && !folding.hidden[to]) {
        folding.hidden[to] = true;
        pending.push_back(to);
      }
    }
  }
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    if (!nodes_[i].added) continue;
    ++(folding.hidden[i] ? folding.hidden_entities : folding.drawn_nodes);
  }
  for (const Group& group : groups_) {
    if (group.edges > n && !folding.hidden[group.from]) ++folding.drawn_nodes;
  }
  return folding;
}

void DotWriter::WriteFolded(const Folding& folding) {
  const int n = folding.n;
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    const Node& node = nodes_[i];
    if (node.added && !folding.hidden[i]) {
      WriteNode(node.key, node.name, node.type);
    }
  }
  for (const Edge& edge : edges_) {
    if (!Kept(edge, n) || folding.hidden[edge.from] ||
        folding.hidden[edge.to]) {
      continue;
    }
    WriteEdge(nodes_[edge.from].key, nodes_[edge.to].key,
              groups_[edge.group].class_name, "");
  }
  int fold_nodes = 0;
  for (const Group& group : groups_) {
    if (group.edges <= n || folding.hidden[group.from]) continue;
    // An id no entity has: entity keys are node ids too.
    std::string id = absl::StrCat("fold ", fold_nodes++);
    while (node_index_.contains(id)) id.push_back('\'');
    const int64_t folded = group.edges - (n - 1);
    const DotStyle style = palette_.StyleFor(group.to_type);
    out_ << "  " << DotQuote(id) << " [label="
         << DotQuote(group.to_type.empty()
                         ? absl::StrCat("+", folded)
                         : absl::StrCat("+", folded, " ", group.to_type))
         << ", shape=" << style.shape << ", fillcolor=\"" << style.fillcolor
         << "\", style=\"filled,dashed\"];\n";
    WriteEdge(nodes_[group.from].key, id, group.class_name, ", style=dashed");
  }
  if (fold_nodes > 0) {
    out_ << "  graph [labelloc=b, label="
         << DotQuote(absl::StrCat("folded: groups of more than ", n, " edges; ",
                                  folding.hidden_entities,
                                  " entities not drawn (--fold 0 draws all)"))
         << "];\n";
  }
}

void DotWriter::Finish() {
  Start();
  if (fold_ > 0) {
    // Drawn nodes only grow with n (a larger n keeps more edges), so the
    // largest n that fits is found by bisection.
    Folding folding = Fold(fold_);
    if (folding.drawn_nodes > kMaxFoldedNodes && fold_ > 1) {
      int fits = 1;  // 1 is the last resort even when it does not fit
      int low = 1;
      int high = fold_ - 1;
      while (low <= high) {
        const int mid = low + (high - low) / 2;
        if (Fold(mid).drawn_nodes <= kMaxFoldedNodes) {
          fits = mid;
          low = mid + 1;
        } else {
          high = mid - 1;
        }
      }
      folding = Fold(fits);
    }
    WriteFolded(folding);
  }
  out_ << "}\n";
}

}  // namespace graphmill::cli
