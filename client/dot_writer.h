// Graphviz DOT output for `graph export --format dot`: quoting, a stable style
// per _type, and a writer that streams nodes and edges as they are read.
#ifndef GRAPHMILL_CLIENT_DOT_WRITER_H_
#define GRAPHMILL_CLIENT_DOT_WRITER_H_

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/string_view.h"
#include "graphmill/v1/graph.pb.h"

namespace graphmill::cli {

// `text` as a DOT quoted string, quotes included. '"' and '\' are escaped, a
// line break becomes the label line break "\n", and other control characters
// become spaces, so the result is valid as an ID and as a label (where "\\"
// shows one backslash) and distinct texts give distinct IDs.
std::string DotQuote(absl::string_view text);

// How the nodes of one _type look.
struct DotStyle {
  std::string shape;      // "box", "ellipse", "hexagon" or "octagon".
  std::string fillcolor;  // "#rrggbb", light enough for black text.
};

// Gives each _type one of kSize styles (12 colours times 4 shapes): the one
// its name hashes to (FNV-1a, so the same on every run and machine), or the
// next free one when another type in this palette already holds it. The
// first kSize types are thus all distinct; later ones share. Not thread-safe.
class DotPalette {
 public:
  static constexpr int kSize = 48;

  DotPalette();
  DotStyle StyleFor(const std::string& type);

 private:
  std::map<std::string, int> assigned_;
  std::vector<bool> taken_;
};

// Writes a digraph to `out` (which must outlive it): one node per AddEntity
// (id: the quoted _key; label: displayName, else _key, and _type on two
// lines; its type's DotStyle), one edge per AddRelationship (label: _class),
// and the closing brace on Finish. Edges to keys that were never added make
// plain nodes. Entities must all come before the first relationship.
//
// With `fold` 0 nothing is buffered: the header goes out with the first
// node, edge or Finish (so an export that fails before its first object
// prints nothing) and each object as it is added.
//
// With `fold` N > 0 the graph is written on Finish, folded so that wide fans
// stay readable. Relationships are grouped by (from entity, _class, _type of
// the entity they point to). A group of at most N is drawn whole; a larger
// one draws its first N-1 edges (in the order added) and one dashed node
// "+M <type>" standing for the other M. An entity is not drawn when it is
// only reached through folded edges, or through edges from entities not
// drawn: a folded project hides its pipelines too. Fans multiply down a deep
// tree (projects, pipelines, workflows, jobs), so when N would still draw
// more than kMaxFoldedNodes nodes the largest smaller N that does not is used
// (down to 1, where every group of two or more is one "+M" node). A caption
// gives the N used and counts the entities not drawn.
//
// Memory: one record per entity (key, label, type), one per group and one per
// edge among the first N of its group; a folded edge costs only its count.
// Finish is linear in these, times log2(N) for the search.
class DotWriter {
 public:
  // About what a screen shows legibly in one picture.
  static constexpr int64_t kMaxFoldedNodes = 100;

  DotWriter(std::ostream& out, absl::string_view graph_name, int fold = 0);
  DotWriter(const DotWriter&) = delete;
  DotWriter& operator=(const DotWriter&) = delete;

  void AddEntity(const v1::Entity& entity);
  void AddRelationship(const v1::Relationship& relationship);
  void Finish();

 private:
  // Folding state: entities and groups by index into nodes_ and groups_.
  struct Node {
    std::string key;
    std::string name;  // displayName, else the key
    std::string type;  // empty for an edge end that was never added
    bool added = false;
    bool beyond_fold =
        false;  // an edge past the first N of its group ends here
  };
  struct Group {
    int from;
    std::string class_name;
    std::string to_type;
    int64_t edges = 0;
  };
  struct Edge {
    int from;
    int to;
    int group;
    int rank;  // 1 for its group's first edge; at most fold_
  };
  // What folding with groups of at most `n` leaves out.
  struct Folding {
    int n;
    std::vector<bool> hidden;  // by node
    int64_t hidden_entities = 0;
    int64_t drawn_nodes = 0;  // entities and "+M" nodes
  };

  // Writes the header once.
  void Start();
  void WriteNode(absl::string_view key, absl::string_view name,
                 const std::string& type);
  void WriteEdge(absl::string_view from, absl::string_view to,
                 absl::string_view class_name, absl::string_view attributes);
  int NodeIndex(const std::string& key);
  bool Kept(const Edge& edge, int n) const;
  Folding Fold(int n) const;
  void WriteFolded(const Folding& folding);

  std::ostream& out_;
  const std::string graph_name_;
  const int fold_;
  bool started_ = false;
  DotPalette palette_;
  std::vector<Node> nodes_;
  std::map<std::string, int> node_index_;
  std::vector<Group> groups_;  // in order of their first edge
  std::map<std::tuple<int, std::string, std::string>, int> group_index_;
  std::vector<Edge> edges_;  // the first fold_ of each group, in order
};

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_DOT_WRITER_H_
