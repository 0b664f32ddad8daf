#include <gtest/gtest.h>
#include <mmdeploy/torchscript_marks.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>

#include <memory>
#include <sstream>
#include <string>

namespace {

// Module::define's default resolver knows neither `torch.ops` nor `ops`;
// this one makes `mmdeploy.mark` resolve to the registered operator.
struct MarkResolver : torch::jit::Resolver {
  std::shared_ptr<torch::jit::SugaredValue> resolveValue(
      const std::string& name, torch::jit::GraphFunction& function,
      const torch::jit::SourceRange& location) override {
    if (name == "mmdeploy") {
      return std::make_shared<torch::jit::BuiltinModule>("mmdeploy");
    }
    return torch::jit::nativeResolver()->resolveValue(name, function,
                                                      location);
  }
  c10::TypePtr resolveType(const std::string& name,
                           const torch::jit::SourceRange& location) override {
    return torch::jit::nativeResolver()->resolveType(name, location);
  }
};

void Define(torch::jit::Module& module, const std::string& source) {
  module.define(source, std::make_shared<MarkResolver>());
}

// A scripted module with marks in forward, in a submodule, and in a branch.
torch::jit::Module MarkedModule() {
  torch::jit::Module inner("Inner");
  Define(inner, R"(
    def forward(self, x):
        y = mmdeploy.mark(x, "inner", 0, "input", "feat", 0, "{}")
        return y * 2
  )");
  torch::jit::Module outer("Outer");
  outer.register_module("inner", inner);
  Define(outer, R"(
    def forward(self, x):
        x = mmdeploy.mark(x, "outer", 0, "input", "input", 0, "{}")
        y = self.inner.forward(x)
        if bool(y.sum() > 0):
            y = mmdeploy.mark(y, "outer", 0, "output", "out", 0, "{\"k\": 1}")
        return y + 1
  )");
  return outer;
}

TEST(TorchScriptMarks, ListsMarksOfEveryMethodAndBlock) {
  auto module = MarkedModule();
  const auto marks = mmdeploy::ListMarks(module);
  ASSERT_EQ(marks.size(), 3u);
  EXPECT_EQ(marks[0].info.func, "outer");
  EXPECT_EQ(marks[0].info.type, "input");
  EXPECT_EQ(marks[0].info.name, "input");
  EXPECT_EQ(marks[1].info.name, "out");
  EXPECT_EQ(marks[1].info.attrs, "{\"k\": 1}");
  EXPECT_EQ(marks[2].info.func, "inner");
  EXPECT_EQ(marks[2].info.name, "feat");
}

TEST(TorchScriptMarks, StripKeepsResultsAndRemovesEveryMark) {
  auto module = MarkedModule();
  auto x = torch::randn({2, 3}).abs();
  const auto before = module.forward({x}).toTensor();
  EXPECT_EQ(mmdeploy::StripMarks(module), 3);
  EXPECT_TRUE(mmdeploy::ListMarks(module).empty());
  EXPECT_TRUE(torch::equal(module.forward({x}).toTensor(), before));
  EXPECT_EQ(mmdeploy::StripMarks(module), 0);
}

TEST(TorchScriptMarks, StrippedModuleSavesWithoutMarkCalls) {
  auto module = MarkedModule();
  mmdeploy::StripMarks(module);
  std::stringstream stream;
  module.save(stream);
  auto loaded = torch::jit::load(stream);
  EXPECT_TRUE(mmdeploy::ListMarks(loaded).empty());
  const auto graph = loaded.get_method("forward").graph()->toString();
  EXPECT_EQ(graph.find("mmdeploy"), std::string::npos) << graph;
}

TEST(TorchScriptMarks, ListRejectsANonConstantIdentity) {
  torch::jit::Module module("Dynamic");
  Define(module, R"(
    def forward(self, x, n: int):
        return mmdeploy.mark(x, "f", n, "input", "x", 0, "{}")
  )");
  try {
    mmdeploy::ListMarks(module);
    FAIL() << "expected c10::Error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("func_id"), std::string::npos);
  }
}

}  // namespace
