// Graphviz DOT output for `graph export --format dot`: quoting, a stable style
// per _type, and a writer that streams nodes and edges as they are read.
#ifndef GRAPHMILL_CLIENT_DOT_WRITER_H_
#define GRAPHMILL_CLIENT_DOT_WRITER_H_

#include <map>
#include <ostream>
#include <string>
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

// Writes a digraph to `out` (which must outlive it): the header with the
// first node, edge or Finish (so an export that fails before its first object
// prints nothing), then one node per AddEntity (id: the quoted _key; label:
// displayName, else _key, and _type on two lines; its type's DotStyle), one
// edge per AddRelationship (label: _class), and the closing brace on Finish.
// Nothing is buffered, so nodes and edges may be streamed; edges to keys that
// were never added make plain nodes.
class DotWriter {
 public:
  DotWriter(std::ostream& out, absl::string_view graph_name);
  DotWriter(const DotWriter&) = delete;
  DotWriter& operator=(const DotWriter&) = delete;

  void AddEntity(const v1::Entity& entity);
  void AddRelationship(const v1::Relationship& relationship);
  void Finish();

 private:
  // Writes the header once.
  void Start();

  std::ostream& out_;
  const std::string graph_name_;
  bool started_ = false;
  DotPalette palette_;
};

}  // namespace graphmill::cli

#endif  // GRAPHMILL_CLIENT_DOT_WRITER_H_
