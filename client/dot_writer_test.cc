// Tests of client/dot_writer.h: quoting, the per-type palette, the streamed
// digraph, and (when Graphviz is installed) that `dot` accepts the output.
#include "client/dot_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/command_line.h"
#include "common/graph_objects.h"

namespace graphmill::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDot[] = "/usr/bin/dot";

bool SameStyle(const DotStyle& a, const DotStyle& b) {
  return a.shape == b.shape && a.fillcolor == b.fillcolor;
}

v1::Entity Entity(const std::string& key, const std::string& type,
                  const std::string& display_name) {
  v1::Entity entity;
  entity.set_key(key);
  entity.set_type(type);
  entity.add_classes("Resource");
  if (!display_name.empty()) {
    (*entity.mutable_properties())["displayName"] = StringValue(display_name);
  }
  return entity;
}

TEST(DotQuote, EscapesQuotesBackslashesAndLineBreaks) {
  EXPECT_EQ(DotQuote("circleci_user:1"), R"("circleci_user:1")");
  EXPECT_EQ(DotQuote(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(DotQuote(R"(C:\dir\)"), R"("C:\\dir\\")");
  EXPECT_EQ(DotQuote("two\nlines"), R"("two\nlines")");
  EXPECT_EQ(DotQuote("crlf\r\nand\rcr"), R"("crlf\nand\ncr")");
  EXPECT_EQ(DotQuote("tab\there\x1b[31m"), R"("tab here [31m")");
  EXPECT_EQ(DotQuote(""), R"("")");
  EXPECT_EQ(DotQuote("ünïcode ✓"), "\"ünïcode ✓\"");
  // Distinct keys stay distinct node ids.
  EXPECT_NE(DotQuote("a\nb"), DotQuote(R"(a\nb)"));
  EXPECT_NE(DotQuote(R"(a\")"), DotQuote(R"(a")"));
}

TEST(DotPalette, ATypeKeepsItsStyle) {
  DotPalette palette;
  const DotStyle user = palette.StyleFor("circleci_user");
  palette.StyleFor("circleci_project");
  EXPECT_TRUE(SameStyle(palette.StyleFor("circleci_user"), user));
  EXPECT_THAT((std::set<std::string>{"box", "ellipse", "hexagon", "octagon"}),
              ::testing::Contains(user.shape));
  EXPECT_THAT(user.fillcolor, ::testing::MatchesRegex("#[0-9a-f]{6}"));
}

TEST(DotPalette, StyleDependsOnTheNameNotOnOrder) {
  // Types that hash to different slots get the same style whatever came
  // first, in every palette (every export, every run).
  DotPalette first;
  const DotStyle user = first.StyleFor("circleci_user");
  for (int i = 0; i < 200; ++i) {
    DotPalette probe;
    const std::string other = absl::StrCat("type_", i);
    if (SameStyle(probe.StyleFor(other), user)) continue;  // Same slot.
    DotPalette second;
    second.StyleFor(other);
    EXPECT_TRUE(SameStyle(second.StyleFor("circleci_user"), user)) << other;
  }
}

TEST(DotPalette, CollidingTypesStillDiffer) {
  // Find two names whose preferred styles collide.
  std::string a;
  std::string b;
  for (int i = 0; i < 1000 && b.empty(); ++i) {
    for (int j = 0; j < i; ++j) {
      DotPalette pa;
      DotPalette pb;
      if (SameStyle(pa.StyleFor(absl::StrCat("t", i)),
                    pb.StyleFor(absl::StrCat("t", j)))) {
        a = absl::StrCat("t", j);
        b = absl::StrCat("t", i);
        break;
      }
    }
  }
  ASSERT_FALSE(b.empty()) << "no collision among 1000 names";
  DotPalette palette;
  EXPECT_FALSE(SameStyle(palette.StyleFor(a), palette.StyleFor(b)));
}

TEST(DotPalette, FirstFortyEightTypesAreAllDistinct) {
  DotPalette palette;
  std::set<std::pair<std::string, std::string>> styles;
  for (int i = 0; i < DotPalette::kSize; ++i) {
    const DotStyle style = palette.StyleFor(absl::StrCat("heroku_type_", i));
    styles.insert({style.shape, style.fillcolor});
  }
  EXPECT_EQ(styles.size(), static_cast<size_t>(DotPalette::kSize));
  // Once all are taken, a new type shares one rather than failing.
  const DotStyle extra = palette.StyleFor("one_too_many");
  EXPECT_EQ(styles.count({extra.shape, extra.fillcolor}), 1u);
}

std::string SmallGraph(int fold = 0) {
  std::ostringstream out;
  DotWriter writer(out, "ci-prod", fold);
  writer.AddEntity(Entity("circleci_account:1", "circleci_account",
                          R"(Acme "prod" \ team)"));
  writer.AddEntity(Entity("circleci_user:1", "circleci_user", ""));
  writer.AddEntity(Entity("circleci_user:2", "circleci_user", "two\nlines"));
  writer.AddRelationship(DirectRelationship(
      Entity("circleci_account:1", "circleci_account", "x"), "HAS",
      Entity("circleci_user:1", "circleci_user", "")));
  writer.AddRelationship(DirectRelationship("circleci_user:1", "circleci_user",
                                            "HAS", "external:\"odd\"",
                                            "external"));
  writer.Finish();
  return out.str();
}

TEST(DotWriter, NodesThenEdges) {
  DotPalette palette;
  const DotStyle account = palette.StyleFor("circleci_account");
  const DotStyle user = palette.StyleFor("circleci_user");
  EXPECT_EQ(SmallGraph(),
            absl::StrCat(
                "digraph \"ci-prod\" {\n"
                "  graph [rankdir=LR];\n"
                "  node [style=filled, fontsize=10];\n"
                "  edge [fontsize=9];\n"
                "  \"circleci_account:1\" [label=\"Acme \\\"prod\\\" \\\\ "
                "team\\ncircleci_account\", shape=",
                account.shape, ", fillcolor=\"", account.fillcolor,
                "\"];\n"
                "  \"circleci_user:1\" [label=\"circleci_user:1\\ncircleci_"
                "user\", shape=",
                user.shape, ", fillcolor=\"", user.fillcolor,
                "\"];\n"
                "  \"circleci_user:2\" [label=\"two\\nlines\\ncircleci_user\", "
                "shape=",
                user.shape, ", fillcolor=\"", user.fillcolor,
                "\"];\n"
                "  \"circleci_account:1\" -> \"circleci_user:1\" "
                "[label=\"HAS\"];\n"
                "  \"circleci_user:1\" -> \"external:\\\"odd\\\"\" "
                "[label=\"HAS\"];\n"
                "}\n"));
}

TEST(DotWriter, HeaderComesWithTheFirstObjectOrFinish) {
  std::ostringstream out;
  {
    DotWriter writer(out, "ci-prod");
    // An export that fails before its first object prints nothing.
    EXPECT_EQ(out.str(), "");
    writer.Finish();
  }
  EXPECT_EQ(out.str(),
            "digraph \"ci-prod\" {\n"
            "  graph [rankdir=LR];\n"
            "  node [style=filled, fontsize=10];\n"
            "  edge [fontsize=9];\n"
            "}\n");
}

std::string TestDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(DotWriter, GraphvizAcceptsTheOutput) {
  if (access(kDot, X_OK) != 0) {
    GTEST_SKIP() << kDot << " is not installed";
  }
  const std::string input = TestDir() + "/graph.dot";
  const std::string output = TestDir() + "/graph.svg";
  std::ofstream(input) << SmallGraph();
  const std::string command =
      absl::StrCat(kDot, " -Tsvg -o '", output, "' '", input, "'");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::string svg = ReadFile(output);
  EXPECT_THAT(svg, HasSubstr("circleci_account"));
  EXPECT_THAT(svg, HasSubstr("<svg"));
}

// A graph for folding tests: entities, then relationships, as an export
// sends them.
struct Graph {
  std::vector<v1::Entity> entities;
  std::vector<v1::Relationship> relationships;

  v1::Entity Add(const std::string& type, int number) {
    entities.push_back(
        Entity(absl::StrCat(type, ":", number), type,
               absl::StrCat(type.substr(type.find('_') + 1), " ", number)));
    return entities.back();
  }
  void Relate(const v1::Entity& from, const std::string& class_name,
              const v1::Entity& to) {
    relationships.push_back(DirectRelationship(from, class_name, to));
  }
  std::string Dot(int fold) const {
    std::ostringstream out;
    DotWriter writer(out, "ci-prod", fold);
    for (const v1::Entity& entity : entities) writer.AddEntity(entity);
    for (const v1::Relationship& relationship : relationships) {
      writer.AddRelationship(relationship);
    }
    writer.Finish();
    return out.str();
  }
};

// The ids of the nodes a DOT text declares, in order.
std::vector<std::string> NodeIds(const std::string& dot) {
  std::vector<std::string> ids;
  std::istringstream lines(dot);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" [label=") == std::string::npos ||
        line.find(" -> ") != std::string::npos) {
      continue;
    }
    ids.push_back(line.substr(3, line.find("\" [label=") - 3));
  }
  return ids;
}

std::vector<std::string> Keys(const std::string& type, int first, int last) {
  std::vector<std::string> keys;
  for (int i = first; i <= last; ++i)
    keys.push_back(absl::StrCat(type, ":", i));
  return keys;
}

TEST(DotWriterFolding, ASmallGraphIsDrawnAsWithoutFolding) {
  EXPECT_EQ(SmallGraph(/*fold=*/8), SmallGraph());
}

TEST(DotWriterFolding, AFanOverNDrawsNMinusOneAndOneFoldNode) {
  Graph graph;
  const v1::Entity account = graph.Add("circleci_account", 1);
  for (int i = 1; i <= 20; ++i) {
    graph.Relate(account, "HAS", graph.Add("circleci_user", i));
  }
  const std::string dot = graph.Dot(8);
  std::vector<std::string> expected = {"circleci_account:1"};
  for (const std::string& key : Keys("circleci_user", 1, 7)) {
    expected.push_back(key);
  }
  expected.push_back("fold 0");
  EXPECT_THAT(NodeIds(dot), ElementsAreArray(expected));
  EXPECT_THAT(dot, HasSubstr("[label=\"+13 circleci_user\", shape="));
  EXPECT_THAT(dot, HasSubstr("style=\"filled,dashed\"];\n  "
                             "\"circleci_account:1\" -> \"fold 0\" "
                             "[label=\"HAS\", style=dashed];\n"));
  EXPECT_THAT(dot, HasSubstr("circleci_account:1\" -> \"circleci_user:7\""));
  EXPECT_THAT(dot, Not(HasSubstr("circleci_user:8")));
  EXPECT_THAT(dot, HasSubstr("label=\"folded: groups of more than 8 edges; 13 "
                             "entities not drawn (--fold 0 draws all)\""));
  // The fold node takes the style of the type it stands for.
  DotPalette palette;
  palette.StyleFor("circleci_account");
  EXPECT_THAT(dot,
              HasSubstr(absl::StrCat("+13 circleci_user\", shape=",
                                     palette.StyleFor("circleci_user").shape)));
}

TEST(DotWriterFolding, NIsDrawnWholeAndNPlusOneFoldsTwo) {
  for (const int users : {8, 9}) {
    Graph graph;
    const v1::Entity account = graph.Add("circleci_account", 1);
    for (int i = 1; i <= users; ++i) {
      graph.Relate(account, "HAS", graph.Add("circleci_user", i));
    }
    const std::vector<std::string> ids = NodeIds(graph.Dot(8));
    if (users == 8) {
      EXPECT_EQ(ids.size(), 9u);
      EXPECT_EQ(ids.back(), "circleci_user:8");
    } else {
      EXPECT_EQ(ids.size(), 9u) << "7 users and +2";
      EXPECT_EQ(ids.back(), "fold 0");
      EXPECT_THAT(graph.Dot(8), HasSubstr("+2 circleci_user"));
    }
  }
}

TEST(DotWriterFolding, GroupsAreByFromClassAndTargetType) {
  Graph graph;
  const v1::Entity account = graph.Add("circleci_account", 1);
  const v1::Entity other = graph.Add("circleci_account", 2);
  for (int i = 1; i <= 6; ++i) {
    const v1::Entity user = graph.Add("circleci_user", i);
    graph.Relate(account, "HAS", user);
    graph.Relate(other, "HAS", user);
    graph.Relate(account, "HAS", graph.Add("circleci_project", i));
  }
  for (int i = 1; i <= 6; ++i) {
    graph.Relate(account, "USES", graph.Add("circleci_context", i));
  }
  EXPECT_EQ(graph.Dot(6), graph.Dot(0)) << "nothing folds";
  EXPECT_THAT(graph.Dot(5), HasSubstr("+2 circleci_context"));
}

TEST(DotWriterFolding, WhatOnlyFoldedEntitiesReachIsHiddenToo) {
  Graph graph;
  const v1::Entity account = graph.Add("circleci_account", 1);
  const v1::Entity context = graph.Add("circleci_context", 1);
  std::vector<v1::Entity> pipelines;
  for (int i = 1; i <= 4; ++i) {
    const v1::Entity project = graph.Add("circleci_project", i);
    graph.Relate(account, "HAS", project);
    pipelines.push_back(graph.Add("circleci_pipeline", i));
    graph.Relate(project, "HAS", pipelines.back());
    graph.Relate(pipelines.back(), "USES", context);
  }
  // Pipeline 4 is also reached from the context, which is drawn.
  graph.Relate(context, "HAS", pipelines[3]);
  const std::string dot = graph.Dot(2);
  // Projects 2-4 fold into "+3"; pipelines 2 and 3 go with them.
  EXPECT_THAT(NodeIds(dot),
              ElementsAre("circleci_account:1", "circleci_context:1",
                          "circleci_project:1", "circleci_pipeline:1",
                          "circleci_pipeline:4", "fold 0"));
  EXPECT_THAT(dot, HasSubstr("+3 circleci_project"));
  EXPECT_THAT(dot, HasSubstr("5 entities not drawn"));
  EXPECT_THAT(dot, Not(HasSubstr("circleci_project:4\" ->")));
}

TEST(DotWriterFolding, FoldIdsNeverTakeAnEntitysKey) {
  Graph graph;
  graph.entities.push_back(Entity("fold 0", "odd", ""));
  const v1::Entity account = graph.Add("circleci_account", 1);
  for (int i = 1; i <= 3; ++i) {
    graph.Relate(account, "HAS", graph.Add("circleci_user", i));
  }
  EXPECT_THAT(NodeIds(graph.Dot(2)), ElementsAre("fold 0", "circleci_account:1",
                                                 "circleci_user:1", "fold 0'"));
}

// Width of a PNG from its IHDR chunk, and height.
std::pair<uint32_t, uint32_t> PngSize(const std::string& png) {
  auto word = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>(png[at])) << 24) |
           (static_cast<uint32_t>(static_cast<unsigned char>(png[at + 1]))
            << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>(png[at + 2]))
            << 8) |
           static_cast<uint32_t>(static_cast<unsigned char>(png[at + 3]));
  };
  if (png.size() < 24 || png.substr(1, 3) != "PNG") return {0, 0};
  return {word(16), word(20)};
}

