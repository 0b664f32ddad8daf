// Loads a TorchScript file that contains marks, lists them, runs the model,
// strips the marks and saves the result, which then runs without the plugin.
//
//   mmdeploy_mark_example <in.pt> <out.pt> <dim0> [dim1 ...]
//
// The model is run on one random float input of the given shape.
#include <mmdeploy/torchscript_marks.h>
#include <torch/script.h>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: " << argv[0] << " <in.pt> <out.pt> <dim0> [dim1 ...]\n"
              << "Lists the marks of a TorchScript model, runs it on a random "
                 "input of the given shape, strips the marks and saves it.\n";
    return 2;
  }
  try {
    torch::jit::Module module = torch::jit::load(argv[1]);
    module.eval();
    const auto marks = mmdeploy::ListMarks(module);
    std::cout << "marks: " << marks.size() << "\n";
    for (const auto& mark : marks) {
      std::cout << "  " << mark.info.func << "[" << mark.info.func_id
                << "]:" << mark.info.type << " name=" << mark.info.name
                << " id=" << mark.info.id << " in " << mark.method << "\n";
    }
    std::vector<int64_t> shape;
    for (int i = 3; i < argc; ++i) shape.push_back(std::stoll(argv[i]));
    torch::manual_seed(0);
    const auto input = torch::randn(shape);
    const auto before = module.forward({input}).toTensor();
    const auto removed = mmdeploy::StripMarks(module);
    const auto after = module.forward({input}).toTensor();
    if (!torch::equal(before, after)) {
      std::cerr << "error: outputs differ after stripping marks\n";
      return 1;
    }
    module.save(argv[2]);
    std::cout << "stripped " << removed << " marks; output shape "
              << after.sizes() << "; saved " << argv[2] << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
