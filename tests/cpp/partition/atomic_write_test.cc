#include <gtest/gtest.h>
#include <mmdeploy/partition/partition.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

namespace fs = std::filesystem;

class WriteModelsAtomically : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("partition_atomic_write_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static onnx::ModelProto Model(const std::string& op) {
    return test::ParseText(test::Header() +
                           "g (float[2] x) => (float[2] y) { y = " + op +
                           "(x) }");
  }

  static std::string Read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }

  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

TEST_F(WriteModelsAtomically, WritesEveryModelAndNoTemporaries) {
  mmdeploy::partition::WriteModelsAtomically(
      {{(dir_ / "a.onnx").string(), Model("Relu")},
       {(dir_ / "b.onnx").string(), Model("Neg")}});
  EXPECT_EQ(Entries(), test::Names({"a.onnx", "b.onnx"}));
  EXPECT_EQ(LoadModel((dir_ / "b.onnx").string()).graph().node(0).op_type(),
            "Neg");
}

TEST_F(WriteModelsAtomically, ReplacesExistingFiles) {
  std::ofstream(dir_ / "a.onnx") << "old";
  mmdeploy::partition::WriteModelsAtomically(
      {{(dir_ / "a.onnx").string(), Model("Relu")}});
  EXPECT_EQ(Read(dir_ / "a.onnx"), Model("Relu").SerializeAsString());
  EXPECT_EQ(Entries(), test::Names({"a.onnx"}));
}

TEST_F(WriteModelsAtomically, MissingDirectoryWritesNothing) {
  const std::string missing = (dir_ / "absent" / "b.onnx").string();
  EXPECT_THROW_WITH(mmdeploy::partition::WriteModelsAtomically(
                        {{(dir_ / "a.onnx").string(), Model("Relu")},
                         {missing, Model("Neg")}}),
                    PartitionError, ("'" + missing + "'").c_str(),
                    ("directory '" + (dir_ / "absent").string() +
                     "' does not exist")
                        .c_str());
  EXPECT_TRUE(Entries().empty());
}

TEST_F(WriteModelsAtomically, FailedWriteLeavesTargetsAndRemovesTemporaries) {
  std::ofstream(dir_ / "a.onnx") << "old";
  // A directory where a temporary file must go makes the second write fail
  // after the first temporary was written.
  fs::create_directories(
      dir_ / (".b.onnx.tmp-" + std::to_string(::getpid()) + "-1"));
  EXPECT_THROW_WITH(mmdeploy::partition::WriteModelsAtomically(
                        {{(dir_ / "a.onnx").string(), Model("Relu")},
                         {(dir_ / "b.onnx").string(), Model("Neg")}}),
                    PartitionError, "b.onnx");
  EXPECT_EQ(Read(dir_ / "a.onnx"), "old");
  fs::remove(dir_ / (".b.onnx.tmp-" + std::to_string(::getpid()) + "-1"));
  EXPECT_EQ(Entries(), test::Names({"a.onnx"}));
}

TEST_F(WriteModelsAtomically, SamePathTwiceIsAnError) {
  const std::string path = (dir_ / "a.onnx").string();
  EXPECT_THROW_WITH(mmdeploy::partition::WriteModelsAtomically(
                        {{path, Model("Relu")}, {path, Model("Neg")}}),
                    PartitionError, ("'" + path + "' is given twice").c_str());
  EXPECT_TRUE(Entries().empty());
}

TEST_F(WriteModelsAtomically, TargetThatIsADirectoryIsAnError) {
  fs::create_directories(dir_ / "a.onnx");
  EXPECT_THROW_WITH(mmdeploy::partition::WriteModelsAtomically(
                        {{(dir_ / "a.onnx").string(), Model("Relu")}}),
                    PartitionError, "a directory of that name exists");
}

TEST_F(WriteModelsAtomically, OtherFilesAreWrittenWithTheModels) {
  WriteOptions options;
  options.files = {{(dir_ / "map.svg").string(), "<svg/>\n"}};
  mmdeploy::partition::WriteModelsAtomically(
      {{(dir_ / "a.onnx").string(), Model("Relu")}}, options);
  EXPECT_EQ(Entries(), test::Names({"a.onnx", "map.svg"}));
  EXPECT_EQ(Read(dir_ / "map.svg"), "<svg/>\n");
}

TEST_F(WriteModelsAtomically, AFileThatCannotBeWrittenWritesNoModel) {
  fs::create_directories(dir_ / "map.svg");
  WriteOptions options;
  options.files = {{(dir_ / "map.svg").string(), "<svg/>"}};
  EXPECT_THROW_WITH(
      mmdeploy::partition::WriteModelsAtomically(
          {{(dir_ / "a.onnx").string(), Model("Relu")}}, options),
      PartitionError, "map.svg", "a directory of that name exists");
  EXPECT_EQ(Entries(), test::Names({"map.svg"}));
}

TEST_F(WriteModelsAtomically, AFileNeverReplacesAnInputOrAFifo) {
  const fs::path input = dir_ / "model.onnx";
  { std::ofstream(input) << "model"; }
  WriteOptions options;
  options.inputs = {input.string()};
  options.files = {{input.string(), "<svg/>"}};
  EXPECT_THROW_WITH(mmdeploy::partition::WriteModelsAtomically({}, options),
                    PartitionError, "a file this run reads");
  EXPECT_EQ(Read(input), "model");
  const fs::path fifo = dir_ / "fifo.svg";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  options.files = {{fifo.string(), "<svg/>"}};
  EXPECT_THROW_WITH(mmdeploy::partition::WriteModelsAtomically({}, options),
                    PartitionError, "is a FIFO");
}

}  // namespace
}  // namespace mmdeploy::partition