// The demo's CircleCI graph (tools/demo: 3 organizations of 4 projects, 5
// pipelines a project, 2 workflows a pipeline, 3 jobs a workflow, plus users
// and contexts): no fan is wider than 5, yet 360 jobs made a strip 25907 px
// tall. Fans multiply, so the node budget, not N alone, keeps it readable.
Graph DemoGraph() {
  Graph graph;
  int project_number = 0;
  int pipeline_number = 0;
  int workflow_number = 0;
  int job_number = 0;
  for (int org = 1; org <= 3; ++org) {
    const v1::Entity account = graph.Add("circleci_account", org);
    const v1::Entity group = graph.Add("circleci_user_group", org);
    graph.Relate(account, "HAS", group);
    for (int u = 0; u < 3; ++u) {
      graph.Relate(group, "HAS", graph.Add("circleci_user", org * 10 + u));
    }
    for (int c = 0; c < 2; ++c) {
      graph.Relate(account, "HAS", graph.Add("circleci_context", org * 10 + c));
    }
    for (int p = 0; p < 4; ++p) {
      const v1::Entity project =
          graph.Add("circleci_project", ++project_number);
      graph.Relate(group, "HAS", project);
      for (int l = 0; l < 5; ++l) {
        const v1::Entity pipeline =
            graph.Add("circleci_pipeline", ++pipeline_number);
        graph.Relate(project, "HAS", pipeline);
        for (int w = 0; w < 2; ++w) {
          const v1::Entity workflow =
              graph.Add("circleci_workflow", ++workflow_number);
          graph.Relate(pipeline, "HAS", workflow);
          for (int j = 0; j < 3; ++j) {
            graph.Relate(workflow, "HAS",
                         graph.Add("circleci_job", ++job_number));
          }
        }
      }
    }
  }
  return graph;
}

