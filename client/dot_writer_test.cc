// Tests of client/dot_writer.h: quoting, the per-type palette, the streamed
// digraph, and (when Graphviz is installed) that `dot` accepts the output.
#include "client/dot_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/graph_objects.h"

namespace graphmill::cli {
namespace {

using ::testing::HasSubstr;

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

std::string SmallGraph() {
  std::ostringstream out;
  DotWriter writer(out, "ci-prod");
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

TEST(DotWriter, GraphvizAcceptsTheOutput) {
  if (access(kDot, X_OK) != 0) {
    GTEST_SKIP() << kDot << " is not installed";
  }
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string input = dir + "/graph.dot";
  const std::string output = dir + "/graph.svg";
  std::ofstream(input) << SmallGraph();
  const std::string command =
      absl::StrCat(kDot, " -Tsvg -o '", output, "' '", input, "'");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream svg(output);
  std::stringstream text;
  text << svg.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("circleci_account"));
  EXPECT_THAT(text.str(), HasSubstr("<svg"));
}

}  // namespace
}  // namespace graphmill::cli
