#include <gtest/gtest.h>
#include <mmdeploy/partition/partition.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

namespace fs = std::filesystem;

class ModelIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("partition_model_io_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
  }

  static onnx::ModelProto Model() {
    return test::ParseText(test::Header() +
                           "g (float[2] x) => (float[2] y) { y = Relu(x) }");
  }

  fs::path dir_;
};

TEST_F(ModelIo, LoadsAModelFile) {
  const std::string path = Write("m.onnx", Model().SerializeAsString());
  EXPECT_EQ(LoadModel(path).SerializeAsString(), Model().SerializeAsString());
}

TEST_F(ModelIo, MarkedModelLoadReadsWhatLoadModelReads) {
  // A weight above the size the loader leaves in the file (a reference),
  // and one below it (parsed): both must come out as LoadModel's do.
  std::string big;
  for (int i = 0; i < 512; ++i) big += (i == 0 ? "" : ", ") + std::to_string(i);
  const auto model = test::ParseText(
      test::Header() + "g (float[512] x) => (float[512] y)\n"
      "<float[512] w = {" + big + "}, float[2] s = {1.0, 2.0}>\n"
      "{\n  a = Add(x, w)\n  y = Relu(a)\n}\n");
  const std::string path = Write("m.onnx", model.SerializeAsString());
  const MarkedModel loaded = MarkedModel::Load(path);
  const MarkedModel passed(LoadModel(path), path);
  PartitionSpec spec;
  spec.inputs = {"x"};
  spec.outputs = {"y"};
  EXPECT_EQ(SerializeModel(loaded.Extract(spec)),
            SerializeModel(passed.Extract(spec)));
  EXPECT_EQ(SerializeModel(loaded.model()), model.SerializeAsString());
  EXPECT_THROW_WITH(MarkedModel::Load((dir_ / "absent.onnx").string()),
                    MalformedModelError, "does not exist");
}

TEST_F(ModelIo, MissingFileIsNamed) {
  const std::string path = (dir_ / "absent.onnx").string();
  EXPECT_THROW_WITH(LoadModel(path), MalformedModelError,
                    ("'" + path + "' does not exist").c_str());
}

TEST_F(ModelIo, DirectoryIsRejected) {
  EXPECT_THROW_WITH(LoadModel(dir_.string()), MalformedModelError,
                    "is a directory");
}

TEST_F(ModelIo, EmptyFileIsNamed) {
  const std::string path = Write("empty.onnx", "");
  EXPECT_THROW_WITH(LoadModel(path), MalformedModelError,
                    ("'" + path + "' is empty").c_str());
}

TEST_F(ModelIo, GarbageIsNamed) {
  const std::string path = Write("garbage.onnx", "\xff\xff\xff\xff not onnx");
  EXPECT_THROW_WITH(LoadModel(path), MalformedModelError,
                    ("'" + path + "'").c_str(), "not a valid ONNX model");
}

TEST_F(ModelIo, TruncatedFileIsRejected) {
  const std::string bytes = Model().SerializeAsString();
  const std::string path =
      Write("truncated.onnx", bytes.substr(0, bytes.size() - 7));
  EXPECT_THROW_WITH(LoadModel(path), MalformedModelError,
                    ("'" + path + "'").c_str());
}

TEST_F(ModelIo, ValidProtobufWithoutGraphIsRejected) {
  onnx::ModelProto no_graph;
  no_graph.set_ir_version(8);
  const std::string path = Write("nograph.onnx", no_graph.SerializeAsString());
  EXPECT_THROW_WITH(LoadModel(path), MalformedModelError,
                    ("'" + path + "'").c_str(), "holds no graph");
}

TEST(ParseModel, ParsesBytes) {
  const auto model = test::ParseText(
      test::Header() + "g (float[2] x) => (float[2] y) { y = Relu(x) }");
  EXPECT_EQ(ParseModel(model.SerializeAsString()).graph().node_size(), 1);
}

TEST(ParseModel, RejectsEmptyAndGarbageBytes) {
  EXPECT_THROW_WITH(ParseModel(""), MalformedModelError,
                    "model bytes is empty");
  EXPECT_THROW_WITH(ParseModel("\x0a\xff\xff\xff\xff"), MalformedModelError,
                    "model bytes");
}

}  // namespace
}  // namespace mmdeploy::partition