TEST(DotWriterFolding, TheDemoGraphFitsTheNodeBudget) {
  const Graph graph = DemoGraph();
  const size_t all = graph.entities.size();
  ASSERT_EQ(all, 573u);
  ASSERT_EQ(NodeIds(graph.Dot(0)).size(), all);
  const std::string dot = graph.Dot(kDefaultFold);
  const std::vector<std::string> ids = NodeIds(dot);
  EXPECT_LE(ids.size(), static_cast<size_t>(DotWriter::kMaxFoldedNodes));
  EXPECT_GE(ids.size(), 40u) << "still shows the graph's shape";
  // Every level is still there.
  for (const char* type :
       {"circleci_account:", "circleci_user_group:", "circleci_project:",
        "circleci_pipeline:", "circleci_workflow:", "circleci_job:"}) {
    EXPECT_THAT(dot, HasSubstr(type));
  }
  EXPECT_THAT(dot, HasSubstr("folded: groups of more than "));

  if (access(kDot, X_OK) != 0) {
    GTEST_SKIP() << kDot << " is not installed";
  }
  const std::string input = TestDir() + "/demo.dot";
  const std::string output = TestDir() + "/demo.png";
  std::ofstream(input) << dot;
  const std::string command =
      absl::StrCat(kDot, " -Tpng -o '", output, "' '", input, "'");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const auto [width, height] = PngSize(ReadFile(output));
  ASSERT_GT(width, 0u) << "not a PNG";
  RecordProperty("png", absl::StrCat(width, "x", height));
  std::cerr << "demo graph folded: " << ids.size() << " nodes, " << width << "x"
            << height << " px\n";
  EXPECT_LE(height, 8000u);
  EXPECT_LE(width, 4000u);
}

}  // namespace
}  // namespace graphmill::cli
