#include <ATen/core/dispatch/Dispatcher.h>
#include <gtest/gtest.h>
#include <mmdeploy/mark.h>
#include <torch/torch.h>

#include <string>

namespace {

mmdeploy::MarkInfo Info(const std::string& type = "input",
                        const std::string& name = "x") {
  mmdeploy::MarkInfo info;
  info.func = "f";
  info.type = type;
  info.name = name;
  return info;
}

TEST(MarkOp, IsRegisteredWithAliasingSchema) {
  auto handle =
      c10::Dispatcher::singleton().findSchema({"mmdeploy::mark", ""});
  ASSERT_TRUE(handle.has_value());
  const auto& schema = handle->schema();
  EXPECT_EQ(schema.arguments().size(), 7u);
  ASSERT_TRUE(schema.arguments()[0].alias_info() != nullptr);
  ASSERT_TRUE(schema.returns()[0].alias_info() != nullptr);
  EXPECT_EQ(schema.arguments()[0].alias_info()->beforeSets(),
            schema.returns()[0].alias_info()->beforeSets());
}

TEST(MarkOp, ReturnsAnAliasOfItsInputWithoutCopying) {
  auto x = torch::randn({2, 3});
  auto y = mmdeploy::mark(x, Info());
  EXPECT_EQ(y.data_ptr(), x.data_ptr());
  EXPECT_TRUE(torch::equal(x, y));
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_EQ(y.dtype(), x.dtype());
}

TEST(MarkOp, PassesGradientsStraightThrough) {
  auto x = torch::randn({4}, torch::requires_grad());
  auto y = mmdeploy::mark(x, Info());
  (y * torch::arange(4)).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(torch::equal(x.grad(), torch::arange(4).to(torch::kFloat)));
}

TEST(MarkOp, InPlaceChangeOfTheResultIsSeenByAutograd) {
  auto x = torch::randn({3}, torch::requires_grad());
  auto base = x * 1;
  auto y = mmdeploy::mark(base, Info());
  // A view shares the version counter with its base.
  const auto version = base._version();
  y.mul_(2);
  EXPECT_GT(base._version(), version);
}

TEST(MarkOp, RejectsAnUnknownTypeNamingIt) {
  auto x = torch::randn({1});
  try {
    mmdeploy::mark(x, Info("inptu"));
    FAIL() << "expected c10::Error";
  } catch (const c10::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'inptu'"), std::string::npos) << message;
    EXPECT_NE(message.find("'input' or 'output'"), std::string::npos);
  }
}

TEST(MarkOp, RejectsAnEmptyName) {
  auto x = torch::randn({1});
  EXPECT_THROW(mmdeploy::mark(x, Info("output", "")), c10::Error);
}

}  // namespace
