// The definitions the worker advertises to the coordinator, compared byte for
// byte with the checked-in testdata/<name>.textproto. The coordinator stores
// them and refuses a worker whose definition of a known version differs, so a
// refactoring of how definitions are built must not change them; a deliberate
// change updates the textproto in the same commit:
//   bazel test //worker/integrations:definitions_test \
//     --test_env=UPDATE_DEFINITIONS_DIR=$PWD/worker/integrations/testdata \
//     --strategy=TestRunner=standalone
// (outside the sandbox, so the test may write there).
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "worker/integrations/registry.h"

namespace graphmill::worker {
namespace {

constexpr char kTestdata[] = "worker/integrations/testdata/";

std::string TextOf(const v1::IntegrationDefinition& definition) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(definition, &text);
  return text;
}

std::string Serialized(const v1::IntegrationDefinition& definition) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    definition.SerializeToCodedStream(&coded);
  }
  return bytes;
}

TEST(DefinitionsTest, EveryIntegrationAdvertisesItsCheckedInDefinition) {
  const std::vector<std::unique_ptr<Integration>> integrations =
      CreateIntegrations();
  ASSERT_EQ(integrations.size(), 2u);
  const char* update_dir = std::getenv("UPDATE_DEFINITIONS_DIR");
  for (const std::unique_ptr<Integration>& integration : integrations) {
    const v1::IntegrationDefinition& actual = integration->definition();
    const std::string name = actual.name();
    SCOPED_TRACE(name);
    if (update_dir != nullptr) {
      std::ofstream(std::string(update_dir) + "/" + name + ".textproto")
          << TextOf(actual);
      continue;
    }
    std::ifstream file(kTestdata + name + ".textproto");
    ASSERT_TRUE(file.good()) << "no " << kTestdata << name << ".textproto";
    std::stringstream text;
    text << file.rdbuf();
    v1::IntegrationDefinition expected;
    ASSERT_TRUE(
        google::protobuf::TextFormat::ParseFromString(text.str(), &expected));
    // Text first, for a readable difference; then the bytes the coordinator
    // receives (field and repeated-element order included).
    EXPECT_EQ(TextOf(actual), TextOf(expected));
    EXPECT_EQ(Serialized(actual), Serialized(expected));
  }
}

}  // namespace
}  // namespace graphmill::worker
