// Marks a tensor through the installed C++ API and checks the identity.
#include <mmdeploy/mark.h>
#include <torch/torch.h>

#include <iostream>

int main() {
  mmdeploy::MarkInfo info;
  info.func = "consumer";
  info.type = mmdeploy::kMarkTypeInput;
  info.name = "x";
  const auto x = torch::arange(6).reshape({2, 3});
  const auto y = mmdeploy::mark(x, info);
  if (!torch::equal(x, y) || y.data_ptr() != x.data_ptr()) {
    std::cerr << "mark is not an identity alias\n";
    return 1;
  }
  std::cout << "consumer: marked tensor of shape " << y.sizes() << "\n";
  return 0;
}
